"""Exercises that test understanding: written answers graded by hand, predictions, the class summary, feedback.

A small source notebook is built here: q1 an ordinary question (a visible test with a bare ``assert`` and a
hidden test whose message holds its case), q2 a prediction, q3 a written answer (``manual: true``). Three
students' notebooks are graded in one ``cnnbook grade`` run with every report; the instructor then fills in
the written answers' points with ``cnnbook regrade``.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from cnnbook.homework.classroom import runner_result
from cnnbook.homework.cli import main as cli_main
from cnnbook.homework.generate import make_exercise, stub_answer
from cnnbook.homework.grade import QuestionResult, Report, TestResult, load_tests
from cnnbook.homework.gradescope import to_results
from cnnbook.homework.notebook import FormatError, questions
from cnnbook.homework.report import to_text

ROOT = Path(__file__).resolve().parents[1]
NAME = "99-understanding.ipynb"
SECRET = "the secret case add(10**6, 1)"
EXAMPLE_ANSWER = "A larger kernel sees more of the image at once."
PROMPT = "_Type your answer here._"
# q1 is a find-the-bug question: the student starts from the planted `a - b` (bob leaves it in)
ADD = (
    "def add(a, b):\n    # BEGIN SOLUTION\n    return a + b\n    # END SOLUTION\n"
    "    # BEGIN PROMPT\n    # return a - b\n    # END PROMPT"
)


def _raw(text: str):
    return nbformat.v4.new_raw_cell(text)


def _code(text: str):
    return nbformat.v4.new_code_cell(text)


def _markdown(text: str, cell_id: str | None = None):
    cell = nbformat.v4.new_markdown_cell(text)
    if cell_id:
        cell.id = cell_id
    return cell


def source_notebook():
    """The solution notebook: an ordinary question, a prediction, a written answer."""
    return nbformat.v4.new_notebook(
        cells=[
            _markdown("# Understanding"),
            _code("import numpy as np\n\nfrom cnnbook.homework import assert_close, check, test"),
            _raw("# BEGIN QUESTION\nname: q1\npoints: 2\nkind: debug"),
            _markdown("Find the bug: `add` should return the sum of its arguments."),
            _code(ADD),
            _code('# TESTS\n@test("q1")\ndef small_numbers(student):\n    assert student.add(2, 3) == 5'),
            _code(
                '# HIDDEN TESTS\n@test("q1")\ndef large_numbers(student):\n'
                f"    assert student.add(10**6, 1) == 1_000_001, {SECRET!r}"
            ),
            _raw("# END QUESTION"),
            _raw("# BEGIN QUESTION\nname: q2\npoints: 1\nkind: predict"),
            _markdown('Predict, then check: is the output `"bigger"` or `"smaller"`? Set `guess`.'),
            _code('guess = "bigger"  # SOLUTION'),
            _code('# HIDDEN TESTS\n@test("q2")\ndef the_prediction(student):\n    assert student.guess == "bigger"'),
            _raw("# END QUESTION"),
            _raw("# BEGIN QUESTION\nname: q3\npoints: 2\nmanual: true"),
            _markdown("**In your own words:** why does a larger kernel help?"),
            _markdown(f"<!-- BEGIN SOLUTION -->\n{EXAMPLE_ANSWER}\n<!-- END SOLUTION -->"),
            _raw("# END QUESTION"),
        ]
    )


def _submission(add: str, guess: str, answer, metadata: dict | None = None):
    """A student's notebook: their code cells, and their answer cell (as the exercise names it)."""
    nb = nbformat.v4.new_notebook(
        cells=[
            _code("import numpy as np\n\nfrom cnnbook.homework import assert_close, check, test"),
            _code(add),
            _code(guess),
            answer,
        ]
    )
    nb.metadata.update(metadata or {})
    return nb


HOSTILE_GUESS = (
    "class Yes(str):\n    def __eq__(self, other):\n        return True\n    __hash__ = str.__hash__\n\n"
    'guess = Yes("smaller")'
)
# A written answer turned into code, and every way to look graded: otter's, nbgrader's and our own metadata.
FAKE_GRADED = {"nbgrader": {"grade": True, "points": 2, "solution": True}, "cnnbook": {"score": 2, "pending": False}}
STUDENTS = {
    "alice": _submission(
        "def add(a, b):\n    return a + b", 'guess = "bigger"', _markdown("Because it sees more.", "q3-answer")
    ),
    "bob": _submission("def add(a, b):\n    return a - b", 'guess = "smaller"', _markdown(PROMPT, "q3-answer")),
    "mallory": _submission(
        "def add(a, b):\n    return a + b if a < 1000 else 0",
        HOSTILE_GUESS,
        nbformat.from_dict(
            {
                **_code(
                    'q3 = {"score": 2, "pending": False}\nfrom cnnbook.homework import test\n'
                    '@test("q3")\ndef mine(student):\n    pass'
                ),
                "id": "q3-answer",
                "metadata": FAKE_GRADED,
            }
        ),
        {"cnnbook": {"scores": {"q3": 2}}, **FAKE_GRADED},
    ),
}


