"""``chainwatch-audit verify``: walk the audit chain and name the first row that breaks it.

Each row's hash must equal ``sha256(prev_hash || canonical row)`` and its ``prev_hash``
must equal the previous row's hash, with no gap in ``chain_seq``. A row edited after the
fact fails the first check; a row deleted or slipped in fails the second or leaves a gap.
Exit status: 0 when the chain is whole, 1 when it is broken (the row is printed), 2 when
the check could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

import asyncpg

from chainwatch.shared.settings import DatabaseSettings

GENESIS_HASH = b"\x00"
CHUNK_ROWS = 5_000

CHANGED = "content does not match its hash: the row was changed after it was written"
UNLINKED = "does not link to the previous row: a row before it was changed or removed"

_WALK = """
SELECT chain_seq, txid, prev_hash, row_hash,
       row_hash = sha256(prev_hash || audit_decision_canonical(a)) AS content_ok
FROM audit_decision a
WHERE chain_seq > $1
ORDER BY chain_seq
LIMIT $2
"""


@dataclass(frozen=True)
class ChainBreak:
    chain_seq: int
    txid: str
    problem: str

    def __str__(self) -> str:
        return f"audit row chain_seq={self.chain_seq} txid={self.txid}: {self.problem}"


@dataclass(frozen=True)
class ChainReport:
    rows_checked: int
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


async def verify_chain(conn: asyncpg.Connection) -> ChainReport:
    """Check every row in chain order; stop at the first that breaks the chain."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    after_seq = 0
    while rows := await conn.fetch(_WALK, after_seq, CHUNK_ROWS):
        for row in rows:
            seq, txid = row["chain_seq"], row["txid"]
            if seq != expected_seq:
                problem = f"chain_seq jumps from {expected_seq - 1} to {seq}: rows were removed"
                return ChainReport(checked, ChainBreak(seq, txid, problem))
            if bytes(row["prev_hash"]) != prev_hash:
                return ChainReport(checked, ChainBreak(seq, txid, UNLINKED))
            if not row["content_ok"]:
                return ChainReport(checked, ChainBreak(seq, txid, CHANGED))
            prev_hash = bytes(row["row_hash"])
            expected_seq += 1
            checked += 1
        after_seq = rows[-1]["chain_seq"]
    return ChainReport(checked, None)


async def _run(settings: DatabaseSettings) -> int:
    conn = await asyncpg.connect(settings.url.get_secret_value())
    try:
        report = await verify_chain(conn)
    finally:
        await conn.close()
    if report.first_break is not None:
        print(f"BROKEN after {report.rows_checked} good rows: {report.first_break}")  # noqa: T201
        return 1
    print(f"audit chain intact: {report.rows_checked} rows")  # noqa: T201
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="chainwatch-audit", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["verify"])
    parser.parse_args(argv)
    try:
        code = asyncio.run(_run(DatabaseSettings()))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)  # noqa: T201
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()
