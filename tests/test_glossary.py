"""Every Chinese term of the glossary is the sources' own, or marked † as not from them."""

import re
from pathlib import Path

import pytest

from cnnbook.book.errata import seed_text, seeds_dir

ROOT = Path(__file__).resolve().parents[1]
MARK = "†"


def glossary_rows() -> list[list[str]]:
    lines = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8").splitlines()
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines if line.startswith("| ")]
    return [row for row in rows if row[0] != "English"]


def chinese_terms(cell: str) -> list[str]:
    """The terms of a cell: split on commas and slashes, ASCII parenthetical remarks dropped."""
    return [t.strip() for t in re.split(r"[,/]", re.sub(r"\([^)]*\)", "", cell)) if t.strip()]


def test_rows_have_three_cells():
    rows = glossary_rows()
    assert rows and all(len(row) == 3 for row in rows)


def test_every_term_is_in_a_source_or_marked():
    if seeds_dir() is None:
        pytest.skip("the source documents (shared/seeds) are not beside this checkout; set $CNNBOOK_SEEDS")
    sources = "".join(seed_text(s) for s in ("000", "001", "002", "003", "004"))
    missing = [
        (row[0], term)
        for row in glossary_rows()
        for term in chinese_terms(row[1])
        if not term.endswith(MARK) and term not in sources
    ]
    assert not missing, f"glossary terms found in no source (quote them as written, or mark them {MARK}): {missing}"


def test_the_mark_is_explained():
    text = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    if MARK in text.split("\n\n", 2)[-1]:
        assert any(line.startswith(MARK) for line in text.splitlines()), f"a term is marked {MARK} without a note"


def test_invariance_and_equivariance_are_told_apart():
    rows = {row[0]: chinese_terms(row[1]) for row in glossary_rows()}
    assert "平移不变性" in rows["translation invariance"] and "平移不变性" not in rows["translation equivariance"]
    assert any("等变" in term for term in rows["translation equivariance"])
