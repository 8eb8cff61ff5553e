""".dockerignore keeps local state, caches, tests and secrets out of the build context, and
nothing a Dockerfile copies.

``ignored`` follows Docker's rules for the patterns this file uses: a pattern is matched from
the context root, ``*`` and ``?`` stay within one path segment, ``**`` spans any number of
them, and a match on a folder excludes everything under it. (Docker's ``!`` exceptions are
not used here, so they are not implemented.)
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest


def patterns(text: str) -> list[re.Pattern[str]]:
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("!"), "exceptions are not supported by this test"
        found.append(re.compile(_translate(line.strip("/"))))
    return found


def _translate(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out.append(pattern[i : end + 1])
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out) + "$"


def ignored(path: str, rules: list[re.Pattern[str]]) -> bool:
    """Whether ``path`` (relative to the context root) is left out of the build context."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    return any(rule.match(prefix) for rule in rules for prefix in prefixes)


@pytest.fixture(scope="module")
def rules(repo_root: Path) -> list[re.Pattern[str]]:
    return patterns((repo_root / ".dockerignore").read_text())


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        "services/scorer/.venv/lib/site.py",
        "var/nats/jetstream/meta.inf",
        "var/pgdata/PG_VERSION",
        "tests/deploy/test_compose.py",
        "services/scorer/tests/test_bands.py",
        "shared/chainwatch/shared/__pycache__/bus.cpython-311.pyc",
        "services/scorer/chainwatch/scorer/cascade.pyc",
        ".pytest_cache/v/cache/nodeids",
        ".mypy_cache/3.11/bus.meta.json",
        ".ruff_cache/CACHEDIR.TAG",
        ".hypothesis/examples/x",
        "services/scorer/chainwatch_scorer.egg-info/PKG-INFO",
        ".env",
        "deploy/production.env",
        ".git/HEAD",
        ".tools/bin/uv",
        "test-artifacts/screenshot.png",
    ],
)
def test_kept_out_of_the_context(rules: list[re.Pattern[str]], path: str) -> None:
    assert ignored(path, rules)


def test_everything_a_dockerfile_copies_is_in_the_context(
    rules: list[re.Pattern[str]], dockerfile: str
) -> None:
    sources = []
    for line in dockerfile.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            sources += shlex.split(line)[1:-1]

    assert sources
    for source in sources:
        assert not ignored(source, rules), source


def test_package_data_reaches_the_context(
    rules: list[re.Pattern[str]], repo_root: Path, service: str
) -> None:
    """Migrations, templates and static files ship inside the wheels the images build."""
    tracked = subprocess.run(
        ["git", "ls-files", "--", "shared/chainwatch", f"services/{service}/chainwatch"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.split()

    assert tracked
    assert [path for path in tracked if ignored(path, rules)] == []


def test_the_matcher_keeps_segments_apart() -> None:
    rules = patterns("var\n**/*.env\n")

    assert ignored("var/x", rules)
    assert not ignored("variables/x", rules)
    assert not ignored("shared/var.py", rules)
    assert ignored("a/b/c.env", rules)
    assert not ignored("a/b/c.envelope", rules)
