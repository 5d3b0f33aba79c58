"""The grader where a notebook runs out of time, forges its kernel's replies, or races the reports' folders.

A solved notebook whose time limit runs out in a cell after its answers keeps the points of those answers; a
cell, or a student's function a test calls, that forges its own reply and then goes on is blamed for what follows,
not the cell or test after it; a report is never written through a folder swapped for a link.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from cnnbook.homework import report as report_module
from cnnbook.homework.cli import main as cli_main
from cnnbook.homework.grade import grade
from cnnbook.homework.kernel import MAX_TEST_RESTARTS, Limits
from cnnbook.homework.report import to_dict, to_text, write_report

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "submissions" / "homework" / "solutions" / "01-convolution-and-edges.ipynb"
SOLVED = ROOT / "tests" / "submissions" / "solved.ipynb"
FULL = {"q1": 2, "q2": 3, "q3": 1, "q4": 2, "q5": 2}

# A cell that sleeps and swallows every interrupt: only killing its kernel stops it.
STUBBORN = """
import time
while True:
    try:
        time.sleep(60)
    except KeyboardInterrupt:
        pass
"""


def _solved_with(*sources: str) -> nbformat.NotebookNode:
    """The solved notebook with code cells added at its end, after every answer."""
    nb = nbformat.read(SOLVED, as_version=4)
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in sources)
    return nb


def _scores(report) -> dict:
    return {q.name: q.score for q in report.questions}


# ---- 1. the notebook's time limit runs out in a cell -------------------------------------------------------------


def test_a_time_limit_reached_after_the_answers_keeps_their_points(tmp_path):
    """The limit runs out in a cell that ignores the interrupt, so its kernel is killed: the cells before it run
    again in a fresh kernel, the answers are graded, and the report names the cell where time ran out."""
    nb = _solved_with(STUBBORN, "late = 1")
    nbformat.write(nb, tmp_path / "slow.ipynb")
    stubborn, late = len(nb.cells) - 2, len(nb.cells) - 1
    report = grade(tmp_path / "slow.ipynb", SOURCE, Limits(cell=60, total=4, grace=1))
    assert _scores(report) == FULL, [q.message for q in report.questions]
    assert report.run.time_limit == stubborn and report.run.timed_out == [stubborn]
    assert report.run.not_run == [late] and report.run.restarts == 1
    assert to_dict(report)["cells"]["time_limit"] == {"cell": stubborn, "code": "import time"}
    assert f"time limit ran out in cell {stubborn} (import time)" in to_text(report)
    assert report.seconds < 30


# ---- 2. a cell forges its own reply and goes on ------------------------------------------------------------------

# The kernel's own shell socket and the grader's identity on it, and a small, valid, signed reply to the running
# cell's request: the grader would take the cell for finished.
FORGE = """
import time, zmq
kernel = get_ipython().kernel
socket, ident = kernel.shell_stream.socket, kernel._parent_ident["shell"]
content = {"status": "ok", "execution_count": 1, "payload": [], "user_expressions": {}}
kernel.session.send(socket, "execute_reply", content, parent=kernel.get_parent("shell"), ident=ident)
"""
# ...then one message of 200 parts of 10 MB: the memory guard stops the kernel while it arrives.
FORGED_THEN_ENDLESS = FORGE + (
    "part = b'z' * 10_000_000\n"
    "socket.send_multipart(ident, zmq.SNDMORE)\n"
    "for _ in range(200):\n    socket.send(part, zmq.SNDMORE, copy=False)\n"
    "socket.send(b'end')"
)
# ...or it runs on, past the cell's time limit.
FORGED_THEN_SLOW = FORGE + "time.sleep(60)"


def test_a_cell_that_forges_its_reply_is_blamed_for_what_follows(tmp_path):
    """The kernel stopped while an endless message arrives, and a cell's time limit, are the forging cell's doing:
    the notebook is re-run once without it, nothing after it is blamed, and every answer is graded."""
    nb = _solved_with(FORGED_THEN_ENDLESS, FORGED_THEN_SLOW, "late = 1")
    nbformat.write(nb, tmp_path / "forged.ipynb")
    endless, slow = len(nb.cells) - 3, len(nb.cells) - 2
    report = grade(tmp_path / "forged.ipynb", SOURCE, Limits(cell=5, total=120, grace=2))
    assert _scores(report) == FULL, [q.message for q in report.questions]
    assert report.run.killed_kernel == [endless] and report.run.timed_out == [slow]
    assert report.run.restarts == 1 < MAX_TEST_RESTARTS and not report.run.errors and report.run.time_limit is None
    assert "cells that ended the kernel: " + f"{endless} (import time, zmq)" in to_text(report)


# A student's function that, when a test calls it, forges the reply to that test's request (any answer it likes: here
# a wrong one) and then runs on, past the time limit of a call. The notebook's own check() calls it too, in a cell,
# whose request has no user_expressions: there it just answers.
FORGING_FUNCTION = """
import time

