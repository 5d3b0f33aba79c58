"""GitHub Classroom's autograding format: what ``cnnbook grade --classroom FILE`` prints and writes (grader side).

Classroom records a score from two notice annotations that its grading reporter
(``classroom-resources/autograding-grading-reporter@v1``, ``src/notify-classroom.js``) prints::

    ::notice title=Autograding complete::Points 8/10
    ::notice title=Autograding report::{"totalPoints":8,"maxPoints":10}

The reporter's input is one *runner* result per test runner, base64 JSON in the environment
variable ``<RUNNER ID in capitals>_RESULTS``, in the shape Classroom's own command grader writes::

    {"version": 1, "status": "pass"|"fail"|"error", "max_score": 2,
     "tests": [{"name": ..., "status": "pass"|"fail", "score": 0.67, "message": ..., "test_code": "",
                "filename": "", "line_no": 0, "duration": 0}]}

The reporter's action still runs on Node 20, so the student template does not use it:
``cnnbook grade --classroom FILE`` prints the two notices itself (each question is one runner, each of
its tests a visible test), and appends to FILE (``$GITHUB_OUTPUT``) ``runners=q1,q2,...`` and one
``Q1_RESULTS=<base64>`` line per runner, so the official reporter can still be used with them.
Points are the report's exact decimal scores (:func:`~cnnbook.homework.grade.split_points`). A written
answer is a runner worth 0 points (the reporter leaves it out of both totals) whose one test says its points
are pending: Classroom records the automatic points only.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from cnnbook.homework.grade import QuestionResult, Report, clean, exact_sum, student_message
from cnnbook.homework.report import append_report, assignment_name, number

NOTICE_COMPLETE = "Autograding complete"
NOTICE_REPORT = "Autograding report"


def _json_number(value: float) -> int | float:
    """2.0 as 2: what JavaScript's JSON.stringify writes for a whole number (the command grader's integers)."""
    return int(value) if float(value).is_integer() else float(value)


def runner_result(question: QuestionResult, error: str = "") -> dict:
    """One question as the reporter reads a runner: its tests, each passing or failing, with its points."""
    if question.manual:
        return _written_answer(question)
    status = "error" if error else "pass" if question.passed else "fail"
    return {
        "version": 1,
        "status": status,
        "max_score": _json_number(question.max_score),
        "tests": [
            {
                # a hidden test shows students only that it exists and whether it passed: not its name
                # (which can hint at the case) and not its message (which can hold the expected value)
                "name": f"hidden test {number}" if test.hidden else test.name,
                "status": "pass" if test.passed else "fail",
                "score": _json_number(test.points),
                "message": clean(student_message(test)),
                "test_code": "",
                "filename": "",
                "line_no": 0,
                "duration": 0,
            }
            for number, test in enumerate(question.tests, 1)
        ],
    }


def _written_answer(question: QuestionResult) -> dict:
    """A written answer's runner: worth nothing here, not failed, its name saying what awaits the instructor."""
    test = {
        "name": f"written answer: {question.feedback}",
        "status": "pass",
        "score": 0,
        "message": "",
        "test_code": "",
        "filename": "",
        "line_no": 0,
        "duration": 0,
    }
    return {"version": 1, "status": "pass", "max_score": 0, "tests": [test]}


def runner_ids(reports: list[Report]) -> list[list[str]]:
    """Plain alphanumeric runner ids (the reporter rejects others), one per question: ``q1``, or ``ch01q1`` when
    several notebooks are graded (``ch`` and the number their file name starts with, else their whole name)."""
    ids: list[list[str]] = []
    taken: set[str] = set()
    for report in reports:
        stem = assignment_name(report)
        if len(reports) == 1:
            prefix = ""
        elif match := re.match(r"\d+", stem):
            prefix = f"ch{match.group()}"
        else:
            prefix = re.sub(r"[^A-Za-z0-9]", "", stem) or "nb"
        names = []
        for question in report.questions:
            base = re.sub(r"[^A-Za-z0-9]", "", f"{prefix}{question.name}") or "q"
            name, count = base, 1
            while name.lower() in taken:
                count += 1
                name = f"{base}n{count}"
            taken.add(name.lower())
            names.append(name)
        ids.append(names)
    return ids


def runners(reports: list[Report]) -> dict[str, dict]:
    """``{runner id: runner result}`` for every question of every report, in order."""
    found = {}
    for report, names in zip(reports, runner_ids(reports)):
        for name, question in zip(names, report.questions):
            found[name] = runner_result(question, report.error)
    return found


def encode(result: dict) -> str:
    """Base64 of the result's JSON, as the command grader's ``btoa(JSON.stringify(result))`` makes it."""
    text = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def totals(reports: list[Report]) -> tuple[float, float]:
    """Points earned and possible over every report, as exact decimal sums."""
    return exact_sum(r.score for r in reports), exact_sum(r.max_score for r in reports)


def _escape_data(text: str) -> str:
    """@actions/core's escapeData: a workflow command's message keeps ``%``, CR and LF only escaped."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """@actions/core's escapeProperty: a property value also escapes ``:`` and ``,``."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def notice(message: str, title: str) -> str:
    """``core.notice(message, {title})`` as the workflow command it prints."""
    return f"::notice title={_escape_property(title)}::{_escape_data(message)}"


def notices(reports: list[Report]) -> list[str]:
    """The reporter's two lines, ``Points T/M`` and the JSON summary Classroom parses, with JavaScript's numbers."""
    earned, possible = totals(reports)
    summary = f'{{"totalPoints":{number(earned)},"maxPoints":{number(possible)}}}'  # JSON.stringify, no spaces
    return [notice(f"Points {number(earned)}/{number(possible)}", NOTICE_COMPLETE), notice(summary, NOTICE_REPORT)]


def outputs(reports: list[Report]) -> str:
    """The lines for ``$GITHUB_OUTPUT`` (or ``$GITHUB_ENV``): ``runners=...`` and ``<ID>_RESULTS=<base64>``."""
    results = runners(reports)
    lines = [f"runners={','.join(results)}"]
    lines += [f"{name.upper()}_RESULTS={encode(result)}" for name, result in results.items()]
    return "\n".join(lines) + "\n"


def append_outputs(path: str | Path, reports: list[Report]) -> None:
    """Append :func:`outputs` to ``path`` (the step's output file), never through a symbolic link."""
    append_report(path, outputs(reports))
