"""One Dockerfile per service, parsed with dockerfile-parse and held to the image conventions.

``problems`` lists what a Dockerfile gets wrong; each service's file must have none, and
broken copies of a real file show that each kind of mistake is caught.
"""

from __future__ import annotations

import io
import re
import shlex
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

ROOT_USERS = {"root", "0"}
INSTALLERS = re.compile(r"\b(uv sync|uv pip install|uv export|pip install)\b")


@dataclass(frozen=True)
class Instruction:
    name: str
    value: str
    stage: int


def port_env(service: str) -> str:
    """The variable holding the port of ``/healthz`` (deploy/README.md)."""
    if service == "dashboard":
        return "CHAINWATCH_DASHBOARD_PORT"
    return f"CHAINWATCH_{service.upper()}_HEALTH_PORT"


def default_port(service: str) -> int:
    return 8000 if service == "dashboard" else 8080


def parser_of(text: str) -> DockerfileParser:
    return DockerfileParser(fileobj=io.BytesIO(text.encode()))


def parse(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, each with the index of its stage (-1 before FROM)."""
    stage = -1
    found = []
    for item in parser_of(text).structure:
        name = item["instruction"]
        if name == "COMMENT":
            continue
        if name == "FROM":
            stage += 1
        found.append(Instruction(name, " ".join(item["value"].split()), stage))
    return found


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    return [i for i in instructions if i.stage == instructions[-1].stage]


def problems(text: str, service: str, needed: set[str], repo_root: Path) -> list[str]:
    """Everything in ``text`` that breaks the image conventions for ``service``, whose image
    needs the workspace members (folders) ``needed``."""
    instructions = parse(text)
    if not any(i.name == "FROM" for i in instructions):
        return ["no FROM: not a Dockerfile"]

    final = final_stage(instructions)
    found = []
    found += _copy_problems(instructions, needed, repo_root)
    found += _install_problems(instructions, service)
    found += _user_problems(final)
    found += _healthcheck_problems(final, service)
    found += _entrypoint_problems(final, service)
    return found


def _copy_problems(instructions: list[Instruction], needed: set[str], repo_root: Path) -> list[str]:
    found = []
    members = set()
    for copy in (i for i in instructions if i.name in {"COPY", "ADD"}):
        words = shlex.split(copy.value)
        if any(word.startswith("--from=") for word in words):
            continue
        sources = [word.rstrip("/") for word in words if not word.startswith("--")][:-1]
        for source in sources:
            if not (repo_root / source).exists():
                found.append(f"COPY source {source} does not exist")
            if (repo_root / source / "pyproject.toml").exists():
                members.add(source)
    if members - needed:
        found.append(f"COPY of workspace members it does not need: {sorted(members - needed)}")
    if needed - members:
        found.append(f"no COPY of workspace members it needs: {sorted(needed - members)}")
    return found


def _install_problems(instructions: list[Instruction], service: str) -> list[str]:
    steps = [i.value for i in instructions if i.name == "RUN" and INSTALLERS.search(i.value)]
    if not steps:
        return ["no install step"]

    found = []
    for step in steps:
        words = shlex.split(step)
        packages = {words[n + 1] for n, word in enumerate(words[:-1]) if word == "--package"}
        packages |= {word.split("=", 1)[1] for word in words if word.startswith("--package=")}
        if packages != {f"chainwatch-{service}"}:
            found.append(f"install step names {sorted(packages)}: {step}")
        if "--all-packages" in words:
            found.append(f"install step installs every package: {step}")
        if "--frozen" not in words or "--no-dev" not in words:
            found.append(f"install step not from the lock without dev tools: {step}")
    return found


def _user_problems(final: list[Instruction]) -> list[str]:
    users = [i.value for i in final if i.name == "USER"]
    if not users:
        return ["the final stage runs as root: no USER"]
    user, _, group = users[-1].partition(":")
    if user in ROOT_USERS or group in ROOT_USERS:
        return [f"the final stage runs as root: USER {users[-1]}"]
    return []


def _healthcheck_problems(final: list[Instruction], service: str) -> list[str]:
    checks = [i.value for i in final if i.name == "HEALTHCHECK"]
    if not checks or checks[-1].upper() == "NONE":
        return ["no HEALTHCHECK"]
    if port_env(service) not in checks[-1]:
        return [f"HEALTHCHECK does not probe {port_env(service)}: {checks[-1]}"]
    return []


def _entrypoint_problems(final: list[Instruction], service: str) -> list[str]:
    entrypoints = [i.value for i in final if i.name == "ENTRYPOINT"]
    expected = f'["chainwatch-{service}"]'
    if not entrypoints or entrypoints[-1] != expected:
        return [f"ENTRYPOINT is not {expected}: {entrypoints}"]
    return []


@pytest.fixture
def needed(service: str, members_needed_by: Callable[[str], set[str]]) -> set[str]:
    return members_needed_by(service)


def test_dockerfile_follows_the_image_conventions(
    dockerfile: str, service: str, needed: set[str], repo_root: Path
) -> None:
    assert problems(dockerfile, service, needed, repo_root) == []


def test_dockerfile_is_multi_stage_on_slim_python(dockerfile: str) -> None:
    bases = [i.value.split()[0] for i in parse(dockerfile) if i.name == "FROM"]

    assert len(bases) >= 2
    assert bases[-1] == "python:${PYTHON_VERSION}-slim-bookworm"


def test_entrypoint_is_the_package_console_script(service: str, repo_root: Path) -> None:
    project = tomllib.loads((repo_root / "services" / service / "pyproject.toml").read_text())

    assert project["project"]["name"] == f"chainwatch-{service}"
    scripts = project["project"].get("scripts", {})
    assert f"chainwatch-{service}" in scripts, f"{service} has no console script to start it"


def test_image_sets_and_exposes_the_health_port(
    dockerfile: str, service: str, repo_root: Path
) -> None:
    final = final_stage(parse(dockerfile))

    assert parser_of(dockerfile).envs[port_env(service)] == str(default_port(service))
    assert [i.value for i in final if i.name == "EXPOSE"] == [str(default_port(service))]


def test_health_port_is_in_the_readme_table(service: str, repo_root: Path) -> None:
    readme = (repo_root / "deploy" / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith(f"| {service} |")]

    assert len(rows) == 1, f"deploy/README.md has no row for {service}"
    assert f"`{port_env(service)}`" in rows[0]
    assert f"| {default_port(service)} |" in rows[0]


def test_image_uv_is_the_uv_the_makefile_installs(dockerfile: str, repo_root: Path) -> None:
    makefile = (repo_root / "Makefile").read_text()
    [make_uv] = re.findall(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)

    assert f"ARG UV_VERSION={make_uv}" in dockerfile


# Broken copies of the scorer's Dockerfile: each mistake must be reported.


@pytest.fixture
def scorer_dockerfile(repo_root: Path) -> str:
    return (repo_root / "services" / "scorer" / "Dockerfile").read_text()


@pytest.mark.parametrize(
    ("pattern", "replacement", "expected"),
    [
        (r"USER 10001:10001", "USER root", "runs as root"),
        (r"USER 10001:10001", "USER 10001:0", "runs as root"),
        (r"USER 10001:10001\n", "", "runs as root"),
        (r"--package chainwatch-scorer", "--package chainwatch-dashboard", "install step names"),
        (r"--no-editable", "--no-editable --all-packages", "every package"),
        (r"uv sync --frozen --no-dev", "uv sync", "from the lock"),
        (r"COPY shared shared", "COPY shraed shared", "does not exist"),
        (r"COPY shared shared", "COPY shared shared\nCOPY tools/devstack t", "does not need"),
        (r"COPY shared shared", "COPY services/dashboard shared", "it needs: ['shared']"),
        (r"HEALTHCHECK .*\\\n\s*CMD", "HEALTHCHECK NONE\nCMD", "no HEALTHCHECK"),
        (r"CHAINWATCH_SCORER_HEALTH_PORT\"\]", 'CHAINWATCH_PORT"]', "does not probe"),
        (r"ENTRYPOINT .*", 'ENTRYPOINT ["python"]', "ENTRYPOINT"),
        (r"(?s)FROM .*", "", "not a Dockerfile"),
    ],
)
def test_a_broken_dockerfile_is_caught(
    scorer_dockerfile: str, repo_root: Path, pattern: str, replacement: str, expected: str
) -> None:
    broken = re.sub(pattern, replacement, scorer_dockerfile, count=1)
    assert broken != scorer_dockerfile

    found = problems(broken, "scorer", {"shared", "services/scorer"}, repo_root)

    assert any(expected in problem for problem in found), found
