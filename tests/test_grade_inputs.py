"""The grader against hostile inputs: planted report paths, odd file names and bytes, special files, huge output.

Most of these submissions cannot be read, so they are graded without a kernel; one test runs a kernel
to grade a real notebook under a hostile name.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import stat
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from cnnbook.homework.cli import find_submissions
from cnnbook.homework.cli import main as cli_main
from cnnbook.homework.grade import (
    MAX_NOTEBOOK_BYTES,
    QuestionResult,
    Report,
    SubmissionError,
    TestResult,
    read_submission,
)
from cnnbook.homework.gradescope import to_results
from cnnbook.homework.kernel import RunLog
from cnnbook.homework.report import to_csv, to_json, to_junit, to_markdown, to_text

ROOT = Path(__file__).resolve().parents[1]
# Chapters 1 and 7 of release 0.3.0, frozen: the grader suite grades against them, so the book's exercises can
# change without rewriting the hostile submissions (the current chapters are graded in test_grade.py too).
FROZEN = ROOT / "tests" / "submissions" / "homework"
CHAPTER1 = "01-convolution-and-edges.ipynb"
SOURCE = FROZEN / "solutions" / CHAPTER1
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Names a student can give a file: not UTF-8, with a newline, control characters, spreadsheet formulas, markup.
HOSTILE_NAMES = [
    b"\xff\xfe latin-1 \xe9.ipynb",
    b"new\nline.ipynb",
    b"tab\tescape\x1b[31mbell\x07.ipynb",
    b"=HYPERLINK(evil).ipynb",
    b"+1+1.ipynb",
    b"-rf.ipynb",
    b"@SUM(A1).ipynb",
    b"pipe | `tick` <b>bold [link](x).ipynb",
    "\u202eright-to-left.ipynb".encode(),
]


def _grade(*args: str | Path) -> int:
    return cli_main(["grade", *map(str, args), "--source", str(SOURCE)])


def _unreadable_notebooks(folder: Path, names: list[str]) -> None:
    folder.mkdir()
    for name in names:
        (folder / name).write_text("{ not json")


# ---- 1. reports cannot be redirected or stopped ------------------------------------------------------------------


def test_a_planted_link_or_folder_does_not_redirect_or_stop_the_reports(tmp_path, capsys):
    _unreadable_notebooks(tmp_path / "in", ["a.ipynb", "b.ipynb", "c.ipynb"])
    (tmp_path / "in" / "sub").mkdir()
    (tmp_path / "in" / "sub" / "d.ipynb").write_text("{")
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("keep me")
    (out / "a.json").symlink_to(victim)  # a link where a report goes: replaced, not written through
    (out / "b.json").mkdir()  # a folder where a report goes: that report fails, the others are written
    (out / "b.json" / "inside").write_text("x")
    (out / "c.xml").mkdir()
    (out / "sub").symlink_to(outside)  # a link where a folder of reports goes: not followed
    (out / "scores.csv").symlink_to(victim)
    (out / "summary.md").symlink_to(victim)
    status = _grade(
        tmp_path / "in",
        "--json",
        out,
        "--junit",
        out,
        "--csv",
        out / "scores.csv",
        "--markdown",
        out / "summary.md",
        "-q",
    )
    err = capsys.readouterr().err
    assert status == 2, err  # graded, but not every report could be written
    assert victim.read_text() == "keep me" and sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    assert stat.S_ISREG((out / "a.json").lstat().st_mode) and json.loads((out / "a.json").read_text())["error"]
    assert json.loads((out / "c.json").read_text())["score"] == 0
    assert ET.parse(out / "b.xml").getroot().find("testsuite") is not None
    assert (out / "b.json" / "inside").read_text() == "x"
    assert (
        stat.S_ISREG((out / "scores.csv").lstat().st_mode) and len((out / "scores.csv").read_text().splitlines()) == 5
    )
    for name in ("b.json", "c.xml", "sub", "summary.md"):
        assert f"cannot write the report {out / name}" in err, name
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left behind


# ---- 2. every file name and every notebook byte -------------------------------------------------------------------


def test_hostile_file_names_get_correct_reports_in_every_format(tmp_path, capsys):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for name in HOSTILE_NAMES:
        with open(os.path.join(os.fsencode(folder), name), "w") as handle:
            handle.write("{ not json")
    status = _grade(folder, "--json", out, "--junit", out, "--csv", out / "scores.csv", "--markdown", out / "s.md")
    captured = capsys.readouterr()
    assert status == 0, captured.err
    reports = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert len(reports) == len(HOSTILE_NAMES) == len(list(out.glob("*.xml")))
    for report in reports:
        assert report["score"] == 0 and "not valid notebook JSON" in report["error"]
        text = report["submission"] + report["error"] + report["student"]
        assert text.isprintable(), text
    assert any("\\xff" in r["submission"] and "\\n" not in r["submission"] for r in reports)
    assert any("new\\nline" in r["submission"] for r in reports)
    rows = list(csv.reader(io.StringIO((out / "scores.csv").read_text(encoding="utf-8"))))
    assert len(rows) == len(HOSTILE_NAMES) + 1
    assert not [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)]
    for path in out.glob("*.xml"):
        ET.parse(path)
    markdown = (out / "s.md").read_text(encoding="utf-8")
    assert markdown.count("\n### ") + markdown.startswith("### ") == len(HOSTILE_NAMES)
    assert "<b>" not in markdown and "`tick`" not in markdown and "| `" not in markdown


def _notebook_with(source: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Homework"), nbformat.v4.new_code_cell(source)]
    return nbformat.writes(nb)


def test_a_lone_surrogate_in_a_cell_becomes_a_replacement_character(tmp_path):
    path = tmp_path / "surrogate.ipynb"
    path.write_text(_notebook_with('text = "@@"').replace("@@", "\\ud800 and \\udcff"), encoding="ascii")
    [(position, source)] = read_submission(path)
    assert position == 1 and source == 'text = "\ufffd and \ufffd"'
    source.encode("utf-8")  # what the kernel is sent must be UTF-8


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"{ not json", "not valid notebook JSON"),
        (b'{"cells": [], "x": "\xff\xfe"}', "not valid notebook JSON"),  # not UTF-8
        (b"\x00" * 100, "not valid notebook JSON"),
        (b'{"cells": "x"}', "not a Jupyter notebook"),
        (b"[" * 100_000, "not valid notebook JSON"),
        (b"", "not valid notebook JSON"),
    ],
)
def test_bytes_that_are_not_a_notebook_say_why(tmp_path, content, reason):
    (tmp_path / "x.ipynb").write_bytes(content)
    with pytest.raises(SubmissionError, match=reason):
        read_submission(tmp_path / "x.ipynb")


# ---- 3. only regular files are read --------------------------------------------------------------------------------


def _special_files(folder: Path) -> dict[str, str]:
    """Name -> the reason its report must give."""
    folder.mkdir(exist_ok=True)
    os.mkfifo(folder / "fifo.ipynb")
    (folder / "folder.ipynb").mkdir()
    (folder / "folder.ipynb" / "inside.ipynb").write_text(_notebook_with("x = 1"))
    (folder / "link.ipynb").symlink_to(SOURCE)
    (folder / "dangling.ipynb").symlink_to(folder / "nowhere")
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(folder / "socket.ipynb"))
    listening.close()
    return {
        "fifo.ipynb": "named pipe",
        "folder.ipynb": "directory",
        "link.ipynb": "symbolic link",
        "dangling.ipynb": "symbolic link",
        "socket.ipynb": "socket",
    }


def _without_hanging(function, *args, seconds: float = 10.0):
    """``function(*args)``'s result or exception; fails the test if it has not returned within ``seconds``."""
    result: list = []

    def target() -> None:
        try:
            result.append(function(*args))
        except BaseException as error:  # noqa: BLE001 -- handed back to the test
            result.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{function.__name__}{args} hung"
    return result[0]