# ---- the format -----------------------------------------------------------------------------------------------


def test_a_manual_question_is_parsed_and_its_exercise_has_a_prompt():
    parsed = questions(source_notebook())
    assert [(q.name, q.points, q.manual, q.kind) for q in parsed] == [
        ("q1", 2, False, "debug"),
        ("q2", 1, False, "predict"),
        ("q3", 2, True, "written"),
    ]
    exercise = make_exercise(source_notebook(), NAME)
    text = nbformat.writes(exercise)
    assert "def add(a, b):\n    return a - b" in [c.source for c in exercise.cells] and "a + b" not in text  # the bug
    assert any(c.source == "**Question q1** (2 points, find the bug)" for c in exercise.cells)
    assert any(c.source == "**Question q2** (1 point, predict, then check)" for c in exercise.cells)
    assert EXAMPLE_ANSWER not in text and "BEGIN SOLUTION" not in text and 'check("q3")' not in text
    answer = next(c for c in exercise.cells if c.get("id") == "q3-answer")
    assert answer.cell_type == "markdown" and answer.source == PROMPT
    assert any(c.source == "**Question q3** (2 points, graded by hand)" for c in exercise.cells)


@pytest.mark.parametrize(
    "cells, match",
    [
        ([_code("x = 1"), _markdown("<!-- BEGIN SOLUTION -->\nx\n<!-- END SOLUTION -->")], "graded by hand"),
        (
            [
                _markdown("<!-- BEGIN SOLUTION -->\nx\n<!-- END SOLUTION -->"),
                _code('# TESTS\n@test("q3")\ndef t(s): pass'),
            ],
            "graded by hand",
        ),
        ([_markdown("no answer cell")], "one answer cell"),
    ],
)
def test_a_manual_question_with_code_or_tests_or_no_answer_is_a_format_error(cells, match):
    nb = nbformat.v4.new_notebook(
        cells=[_raw("# BEGIN QUESTION\nname: q3\npoints: 2\nmanual: true"), *cells, _raw("# END QUESTION")]
    )
    with pytest.raises(FormatError, match=match):
        questions(nb)
    nb.cells[0].source = "# BEGIN QUESTION\nname: q3\npoints: 2\nmanual: yes please"
    with pytest.raises(FormatError, match="'manual' must be true or false"):
        questions(nb)


def test_an_example_answer_never_reaches_the_exercise():
    assert stub_answer(f"Intro\n<!-- BEGIN SOLUTION -->\n{EXAMPLE_ANSWER}\n<!-- END SOLUTION -->") == f"Intro\n{PROMPT}"
    for bad in ("inline <!-- BEGIN SOLUTION --> x <!-- END SOLUTION -->", "<!-- BEGIN SOLUTION -->\nx"):
        with pytest.raises(FormatError):
            stub_answer(bad)


def test_how_to_use_documents_written_answers_and_predictions():
    text = " ".join((ROOT / "book" / "how-to-use.md").read_text().split())
    for needed in (
        "manual: true",
        "<!-- BEGIN SOLUTION -->",
        PROMPT,
        "cnnbook regrade",
        "Predict, then check",
        "--summary-csv",
    ):
        assert needed in text, needed


