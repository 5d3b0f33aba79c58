"""The ladder beside its source: Nielsen's own schedule for each row, and whether a row met its goal.

Chapter 8 shows these in its tables; they live here so that the tests check them and the chapter only
calls them.
"""

from __future__ import annotations

from typing import NamedTuple

from .claims import error_reduction
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


class Spread(NamedTuple):
    """How far apart test accuracies (percent) of one network trained from different seeds land."""

    low: float
    high: float

    @property
    def width(self) -> float:
        """``high - low``, in points (rounded to the 0.01 a 10,000-image test set resolves)."""
        return round(self.high - self.low, 2)

    def covers(self, measured: float, source: float) -> bool:
        """Whether ``measured`` and ``source`` differ by no more than the spread's width."""
        return round(abs(measured - source), 9) <= self.width


def seed_spread(accuracies: list[float]) -> Spread:
    """The lowest and highest of several seeds' accuracies (row 8's members are five seeds of row 7).

    >>> seed_spread([99.49, 99.47, 99.48, 99.39, 99.53]).width
    0.14
    """
    if len(accuracies) < 2:
        raise ValueError(f"a spread needs at least two seeds' accuracies, got {len(accuracies)}")
    return Spread(min(accuracies), max(accuracies))


def error_reduction_range(before: float, after: float, spread: Spread) -> tuple[float, float]:
    """The smallest and largest share of errors removed if each accuracy moved by half the seed spread.

    The share ``(after - before) / (100 - before)`` grows with ``after`` and shrinks with ``before``, so the
    extremes are at the corners.
    """
    half = spread.width / 2
    return error_reduction(before + half, after - half), error_reduction(before - half, after + half)
