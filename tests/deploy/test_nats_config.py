"""deploy/nats/nats-server.conf and nats-cluster.conf, checked by the real nats-server (``-t``:
parse and exit), with a placeholder for every password the users' file reads from the
environment."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from chainwatch.devstack.servers import nats_server_binary


@pytest.fixture(scope="module")
def config_path(repo_root: Path) -> Path:
    return repo_root / "deploy" / "nats" / "nats-server.conf"


@pytest.mark.parametrize("name", ["nats-server.conf", "nats-cluster.conf"])
def test_configuration_is_valid(repo_root: Path, name: str) -> None:
    result = _check(repo_root / "deploy" / "nats" / name)

    assert result.returncode == 0, result.stderr


def test_the_server_refuses_to_start_without_a_password(config_path: Path) -> None:
    env = _passwords()
    env.pop("CHAINWATCH_NATS_SCORER_PASSWORD")

    result = _check(config_path, env)

    assert result.returncode != 0
    assert "CHAINWATCH_NATS_SCORER_PASSWORD" in result.stderr


def test_check_rejects_a_misspelt_key(config_path: Path, tmp_path: Path) -> None:
    broken = tmp_path / "nats-server.conf"
    text = config_path.read_text().replace("jetstream {", "jetstrem {")
    assert text != config_path.read_text()
    broken.write_text(text)

    result = _check(broken)

    assert result.returncode != 0
    assert 'unknown field "jetstrem"' in result.stderr


def test_jetstream_stores_on_the_volume_compose_mounts(config_path: Path) -> None:
    lines = [line.strip() for line in config_path.read_text().splitlines()]

    assert "jetstream {" in lines
    assert "store_dir: /data" in lines


ACCOUNTS = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "accounts.conf"


def _passwords() -> dict[str, str]:
    """A placeholder for every password accounts.conf reads from the environment."""
    names = set(re.findall(r"\$(CHAINWATCH_NATS_\w+_PASSWORD)", ACCOUNTS.read_text()))
    assert names
    return {name: "placeholder" for name in names} | {"POD_NAME": "nats-0"}


def _check(path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``nats-server -t``; its ``include`` is read from the folder the configuration is in."""
    if path.parent != ACCOUNTS.parent:
        (path.parent / "accounts.conf").write_text(ACCOUNTS.read_text())
    return subprocess.run(
        [str(nats_server_binary()), "-t", "-c", str(path)],
        env=_passwords() if env is None else env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