# ---- grading: one run with every report --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The three students graded in one ``cnnbook grade`` run; yield the folder of its reports."""
    base = tmp_path_factory.mktemp("manual")  # pytest's base folder is 0700: the kernels cannot look in
    nbformat.write(source_notebook(), base / NAME)
    for student, nb in STUDENTS.items():
        (base / "subs" / f"hw-{student}").mkdir(parents=True)
        nbformat.write(nb, base / "subs" / f"hw-{student}" / NAME)
    (base / "classroom.txt").write_text("")
    command = [sys.executable, "-m", "cnnbook", "grade", str(base / "subs"), "--source", str(base / NAME)]
    for option, path in (
        ("--json", "json"),
        ("--junit", "junit"),
        ("--gradescope", "gradescope"),
        ("--csv", "scores.csv"),
        ("--summary-csv", "summary.csv"),
        ("--markdown", "summary.md"),
        ("--classroom", "classroom.txt"),
    ):
        command += [option, str(base / path)]
    result = subprocess.run(command, cwd=base, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return base, result.stdout


def _json(base: Path, student: str) -> dict:
    return json.loads((base / "json" / f"hw-{student}" / NAME.replace(".ipynb", ".json")).read_text())


def test_a_written_answer_is_pending_in_the_json_report(graded):
    base, _ = graded
    for student, earned in (("alice", 3), ("bob", 0), ("mallory", 1)):
        report = _json(base, student)
        q3 = report["questions"][2]
        assert (report["score"], report["max_score"], report["pending"]) == (earned, 3, 2), student
        assert (q3["manual"], q3["pending"], q3["score"], q3["max_score"]) == (True, True, None, 2), student
    assert _json(base, "alice")["questions"][2]["answer"] == "Because it sees more."
    assert _json(base, "bob")["questions"][2]["answer"] == PROMPT


def test_fake_grading_in_a_notebook_earns_nothing(graded):
    """Code in the answer cell, a test registered for q3 in the kernel, metadata that says graded: still pending."""
    base, _ = graded
    q3 = _json(base, "mallory")["questions"][2]
    assert q3["pending"] and q3["score"] is None and q3["tests"] == []
    assert q3["answer"].startswith('q3 = {"score": 2')


def test_a_prediction_with_a_hostile_eq_earns_nothing(graded):
    base, _ = graded
    q2 = _json(base, "mallory")["questions"][1]
    assert q2["score"] == 0 and not q2["tests"][0]["passed"] and "cannot compare" in q2["tests"][0]["message"]
    assert _json(base, "alice")["questions"][1]["score"] == 1


def test_every_report_shows_pending_points(graded):
    base, stdout = graded
    assert "alice/99-understanding.ipynb: 3 / 3 automatic points, 2 pending" in stdout
    rows = list(csv.DictReader(io.StringIO((base / "scores.csv").read_text())))
    assert [(r["student"], r["score"], r["max_score"], r["pending"]) for r in rows] == [
        ("alice", "3", "3", "2"),
        ("bob", "0", "3", "2"),
        ("mallory", "1", "3", "2"),
    ]
    markdown = (base / "summary.md").read_text()
    assert "3 / 3 automatic points, 2 pending" in markdown and "| q3 | pending / 2 | graded by hand |" in markdown
    suite = ET.parse(base / "junit" / "hw-alice" / NAME.replace(".ipynb", ".xml")).getroot().find("testsuite")
    assert suite.find("testcase[@classname='q3']/skipped").get("message") == "2 points pending: graded by hand"
    assert suite.get("skipped") == "1" and suite.get("failures") == "0"
    results = json.loads((base / "gradescope" / "hw-alice" / NAME.replace(".ipynb", ".json")).read_text())
    [q3] = [t for t in results["tests"] if t["tags"] == ["q3"]]
    assert "score" not in q3 and "pending" in q3["output"] and results["score"] == 3
    assert "2 pending" in results["output"]
    lines = dict(line.split("=", 1) for line in (base / "classroom.txt").read_text().splitlines())
    runner = json.loads(base64.b64decode(lines["CH99Q3_RESULTS"]))
    assert runner["max_score"] == 0 and "pending" in runner["tests"][0]["name"]
    assert "::notice title=Autograding complete::Points 4/9" in stdout  # the three students' automatic points


def test_the_class_summary(graded):
    base, _ = graded
    rows = list(csv.DictReader(io.StringIO((base / "summary.csv").read_text())))
    assert [
        (r["question"], r["passed"], r["failed"], r["pending"], r["most_common_failure"], r["failures"]) for r in rows
    ] == [
        ("q1", "1", "2", "0", "large_numbers", "2"),
        ("q2", "1", "2", "0", "the_prediction", "2"),
        ("q3", "0", "0", "3", "", "0"),
    ]
    assert rows[0]["assignment"] == "99-understanding" and rows[0]["submissions"] == "3"
    markdown = (base / "summary.md").read_text()
    assert "## Class summary: 3 submissions" in markdown
    assert "| 99-understanding | q1 | 1 | 2 | 0 | large\\_numbers (2) |" in markdown


# ---- feedback a student can act on ----------------------------------------------------------------------------


def test_a_failed_visible_test_says_the_case_what_was_expected_and_what_came_back(graded):
    base, _ = graded
    small = _json(base, "bob")["questions"][0]["tests"][0]
    assert small["name"] == "small_numbers" and not small["passed"]
    assert small["message"] == "student.add(2, 3) == 5: got -1, expected 5"


def test_a_hidden_tests_message_reaches_no_student(graded):
    base, stdout = graded
    assert SECRET in json.dumps(_json(base, "bob"))  # the instructor's report says it
    for student in STUDENTS:
        results = (base / "gradescope" / f"hw-{student}" / NAME.replace(".ipynb", ".json")).read_text()
        assert SECRET not in results and "add(10**6" not in results, student
        hidden = [t for t in json.loads(results)["tests"] if t["visibility"] == "after_published"]
        assert {t["output"] for t in hidden} <= {"passed", "failed"}  # the name and tag say the question
    lines = dict(line.split("=", 1) for line in (base / "classroom.txt").read_text().splitlines())
    for name in lines["runners"].split(","):
        assert SECRET not in base64.b64decode(lines[f"{name.upper()}_RESULTS"]).decode()


def test_student_views_of_a_report_never_show_a_hidden_message():
    tests = [TestResult("shape", False, True, 1.0, 1.0), TestResult("stride_3", True, False, 0.0, 1.0, "expected 42")]
    report = Report("s.ipynb", "src.ipynb", [QuestionResult("q1", 1.0, 2.0, tests)], 1.0)
    assert "expected 42" not in json.dumps(to_results(report)) + json.dumps(runner_result(report.questions[0]))
    assert "expected 42" not in to_text(report, student=True) and "expected 42" in to_text(report)


# ---- the instructor fills in the written answers' points ------------------------------------------------------


def _manual_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text("student,question,points\n" + "".join(f"{s},{q},{p}\n" for s, q, p in rows))
    return path


def test_regrade_fills_in_points_and_retotals(graded, tmp_path, capsys):
    base, _ = graded
    reports = tmp_path / "json"
    shutil.copytree(base / "json", reports)
    manual = _manual_csv(tmp_path / "manual.csv", [("alice", "q3", "2"), ("bob", "q3", "0.5")])
    scores, summary = tmp_path / "scores.csv", tmp_path / "summary.csv"
    assert (
        cli_main(
            ["regrade", str(reports), "--manual", str(manual), "--csv", str(scores), "--summary-csv", str(summary)]
        )
        == 0
    )
    alice = json.loads((reports / "hw-alice" / "99-understanding.json").read_text())
    assert (alice["score"], alice["max_score"], alice["pending"]) == (5, 5, 0)
    assert alice["questions"][2]["score"] == 2 and not alice["questions"][2]["pending"]
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(scores.read_text()))}
    assert [(rows[s]["score"], rows[s]["max_score"], rows[s]["pending"]) for s in ("alice", "bob", "mallory")] == [
        ("5", "5", "0"),
        ("0.5", "5", "0"),
        ("1", "3", "2"),
    ]
    q3 = list(csv.DictReader(io.StringIO(summary.read_text())))[2]
    assert (q3["passed"], q3["failed"], q3["pending"]) == ("1", "1", "1")
    assert "mallory" in capsys.readouterr().out  # still pending


