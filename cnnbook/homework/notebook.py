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
* A written answer, graded by hand, is a question with ``manual: true`` in its YAML (as in otter-grader).
  It holds markdown only, and exactly one answer cell: a markdown cell whose example answer lies between
  ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->``. The student version replaces the example with
  :data:`ANSWER_PROMPT` and gives that cell the id :func:`answer_id`, where the grader reads the answer.
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
BEGIN_ANSWER, END_ANSWER = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"  # in markdown, as otter-assign's
ANSWER_PROMPT = "_Type your answer here._"
BEGIN_PROMPT, END_PROMPT = "# BEGIN PROMPT", "# END PROMPT"  # the planted code of a find-the-bug question
# What a question asks for (its YAML's optional ``kind``), and how the student's copy names it.
KINDS = {"implement": "", "predict": "predict, then check", "debug": "find the bug", "written": "graded by hand"}
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
    manual: bool = False  # a written answer, graded by hand: no tests
    answers: int = 0  # its answer cells (one is required)
    kind: str = "implement"  # one of KINDS
    prompts: int = 0  # its PROMPT blocks (the planted code of a find-the-bug question)


def first_line(cell) -> str:
    """The first line of a cell's source, stripped."""
    return cell.source.strip().splitlines()[0].strip() if cell.source.strip() else ""


def test_kind(cell) -> str | None:
    """``"visible"``, ``"hidden"`` or None for a cell that is not a test cell."""
    if cell.cell_type != "code":
        return None
    return {VISIBLE_TESTS: "visible", HIDDEN_TESTS: "hidden"}.get(first_line(cell))


def answer_id(question: str) -> str:
    """The id of a written answer's cell in the student's notebook (the generator sets it, the grader reads it)."""
    return f"{question}-answer"


def is_answer_cell(cell) -> bool:
    """A markdown cell holding an example answer between :data:`BEGIN_ANSWER` and :data:`END_ANSWER`."""
    return cell.cell_type == "markdown" and any(line.strip() == BEGIN_ANSWER for line in cell.source.splitlines())


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
            if current.manual and current.answers != 1:
                raise FormatError(
                    f"{here}: question {current.name!r} (manual) needs one answer cell, a markdown "
                    f"cell with {BEGIN_ANSWER} ... {END_ANSWER}; it has {current.answers}"
                )
            if not current.manual and not current.tests:
                raise FormatError(f"{here}: question {current.name!r} has no test cells")
            if (current.kind == "debug") != (current.prompts > 0):
                raise FormatError(
                    f"{here}: question {current.name!r}: a find-the-bug question (kind: debug) and only such a "
                    "question gives the student planted code in a # BEGIN PROMPT ... # END PROMPT block"
                )
            found.append(current)
            current = None
        elif current is not None and current.manual and cell.cell_type == "code":
            raise FormatError(
                f"{here}: question {current.name!r} is graded by hand (manual: true): "
                "it holds a written answer, not code or test cells"
            )
        elif current is not None and is_answer_cell(cell):
            current.answers += 1
        elif current is not None and cell.cell_type == "code" and test_kind(cell) is None:
            current.prompts += sum(line.strip() == BEGIN_PROMPT for line in cell.source.splitlines())
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
    """The question a BEGIN QUESTION cell declares (YAML: ``name``, ``points``, optional ``manual`` and ``kind``)."""
    try:
        config = yaml.safe_load(source.split("\n", 1)[1] if "\n" in source else "") or {}
    except yaml.YAMLError as error:
        raise FormatError(f"{here}: the question's YAML does not parse: {error}") from error
    name, points = config.get("name"), config.get("points")
    if not isinstance(name, str) or not _NAME.match(name):
        raise FormatError(f"{here}: 'name' must look like q1 or q2a, got {name!r}")
    if not isinstance(points, (int, float)) or points <= 0:
        raise FormatError(f"{here}: 'points' must be a positive number, got {points!r}")
    manual = config.get("manual", False)
    if not isinstance(manual, bool):
        raise FormatError(f"{here}: 'manual' must be true or false, got {manual!r}")
    kind = config.get("kind", "written" if manual else "implement")
    if kind not in KINDS:
        raise FormatError(f"{here}: 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    if (kind == "written") != manual:
        raise FormatError(f"{here}: a written answer is kind: written and manual: true, both or neither")
    unknown = set(config) - {"name", "points", "manual", "kind"}
    if unknown:
        raise FormatError(f"{here}: unknown key(s) in the question's YAML: {', '.join(sorted(map(str, unknown)))}")
    return Question(name, float(points), manual=manual, kind=kind)
