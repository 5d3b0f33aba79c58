"""Every number the source documents state, recomputed.

Each chapter module lists the claims of its sections in a module-level ``CLAIMS`` list of
:class:`Claim`; :func:`all_claims` collects them from the modules that the table of chapters
(:mod:`cnnbook.book.chapters`) names, and
``book/errata.md`` renders them as a table at build time. A claim *holds* when the value the
source states equals the value computed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Claim:
    """A number stated by a source, and the code that recomputes it."""

    source: str  # the seed file, e.g. "003"
    section: str  # e.g. "5.2"
    claim: str  # what the source says, in English
    stated: Any  # the value as the source states it
    compute: Callable[[], Any]  # recomputes it with cnnbook
    note: str = ""  # why it fails, or what the source leaves out

    @property
    def computed(self) -> Any:
        return self.compute()

    @property
    def holds(self) -> bool:
        stated, computed = self.stated, self.computed
        if isinstance(stated, float) or isinstance(computed, float):
            return bool(np.isclose(float(stated), float(computed), rtol=1e-9))
        return stated == computed


def all_claims() -> list[Claim]:
    """The claims of every module a chapter teaches from, sorted by source and section."""
    from cnnbook.book.chapters import chapter_modules, load

    claims = [claim for module in chapter_modules() for claim in getattr(load(module), "CLAIMS", [])]
    return sorted(claims, key=lambda c: (c.source, [int(p) if p.isdigit() else p for p in c.section.split(".")]))


def show(value: Any) -> str:
    """A value as the errata table prints it."""
    if isinstance(value, tuple):
        return " x ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