@pytest.mark.parametrize(
    "rows, error",
    [
        ([("alice", "q3", "3")], "between 0 and 2"),
        ([("alice", "q3", "-1")], "between 0 and 2"),
        ([("alice", "q3", "two")], "not a number"),
        ([("alice", "q1", "1")], "not graded by hand"),
        ([("zoe", "q3", "1")], "no report"),
        ([("alice", "q3", "1"), ("alice", "q3", "2")], "twice"),
    ],
)
def test_regrade_refuses_bad_points_and_writes_nothing(graded, tmp_path, capsys, rows, error):
    base, _ = graded
    shutil.copytree(base / "json", tmp_path / "json")
    before = {p: p.read_text() for p in (tmp_path / "json").rglob("*.json")}
    manual = _manual_csv(tmp_path / "manual.csv", rows)
    assert cli_main(["regrade", str(tmp_path / "json"), "--manual", str(manual)]) == 2
    assert error in capsys.readouterr().err
    assert {p: p.read_text() for p in (tmp_path / "json").rglob("*.json")} == before


def test_visible_only_leaves_out_a_prediction_whose_tests_are_all_hidden(tmp_path):
    """A student's own score (GitHub Classroom's) counts what visible tests check: not a prediction, never
    a hidden test's answer; a written answer stays pending."""
    source = tmp_path / NAME
    nbformat.write(source_notebook(), source)
    loaded = load_tests(source, visible_only=True)
    assert [(q.name, q.manual, [t.name for t in q.tests]) for q in loaded.questions] == [
        ("q1", False, ["small_numbers"]),
        ("q3", True, []),
    ]
    assert [q.name for q in load_tests(source).questions] == ["q1", "q2", "q3"]
