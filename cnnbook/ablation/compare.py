"""The ladder beside its source: Nielsen's own schedule for each row, and whether a row met its goal.

Chapter 8 shows these in its tables; they live here so that the tests check them and the chapter only
calls them.
"""

from __future__ import annotations

from typing import NamedTuple

from .rows import Schedule

#: How far below the source's accuracy (in points) a measured row may land and still meet its goal. The
#: book chose it: about the spread of one network trained with different seeds (row 8's five members).
GOAL_TOLERANCE = 0.15


class NielsenSchedule(NamedTuple):
    """How Nielsen trained a row (``network3.py``, plain SGD with a constant rate)."""

    epochs: int
    batch_size: int
    learning_rate: float

    def text(self) -> str:
        """``"60 epochs, batch 10, rate 0.1"``."""
        return f"{self.epochs} epochs, batch {self.batch_size}, rate {self.learning_rate:g}"


#: Nielsen's schedule for every row of the ladder (chapter 6 of his book): rows 1-3 at rate 0.1, rows 4-6
#: (ReLU) at 0.03, the dropout rows 7-8 for 40 epochs.
NIELSEN_SCHEDULES: dict[int, NielsenSchedule] = {
    **{n: NielsenSchedule(60, 10, 0.1) for n in (1, 2, 3)},
    **{n: NielsenSchedule(60, 10, 0.03) for n in (4, 5, 6)},
    **{n: NielsenSchedule(40, 10, 0.03) for n in (7, 8)},
}


def schedule_text(schedule: Schedule) -> str:
    """This book's schedule of a row in words: ``"20 epochs, batch 64, rate 0.05, momentum 0.9, cosine decay"``."""
    momentum = f", momentum {schedule.momentum:g}" if schedule.momentum else ""
    decay = ", cosine decay" if schedule.cosine else ", constant"
    return f"{schedule.epochs} epochs, batch {schedule.batch_size}, rate {schedule.learning_rate:g}{momentum}{decay}"


def verdict(measured: float, source: float, tolerance: float = GOAL_TOLERANCE) -> str:
    """Whether a measured accuracy (percent) meets the source's: ``"yes (above)"``, ``"yes (within)"`` or ``"no"``.

    >>> verdict(99.50, 99.43), verdict(99.37, 99.43), verdict(99.20, 99.43)
    ('yes (above)', 'yes (within)', 'no')
    """
    if measured >= source:
        return "yes (above)"
    # rounded: 99.60 - 99.45 is 0.15000000000000568 in floating point, and is meant as 0.15
    return "yes (within)" if round(source - measured, 9) <= tolerance else "no"
