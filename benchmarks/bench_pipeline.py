"""Screening throughput and latency: real transactions through ingest → scorer → audit.

Against a fresh nats-server and a fresh PostgreSQL database (on ``DATABASE_URL``'s server,
else an embedded one), with the scorer running as its own process(es):

1. **Sustained throughput**: ``--count`` transactions published as fast as ingest's
   publisher goes; the rate is the count over the time from the first publish to the last
   decision arriving on ``chainwatch.tx.scored``.
2. **Latency at a fixed rate**: ``--rate`` tx/s for ``--seconds``; for each transaction,
   the time from its publish on ``chainwatch.tx.raw`` to its decision arriving on
   ``chainwatch.tx.scored``. The scorer publishes a decision only after the batch's audit
   rows are committed, so this is an upper bound of publish → durable audit row.

The transactions are the recorded real ones from the data dir (blocks 277,647, 540,107,
574,200 and the mempool.space fixtures). To go past the ~3,900 there are, copies get a new
txid (a hash of the original and the copy number) and are otherwise unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from chainwatch.devstack.servers import NatsServer, free_port, scratch_database, temporary_postgres
from chainwatch.ingest.normalise import normalise
from chainwatch.ingest.publisher import TxPublisher
from chainwatch.shared import bus, db, subjects
from chainwatch.shared.schemas import Transaction
from chainwatch.shared.settings import DatabaseSettings, NatsSettings


def load_transactions(data_dir: Path) -> list[Transaction]:
    derived = data_dir / "mempool_api/derived"
    records = json.loads((derived / "block277647_txs_with_prevouts.json").read_text())
    for name in ("block540107_txs_esplora_like.jsonl.gz", "block574200_txs_esplora_like.jsonl.gz"):
        with gzip.open(derived / name, "rt") as lines:
            records.extend(json.loads(line) for line in lines)
    return [normalise(r) for r in records]


def copies(txs: list[Transaction], count: int, salt: str) -> Iterator[Transaction]:
    """``count`` transactions: the originals, then copies under new txids."""
    for n in range(count):
        tx = txs[n % len(txs)]
        if n < len(txs) and not salt:
            yield tx
            continue
        txid = hashlib.sha256(f"{salt}:{n}:{tx.txid}".encode()).hexdigest()
        yield tx.model_copy(update={"txid": txid})


@contextlib.contextmanager
def database() -> Iterator[str]:
    """A scratch database on DATABASE_URL's server, else on an embedded server."""
    server = os.environ.get("DATABASE_URL")
    with contextlib.ExitStack() as stack:
        if not server:
            server = stack.enter_context(temporary_postgres("chainwatch-bench-pg-"))
        yield stack.enter_context(scratch_database(server, "chainwatch_bench"))


class DecisionClock:
    """When each txid was published and when its decision arrived (perf_counter seconds)."""

    def __init__(self) -> None:
        self.published: dict[str, float] = {}
        self.decided: dict[str, float] = {}
        self.all_in = asyncio.Event()
        self.expected = 0

    def on_decision(self, txid: str) -> None:
        if txid in self.published and txid not in self.decided:
            self.decided[txid] = time.perf_counter()
            if len(self.decided) >= self.expected:
                self.all_in.set()

    def latencies_ms(self, txids: list[str]) -> list[float]:
        return [(self.decided[t] - self.published[t]) * 1000 for t in txids if t in self.decided]


