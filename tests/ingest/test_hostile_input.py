"""Property tests: malformed, truncated, oversized and hostile JSON never crash ingest.

The parser and the normaliser either accept their input or refuse it with their own error
and a reason; nothing else escapes. The message handler turns every refusal into a dead
letter with that reason and goes on. (That dead letters reach the real dead-letter subject
is shown in ``test_live``; here the publisher is a recorder, so thousands of cases run fast.)
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainwatch.ingest.errors import NormaliseError
from chainwatch.ingest.live.handler import LiveHandler
from chainwatch.ingest.live.messages import MAX_MESSAGE_BYTES, MessageError, parse_message
from chainwatch.ingest.live.seen import SeenTxids
from chainwatch.ingest.normalise import normalise, normalise_json
from chainwatch.shared.schemas import Transaction

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("CHAINWATCH_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
FIXTURES = DATA / "mempool_api" / "mempool_repo_fixtures"

if not (DATA / "PROVENANCE.md").exists():
    pytest.skip("recorded data absent", allow_module_level=True)

REAL_TX: dict[str, Any] = json.loads((FIXTURES / "backend_transactions-rbfs.json").read_text())[0]
REAL_MESSAGES = [
    (FIXTURES / name).read_bytes()
    for name in (
        "cypress_mainnet_mempoolInfo.json",
        "cypress_details_rbf__tx02_ws_block.json",
        "cypress_details_rbf__tx01_ws_blocks_01.json",
        "cypress_rbf_page__rbf_02.json",
    )
]

HOSTILE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", "00" * 32, "ab" * 33, "\ud800", "1" * 5000, "NaN", "-1"]),
)
JSON_VALUES = st.recursive(
    HOSTILE_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=30,
)


def mutate(value: Any, path: list[Any], replacement: Any) -> Any:
    """``value`` with the item at ``path`` replaced (or the path's end dropped when ``...``)."""
    if not path:
        return replacement
    head, *rest = path
    if isinstance(value, dict) and head in value:
        copy = dict(value)
        if rest or replacement is not Ellipsis:
            copy[head] = mutate(value[head], rest, replacement)
        else:
            del copy[head]
        return copy
    if isinstance(value, list) and isinstance(head, int) and head < len(value):
        copy_list = list(value)
        copy_list[head] = mutate(value[head], rest, replacement)
        return copy_list
    return value


def paths(value: Any, prefix: list[Any] | None = None) -> list[list[Any]]:
    prefix = prefix or []
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, [*prefix, key])
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            found += paths(item, [*prefix, index])
    return found


TX_PATHS = paths(REAL_TX)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=2_000))
def test_any_bytes_are_parsed_or_refused_with_a_reason(data: bytes) -> None:
    for parse, error in ((parse_message, MessageError), (normalise_json, NormaliseError)):
        try:
            parse(data)
        except error as exc:
            assert exc.reason
        except Exception as exc:  # pragma: no cover - the property under test
            pytest.fail(f"{parse.__name__} raised {type(exc).__name__}: {exc}")


@FAST
@given(JSON_VALUES)
def test_any_json_value_is_normalised_or_refused(value: Any) -> None:
    with pytest.raises(NormaliseError) as refused:
        normalise(value)
    assert refused.value.reason


@FAST
@given(st.sampled_from(TX_PATHS), st.one_of(JSON_VALUES, st.just(Ellipsis)))
def test_a_real_transaction_with_one_field_broken_is_normalised_or_refused(
    path: list[Any], replacement: Any
) -> None:
    broken = mutate(REAL_TX, path, replacement)
    try:
        tx = normalise(broken)
    except NormaliseError as exc:
        assert exc.reason
        return
    # Accepted: then it is a valid wire model whose amounts add up.
    assert Transaction.model_validate_json(tx.model_dump_json()) == tx
    assert tx.fee is None or tx.fee >= 0


@FAST
@given(st.integers(min_value=0, max_value=len(json.dumps(REAL_TX)) - 1))
def test_truncated_json_is_refused(cut: int) -> None:
    with pytest.raises(NormaliseError, match="not valid JSON"):
        normalise_json(json.dumps(REAL_TX)[:cut])


@FAST
@given(st.sampled_from(REAL_MESSAGES), st.data())
def test_a_real_message_broken_anywhere_is_parsed_or_refused(
    message: bytes, data: st.DataObject
) -> None:
    value = json.loads(message)
    path = data.draw(st.sampled_from(paths(value)))
    broken = json.dumps(mutate(value, path, data.draw(JSON_VALUES)))
    try:
        parse_message(broken)
    except MessageError as exc:
        assert exc.reason


def test_oversized_and_deeply_nested_messages_are_refused() -> None:
    with pytest.raises(MessageError, match="over the"):
        parse_message(b" " * (MAX_MESSAGE_BYTES + 1))
    with pytest.raises(MessageError, match="not valid JSON"):
        parse_message("[" * 100_000 + "]" * 100_000)
    with pytest.raises(MessageError, match="deeper than"):
        tree: dict[str, Any] = {"tx": {"txid": "ab" * 32}, "replaces": []}
        for _ in range(100):
            tree = {"tx": {"txid": "cd" * 32}, "replaces": [tree]}
        parse_message(json.dumps({"rbfLatest": [tree]}))


class RecordingPublisher:
    """Stands in for ``TxPublisher``: keeps what would have been published or dead-lettered."""

    def __init__(self) -> None:
        self.rejected: list[str] = []
        self.published: list[str] = []
        self.events: list[str] = []

    async def submit_record(self, record: object, **_: Any) -> Transaction | None:
        try:
            tx = normalise(record)
        except NormaliseError as exc:
            self.rejected.append(exc.reason)
            return None
        self.published.append(tx.txid)
        return tx

    async def submit(self, tx: Transaction, **_: Any) -> None:
        self.published.append(tx.txid)

    async def submit_event(self, subject: str, model: object, **_: Any) -> None:
        self.events.append(subject)

    async def reject(self, payload: bytes, error: NormaliseError, **_: Any) -> None:
        self.rejected.append(error.reason)

    async def flush(self) -> None:
        return None


class OfflineRest:
    """A REST client that knows nothing: every block and transaction is missing."""

    base_url = "http://127.0.0.1:9"

    async def block_txids(self, block_hash: str) -> list[str]:
        return []

    async def tx_bytes(self, txid: str) -> bytes | None:
        return None


@FAST
@given(
    st.one_of(
        st.binary(max_size=500),
        JSON_VALUES.map(json.dumps),
        st.dictionaries(
            st.sampled_from(
                ["block", "blocks", "mempool-transactions", "mempool-txids", "rbfLatest",
                 "mempoolInfo", "fees", "mempool-blocks", "vBytesPerSecond", "pong"]
            ),
            JSON_VALUES,
            min_size=1,
        ).map(json.dumps),
    )
)  # fmt: skip
def test_the_handler_dead_letters_whatever_it_cannot_use_and_never_raises(data: Any) -> None:
    publisher = RecordingPublisher()
    handler = LiveHandler(
        source="test",
        publisher=publisher,  # type: ignore[arg-type]
        rest=OfflineRest(),  # type: ignore[arg-type]
        seen=SeenTxids(),
        blocks_done=SeenTxids(),
        snapshot_min_interval_s=0,
    )
    asyncio.run(handler.handle_raw(data, "ws://test"))
    try:
        parse_message(data)
    except MessageError:
        assert len(publisher.rejected) == 1 and publisher.rejected[0]
