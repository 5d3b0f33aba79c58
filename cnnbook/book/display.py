"""How notebooks put computed numbers into prose and tables.

:func:`glue` hands a value to the book (MyST-NB's ``{glue:text}`` role shows it in the prose), so
the HTML book never contains a number typed by hand. Outside the book build it is a no-op.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any


def glue(name: str, value: Any) -> Any:
    """Make ``value`` available to the book's prose as ``{glue:text}`name```; returns ``value``."""
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # a student's plain JupyterLab: nothing to do
        return value
    myst_glue(name, value, display=False)
    return value


class Table:
    """A small table that renders as HTML in a notebook and the book, and as text elsewhere."""

    def __init__(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.headers = list(headers)
        self.rows = [list(row) for row in rows]
        if any(len(row) != len(self.headers) for row in self.rows):
            raise ValueError(f"every row needs {len(self.headers)} cells, one per header {self.headers}")

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in self.headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_text(v))}</td>" for v in row) + "</tr>" for row in self.rows
        )
        return f'<table class="table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def __repr__(self) -> str:
        cells = [self.headers] + [[_text(v) for v in row] for row in self.rows]
        widths = [max(len(str(row[i])) for row in cells) for i in range(len(self.headers))]
        return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells)


def _text(value: Any) -> str:
    if isinstance(value, tuple):
        return " x ".join(str(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def percent_down(fraction: float, digits: int = 1) -> str:
    """``fraction`` as a percentage rounded *down* to ``digits`` decimals, so only 1 itself reads 100%.

    >>> percent_down(0.99955, 1), f"{0.99955:.1%}"
    ('99.9%', '100.0%')
    """
    scale = 10**digits
    return f"{math.floor(fraction * 100 * scale + 1e-9) / scale:.{digits}f}%"
