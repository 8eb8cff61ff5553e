"""``chainwatch-trainer``: serve the Dagster code location, or run a job once from the shell.

::

    chainwatch-trainer serve      # Dagster UI + daemon (schedule, sensor), /healthz; default
    chainwatch-trainer train      # run screening_training once, in this process
    chainwatch-trainer train --since 2026-12-01T00:00Z   # ... on what arrived since then
    chainwatch-trainer elliptic   # run the Elliptic benchmark once

``serve`` supervises ``dagster-webserver`` and ``dagster-daemon`` as child processes and
answers ``/healthz`` (and ``/readyz``: both children alive) on the health port. SIGINT or
SIGTERM stops both children, then the process. A child that dies stops the others and the
process exits non-zero, for the container's restart policy to act on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chainwatch.shared.health import HealthServer, ReadinessCheck
from chainwatch.shared.logs import configure_logging
from chainwatch.shared.retraining import TrainingWindow
from chainwatch.trainer.settings import TrainerSettings

logger = logging.getLogger("chainwatch.trainer")

CODE_LOCATION = "chainwatch.trainer.definitions"
DAGSTER_YAML = "telemetry:\n  enabled: false\n"
STOP_GRACE_S = 20.0


def dagster_environment(settings: TrainerSettings) -> dict[str, str]:
    """The environment of Dagster's processes: an instance folder, and no telemetry."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "1"}


async def serve(settings: TrainerSettings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    env = dagster_environment(settings)
    # The tools of this interpreter's environment, whatever PATH says.
    tools = Path(sys.executable).parent
    commands = {
        "webserver": [
            *(str(tools / "dagster-webserver"), "-m", CODE_LOCATION),
            *("-h", settings.ui_host, "-p", str(settings.ui_port)),
        ],
        "daemon": [str(tools / "dagster-daemon"), "run", "-m", CODE_LOCATION],
    }
    children = {
        name: await asyncio.create_subprocess_exec(*command, env=env)
        for name, command in commands.items()
    }

    def alive(name: str) -> ReadinessCheck:
        async def check() -> bool:
            return children[name].returncode is None

        return check

    checks = {name: alive(name) for name in children}
    health = HealthServer(settings.health_host, settings.health_port, checks)
    await health.start()
    logger.info("Dagster UI on http://%s:%d/", settings.ui_host, settings.ui_port)

    waits = {asyncio.ensure_future(p.wait()): name for name, p in children.items()}
    stopping = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait([stopping, *waits], return_when=asyncio.FIRST_COMPLETED)
    died = [waits[d] for d in done if d in waits]
    if died:
        logger.error("%s exited with %s; stopping", died[0], children[died[0]].returncode)

    await _stop_children(children)
    await health.stop()
    stopping.cancel()
    return 1 if died else 0


async def _stop_children(children: dict[str, asyncio.subprocess.Process]) -> None:
    for process in children.values():
        if process.returncode is None:
            process.terminate()
    for name, process in children.items():
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE_S)
        except TimeoutError:
            logger.warning("%s did not stop within %.0fs; killing it", name, STOP_GRACE_S)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def run_job(settings: TrainerSettings, job_name: str, run_config: Mapping[str, Any]) -> int:
    """Run a job of the code location once in this process; print how it went."""
    os.environ.update(dagster_environment(settings))
    import dagster as dg

    from chainwatch.trainer.definitions import build_definitions
    from chainwatch.trainer.retrain import TRIGGER_TAG

    job = build_definitions(settings).resolve_job_def(job_name)
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            raise_on_error=False,
            tags={TRIGGER_TAG: "manual"},
        )
    for check in result.get_asset_check_evaluations():
        verdict = "passed" if check.passed else "REFUSED"
        print(f"{check.check_name}: {verdict}: {check.description}")  # noqa: T201 - CLI output
    print(f"run {result.run_id}: {'success' if result.success else 'failure'}")  # noqa: T201
    return 0 if result.success else 1


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="chainwatch-trainer", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="Dagster UI and daemon, with /healthz (default)")
    train = commands.add_parser("train", help="run screening_training once")
    train.add_argument(
        "--shuffle-labels", action="store_true", help="degrade the XGBoost candidate on purpose"
    )
    train.add_argument(
        "--since",
        metavar="ISO8601",
        help="train on the transactions that reached chainwatch.tx.raw since then (with a zone)",
    )
    train.add_argument("--until", metavar="ISO8601", help="... and up to then (needs --since)")
    commands.add_parser("elliptic", help="run the Elliptic benchmark once")
    args = parser.parse_args(argv)
    window = None
    if args.command == "train" and (args.since is not None or args.until is not None):
        if args.since is None:
            parser.error("--until needs --since")
        try:
            window = TrainingWindow.model_validate({"start": args.since, "end": args.until})
        except ValidationError as exc:
            parser.error(f"not a training window: {exc.errors()[0]['msg']}")

    settings = TrainerSettings()
    configure_logging("trainer", settings.log.level, settings.log.format)
    if args.command == "train":
        from chainwatch.trainer.retrain import window_config

        ops: dict[str, object] = {
            "xgb_candidate": {"config": {"shuffle_labels": args.shuffle_labels}}
        }
        if window is not None:
            ops["screening_transactions"] = {"config": window_config(window)}
        sys.exit(run_job(settings, "screening_training", {"ops": ops}))
    if args.command == "elliptic":
        sys.exit(run_job(settings, "elliptic", {}))
    sys.exit(asyncio.run(serve(settings)))


if __name__ == "__main__":
    main()
