"""A grading :class:`~cnnbook.homework.grade.Report` as JSON, JUnit XML, CSV, Markdown or terminal text (grader side).

GitHub Classroom's and Gradescope's formats are in :mod:`~cnnbook.homework.classroom` and
:mod:`~cnnbook.homework.gradescope`. Every format prints a score as :func:`number` does (the
shortest decimal that reads back as the same float), so the totals of all of them agree to the last digit.

Report files are written atomically by :func:`write_report` (a temporary file in the same folder,
then a rename, both through a descriptor of that folder), so a reader never sees half a report, a file
that stood at the path before, or a symbolic link planted there, is replaced rather than written
through, and a folder on the way swapped for a link cannot lead the report elsewhere.

A written answer not yet graded by hand is *pending* everywhere: left out of the score and the maximum
(``7 / 8 automatic points, 2 pending``), never shown as 0 or as earned. When several submissions are
graded, the Markdown starts with a class summary (:func:`class_summary`), which :func:`to_summary_csv` also writes.
"""

from __future__ import annotations

import csv
import errno
import html
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from copy import copy
from dataclasses import dataclass
from pathlib import Path

from cnnbook.homework.grade import QuestionResult, Report, TestResult, clean, number

CSV_COLUMNS = ("student", "assignment", "submission", "score", "max_score", "seconds", "error")
PENDING_COLUMN = "pending"  # after max_score, when an assignment has written answers
SUMMARY_COLUMNS = (
    "assignment",
    "question",
    "submissions",
    "passed",
    "failed",
    "pending",
    "most_common_failure",
    "failures",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may read as a formula (OWASP)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # what XML 1.0 cannot hold
_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")  # Markdown's emphasis, code, links and table cells
# Cells listed per kind (errors, timed out...): 30,000 failing cells must not make a report of megabytes.
MAX_LISTED_CELLS = 20
SHOWN_ERRORS = 5  # the cells that raised, each with its error, in the terminal's summary


def totals(report: Report) -> str:
    """``8 / 10 points``, or ``7 / 8 automatic points, 2 pending`` while written answers await grading by hand."""
    if report.pending:
        return f"{number(report.score)} / {number(report.max_score)} automatic points, {number(report.pending)} pending"
    return f"{number(report.score)} / {number(report.max_score)} points"


def _points(question: QuestionResult) -> str:
    """A question's points in a table: ``1.5 / 3``, or ``pending / 2``."""
    return f"{'pending' if question.pending else number(question.score)} / {number(question.max_score)}"


def assignment_name(report: Report) -> str:
    """The assignment a report is for: its source notebook's name without ``.ipynb`` (``01-convolution-and-edges``)."""
    return Path(report.source).stem


def to_dict(report: Report, student: str = "", assignment: str = "") -> dict:
    """The JSON report: ``student``, ``assignment``, top-level ``score``, ``max_score``, ``seconds``, ``questions``."""
    run = report.run

    def cells(indices: list[int]) -> list[dict]:
        return [{"cell": i, "code": report.cells.get(i, "")} for i in indices[:MAX_LISTED_CELLS]]

    return {
        "student": student or None,
        "assignment": assignment or assignment_name(report),
        "submission": report.submission,
        "source": report.source,
        "score": report.score,
        "max_score": report.max_score,
        "pending": report.pending,
        "seconds": report.seconds,
        "error": report.error or None,
        "warnings": report.warnings,
        "kernel": {
            "user": report.kernel_user,
            "isolated": report.isolated,
            "restarts": run.restarts,
            "run_seconds": round(run.seconds, 3),
        },
        "cells": {
            "errors": [{**cell, "message": clean(run.errors[cell["cell"]])} for cell in cells(sorted(run.errors))],
            "timed_out": cells(run.timed_out),
            "killed_kernel": cells(run.killed_kernel),
            "not_run": cells(run.not_run),
            # the cell that was running when the notebook's time limit ran out (it is also in timed_out)
            "time_limit": cells([run.time_limit])[0] if run.time_limit is not None else None,
            "counts": {  # how many there were: each list above holds the first MAX_LISTED_CELLS
                "errors": len(run.errors),
                "timed_out": len(run.timed_out),
                "killed_kernel": len(run.killed_kernel),
                "not_run": len(run.not_run),
            },
        },
        "questions": [_question_dict(q) for q in report.questions],
    }


def _question_dict(q: QuestionResult) -> dict:
    """A question in the JSON report; a written answer has ``score`` null while pending, and its text."""
    data = {
        "name": q.name,
        "score": None if q.pending else q.score,
        "max_score": q.max_score,
        "passed": q.passed,
        "manual": q.manual,
        "pending": q.pending,
        "message": clean(q.message),
        "tests": [
            {
                "name": t.name,
                "hidden": t.hidden,
                "passed": t.passed,
                "score": t.points,
                "max_score": t.max_points,
                "message": clean(t.message),
            }
            for t in q.tests
        ],
    }
    if q.manual:
        data["answer"] = q.answer
    return data


def from_dict(data: dict) -> Report:
    """The :class:`Report` a JSON report holds (its questions and totals: enough to re-total and re-write it).

    Raises KeyError, TypeError or ValueError for a file that is not one of our reports.
    """
    questions = [
        QuestionResult(
            str(q["name"]),
            float(q["score"] or 0.0),
            float(q["max_score"]),
            [
                TestResult(
                    str(t["name"]),
                    bool(t["hidden"]),
                    bool(t["passed"]),
                    float(t["score"]),
                    float(t["max_score"]),
                    str(t["message"]),
                )
                for t in q["tests"]
            ],
            manual=bool(q.get("manual", False)),
            pending=bool(q.get("pending", False)),
            answer=str(q.get("answer", "")),
        )
        for q in data["questions"]
    ]
    kernel = data.get("kernel") or {}
    return Report(
        str(data["submission"]),
        str(data["source"]),
        questions,
        float(data["seconds"]),
        error=str(data.get("error") or ""),
        warnings=[str(w) for w in data.get("warnings", [])],
        kernel_user=str(kernel.get("user", "")),
        isolated=bool(kernel.get("isolated", False)),
    )


def to_json(report: Report, student: str = "", assignment: str = "") -> str:
    return json.dumps(to_dict(report, student, assignment), indent=2, ensure_ascii=False) + "\n"


def to_junit(reports: list[Report], students: list[str] | None = None, assignment: str = "") -> str:
    """JUnit XML: a test suite per submission, a test case per test (class name: the question)."""
    root = ET.Element("testsuites", name="cnnbook grade")
    counted = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for position, report in enumerate(reports):
        suite = ET.SubElement(root, "testsuite", name=report.submission, time=f"{report.seconds:.3f}")
        properties = ET.SubElement(suite, "properties")
        student = students[position] if students else ""
        for key, value in (
            ("student", student),
            ("assignment", assignment or assignment_name(report)),
            ("score", number(report.score)),
            ("max_score", number(report.max_score)),
            ("source", report.source),
        ) + ((("pending", number(report.pending)),) if report.manual else ()):
            ET.SubElement(properties, "property", name=key, value=str(value))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if report.error:
            case = ET.SubElement(suite, "testcase", classname="notebook", name="readable")
            ET.SubElement(case, "error", message=clean(report.error))
            counts["tests"] += 1
            counts["errors"] += 1
        for question in report.questions:
            if question.manual:  # one case: skipped (neither passed nor failed) while it awaits grading by hand
                case = ET.SubElement(suite, "testcase", classname=question.name, name="written answer")
                counts["tests"] += 1
                if question.pending:
                    ET.SubElement(case, "skipped", message=question.message)
                    counts["skipped"] += 1
                elif not question.passed:
                    failure = ET.SubElement(case, "failure", message=question.message)
                    failure.text = f"{_points(question)} points"
                    counts["failures"] += 1
            for test in question.tests:
                case = ET.SubElement(suite, "testcase", classname=question.name, name=test.name)
                counts["tests"] += 1
                if not test.passed:
                    failure = ET.SubElement(case, "failure", message=clean(test.message or "failed"))
                    failure.text = f"{number(test.points)} of {number(test.max_points)} points"
                    counts["failures"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            counted[key] += value
        if report.warnings:
            ET.SubElement(suite, "system-err").text = "\n".join(clean(w, 1000) for w in report.warnings)
    for key, value in counted.items():
        root.set(key, str(value))
    for element in root.iter():  # names and messages come from students: keep the XML well-formed
        element.attrib = {key: _xml_safe(value) for key, value in element.attrib.items()}
        element.text = _xml_safe(element.text) if element.text else element.text
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _xml_safe(text: str) -> str:
    """``text`` less the characters XML 1.0 cannot hold, even escaped (``\\x00``-``\\x08``, lone surrogates...)."""
    return _NOT_XML.sub("", text)


def to_text(report: Report, student: bool = False) -> str:
    """The terminal summary: total, one line per question, what went wrong with the cells.

    ``student=True`` is the student's view (Gradescope's output): no hidden test's message.
    """
    lines = [f"{report.submission}: {totals(report)} ({report.seconds:.1f} s)"]
    if report.error:
        lines.append(f"  not graded: {clean(report.error)}")
    width = max((len(q.name) for q in report.questions), default=2)
    for q in report.questions:
        message = q.feedback if student else q.message
        mark = message if q.manual else "not run" if report.error else "passed" if q.passed else clean(message, 160)
        score = "pending" if q.pending else number(q.score)
        lines.append(f"  {q.name:<{width}}  {score:>5} / {number(q.max_score):<5} {mark}")
    run = report.run
    for label, indices in (
        ("timed out", run.timed_out),
        ("ended the kernel", run.killed_kernel),
        ("were not run (time limit)", run.not_run),
    ):
        if indices:
            listed = ", ".join(f"{i} ({report.cells.get(i, '')})" for i in indices[:MAX_LISTED_CELLS])
            lines.append(f"  cells that {label}: {listed}" + _more(len(indices)))
    if run.time_limit is not None:
        code = report.cells.get(run.time_limit, "")
        lines.append(
            f"  the notebook's time limit ran out in cell {run.time_limit} ({code}); what ran before it is graded"
        )
    for index in sorted(run.errors)[:SHOWN_ERRORS]:
        lines.append(f"  cell {index} raised {clean(run.errors[index], 120)}")
    if len(run.errors) > SHOWN_ERRORS:
        lines.append(f"  and {len(run.errors) - SHOWN_ERRORS} more cells raised")
    lines += [f"  warning: {w}" for w in report.warnings]
    return "\n".join(lines)


def _more(count: int) -> str:
    """What a list cut to :data:`MAX_LISTED_CELLS` leaves out."""
    return f" and {count - MAX_LISTED_CELLS} more" if count > MAX_LISTED_CELLS else ""


def spreadsheet_safe(text: object) -> str:
    """A CSV cell a spreadsheet shows as text: one starting like a formula (``=``, ``+``, ``-``, ``@``...) gets a ``'``.

    Student and file names come from students; ``=HYPERLINK(...)`` in a folder name must not become a
    live formula in the instructor's gradebook (OWASP's advice for CSV injection), nor a carriage return a new row.
    """
    text = "" if text is None else str(text)
    text = "'" + text if text.startswith(_FORMULA_START) else text
    return text.replace("\r", "\n")  # the csv module quotes a cell with a \n (its line end), not one with a lone \r


def to_csv(rows: list[tuple[Report, str, str]]) -> str:
    """One line per ``(report, student, assignment)``, columns :data:`CSV_COLUMNS`, scores as :func:`number` prints."""
    manual = any(report.manual for report, _, _ in rows)  # the column only where there are written answers
    return csv_text(
        csv_header(manual),
        [
            [
                spreadsheet_safe(student),
                spreadsheet_safe(assignment or assignment_name(report)),
                spreadsheet_safe(report.submission),
                number(report.score),
                number(report.max_score),
                *([number(report.pending)] if manual else []),
                f"{report.seconds:.3f}",
                spreadsheet_safe(clean(report.error) if report.error else ""),
            ]
            for report, student, assignment in rows
        ],
    )


def csv_header(manual: bool) -> tuple[str, ...]:
    """The header of :func:`to_csv`: :data:`CSV_COLUMNS`, with :data:`PENDING_COLUMN` after ``max_score`` when
    the assignment has written answers (``manual``)."""
    return CSV_COLUMNS[:5] + (PENDING_COLUMN,) * manual + CSV_COLUMNS[5:]


def csv_text(header: tuple[str, ...] | list[str], rows: list[list[str]]) -> str:
    """The grader's CSV: ``header``, then ``rows``, whose cells are already made safe (:func:`spreadsheet_safe`)
    where they come from students; every CSV the grader writes goes through here."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@dataclass
class QuestionSummary:
    """How a class did on one question: counts of submissions, and the test that failed most often."""

    assignment: str
    question: str
    passed: int = 0
    failed: int = 0
    pending: int = 0
    most_common_failure: str = ""
    failures: int = 0

    @property
    def submissions(self) -> int:
        return self.passed + self.failed + self.pending


def class_summary(reports: list[Report], assignment: str = "") -> list[QuestionSummary]:
    """Per question of each assignment, in order: how many passed, failed (some points lost) and are pending
    (written answers not graded yet), and the failing test most common among them (the first, on a tie)."""
    rows: dict[tuple[str, str], QuestionSummary] = {}
    failing: dict[tuple[str, str], Counter] = {}
    for report in reports:
        for q in report.questions:
            key = (assignment or assignment_name(report), q.name)
            row = rows.setdefault(key, QuestionSummary(*key))
            if q.pending:
                row.pending += 1
            elif q.passed:
                row.passed += 1
            else:
                row.failed += 1
            failing.setdefault(key, Counter()).update(t.name for t in q.tests if not t.passed)
    for key, row in rows.items():
        for name, count in failing[key].most_common(1):
            row.most_common_failure, row.failures = name, count
    return list(rows.values())


def to_summary_csv(reports: list[Report], assignment: str = "") -> str:
    """The class summary as CSV, one line per question, columns :data:`SUMMARY_COLUMNS`."""
    summary = class_summary(reports, assignment)
    return csv_text(SUMMARY_COLUMNS, [[spreadsheet_safe(getattr(row, c)) for c in SUMMARY_COLUMNS] for row in summary])


def to_markdown(reports: list[Report], assignment: str = "") -> str:
    """A Markdown table per submission (for a GitHub job summary), after the class summary if there are several."""
    out = _markdown_summary(reports, assignment) if len(reports) > 1 else []
    for report in reports:
        name = _escape(Path(report.submission).name)
        out.append(f"### {name}: {totals(report)}\n")
        if report.error:
            out.append(f"Not graded: {_escape(report.error)}\n")
        out.append("| question | points | result |\n|---|---|---|")
        for q in report.questions:
            result = "graded by hand" if q.manual else "passed" if q.passed else _escape(q.message, 200)
            out.append(f"| {_escape(q.name)} | {_points(q)} | {result} |")
        out.extend(f"\n> warning: {_escape(w)}" for w in report.warnings)
        out.append("")
    return "\n".join(out) + "\n"


def _markdown_summary(reports: list[Report], assignment: str) -> list[str]:
    """The class summary's lines: a heading above the submissions' own, and one table line per question."""
    out = [f"## Class summary: {len(reports)} submissions\n"]
    out.append(
        "| assignment | question | passed | failed | pending | most common failing test |\n|---|---|---|---|---|---|"
    )
    for row in class_summary(reports, assignment):
        failure = f"{_escape(row.most_common_failure)} ({row.failures})" if row.failures else ""
        out.append(
            f"| {_escape(row.assignment)} | {_escape(row.question)} | {row.passed} | {row.failed} | "
            f"{row.pending} | {failure} |"
        )
    return [*out, ""]


def _escape(text: str, limit: int = 500) -> str:
    """Text that came from a student as plain Markdown on one line: no HTML, code, link, emphasis or table cell."""
    return _MARKDOWN.sub(r"\\\1", html.escape(clean(text, limit), quote=False))


MANUAL_KEYS = ("student", "submission", "assignment")  # what names a report in the CSV of points given by hand


def grade_by_hand(reports: list[tuple[Report, dict]], text: str) -> None:
    """Give written answers the points a CSV gives them: columns ``question``, ``points`` and ``student`` or
    ``submission`` (and ``assignment`` if that is not enough), matched against each ``(report, its JSON)``.

    Raises ValueError listing every bad line (no such report or question, not a written answer, points not
    a number or outside 0 to the maximum, given twice), and then changes nothing.
    """
    errors, given = [], {}
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), 2):
        try:
            question = _named_question(reports, row)
            if id(question) in given:
                raise ValueError(f"{question.name} is given twice for that report")
            try:
                points = float(row.get("points") or "")
            except ValueError:
                raise ValueError(f"points {row.get('points')!r} is not a number") from None
            copy(question).grade_by_hand(points)  # checked on a copy: nothing changes unless every line is right
            given[id(question)] = (question, points)
        except ValueError as error:
            errors.append(f"line {line}: {error}")
    if errors:
        raise ValueError("the points given by hand were not applied:\n  " + "\n  ".join(errors))
    for question, points in given.values():
        question.grade_by_hand(points)


def _named_question(reports: list[tuple[Report, dict]], row: dict) -> QuestionResult:
    """The question a line of the CSV names, in the one report its :data:`MANUAL_KEYS` match."""
    keys = {key: row[key].strip() for key in MANUAL_KEYS if (row.get(key) or "").strip()}
    if not keys:
        raise ValueError(f"it names no report: give a {' or '.join(MANUAL_KEYS[:2])}")
    matches = [report for report, data in reports if all((data.get(k) or "") == v for k, v in keys.items())]
    if len(matches) != 1:
        more = "; give the assignment or submission too" if matches else ""
        raise ValueError(f"{len(matches) or 'no'} report{'s' * (len(matches) != 1)} for {keys}{more}")
    for question in matches[0].questions:
        if question.name == row.get("question"):
            return question
    raise ValueError(f"the report for {keys} has no question {row.get('question')!r}")


def write_report(path: str | Path, text: str, inside: str | Path | None = None) -> None:
    """Write ``text`` to ``path`` atomically, on disk before the rename, readable by its owner only.

    ``inside`` is the reports' folder ``path`` is in (by default, ``path``'s own folder). The folders between them
    (made when missing) are entered one at a time by file descriptor, never followed if they are symbolic links,
    and the report is written and renamed in the last one by descriptor too: a folder swapped for a link while
    this runs cannot lead the report elsewhere. A link or a file where a folder goes, or a folder at ``path``,
    refuses the report with an OSError.
    """
    path = Path(path)
    top = path.parent if inside is None else Path(inside)
    folders = path.parent.relative_to(top).parts
    top.mkdir(parents=True, exist_ok=True)  # the instructor's own folder: it may be (or be under) a link
    folder = os.open(top, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in folders:
            inner = _enter(folder, name, top)
            os.close(folder)
            folder = inner
        _write_in(folder, path.name, text)
    finally:
        os.close(folder)


def _enter(folder: int, name: str, top: Path) -> int:
    """A new descriptor of the folder ``name`` in ``folder`` (made if missing), never opened through a link."""
    if name in (".", ".."):  # the path was checked as text only: it must not climb out of ``top``
        raise OSError(errno.EINVAL, f"a report's path must stay under {top}", name)
    try:
        os.mkdir(name, dir_fd=folder)
    except FileExistsError:
        pass
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):  # O_NOFOLLOW on a link, O_DIRECTORY on a file
            raise OSError(error.errno, f"a symbolic link or a file where a folder goes, under {top}", name) from None
        raise


def _write_in(folder: int, name: str, text: str) -> None:
    """Write ``text`` to a private temporary file in ``folder`` (a descriptor), on disk, then rename it to ``name``
    (a file or link there is replaced, never written through)."""
    temporary = f".{name}.{os.urandom(6).hex()}.part"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(temporary, flags, 0o600, dir_fd=folder)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), 0o600)  # whatever the umask
            _give_to_sudo_user(handle.fileno())
        os.rename(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=folder)
        except OSError:
            pass
        raise


def append_report(path: str | Path, text: str) -> None:
    """Append ``text`` to ``path`` (``$GITHUB_STEP_SUMMARY``, ``$GITHUB_OUTPUT``): never through a symbolic link,
    never waiting on a FIFO that nobody reads (the OSError says why)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    with os.fdopen(os.open(path, flags, 0o600), "a", encoding="utf-8") as handle:
        handle.write(text)


def _give_to_sudo_user(descriptor: int) -> None:
    """Under ``sudo``, hand the open report to the user who ran sudo (it stays unreadable to the kernel's user)."""
    uid, gid = os.environ.get("SUDO_UID", ""), os.environ.get("SUDO_GID", "")
    if os.geteuid() == 0 and uid.isdigit() and gid.isdigit():
        os.fchown(descriptor, int(uid), int(gid))
