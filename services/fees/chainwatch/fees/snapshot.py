"""The recorded July 2023 mempool and Bitcoin Core's block template for it.

Three files in ``fee_estimation/`` of the data dir (PROVENANCE.md §6), from mempool.space's
end-to-end test of its template builder against Core:

- ``mempool_gbt_test-buffer.bin``: the mempool, big-endian: ``u32`` count, then per
  transaction ``u32 uid, f64 fee, u32 weight, u32 sigops, f64 feePerVsize,
  f64 effectiveFeePerVsize, u32 nInputs, u32 parentUid × nInputs`` (19,873 transactions);
- ``mempool_gbt_test-data-ids.json``: ``[uid, txid, fee rate]`` per transaction;
- ``mempool_gbt_target-template.json``: Core's ``getblocktemplate`` answer, ``[{txid,
  weight}]`` in block order (1,767 transactions).

``scaled_mempool`` makes a larger mempool from a real one for timing: copies of every
transaction with their fee jittered, so the copies interleave instead of tying.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chainwatch.fees.errors import MempoolGraphError
from chainwatch.fees.txgraph import TxGraph

FOLDER = "fee_estimation"
BUFFER_FILE = "mempool_gbt_test-buffer.bin"
IDS_FILE = "mempool_gbt_test-data-ids.json"
TEMPLATE_FILE = "mempool_gbt_target-template.json"

_RECORD = struct.Struct(">IdIIddI")


@dataclass(frozen=True)
class RecordedMempool:
    """The recorded mempool as a graph, and Core's template for it (txids in block order)."""

    graph: TxGraph
    core_template_txids: tuple[str, ...]

    @property
    def txids(self) -> tuple[str, ...]:
        assert self.graph.txids is not None
        return self.graph.txids


def load_recorded_mempool(data_dir: Path) -> RecordedMempool:
    """Read the July 2023 snapshot; ``MempoolGraphError`` when the files disagree."""
    folder = data_dir / FOLDER
    buffer = (folder / BUFFER_FILE).read_bytes()
    uid_txid = {int(uid): txid for uid, txid, _ in json.loads((folder / IDS_FILE).read_text())}
    template = json.loads((folder / TEMPLATE_FILE).read_text())

    (count,) = struct.unpack_from(">I", buffer, 0)
    offset = 4
    uids, fees, weights, sigops, parent_uids = [], [], [], [], []
    for _ in range(count):
        uid, fee, weight, sigop_cost, _, _, n_inputs = _RECORD.unpack_from(buffer, offset)
        offset += _RECORD.size
        inputs = struct.unpack_from(f">{n_inputs}I", buffer, offset)
        offset += 4 * n_inputs
        uids.append(uid)
        fees.append(round(fee))
        weights.append(weight)
        sigops.append(sigop_cost)
        parent_uids.append(inputs)
    if offset != len(buffer):
        raise MempoolGraphError(f"{BUFFER_FILE}: {len(buffer) - offset} bytes after {count} txs")

    index = {uid: i for i, uid in enumerate(uids)}
    parents = [[index[p] for p in tx_parents if p in index] for tx_parents in parent_uids]
    try:
        txids = [uid_txid[uid] for uid in uids]
    except KeyError as exc:
        raise MempoolGraphError(f"{IDS_FILE} has no txid for uid {exc.args[0]}") from None
    graph = TxGraph.build(fees, weights, sigops, parents, txids)
    return RecordedMempool(graph, tuple(entry["txid"] for entry in template))


def scaled_mempool(graph: TxGraph, copies: int, seed: int = 7, fee_jitter: float = 0.1) -> TxGraph:
    """``copies`` copies of ``graph`` in one mempool, each copy's fees scaled by a seeded
    log-normal factor (sigma ``fee_jitter``, one per transaction); parents stay in their copy."""
    rng = np.random.default_rng(seed)
    n = len(graph)
    factors = np.exp(rng.normal(0.0, fee_jitter, size=n * copies))
    fee = np.maximum(1, np.rint(np.tile(graph.fee_sat, copies) * factors)).astype(np.int64)
    parents = [
        tuple(p + copy * n for p in graph.parents[i]) for copy in range(copies) for i in range(n)
    ]
    return TxGraph.build(
        fee, np.tile(graph.weight_wu, copies), np.tile(graph.sigop_cost, copies), parents
    )