async def publish(
    publisher: TxPublisher, clock: DecisionClock, txs: list[Transaction], rate_tx_s: float
) -> None:
    started = time.perf_counter()
    for n, tx in enumerate(txs):
        if rate_tx_s > 0:
            due = started + n / rate_tx_s
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
        clock.published[tx.txid] = time.perf_counter()
        await publisher.submit(tx, source="bench")
    await publisher.flush()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def bench(args: argparse.Namespace, nats_url: str, database_url: str) -> dict[str, object]:
    pool = await db.create_pool(DatabaseSettings(url=database_url))
    await db.migrate(pool)
    nc = await bus.connect(NatsSettings(url=nats_url), "bench")
    js = nc.jetstream()
    await bus.ensure_streams(js)

    clock = DecisionClock()

    async def on_scored(msg: object) -> None:
        clock.on_decision(json.loads(msg.data)["txid"])  # type: ignore[attr-defined]

    await nc.subscribe(subjects.TX_SCORED, cb=on_scored)
    scorers = start_scorers(args, nats_url, database_url)
    try:
        await wait_ready(scorers)
        txs = load_transactions(args.data_dir)

        burst = list(copies(txs, args.count, salt="burst"))
        clock.expected = len(burst)
        publisher = TxPublisher(js, max_in_flight=512)
        started = time.perf_counter()
        await publish(publisher, clock, burst, rate_tx_s=0)
        published_s = time.perf_counter() - started
        await asyncio.wait_for(clock.all_in.wait(), timeout=args.count / 100 + 60)
        sustained_tx_s = len(burst) / (max(clock.decided.values()) - started)

        paced = list(copies(txs, int(args.rate * args.seconds), salt="paced"))
        clock.all_in.clear()
        clock.expected = len(burst) + len(paced)
        await publish(publisher, clock, paced, rate_tx_s=args.rate)
        await asyncio.wait_for(clock.all_in.wait(), timeout=args.seconds + 60)
        latencies = clock.latencies_ms([tx.txid for tx in paced])
        audit_rows = await pool.fetchval("SELECT count(*) FROM audit_decision")
    finally:
        stop_scorers(scorers)
        await nc.drain()
        await pool.close()

    return {
        "transactions": len(burst),
        "replicas": args.replicas,
        "batch_size": args.batch_size,
        "publish_only_tx_s": round(len(burst) / published_s),
        "sustained_tx_s": round(sustained_tx_s),
        "paced_rate_tx_s": args.rate,
        "paced_transactions": len(paced),
        "latency_p50_ms": round(statistics.median(latencies), 2),
        "latency_p99_ms": round(percentile(latencies, 99), 2),
        "latency_max_ms": round(max(latencies), 2),
        "audit_rows": audit_rows,
    }


def start_scorers(
    args: argparse.Namespace, nats_url: str, database_url: str
) -> list[tuple[subprocess.Popen[bytes], int]]:
    started = []
    for _ in range(args.replicas):
        port = free_port()
        env = {
            **os.environ,
            "CHAINWATCH_NATS_URL": nats_url,
            "DATABASE_URL": database_url,
            "CHAINWATCH_DATA_DIR": str(args.data_dir),
            "CHAINWATCH_SCORER_BATCH_SIZE": str(args.batch_size),
            "CHAINWATCH_SCORER_HEALTH_PORT": str(port),
            "CHAINWATCH_LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen([sys.executable, "-m", "chainwatch.scorer"], env=env)
        started.append((process, port))
    return started


async def wait_ready(scorers: list[tuple[subprocess.Popen[bytes], int]]) -> None:
    import httpx

    async with httpx.AsyncClient() as client:
        for _, port in scorers:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise TimeoutError(f"scorer on port {port} not ready")


def stop_scorers(scorers: list[tuple[subprocess.Popen[bytes], int]]) -> None:
    for process, _ in scorers:
        process.send_signal(signal.SIGTERM)
    for process, _ in scorers:
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="transactions in the burst")
    parser.add_argument("--rate", type=float, default=1000.0, help="paced tx/s")
    parser.add_argument("--seconds", type=float, default=15.0, help="paced duration")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("CHAINWATCH_DATA_DIR", "../shared/data")),
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="chainwatch-bench-") as tmp, database() as url:
        nats = NatsServer(Path(tmp) / "nats").start()
        try:
            result = asyncio.run(bench(args, nats.url, url))
        finally:
            nats.stop()
    result |= {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))  # noqa: T201 - the benchmark's output


if __name__ == "__main__":
    main()
