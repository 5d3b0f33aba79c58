"""A grading :class:`~cnnbook.homework.grade.Report` as JSON, JUnit XML, CSV, Markdown or terminal text (grader side).

GitHub Classroom's and Gradescope's formats are in :mod:`~cnnbook.homework.classroom` and
:mod:`~cnnbook.homework.gradescope`. Every format prints a score as :func:`number` does (the
shortest decimal that reads back as the same float), so the totals of all of them agree to the last digit.

Report files are written atomically by :func:`cnnbook.files.atomic_open` (a temporary file in the
same folder, then a rename), so a reader never sees half a report, and a file that stood at the
path before, or a symbolic link planted there, is replaced rather than written through.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from cnnbook.files import atomic_open
from cnnbook.homework.grade import Report, clean

CSV_COLUMNS = ("student", "assignment", "submission", "score", "max_score", "seconds", "error")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may read as a formula (OWASP)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # what XML 1.0 cannot hold
_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")  # Markdown's emphasis, code, links and table cells
# Cells listed per kind (errors, timed out...): 30,000 failing cells must not make a report of megabytes.
MAX_LISTED_CELLS = 20


def number(value: float) -> str:
    """A score as JavaScript prints it: ``8``, ``0.67``, ``1.5`` (Python's shortest repr, no trailing ``.0``)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


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
            "counts": {  # how many there were: each list above holds the first MAX_LISTED_CELLS
                "errors": len(run.errors),
                "timed_out": len(run.timed_out),
                "killed_kernel": len(run.killed_kernel),
                "not_run": len(run.not_run),
            },
        },
        "questions": [
            {
                "name": q.name,
                "score": q.score,
                "max_score": q.max_score,
                "passed": q.passed,
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
            for q in report.questions
        ],
    }


def to_json(report: Report, student: str = "", assignment: str = "") -> str:
    return json.dumps(to_dict(report, student, assignment), indent=2, ensure_ascii=False) + "\n"


