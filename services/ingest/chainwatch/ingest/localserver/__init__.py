"""A local, mempool.space-compatible server that replays recorded real data (REST + websocket).

Used by the tests and by offline runs: ``python -m chainwatch.ingest.localserver``.
"""
