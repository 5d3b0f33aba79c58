"""The chapters as the book build ran them: every cell tagged nbval-check-output gives its committed output.

The test command builds the book first, which executes every chapter (and fails on any cell that raises);
these tests then read the executed copies Jupyter Book keeps in ``_build/jupyter_execute`` and compare the
reference outputs with nbval's own rules (streams joined; metadata, counts and PNG bytes not compared), so the
chapters run once per test command, not twice. The solutions still run under nbval.
"""

from __future__ import annotations

import copy
import os
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import coalesce_streams, transform_streams_for_comparison

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "_build" / "jupyter_execute" / "notebooks"
CHAPTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECKED = "nbval-check-output"
# What nbval leaves out of a comparison (nbval.plugin.IPyNbFile.skip_compare, without --nbdime)
SKIPPED = {
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
}


def comparable(outputs: list) -> dict[str, list]:
    """A cell's outputs as nbval compares them: per key (a MIME type of ``data``, or ``text``), the values in order."""
    found: dict[str, list] = defaultdict(list)
    for output in transform_streams_for_comparison(coalesce_streams(copy.deepcopy(outputs))):  # it joins in place
        for key, value in output.items():
            if key == "data":
                for mime, data in value.items():
                    if mime not in SKIPPED:
                        found[mime].append(data)
            elif key not in SKIPPED:
                found[key].append(value)
    return dict(found)


def executed(chapter: Path):
    """The book build's executed copy of ``chapter``: a failure in CI, a skip elsewhere, when there is none."""
    path = EXECUTED / chapter.name
    if not path.exists():
        reason = f"{path.relative_to(ROOT)} is missing: build the book first (python3 tasks.py book)"
        (pytest.fail if os.environ.get("CI") else pytest.skip)(reason)
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_the_built_chapter_gives_its_reference_outputs(chapter):
    committed, ran = nbformat.read(chapter, as_version=4), executed(chapter)
    # the build ran this very notebook: the same cells, the same code (a stale build would not)
    assert [(c.cell_type, c.source) for c in ran.cells] == [(c.cell_type, c.source) for c in committed.cells]
    checked = 0
    for number, (reference, cell) in enumerate(zip(committed.cells, ran.cells)):
        assert not any(o.get("output_type") == "error" for o in cell.get("outputs", [])), f"cell {number} raised"
        if CHECKED in reference.metadata.get("tags", []):
            assert reference.outputs, f"cell {number} is checked but has no reference output (nbclean --refresh)"
            assert comparable(cell.outputs) == comparable(reference.outputs), f"cell {number}: {reference.source}"
            checked += 1
    assert checked, f"{chapter.name} has no cell tagged {CHECKED}"


def test_the_comparison_sees_a_changed_output_and_ignores_what_nbval_ignores():
    text = nbformat.v4.new_output("stream", name="stdout", text="accuracy 0.98\n")
    table = nbformat.v4.new_output("execute_result", data={"text/plain": "t", "image/png": "AAA"}, execution_count=3)
    again = nbformat.v4.new_output("execute_result", data={"text/plain": "t", "image/png": "BBB"}, execution_count=9)
    split_stream = [
        nbformat.v4.new_output("stream", name="stdout", text="accuracy "),
        nbformat.v4.new_output("stream", name="stdout", text="0.98\n"),
    ]
    assert comparable([text, table]) == comparable([*split_stream, again])
    changed = nbformat.v4.new_output("stream", name="stdout", text="accuracy 0.97\n")
    assert comparable([text, table]) != comparable([changed, table])
