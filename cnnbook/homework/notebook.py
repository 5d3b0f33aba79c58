"""The exercise format of ``solutions/`` notebooks: pytest-style tests, markers modelled on otter-grader's.

(``otter assign`` does not process these notebooks: it finds no tests in them.)

A question is a run of cells between two raw cells::

    # BEGIN QUESTION            (raw cell; YAML follows)
    name: q1
    points: 2
    ...prompt (markdown), solution code, test cells...
    # END QUESTION              (raw cell)

* Solution code is marked as in otter-assign: lines between ``# BEGIN SOLUTION`` and
  ``# END SOLUTION``, or a single line ending in ``# SOLUTION``. The student version replaces them
  with a stub.
* A test cell starts with ``# TESTS`` (visible: students get it) or ``# HIDDEN TESTS`` (only the
  grader has it) and defines functions decorated with ``@test("q1")``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

BEGIN_QUESTION = "# BEGIN QUESTION"
END_QUESTION = "# END QUESTION"
VISIBLE_TESTS = "# TESTS"
HIDDEN_TESTS = "# HIDDEN TESTS"
_NAME = re.compile(r"^q[0-9a-z_]*$")


class FormatError(ValueError):
    """A solution notebook breaks the exercise format; the message names the cell."""


@dataclass
class TestCell:
    """The source of one test cell and whether students see it."""

    source: str
    hidden: bool


@dataclass
class Question:
    """One graded question: its name, points, and the test cells that score it."""

    name: str
    points: float
    tests: list[TestCell] = field(default_factory=list)


def first_line(cell) -> str:
    """The first line of a cell's source, stripped."""
    return cell.source.strip().splitlines()[0].strip() if cell.source.strip() else ""


def test_kind(cell) -> str | None:
    """``"visible"``, ``"hidden"`` or None for a cell that is not a test cell."""
    if cell.cell_type != "code":
        return None
    return {VISIBLE_TESTS: "visible", HIDDEN_TESTS: "hidden"}.get(first_line(cell))


def read(path: str | Path):
    """Read a notebook, saying which file when it is not valid notebook JSON."""
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as error:  # nbformat raises several unrelated types for bad files
        raise FormatError(f"{path}: not a readable notebook ({type(error).__name__}: {error})") from error


def questions(nb, where: str = "notebook") -> list[Question]:
    """Parse the questions of a solution notebook, checking the format as it goes."""
    found: list[Question] = []
    current: Question | None = None
    for index, cell in enumerate(nb.cells):
        here = f"{where}, cell {index}"
        line = first_line(cell)
        if cell.cell_type == "raw" and line == BEGIN_QUESTION:
            if current is not None:
                raise FormatError(f"{here}: BEGIN QUESTION inside question {current.name!r}")
            current = parse_config(cell.source, here)
            if any(q.name == current.name for q in found):
                raise FormatError(f"{here}: question {current.name!r} is defined twice")
        elif cell.cell_type == "raw" and line == END_QUESTION:
            if current is None:
                raise FormatError(f"{here}: END QUESTION without BEGIN QUESTION")
            if not current.tests:
                raise FormatError(f"{here}: question {current.name!r} has no test cells")
            found.append(current)
            current = None
        elif (kind := test_kind(cell)) is not None:
            if current is None:
                raise FormatError(f"{here}: a test cell outside any question")
            if f'@test("{current.name}")' not in cell.source:
                raise FormatError(f'{here}: tests of {current.name!r} must be decorated with @test("{current.name}")')
            current.tests.append(TestCell(cell.source, kind == "hidden"))
    if current is not None:
        raise FormatError(f"{where}: question {current.name!r} has no END QUESTION")
    return found


def parse_config(source: str, here: str = "notebook") -> Question:
    """The question a BEGIN QUESTION cell declares (its YAML: ``name`` and ``points``)."""
    try:
        config = yaml.safe_load(source.split("\n", 1)[1] if "\n" in source else "") or {}
    except yaml.YAMLError as error:
        raise FormatError(f"{here}: the question's YAML does not parse: {error}") from error
    name, points = config.get("name"), config.get("points")
    if not isinstance(name, str) or not _NAME.match(name):
        raise FormatError(f"{here}: 'name' must look like q1 or q2a, got {name!r}")
    if not isinstance(points, (int, float)) or points <= 0:
        raise FormatError(f"{here}: 'points' must be a positive number, got {points!r}")
    return Question(name, float(points))
