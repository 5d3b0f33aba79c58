"""Chapter 8's comparison with the source: the goal verdict and Nielsen's schedules."""

import pytest

from cnnbook.ablation import ROWS
from cnnbook.ablation.compare import GOAL_TOLERANCE, NIELSEN_SCHEDULES, schedule_text, verdict


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
