"""Argument checks shared by every chapter module and the engine: one wording for one mistake."""

from __future__ import annotations

import numpy as np

Pair = int | tuple[int, int]


def is_int(value: object) -> bool:
    """True for Python and NumPy integers, but not for ``True``/``False`` (a bool is no size)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(minimum: int, **values: object) -> None:
    """Raise a ValueError naming the first argument that is not an integer ``>= minimum``.

    >>> check_int(1, k=3, s=0)
    Traceback (most recent call last):
    ...
    ValueError: s must be an integer >= 1, got 0
    """
    _check(minimum, f"an integer >= {minimum}", values)


def positive(**values: object) -> None:
    """Every value is an integer of at least 1 (a count or a size), or a ValueError names it."""
    _check(1, "a positive integer", values)


def _check(minimum: int, wanted: str, values: dict[str, object]) -> None:
    for name, value in values.items():
        if not is_int(value) or value < minimum:
            raise ValueError(f"{name} must be {wanted}, got {value!r}")


def as_pair(value: Pair, name: str, minimum: int) -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(3, 5)`` stays; anything else (or below ``minimum``) is a ValueError.

    >>> as_pair(3, "kernel", 1), as_pair((2, 1), "stride", 1)
    ((3, 3), (2, 1))
    """
    pair = (value, value) if is_int(value) else tuple(value)
    if len(pair) != 2 or any(not is_int(v) or v < minimum for v in pair):
        raise ValueError(f"{name} must be an integer >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])