def to_junit(reports: list[Report], students: list[str] | None = None, assignment: str = "") -> str:
    """JUnit XML: a test suite per submission, a test case per test (class name: the question)."""
    root = ET.Element("testsuites", name="cnnbook grade")
    totals = {"tests": 0, "failures": 0, "errors": 0}
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
        ):
            ET.SubElement(properties, "property", name=key, value=str(value))
        counts = {"tests": 0, "failures": 0, "errors": 0}
        if report.error:
            case = ET.SubElement(suite, "testcase", classname="notebook", name="readable")
            ET.SubElement(case, "error", message=clean(report.error))
            counts["tests"] += 1
            counts["errors"] += 1
        for question in report.questions:
            for test in question.tests:
                case = ET.SubElement(suite, "testcase", classname=question.name, name=test.name)
                counts["tests"] += 1
                if not test.passed:
                    failure = ET.SubElement(case, "failure", message=clean(test.message or "failed"))
                    failure.text = f"{number(test.points)} of {number(test.max_points)} points"
                    counts["failures"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        if report.warnings:
            ET.SubElement(suite, "system-err").text = "\n".join(clean(w, 1000) for w in report.warnings)
    for key, value in totals.items():
        root.set(key, str(value))
    for element in root.iter():  # names and messages come from students: keep the XML well-formed
        element.attrib = {key: _xml_safe(value) for key, value in element.attrib.items()}
        element.text = _xml_safe(element.text) if element.text else element.text
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _xml_safe(text: str) -> str:
    """``text`` less the characters XML 1.0 cannot hold, even escaped (``\\x00``-``\\x08``, lone surrogates...)."""
    return _NOT_XML.sub("", text)


def to_text(report: Report) -> str:
    """The terminal summary: total, one line per question, what went wrong with the cells."""
    lines = [
        f"{report.submission}: {number(report.score)} / {number(report.max_score)} points ({report.seconds:.1f} s)"
    ]
    if report.error:
        lines.append(f"  not graded: {clean(report.error)}")
    width = max((len(q.name) for q in report.questions), default=2)
    for q in report.questions:
        mark = "not run" if report.error else "passed" if q.passed else clean(q.message, 160)
        lines.append(f"  {q.name:<{width}}  {number(q.score):>5} / {number(q.max_score):<5} {mark}")
    run = report.run
    for label, indices in (
        ("timed out", run.timed_out),
        ("ended the kernel", run.killed_kernel),
        ("not run (time limit)", run.not_run),
    ):
        if indices:
            listed = ", ".join(f"{i} ({report.cells.get(i, '')})" for i in indices[:MAX_LISTED_CELLS])
            lines.append(f"  cells that {label}: {listed}" + _more(len(indices)))
    for index in sorted(run.errors)[:5]:
        lines.append(f"  cell {index} raised {clean(run.errors[index], 120)}")
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
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for report, student, assignment in rows:
        writer.writerow(
            [
                spreadsheet_safe(student),
                spreadsheet_safe(assignment or assignment_name(report)),
                spreadsheet_safe(report.submission),
                number(report.score),
                number(report.max_score),
                f"{report.seconds:.3f}",
                spreadsheet_safe(clean(report.error) if report.error else ""),
            ]
        )
    return out.getvalue()


def to_markdown(reports: list[Report]) -> str:
    """A Markdown table per submission (for a GitHub job summary)."""
    out = []
    for report in reports:
        name = _escape(Path(report.submission).name)
        out.append(f"### {name}: {number(report.score)} / {number(report.max_score)} points\n")
        if report.error:
            out.append(f"Not graded: {_escape(report.error)}\n")
        out.append("| question | points | result |\n|---|---|---|")
        for q in report.questions:
            out.append(
                f"| {_escape(q.name)} | {number(q.score)} / {number(q.max_score)} | "
                f"{'passed' if q.passed else _escape(q.message, 200)} |"
            )
        out.extend(f"\n> warning: {_escape(w)}" for w in report.warnings)
        out.append("")
    return "\n".join(out) + "\n"


def _escape(text: str, limit: int = 500) -> str:
    """Text that came from a student as plain Markdown on one line: no HTML, code, link, emphasis or table cell."""
    return _MARKDOWN.sub(r"\\\1", html.escape(clean(text, limit), quote=False))


def write_report(path: str | Path, text: str, inside: str | Path | None = None) -> None:
    """Write ``text`` to ``path`` atomically, on disk before the rename, readable by its owner only.

    ``inside`` is the reports' folder ``path`` is in: a folder between them that is a symbolic link
    (planted to lead the report elsewhere) is refused with an OSError, as is a folder at ``path``.
    """
    if inside is not None:
        for folder in list(Path(path).relative_to(inside).parents)[:-1]:
            if (Path(inside) / folder).is_symlink():
                raise OSError(f"{Path(inside) / folder} is a symbolic link")
    with atomic_open(path, 0o600, text=True, fsync=True, before_rename=_give_to_sudo_user) as handle:
        handle.write(text)


def append_report(path: str | Path, text: str) -> None:
    """Append ``text`` to ``path`` (``$GITHUB_STEP_SUMMARY``, ``$GITHUB_OUTPUT``): never through a symbolic link,
    never waiting on a FIFO that nobody reads (the OSError says why)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    with os.fdopen(os.open(path, flags, 0o600), "a", encoding="utf-8") as handle:
        handle.write(text)


def _give_to_sudo_user(path: Path) -> None:
    """Under ``sudo``, hand the report to the user who ran sudo (it stays unreadable to the kernel's user)."""
    uid, gid = os.environ.get("SUDO_UID", ""), os.environ.get("SUDO_GID", "")
    if os.geteuid() == 0 and uid.isdigit() and gid.isdigit():
        os.chown(path, int(uid), int(gid))
