"""Every number the source documents state, recomputed, and the statements they get wrong.

Each chapter module lists the claims of its sections in a module-level ``CLAIMS`` list of
:class:`Claim`; :func:`all_claims` collects them from the modules that the table of chapters
(:mod:`cnnbook.book.chapters`) names, and
``book/errata.md`` renders them as a table at build time. A claim *holds* when the value the
source states equals the value computed here.

A :class:`Statement` is a qualitative sentence of a source that is wrong or misleading, with the
evidence: a computed demonstration or a citation. :func:`all_statements` lists them (they are
written in :mod:`cnnbook.book.statements`).

The sources themselves are read by :func:`seed_text` and :func:`section_text`, so the tests can check
that a claim's stated value and a statement's quote are the source's own (:func:`stated_in`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
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
    derived: str = ""  # set when the stated value is not printed in the source: how it follows from its words

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


# --- qualitative statements -------------------------------------------------------------------------

VERDICTS = ("wrong", "misleading")


@dataclass(frozen=True)
class Statement:
    """A qualitative sentence of a source that is wrong or misleading, and the evidence.

    The evidence is a computed demonstration (``demonstrate`` returns a value, ``shows`` says in a
    sentence what it shows, and ``supports`` is the test that the value still shows it), or a
    citation (author, title, year and the page or section), or both.
    """

    source: str  # the seed file, e.g. "003"
    section: str  # e.g. "5.24" (as in :class:`Claim`)
    says: str  # what the source says, in English
    quote: str  # the source's own words, verbatim (Chinese)
    verdict: str  # "wrong" or "misleading"
    correction: str  # what is right
    demonstrate: Callable[[], Any] | None = None  # computes the evidence
    shows: str = ""  # what the computed value shows, in a sentence
    supports: Callable[[Any], bool] | None = None  # whether the computed value still shows it
    citation: str = ""  # author, title, year, and the page or section

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.demonstrate is None and not self.citation:
            raise ValueError(f"{self.source} {self.section}: a statement needs a demonstration or a citation")
        if self.demonstrate is not None and (not self.shows or self.supports is None):
            raise ValueError(f"{self.source} {self.section}: a demonstration needs `shows` and `supports`")

    @property
    def computed(self) -> Any:
        return None if self.demonstrate is None else self.demonstrate()

    @property
    def supported(self) -> bool:
        """Whether the demonstration (if any) still shows what the row says."""
        return self.demonstrate is None or bool(self.supports(self.computed))


def show_evidence(value: Any) -> str:
    """A demonstration's value as the statements table prints it: ``name: value`` pairs for a dict, and
    differences below rounding error (1e-9) as 0."""
    if isinstance(value, dict):
        return "; ".join(f"{name}: {show_evidence(v)}" for name, v in value.items())
    if isinstance(value, float) and abs(value) < 1e-9:
        return "0"
    if isinstance(value, tuple) and all(isinstance(v, float) for v in value):
        return ", ".join(show_evidence(v) for v in value)  # a sequence of rates, not a shape
    return show(value)


def all_statements() -> list[Statement]:
    """The flagged statements of every source, sorted by source and section."""
    from cnnbook.book.statements import STATEMENTS

    return sorted(STATEMENTS, key=lambda s: (s.source, _section_key(s.section)))


def _section_key(section: str) -> list:
    return [int(p) if p.isdigit() else p for p in section.split(".")]


# --- the sources' text ------------------------------------------------------------------------------

#: Where :func:`seeds_dir` looks for the source documents, after ``$CNNBOOK_SEEDS``: ``shared/seeds`` in
#: the checkout, then beside it.
_ROOT = Path(__file__).resolve().parents[2]
SEED_DIRS = (_ROOT / "shared" / "seeds", _ROOT.parent / "shared" / "seeds")


def seeds_dir() -> Path | None:
    """The folder holding the five source documents (``000_*.txt`` to ``004_*.txt``), or None."""
    candidates = [Path(os.environ["CNNBOOK_SEEDS"])] if os.environ.get("CNNBOOK_SEEDS") else []
    return next((d for d in [*candidates, *SEED_DIRS] if d.is_dir() and any(d.glob("003_*.txt"))), None)


def seed_text(source: str) -> str:
    """The text of source document ``source`` ("000" to "004")."""
    folder = seeds_dir()
    files = sorted(folder.glob(f"{source}_*.txt")) if folder else []
    if not files:
        raise FileNotFoundError(f"source {source} not found (looked in $CNNBOOK_SEEDS and {SEED_DIRS})")
    return files[0].read_text(encoding="utf-8")


#: A numbered heading of seeds/003: ``## 5.7 ...``, ``### 5.7.3 ...``.
SECTION_HEADING = re.compile(r"^#{2,4}[ \t]*(\d+(?:\.\d+)+)[ \t]", re.MULTILINE)


def numbered_sections(text: str) -> list[str]:
    """The section numbers of the headings of ``text``, in order (``["5.1", "5.2", "5.3", "5.3.1", ...]``)."""
    return [m.group(1) for m in SECTION_HEADING.finditer(text)]


def section_text(source: str, section: str) -> str:
    """The text of a numbered section of ``source``, its subsections included; the whole document for
    the sources without numbered sections (000, 001, 004) and for section names that are not numbers."""
    text = seed_text(source)
    heads = [(m.start(), m.group(1)) for m in SECTION_HEADING.finditer(text)]
    numbers = [n for _, n in heads]
    if section not in numbers:
        if re.fullmatch(r"\d+(\.\d+)+", section) and source == "003":
            raise KeyError(f"seeds/{source} has no section {section}")
        return text
    i = numbers.index(section)
    end = next((pos for pos, n in heads[i + 1 :] if not n.startswith(section + ".")), len(text))
    return text[heads[i][0] : end]


# --- is a stated value printed in the source? ---------------------------------------------------------

_DIGITS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """``n`` (0 to 9999) in Chinese numerals, as the sources write some counts: 3456 -> 三千四百五十六."""
    if not 0 <= n < 10_000:
        raise ValueError(f"n must be in 0..9999, got {n}")
    if n == 0:
        return _DIGITS[0]
    out, gap = "", False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, unit)
        if digit:
            lead = "" if unit == 10 and digit == 1 and not out else _DIGITS[digit]  # 十二, not 一十二
            out += (_DIGITS[0] if gap else "") + lead + name
            gap = False
        elif out:
            gap = True
    return out


def normalise(text: str) -> str:
    """Text as :func:`stated_in` compares it: no escapes, no thousands separators, no spaces except
    between two digits, ASCII parentheses, and one multiplication sign (``x``) for ``×``, ``*`` and ``X``."""
    text = text.replace("\\", "")
    text = re.sub(r"(?<=\d)[,，](?=\d{3}(?!\d))", "", text)
    text = re.sub(r"(?<=\d)\s+(?=\d)", " ", text)  # two numbers stay two numbers
    text = re.sub(r"(?<!\d)\s+|\s+(?!\d)", "", text)
    text = text.replace("（", "(").replace("）", ")")
    return re.sub(r"[×*Xx]", "x", text)


def _int_forms(n: int) -> list[str]:
    forms = [str(n)]
    if n >= 10_000:
        forms += [f"{n / 1e4:g}万", f"{n / 1e8:g}亿"]
    if 0 <= n < 10_000:
        forms.append(chinese_numeral(n))
    if n == 2:
        forms.append("两")
    power = len(str(n)) - 1
    if n == 10**power and power > 1:
        forms += [f"10^{power}", f"{power}个数量级"]  # 10^4: "4 orders of magnitude"
    return forms


def _fraction_forms(value: float) -> list[str]:
    f = Fraction(value).limit_denominator(100)
    if f.numerator != 1 or not np.isclose(float(f), value, rtol=1e-9):
        return [f"{value:g}", f"{value:.0%}"]
    d = f.denominator
    return [f"1/{d}", f"{chinese_numeral(d)}分之一"] + (["一半"] if d == 2 else [])


def _present(forms: list[str], text: str) -> bool:
    return any(re.search(rf"(?<![\d.]){re.escape(f)}(?!\d|\.\d|\^)", text) for f in forms)


#: An arithmetic expression as the sources print them: ``1×1×192×64+3×3×192×128``, ``(8 * 8 * 3 + 1) * 20``.
_EXPRESSION = re.compile(r"[\d(][\d+\-x()]*[x+][\d+\-x()]*\d\)?")


def _expression_values(text: str) -> set[float]:
    """The values of the arithmetic expressions printed in (normalised) ``text``."""
    values = set()
    for m in _EXPRESSION.finditer(text):
        expr = m.group(0).replace("x", "*")
        while expr.count(")") > expr.count("(") and expr.endswith(")"):
            expr = expr[:-1]
        while expr.count("(") > expr.count(")") and expr.startswith("("):
            expr = expr[1:]
        try:  # the pattern admits digits, + - * and parentheses only
            values.add(float(eval(expr, {"__builtins__": {}})))  # noqa: S307
        except (SyntaxError, ZeroDivisionError, TypeError):
            continue
    return values


def stated_in(value: Any, text: str) -> bool | None:
    """Whether ``value`` is printed in ``text``: as digits (with or without separators), in 万 or 亿, as
    a power of ten or a number of orders of magnitude, in Chinese numerals, as a unit fraction (1/3,
    三分之一), as the value of an arithmetic expression the text prints, or (a tuple) element by element.
    None for a boolean: it stands for the source's assertion that a formula or statement holds, and
    no text can show it."""
    if isinstance(value, bool):
        return None
    text = normalise(text)
    if isinstance(value, (int, np.integer)):
        return _present(_int_forms(int(value)), text) or float(value) in _expression_values(text)
    if isinstance(value, float):
        if value.is_integer():
            return stated_in(int(value), text) or _present([f"{int(value)}倍"], text)
        return _present(_fraction_forms(value), text)
    if isinstance(value, tuple):
        if any(sep.join(map(str, value)) in text for sep in ("x", ",")):
            return True
        return all(stated_in(v, text) for v in value)
    if isinstance(value, str):
        return normalise(value) in text
    return False
