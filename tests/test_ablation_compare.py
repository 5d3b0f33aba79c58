"""Chapter 8's comparison with the source: the goal verdict and Nielsen's schedules."""

from pathlib import Path

import pytest

from cnnbook.ablation import ROWS
from cnnbook.ablation.claims import error_reduction
from cnnbook.ablation.compare import (
    GOAL_TOLERANCE,
    NIELSEN_SCHEDULES,
    error_reduction_range,
    schedule_text,
    seed_spread,
    verdict,
)


def test_verdict_edges():
    assert verdict(99.60, 99.60) == "yes (above)"
    assert verdict(99.60 - GOAL_TOLERANCE, 99.60) == "yes (within)"
    assert verdict(99.60 - GOAL_TOLERANCE - 0.01, 99.60) == "no"
    assert verdict(99.0, 99.5, tolerance=0.5) == "yes (within)"


def test_nielsen_schedules_cover_every_row():
    assert sorted(NIELSEN_SCHEDULES) == [row.number for row in ROWS]
    assert NIELSEN_SCHEDULES[1].text() == "60 epochs, batch 10, rate 0.1"
    assert NIELSEN_SCHEDULES[7].text() == "40 epochs, batch 10, rate 0.03"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: str(r.number))
def test_schedule_text_states_every_setting(row):
    text = schedule_text(row.schedule)
    assert text.startswith(f"{row.schedule.epochs} epochs, batch {row.schedule.batch_size}, rate ")
    assert ("cosine decay" in text) == row.schedule.cosine
    assert ("momentum" in text) == bool(row.schedule.momentum)


def test_seed_spread_and_what_it_covers():
    spread = seed_spread([99.49, 99.47, 99.48, 99.39, 99.53])
    assert (spread.low, spread.high, spread.width) == (99.39, 99.53, 0.14)
    assert spread.covers(99.46, 99.60) and not spread.covers(99.45, 99.60)
    with pytest.raises(ValueError, match="at least two"):
        seed_spread([99.5])


def test_error_reduction_range_brackets_the_measured_share():
    spread = seed_spread([99.0, 99.2])
    low, high = error_reduction_range(99.0, 99.5, spread)
    assert low < error_reduction(99.0, 99.5) < high
    assert low == pytest.approx(error_reduction(99.1, 99.4)) and high == pytest.approx(error_reduction(98.9, 99.6))


def test_the_chapter_no_longer_says_the_l2_strength_carries_over_exactly():
    text = (Path(__file__).resolve().parents[1] / "notebooks/08-mnist-ablation.ipynb").read_text()
    assert "carries over exactly" not in text and "network3.py" in text
