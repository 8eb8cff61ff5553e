"""The time-ordered split: consecutive windows, moved only to hold positives."""

from __future__ import annotations

import numpy as np

from chainwatch.trainer.split import SplitParams, time_split


def labels_at(n: int, positives: list[int]) -> np.ndarray:
    y = np.zeros(n, dtype=np.int64)
    y[positives] = 1
    return y


def test_windows_are_consecutive_and_fractional_when_positives_are_spread() -> None:
    y = labels_at(100, list(range(0, 100, 4)))
    split = time_split(y)

    assert (split.validation_start, split.held_out_start) == (64, 80)
    assert split.train.stop == split.validation.start and split.validation.stop == 80
    assert split.notes == ()


def test_held_out_moves_back_to_hold_enough_positives() -> None:
    y = labels_at(1000, [100, 110, 120, 130, 140, 150, 160, 170, 180, 900])
    split = time_split(y, SplitParams(min_held_out_positives=3, min_train_positives=3))

    assert split.held_out_start == 170
    assert int(y[split.held_out].sum()) == 3
    assert int(y[split.train].sum()) >= 3
    assert "to hold 3 positives" in split.notes[0]


def test_validation_is_shortened_so_a_burst_of_positives_still_trains() -> None:
    y = labels_at(100, [*range(60, 75), 95, 96, 97, 98, 99])
    split = time_split(y)

    assert int(y[split.train].sum()) == 12
    assert int(y[split.validation].sum()) == 3
    assert any("left to train on" in note for note in split.notes)


def test_too_few_positives_keep_the_fraction_and_say_so() -> None:
    y = labels_at(100, [10, 20])
    split = time_split(y)

    assert split.held_out_start == 80
    assert "holds 0 positives" in split.notes[0]
