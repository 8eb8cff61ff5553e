"""Fixtures of the trainer tests: an S3 server, and the real data set built once.

Dagster runs in-process on an ephemeral instance (no DAGSTER_HOME, no telemetry); the S3
server is moto's, on a free loopback port.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainwatch.scorer.labels import LabelBook
from chainwatch.trainer.dataset import RecordedTransactions
from chainwatch.trainer.screening import FeatureSet, LabelledData, build_features, build_labelled

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def label_book(data_dir: Path) -> LabelBook:
    return LabelBook(data_dir)


@pytest.fixture(scope="session")
def real_labelled(data_dir: Path, label_book: LabelBook) -> LabelledData:
    """Every recorded real transaction, exposure-assessed and weakly labelled."""
    return build_labelled(RecordedTransactions(data_dir).load(), label_book, verdicts={})


@pytest.fixture(scope="session")
def real_features(real_labelled: LabelledData) -> FeatureSet:
    return build_features(real_labelled)