def sobel_separable(image):
    kernel = get_ipython().kernel
    parent = kernel.get_parent("shell")
    if parent["content"].get("user_expressions"):
        socket, ident = kernel.shell_stream.socket, kernel._parent_ident["shell"]
        answer = {"status": "ok", "data": {"text/plain": repr('{"value": 0}')}, "metadata": {}}
        content = {"status": "ok", "execution_count": 1, "payload": [], "user_expressions": {"r": answer}}
        kernel.session.send(socket, "execute_reply", content, parent=parent, ident=ident)
        time.sleep(60)
    return image
"""


def test_a_function_that_forges_its_reply_is_blamed_for_what_follows(tmp_path):
    """q4's function forges the reply to each test's call and sleeps on: each of its calls runs out of time (not
    the forged answer, not the next test's request), the interrupt stops it, and q5, next, keeps every point."""
    nb = nbformat.read(SOLVED, as_version=4)
    next(c for c in nb.cells if c.source.startswith("def sobel_separable")).source = FORGING_FUNCTION.strip()
    nbformat.write(nb, tmp_path / "forges-in-a-call.ipynb")
    report = grade(tmp_path / "forges-in-a-call.ipynb", SOURCE, Limits(cell=2, total=120, grace=2))
    assert _scores(report) == FULL | {"q4": 0}, [q.message for q in report.questions]
    q4 = next(q for q in report.questions if q.name == "q4")
    assert all("did not finish within the time limit of 2 s" in t.message for t in q4.tests), q4.message
    assert report.run.restarts == 0 and not report.run.killed_kernel and not report.run.timed_out


# ---- 3. a folder of reports swapped for a link while a report is written -----------------------------------------


def _swap_for_link(folder: Path, target: Path) -> None:
    """What a submission that can write in the reports' folder does: move ``folder`` aside, a link in its place."""
    folder.rename(folder.with_name("moved"))
    folder.symlink_to(target, target_is_directory=True)


@pytest.mark.parametrize("moment", ["mkdir", "fsync"])
def test_a_folder_swapped_for_a_link_mid_write_does_not_lead_the_report_out(tmp_path, monkeypatch, moment):
    """Swapped once its folder is known to be no link (``mkdir``: made, or there already), or once the report is
    being written in it (``fsync``): never written through the link; refused, or written where the folder went."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    (out / "sub").mkdir(parents=True)
    outside.mkdir()
    real = getattr(os, moment)
    swapped = []

    def swap_then(*args, **kwargs):
        if not swapped and (moment == "fsync" or Path(args[0]).name == "sub"):
            swapped.append(True)
            _swap_for_link(out / "sub", outside)
        return real(*args, **kwargs)

    monkeypatch.setattr(os, moment, swap_then)
    try:
        write_report(out / "sub" / "r.json", "{}", out)
    except OSError as error:
        assert moment == "mkdir" and "symbolic link" in str(error)
    else:
        assert moment == "fsync" and (out / "moved" / "r.json").read_text() == "{}"
    monkeypatch.undo()
    assert swapped and list(outside.iterdir()) == []
    assert not [p for p in (out / "moved").iterdir() if p.name.startswith(".")]  # no temporary file left behind


def test_a_link_planted_for_a_folder_of_reports_refuses_that_report_and_grading_goes_on(tmp_path, monkeypatch, capsys):
    """A link where a folder of reports goes, and a folder swapped for one while the first reports are written:
    those reports are refused and said, nothing is written outside, every other report is written."""
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "late").mkdir()
    for name in ("a.ipynb", "sub/b.ipynb", "late/c.ipynb"):
        (tmp_path / "in" / name).write_text("{ not json")  # no kernel needed: each scores 0 with a report
    out, outside = tmp_path / "out", tmp_path / "outside"
    (out / "late").mkdir(parents=True)
    outside.mkdir()
    (out / "sub").symlink_to(outside, target_is_directory=True)
    real_write = report_module._write_in

    def swap_after_the_first(folder: int, name: str, text: str) -> None:  # the attack between two reports
        real_write(folder, name, text)
        if not (out / "moved").exists():
            _swap_for_link(out / "late", outside)

    monkeypatch.setattr(report_module, "_write_in", swap_after_the_first)
    status = cli_main(["grade", str(tmp_path / "in"), "--source", str(SOURCE), "--json", str(out), "-q"])
    printed, err = capsys.readouterr()
    assert status == 2, err  # graded, but not every report could be written
    assert "graded 3 of 3 notebooks" in printed, printed
    assert list(outside.iterdir()) == []
    assert json.loads((out / "a.json").read_text())["score"] == 0
    for name in ("sub/b.json", "late/c.json"):
        assert f"cannot write the report {out / name}" in err, err
