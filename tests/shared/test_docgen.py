"""The published contract matches the code: docs/ is exactly what the models generate."""

from __future__ import annotations

import json
from pathlib import Path

from chainwatch.shared import subjects
from chainwatch.shared.docgen import asyncapi, render

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_committed_docs_are_generated_from_the_models() -> None:
    stale = [
        str(path.relative_to(REPO_ROOT))
        for path, text in render(REPO_ROOT / "docs").items()
        if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"regenerate with `make docs`: {stale}"


def test_asyncapi_names_every_subject_with_its_schema() -> None:
    document = asyncapi()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert {subjects.TX_RAW, subjects.TX_SCORED} <= addresses
    raw = document["components"]["messages"]["RawTransaction"]["payload"]["schema"]
    assert raw["properties"]["schema_version"]["const"] == 1
    assert "txid" in json.dumps(raw["$defs"]["Transaction"]["required"])
