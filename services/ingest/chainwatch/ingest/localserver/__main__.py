"""``python -m chainwatch.ingest.localserver``: serve recorded real data as mempool.space does.

Prints the base URL to give ingest (``CHAINWATCH_INGEST_LIVE_BASE_URL``), plays the scenario
at the chosen pace, and keeps serving after it ends until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from chainwatch.ingest.localserver.scenario import build_scenario
from chainwatch.ingest.localserver.server import LocalMempoolServer
from chainwatch.ingest.localserver.stats import RecordedStats
from chainwatch.shared.logs import configure_logging
from chainwatch.shared.settings import DataSettings


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument("--blocks", default="eras", help="recorded blocks, comma-separated")
    parser.add_argument("--steps-per-s", type=float, default=2.0, help="scenario pace")
    parser.add_argument("--batch-size", type=int, default=10, help="transactions per step")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args()


async def _serve(args: argparse.Namespace) -> None:
    data_dir = DataSettings().data_dir
    scenario = build_scenario(data_dir, args.blocks.split(","), batch_size=args.batch_size)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    server = LocalMempoolServer(scenario, RecordedStats.load(data_dir), args.host, args.port)
    async with server:
        print(server.base_url, flush=True)  # noqa: T201 - the URL is this command's output
        await server.play(args.steps_per_s, stop)
        await stop.wait()


def main() -> None:
    args = _arguments()
    configure_logging("localserver", args.log_level)
    logging.getLogger("websockets").setLevel(logging.WARNING)  # one line per request is noise
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
