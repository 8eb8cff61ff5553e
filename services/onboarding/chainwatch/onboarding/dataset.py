"""The German credit data as applicants and labels, and applicants as model features.

``german.data`` has one applicant per line: 20 space-separated attributes (codes such as
``A11`` or integers), then the class, 1 for a good risk and 2 for a bad one. Here the class
becomes ``bad`` (1 bad, 0 good), the positive class of every model: a score is a
probability of a bad risk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from chainwatch.onboarding.attributes import ATTRIBUTES, BY_NAME, Attribute
from chainwatch.onboarding.errors import DatasetError
from chainwatch.shared.onboarding import Applicant

DATA_FILE = Path("onboarding_risk") / "statlog_german_credit_german.data"
"""Where the data set lives under the data dir."""

GOOD, BAD = 1, 2
"""The class codes of ``german.data``."""


@dataclass(frozen=True)
class CreditData:
    """Applicants and their outcome: ``bad[i]`` is 1 when applicant ``i`` was a bad risk."""

    applicants: tuple[Applicant, ...]
    bad: npt.NDArray[np.int_]
    source: str

    def __len__(self) -> int:
        return len(self.applicants)


def load_credit_data(data_dir: Path) -> CreditData:
    """Read ``german.data`` from the data dir; raise ``DatasetError`` naming a bad line."""
    path = data_dir / DATA_FILE
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except OSError as exc:
        raise DatasetError(str(path), 0, f"cannot read: {exc}") from exc

    applicants, bad = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        applicant, is_bad = parse_line(line, str(path), number)
        applicants.append(applicant)
        bad.append(is_bad)
    return CreditData(tuple(applicants), np.asarray(bad, dtype=np.int_), str(path))


def parse_line(line: str, source: str, number: int) -> tuple[Applicant, int]:
    """One line of ``german.data`` as an applicant and its outcome (1 bad, 0 good)."""
    fields = line.split()
    if len(fields) != len(ATTRIBUTES) + 1:
        raise DatasetError(source, number, f"{len(fields)} fields, expected 21")
    values: dict[str, object] = {}
    for attribute, raw in zip(ATTRIBUTES, fields, strict=False):
        values[attribute.name] = _decode(attribute, raw, source, number)
    outcome = fields[-1]
    if outcome not in (str(GOOD), str(BAD)):
        raise DatasetError(source, number, f"class {outcome!r} is neither 1 nor 2")
    return Applicant.model_validate(values), int(outcome == str(BAD))


def _decode(attribute: Attribute, raw: str, source: str, number: int) -> object:
    if attribute.kind == "integer":
        if not raw.isdigit():
            raise DatasetError(source, number, f"{attribute.name}: {raw!r} is not an integer")
        return int(raw)
    if raw not in attribute.codes:
        raise DatasetError(source, number, f"{attribute.name}: unknown code {raw!r}")
    return attribute.codes[raw]


def feature_row(applicant: Applicant, features: Sequence[str]) -> list[float]:
    """The model's input for one applicant: categories as their index, booleans as 0/1."""
    row = []
    for name in features:
        attribute = BY_NAME[name]
        value = getattr(applicant, name)
        if attribute.kind == "categorical":
            row.append(float(attribute.categories.index(str(value))))
        else:
            row.append(float(value))
    return row


def feature_matrix(
    applicants: Sequence[Applicant], features: Sequence[str]
) -> npt.NDArray[np.float64]:
    """Rows of ``feature_row``, one per applicant: shape (applicants, features)."""
    rows = [feature_row(a, features) for a in applicants]
    return np.asarray(rows, dtype=np.float64).reshape(len(applicants), len(features))
