"""Choosing recorded files and reading the records in them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from chainwatch.ingest.recorded import PRESETS, read_records, resolve_files
from chainwatch.shared.errors import ConfigurationError


def test_presets_select_real_files_in_order(data_dir: Path) -> None:
    eras = resolve_files(data_dir, ["eras"])
    assert [p.name.split("_")[0] for p in eras] == ["block277647", "block540107", "block574200"]
    everything = resolve_files(data_dir, ["all"])
    assert everything[:3] == eras and len(everything) > 40
    assert resolve_files(data_dir, ["block277647", "eras"]) == eras  # each file read once
    assert set(PRESETS) >= {"block277647", "eras", "fixtures", "all"}


def test_a_name_that_selects_nothing_is_a_configuration_error(data_dir: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_files(data_dir, ["mempool_api/nothing-*.json"])
    assert caught.value.setting == "replay_files"


def test_fixture_files_give_only_transactions(data_dir: Path) -> None:
    records = list(read_records(resolve_files(data_dir, ["fixtures"]), data_dir))
    payloads = [r.payload for r in records]
    assert all(r.error is None for r in records)
    assert all("vin" in p and "txid" in p for p in payloads)
    sources = {r.file_label for r in records}
    assert "replay:mempool_api/am-i-exposed_fixtures/hodlhodl-tp.json" in sources  # unwrapped
    assert not any("fee-mempool-blocks" in s or "mempoolInfo" in s for s in sources)
    assert len(records) == 3928 - 213 - 230 - 3315


def test_time_order_is_chronological_and_keeps_block_order(data_dir: Path) -> None:
    files = resolve_files(data_dir, ["all"])
    records = list(read_records(files, data_dir, order="time"))
    times = [r.payload["status"].get("block_time") for r in records]
    known = [t for t in times if t is not None]
    assert known == sorted(known)
    block = [r.payload["txid"] for r in records if "block277647" in r.location]
    listed = [r.payload["txid"] for r in read_records(files[:1], data_dir)]
    assert block == listed


def test_shuffled_order_depends_only_on_the_seed(data_dir: Path) -> None:
    files = resolve_files(data_dir, ["block277647"])
    first = [r.location for r in read_records(files, data_dir, order="shuffled", seed=7)]
    again = [r.location for r in read_records(files, data_dir, order="shuffled", seed=7)]
    other = [r.location for r in read_records(files, data_dir, order="shuffled", seed=8)]
    assert first == again != other
    assert sorted(first) == sorted(other)


def test_a_line_that_is_not_json_is_yielded_with_its_error(tmp_path: Path) -> None:
    path = tmp_path / "blocks" / "mixed.jsonl.gz"
    path.parent.mkdir()
    with gzip.open(path, "wb") as out:
        out.write(json.dumps({"txid": "ab" * 32, "vin": []}).encode() + b"\n")
        out.write(b"{truncated\n\n")
    records = list(read_records(resolve_files(tmp_path, ["blocks/*.jsonl.gz"]), tmp_path))
    assert [r.location for r in records] == [
        "replay:blocks/mixed.jsonl.gz#0",
        "replay:blocks/mixed.jsonl.gz#1",
    ]
    assert records[0].error is None
    assert records[1].error is not None and "not valid JSON" in records[1].error.reason
    assert records[1].encoded() == b"{truncated"
