"""Section 5.25.1's list of methods and where the ladder and chapter 7 show them (cnnbook.ablation.methods)."""

import json
from pathlib import Path

import pytest

from cnnbook.ablation import ROWS
from cnnbook.ablation.methods import SOURCE_METHODS, generalisation_methods, row_ranges
from cnnbook.book.errata import section_text, seeds_dir

ROOT = Path(__file__).resolve().parents[1]


def test_the_rows_each_method_points_to():
    rows = {m.source: m.rows for m in generalisation_methods()}
    assert rows["正则化"] == (4, 5, 6)  # lambda 0.1 on rows 4-6; rows 7-8 use dropout instead
    assert rows["增加神经网络层数"] == (2, 3, 6)  # a conv layer, a second one, an extra dense layer
    assert rows["使用正确的代价函数"] == rows["使用好的权重初始化技术"] == tuple(range(1, 9))
    assert rows["人为拓展训练集"] == (5, 6, 7, 8)
    assert rows["弃权技术"] == (7, 8)
    assert all(m.rows for m in generalisation_methods()), "every method is shown somewhere"


def test_a_subset_of_rows():
    methods = {m.source: m.rows for m in generalisation_methods(ROWS[:3])}
    assert methods["正则化"] == () and methods["增加神经网络层数"] == (2, 3)
    with pytest.raises(ValueError, match="at least one row"):
        generalisation_methods(())


def test_the_methods_are_the_sources_own():
    if seeds_dir() is None:
        pytest.skip("the source documents (shared/seeds) are not beside this checkout")
    text = section_text("003", "5.25.1")
    listed = [line.split("*", 1)[1].strip() for line in text.splitlines() if line.lstrip("> ").startswith("*")]
    assert listed == [source for source, _ in SOURCE_METHODS]


def test_the_chapter7_sections_exist():
    cells = json.loads((ROOT / "notebooks" / "07-cnn-from-scratch.ipynb").read_text(encoding="utf-8"))["cells"]
    headings = {
        line.lstrip("#").strip()
        for cell in cells
        if cell["cell_type"] == "markdown"
        for line in "".join(cell["source"]).splitlines()
        if line.startswith("#")
    }
    for method in generalisation_methods():
        assert not method.chapter7 or method.chapter7 in headings, method.chapter7


def test_row_ranges():
    assert row_ranges((4, 5, 6)) == "4-6"
    assert row_ranges((1, 3, 4, 5, 7)) == "1, 3-5, 7"
    assert row_ranges((2,)) == "2" and row_ranges(()) == "none"
    with pytest.raises(ValueError, match="increasing"):
        row_ranges((3, 2))
