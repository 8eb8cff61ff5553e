"""deploy/nats/nats-server.conf, checked by the real nats-server (``-t``: parse and exit)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from chainwatch.devstack.servers import nats_server_binary


@pytest.fixture(scope="module")
def config_path(repo_root: Path) -> Path:
    return repo_root / "deploy" / "nats" / "nats-server.conf"


def test_configuration_is_valid(config_path: Path) -> None:
    result = _check(config_path)

    assert result.returncode == 0, result.stderr


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


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(nats_server_binary()), "-t", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
