"""``chainwatch-audit``: check the audit chain, and take anchors of it.

``verify`` walks the chain: each row's hash must equal ``sha256(prev_hash || canonical
row)`` and its ``prev_hash`` the previous row's hash, with no gap in ``chain_seq``. A row
edited after the fact fails the first check; a row deleted or slipped in fails the second
or leaves a gap. The database functions that compute the canonical row and the chain are
checked first against digests pinned here, so a replaced function is reported, not used.

What a chain alone cannot show is a rewrite of every hash from an edited row onwards, or
the loss of the newest rows. ``anchor`` prints the head (``chain_seq:row_hash``); kept
outside the database (a ticket, a signed export, a regulator's copy), it is checked by
``verify --anchor SEQ:HASH``: the row at SEQ must still carry that hash.

Exit status: 0 intact, 1 broken (the first broken row is printed), 2 could not check.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
from dataclasses import dataclass

import asyncpg

from chainwatch.shared.settings import DatabaseSettings

GENESIS_HASH = b"\x00"
CHUNK_ROWS = 5_000

PINNED_FUNCTIONS: dict[str, str] = {
    # sha256 of pg_proc.prosrc as migrations 0002 and 0005 define them.
    "audit_decision_canonical": "efcd69798b460eff544c963d3d4ac4c7c3006ed55f1a6a6ff4ad4d1bd78d3224",
    "audit_decision_chain": "232ce357b3b5e01f73ccbaf28e5cd5536316ec713ff8680872c6fe4c59a549d2",
}

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


async def replaced_functions(conn: asyncpg.Connection) -> list[str]:
    """The chain's database functions whose definition is not the pinned one."""
    rows = await conn.fetch(
        "SELECT proname, prosrc FROM pg_proc WHERE proname = ANY($1::text[])",
        list(PINNED_FUNCTIONS),
    )
    found = {r["proname"]: hashlib.sha256(r["prosrc"].encode()).hexdigest() for r in rows}
    return [name for name, digest in PINNED_FUNCTIONS.items() if found.get(name) != digest]


async def head(conn: asyncpg.Connection) -> tuple[int, bytes] | None:
    row = await conn.fetchrow(
        "SELECT chain_seq, row_hash FROM audit_decision ORDER BY chain_seq DESC LIMIT 1"
    )
    return None if row is None else (row["chain_seq"], bytes(row["row_hash"]))


async def check_anchor(conn: asyncpg.Connection, chain_seq: int, row_hash: bytes) -> str | None:
    """Why the anchor does not hold (None when it does)."""
    stored = await conn.fetchval(
        "SELECT row_hash FROM audit_decision WHERE chain_seq = $1", chain_seq
    )
    if stored is None:
        return f"anchored row chain_seq={chain_seq} is gone"
    if bytes(stored) != row_hash:
        return f"row chain_seq={chain_seq} no longer has its anchored hash: the chain was rewritten"
    return None


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


async def _run(settings: DatabaseSettings, args: argparse.Namespace) -> int:
    conn = await asyncpg.connect(settings.url.get_secret_value())
    try:
        if args.command == "anchor":
            current = await head(conn)
            print("empty" if current is None else f"{current[0]}:{current[1].hex()}")  # noqa: T201
            return 0
        if replaced := await replaced_functions(conn):
            print(f"BROKEN: audit functions replaced or missing: {', '.join(replaced)}")  # noqa: T201
            return 1
        report = await verify_chain(conn)
        anchor_problem = None
        for anchor in args.anchor:
            seq, _, digest = anchor.partition(":")
            anchor_problem = anchor_problem or await check_anchor(
                conn, int(seq), bytes.fromhex(digest)
            )
    finally:
        await conn.close()
    if report.first_break is not None:
        print(f"BROKEN after {report.rows_checked} good rows: {report.first_break}")  # noqa: T201
        return 1
    if anchor_problem is not None:
        print(f"BROKEN: {anchor_problem}")  # noqa: T201
        return 1
    print(f"audit chain intact: {report.rows_checked} rows")  # noqa: T201
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="chainwatch-audit", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["verify", "anchor"])
    parser.add_argument(
        "--anchor", action="append", default=[], metavar="SEQ:HASH", help="a head taken earlier"
    )
    args = parser.parse_args(argv)
    try:
        code = asyncio.run(_run(DatabaseSettings(), args))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)  # noqa: T201
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()