def _release(fifo: Path) -> None:
    """Let a reader blocked opening ``fifo`` go on (there is none once the grader never blocks)."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def test_special_files_are_refused_at_once(tmp_path):
    reasons = _special_files(tmp_path)
    try:
        for name, reason in reasons.items():
            outcome = _without_hanging(read_submission, tmp_path / name)
            assert isinstance(outcome, SubmissionError) and reason in str(outcome), (name, outcome)
    finally:
        _release(tmp_path / "fifo.ipynb")


def test_a_folder_of_submissions_with_special_files_is_graded_without_hanging(tmp_path, capsys):
    reasons = _special_files(tmp_path / "in")
    found = {str(name) for _, name in find_submissions([tmp_path / "in"])}
    assert found == set(reasons)  # a folder named *.ipynb is a submission, refused: not searched
    try:
        status = _without_hanging(_grade, tmp_path / "in", "--json", tmp_path / "out", "-q")
    finally:
        _release(tmp_path / "in" / "fifo.ipynb")
    assert status == 0, capsys.readouterr().err
    for name, reason in reasons.items():
        report = json.loads((tmp_path / "out" / name).with_suffix(".json").read_text())
        assert report["score"] == 0 and reason in report["error"], report["error"]


# ---- 4. each format escapes what came from a student ----------------------------------------------------------------


def _student_report(name: str, message: str) -> Report:
    tests = [TestResult("a", False, False, 0.0, 1.0, message), TestResult("b", True, True, 1.0, 1.0)]
    return Report(name, "src.ipynb", [QuestionResult("q1", 1.0, 2.0, tests)], 1.0, error=message)


def test_csv_cells_cannot_start_a_formula():
    rows = [
        (_student_report(start + "name.ipynb", start + "message"), start + "student", start) for start in "=+-@\t\r"
    ]
    parsed = list(csv.reader(io.StringIO(to_csv(rows))))
    assert len(parsed) == 7 and not [cell for row in parsed for cell in row if cell.startswith(FORMULA_STARTS)]
    assert parsed[1][:3] == ["'=student", "'=", "'=name.ipynb"]


def test_junit_is_well_formed_whatever_the_text():
    bad = "nul\x00 bell\x07 form\x0c surrogate\ud800 noncharacter\ufffe end"
    report = _student_report(bad + ".ipynb", bad)
    report.warnings = [bad]
    root = ET.fromstring(to_junit([report], [bad], bad))
    suite = root.find("testsuite")
    assert suite.get("name").startswith("nul") and suite.get("name").endswith("end.ipynb")
    assert suite.find("testcase[@name='a']/failure").get("message").endswith("end")


def test_markdown_escapes_what_came_from_a_student():
    name = "x|y`code`<img src=x onerror=alert(1)>\n# heading.ipynb"
    message = "got | this `and` <script>alert(1)</script>\n\n| a | b |"
    markdown = to_markdown([_student_report(name, message)])
    for raw in ("<img", "<script", "`code`", "`and`", "\n# heading"):
        assert raw not in markdown, raw
    heading, *rows = [line for line in markdown.splitlines() if line]
    assert heading.startswith("### x\\|y")
    table = [row for row in rows if row.startswith("|")]
    assert len(table) == 3 and all(row.replace("\\|", "").count("|") == 4 for row in table), table


# ---- 5. memory: a size cap and capped messages ----------------------------------------------------------------------


def test_an_oversized_notebook_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    assert MAX_NOTEBOOK_BYTES == 20 << 20
    path = tmp_path / "huge.ipynb"
    with open(path, "wb") as handle:  # sparse: no disk used
        handle.truncate(MAX_NOTEBOOK_BYTES + 1)
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(SubmissionError, match="larger than 20 MB"):
        read_submission(path)


def test_thirty_thousand_failing_cells_make_a_small_report():
    count = 30_000
    report = _student_report("many.ipynb", "x" * 100_000)
    report.error = ""
    report.run = RunLog(
        errors={i: "ValueError: " + "y" * 1000 for i in range(count)},
        timed_out=list(range(count)),
        killed_kernel=list(range(count)),
        not_run=list(range(count)),
    )
    report.cells = {i: f"cell {i}" for i in range(count)}
    data = json.loads(to_json(report))
    assert len(to_json(report)) < 100_000
    assert data["cells"]["counts"] == dict.fromkeys(("errors", "timed_out", "killed_kernel", "not_run"), count)
    assert len(to_text(report)) < 10_000
    assert len(json.dumps(to_results(report))) < 20_000
    assert len(to_junit([report])) < 20_000 and len(to_markdown([report])) < 10_000


# ---- with a kernel ---------------------------------------------------------------------------------------------------


def test_a_real_notebook_under_a_hostile_name_is_graded(tmp_path, capsys):
    """A solved notebook named with bytes that are not UTF-8 and a newline, with a lone surrogate in a cell."""
    folder = tmp_path / "in"
    folder.mkdir()
    solved = ROOT / "tests" / "submissions" / "solved.ipynb"
    nb = nbformat.read(solved, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell('broken = "@@"'))
    text = nbformat.writes(nb).replace("@@", "\\ud800")
    name = os.path.join(os.fsencode(folder), b"=bad\xff\nname.ipynb")
    with open(name, "w", encoding="utf-8") as handle:
        handle.write(text)
    shutil.copy(SOURCE, tmp_path / CHAPTER1)
    status = cli_main(["grade", str(folder), "--source", str(tmp_path / CHAPTER1), "--json", str(tmp_path / "out")])
    assert status == 0, capsys.readouterr().err
    [path] = (tmp_path / "out").glob("*.json")
    report = json.loads(path.read_text())
    assert (report["score"], report["error"], report["cells"]["errors"]) == (10, None, []), report
