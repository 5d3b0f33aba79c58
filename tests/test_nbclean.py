"""Notebooks are committed clean: no outputs except nbval's reference outputs."""

from pathlib import Path

import nbformat

from cnnbook.book.nbclean import CHECKED, clean, main, problems

ROOT = Path(__file__).resolve().parents[1]


def _notebook():
    nb = nbformat.v4.new_notebook()
    plain = nbformat.v4.new_code_cell(
        "print(1)", execution_count=3, outputs=[nbformat.v4.new_output("stream", text="1\n")]
    )
    checked = nbformat.v4.new_code_cell(
        "print(2)", execution_count=4, outputs=[nbformat.v4.new_output("stream", text="2\n")]
    )
    checked.metadata["tags"] = [CHECKED]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), plain, checked]
    return nb


def test_clean_strips_all_but_reference_outputs():
    nb = _notebook()
    assert problems(nb) == ["cell 1 has outputs", "cell 1 has an execution count"]
    cleaned = clean(nb)
    assert problems(cleaned) == []
    assert cleaned.cells[1].outputs == [] and cleaned.cells[2].outputs[0]["text"] == "2\n"
    assert cleaned.cells[2].execution_count == 2  # its ordinal among code cells, stable for nbval


def test_committed_notebooks_are_clean(capsys):
    assert main(["--check", str(ROOT / "notebooks"), str(ROOT / "solutions"), str(ROOT / "exercises")]) == 0, (
        capsys.readouterr().err
    )
