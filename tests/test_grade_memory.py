"""The grader's own memory stays under 1 GB whatever a submission does, and its reports stay small.

Each hostile submission is graded by ``cnnbook grade`` in a process of its own, which then reports its own peak
resident memory (``VmHWM`` of /proc/self/status: the grader's process alone, since its exec; the student's kernel
is another process, with limits of its own). The kernel side of the attacks forges what an honest kernel never sends: an
answer of gigabytes, messages of endless parts, floods of messages; the notebooks are as large as the grader
reads, with millions of JSON values. Besides the peak, each report's score and size is checked. The memory guard
limits what grading adds, not the grader's size: a process that is large already (pytest's) still grades.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cnnbook.homework import wire
from cnnbook.homework.grade import (
    MAX_CELLS,
    MAX_NOTEBOOK_BYTES,
    MAX_NOTEBOOK_CONTAINERS,
    Report,
    SubmissionError,
    read_submission,
)
from cnnbook.homework.kernel import (
    MAX_GRADER_GROWTH,
    MAX_MESSAGE_BYTES,
    MAX_MESSAGE_CONTAINERS,
    MAX_QUEUED_MESSAGES,
    RunLog,
)
from cnnbook.homework.report import MAX_LISTED_CELLS, SHOWN_ERRORS, to_text
from cnnbook.homework.wire import parse_reply

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "submissions" / "homework" / "solutions" / "01-convolution-and-edges.ipynb"
SOLVED = ROOT / "tests" / "submissions" / "solved.ipynb"
GB = 1 << 30
REPORT_BYTES = {"json": 20_000, "junit": 10_000, "gradescope": 10_000}  # each submission's
SUMMARY_BYTES = {"report.md": 5_000, "report.csv": 1_000}  # per submission, for the class

# Graded in a fresh process, first made ``host`` bytes large (as pytest's is): the grade command, then this process's
# own memory before it and its peak, which exclude the kernel's. Not ru_maxrss: Linux carries a parent's peak across
# fork and exec into it (a child of pytest reads 2 GB), while VmHWM starts again at exec.
GRADE_AND_MEASURE = """
import json, sys
from cnnbook.homework.cli import main
folder, out, source, host = sys.argv[1:5]
ballast = b"x" * int(host)  # written, so resident
def memory(key):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) << 10 for line in status if line.startswith(key + ":"))
start = memory("VmRSS")
status = main(["grade", folder, "--source", source, "--json", out + "/json", "--junit", out + "/junit",
               "--gradescope", out + "/gradescope", "--markdown", out + "/report.md", "--csv", out + "/report.csv",
               "-q", "--jobs", "1", "--cell-timeout", "30", "--timeout", "120"])  # graded here, not in workers
print(json.dumps({"status": status, "start": start, "peak": memory("VmHWM")}))
"""


def _graded(folder: Path, tmp_path: Path, host: int = 0) -> tuple[dict[str, dict], dict]:
    """Grade the notebooks in ``folder`` in a process of its own, ``host`` bytes large before it grades: ``({name: its
    JSON report}, {"start": its memory before grading, "peak": its peak, in bytes})``, once every report is checked:
    written, and small; and, for a process that was not made large, its peak under 1 GB."""
    out = tmp_path / "reports"
    command = [sys.executable, "-c", GRADE_AND_MEASURE, str(folder), str(out), str(SOURCE), str(host)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout.splitlines()[-1])
    assert measured["status"] == 0, result.stderr[-3000:]
    print(f"{folder.parent.name}: {measured['start'] >> 20} MB before grading, peak {measured['peak'] >> 20} MB")
    assert host or measured["peak"] < GB, f"the grader used {measured['peak'] >> 20} MB"
    names = sorted(path.stem for path in folder.glob("*.ipynb"))
    for kind, limit in REPORT_BYTES.items():
        sizes = {path.stem: path.stat().st_size for path in (out / kind).iterdir()}
        assert sorted(sizes) == names and max(sizes.values()) < limit, (kind, sizes)
    for name, limit in SUMMARY_BYTES.items():
        assert (out / name).stat().st_size < limit * len(names), name
    return {name: json.loads((out / "json" / f"{name}.json").read_text()) for name in names}, measured


def _scores(report: dict) -> dict:
    return {q["name"]: q["score"] for q in report["questions"]}


def _messages(report: dict, question: str) -> list[str]:
    return [t["message"] for q in report["questions"] if q["name"] == question for t in q["tests"]]


def _solved_with(*sources: str, markdown: str = "") -> nbformat.NotebookNode:
    nb = nbformat.read(SOLVED, as_version=4)
    if markdown:
        nb.cells.append(nbformat.v4.new_markdown_cell(markdown))
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in sources)
    return nb


# The kernel's own shell socket and the grader's identity on it: a cell can send the grader anything.
SHELL = """
import zmq
kernel = get_ipython().kernel
socket, ident = kernel.shell_stream.socket, kernel._parent_ident["shell"]
part = b"z" * 10_000_000
"""
# One message of 200 parts of 10 MB (2 GB; each part under the size limit, so only the memory guard stops it).
ENDLESS_MESSAGE = (
    SHELL
    + "socket.send_multipart(ident, zmq.SNDMORE)\n"
    + ("for _ in range(200):\n    socket.send(part, zmq.SNDMORE, copy=False)\nsocket.send(b'end')")
)
# 50 messages of 10 MB: at most a few wait in the grader's queue.
MANY_MESSAGES = SHELL + "for _ in range(50):\n    socket.send_multipart([*ident, part], copy=False)"
# A reply to the cell's own request, signed, of 200,000 empty lists (the grader would parse each).
FORGED_REPLY = SHELL + (
    "kernel.session.send(socket, 'execute_reply', {'status': 'ok', 'x': [[]] * 200_000},"
    " parent=kernel.get_parent('shell'), ident=ident)"
)
PRINTS = "for _ in range(20):\n    print('p' * 1_000_000)"  # iopub, which the grader never reads
# The kernel's side of the wire replaced: what it answers for one name, the honest answer for the others.
FORGED = """
import cnnbook.homework.in_kernel as _wire
_honest = _wire.answer
def _forged(namespace, payload):
    if '"cnn_shapes"' in payload:  # 8 MB of JSON: over the answer's limit, under the message's
        return '{"value": "' + "x" * 8_000_000 + '"}'
    if '"horizontal"' in payload:  # a message of 100 MB
        return "y" * 100_000_000
    return _honest(namespace, payload)
_wire.answer = _forged
"""
HONEST_HUGE = 'def conv_output_size(*args, **kwargs):\n    return "x" * 50_000_000'


def test_a_kernel_that_sends_too_much_costs_the_grader_under_a_gigabyte(tmp_path):
    """Huge answers (honest and forged), a message of endless parts, a forged reply of 200,000 lists, a flood of
    messages and of output."""
    (tmp_path / "in").mkdir()
    cells = (PRINTS, MANY_MESSAGES, ENDLESS_MESSAGE, FORGED_REPLY, HONEST_HUGE, FORGED)
    nbformat.write(_solved_with(*cells), tmp_path / "in" / "a.ipynb")
    reports, measured = _graded(tmp_path / "in", tmp_path)
    [report] = reports.values()
    assert _scores(report) == {"q1": 0, "q2": 3, "q3": 0, "q4": 2, "q5": 0}, report["questions"]
    assert report["score"] == 5 and report["max_score"] == 10
    too_large = f"the answer is larger than {wire.MAX_ANSWER_BYTES >> 20} MB"
    assert all(too_large in m for m in _messages(report, "q1") + _messages(report, "q5")), report["questions"]
    stopped = f"the kernel sent a message larger than {MAX_MESSAGE_BYTES >> 20} MB"
    assert all(stopped in m and "stopped" in m for m in _messages(report, "q3")), report["questions"]
    # the cells that sent endless parts (the memory guard) and a forged reply were stopped, the notebook re-run
    assert [c["code"] for c in report["cells"]["killed_kernel"]] == ["import zmq", "import zmq"]
    assert measured["peak"] - measured["start"] < MAX_GRADER_GROWTH + (200 << 20)


def test_a_large_process_grades_as_a_small_one(tmp_path):
    """The guard limits what grading adds to the grader's memory, not its size: a process already past the guard's
    allowance (pytest's is 2 GB) grades a solved notebook in full, and an attack still gets the kernel stopped."""
    (tmp_path / "in").mkdir()
    shutil.copyfile(SOLVED, tmp_path / "in" / "solved.ipynb")
    nbformat.write(_solved_with(ENDLESS_MESSAGE), tmp_path / "in" / "endless.ipynb")
    host = MAX_GRADER_GROWTH + (512 << 20)
    reports, measured = _graded(tmp_path / "in", tmp_path, host)
    assert measured["start"] > host
    assert reports["solved"]["score"] == 10 and not reports["solved"]["cells"]["killed_kernel"], reports["solved"]
    assert reports["endless"]["score"] == 10, reports["endless"]["questions"]
    assert [c["code"] for c in reports["endless"]["cells"]["killed_kernel"]] == ["import zmq"]
    assert measured["peak"] - measured["start"] < MAX_GRADER_GROWTH + (200 << 20)


def _big_notebook(cells: list, metadata: object = None) -> str:
    """A notebook of ``cells`` as compact JSON, with ``metadata`` filling it up to just under the size limit."""
    nb = json.loads(SOLVED.read_text())
    nb["cells"] += cells
    text = json.dumps(nb, separators=(",", ":"))
    if metadata is None:
        return text
    room = MAX_NOTEBOOK_BYTES - len(text) - 1000
    nb["metadata"]["filler"] = metadata(room)
    return json.dumps(nb, separators=(",", ":"))


def _code(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def test_a_notebook_at_the_size_limit_costs_the_grader_under_a_gigabyte(tmp_path):
    """One line of 10 MB of code, a markdown cell of a million lines, 100 failing cells, and as many short strings
    as fit in the rest of its 20 MB: graded, its reports listing 20 of the failing cells."""
    lines = {"cell_type": "markdown", "metadata": {}, "source": ["#a\n"] * 1_000_000}
    failing = [_code(f"1 / 0  # failing cell {i}") for i in range(100)]
    text = _big_notebook([_code("# " + "c" * 10_000_000), lines, *failing], lambda room: ["ab"] * (room // 5))
    assert MAX_NOTEBOOK_BYTES - 2000 < len(text) <= MAX_NOTEBOOK_BYTES
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "at-the-limit.ipynb").write_text(text)
    reports, _ = _graded(tmp_path / "in", tmp_path)
    [report] = reports.values()
    assert report["score"] == 10 and not report["error"], report["questions"]
    cells = report["cells"]
    assert cells["counts"]["errors"] == 100 and len(cells["errors"]) == 20
    assert cells["errors"][0]["code"] == "1 / 0 # failing cell 0"


def test_notebooks_too_costly_to_read_are_refused_cheaply(tmp_path):
    """Seven million dicts in 20 MB (they would take 0.5 GB parsed, and nbformat's copies 4 GB), or too many cells."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "dicts.ipynb").write_text(_big_notebook([], lambda room: [{}] * (room // 3)))
    (folder / "cells.ipynb").write_text(_big_notebook([_code("x = 1")] * (MAX_CELLS + 1)))
    reports, measured = _graded(folder, tmp_path)
    for name, reason in (
        ("dicts", f"more than {MAX_NOTEBOOK_CONTAINERS:,} JSON lists and objects"),
        ("cells", f"more than the {MAX_CELLS} a notebook may have"),
    ):
        assert reports[name]["score"] == 0 and reason in reports[name]["error"], reports[name]["error"]
    assert measured["peak"] < 256 << 20


# ---- without a kernel -------------------------------------------------------------------------------------------


def _shown(text: str) -> dict:
    """A user_expressions entry as ipykernel sends it."""
    return {"status": "ok", "data": {"text/plain": repr(text)}, "metadata": {}}


def test_an_answer_over_the_limit_is_refused_before_it_is_decoded(monkeypatch):
    big = json.dumps({"value": "x" * (wire.MAX_ANSWER_BYTES + 1)})
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("decoded"))
    assert parse_reply(_shown(big)) == {"error": wire.TOO_LARGE}
    assert parse_reply({"status": "ok", "data": {"text/plain": "'" + "x" * (3 * wire.MAX_ANSWER_BYTES)}}) == {
        "error": wire.TOO_LARGE
    }


def test_what_is_not_one_quoted_string_is_never_parsed_as_python():
    """``ast.literal_eval`` would build a syntax tree of millions of nodes first: gigabytes for a few megabytes."""
    for shown in ("[" + "0, " * 1_000_000 + "0]", "'a', " + "0, " * 1_000_000 + "'b'", "'abc\\'"):
        reply = parse_reply({"status": "ok", "data": {"text/plain": shown}})
        assert set(reply) == {"error"} and "malformed" in reply["error"]
    assert parse_reply(_shown(json.dumps({"value": 'it\'s "quoted" \\ \u00e9'}))) == {"value": 'it\'s "quoted" \\ é'}


def test_the_kernel_side_says_an_answer_is_too_large():
    """The request tells the kernel the limit, so an honest kernel never sends a larger answer."""
    namespace = {"big": "x" * wire.MAX_ANSWER_BYTES, "small": "x"}
    for name, expected in (("big", {"error": wire.TOO_LARGE}), ("small", {"value": "x"})):
        text = eval(wire.request_expression(name), namespace)  # what the kernel evaluates
        assert len(text) < 200 and parse_reply(_shown(text)) == expected


def test_a_notebook_over_the_limits_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    path = tmp_path / "brackets.ipynb"
    path.write_bytes(b"[" * (MAX_NOTEBOOK_CONTAINERS + 1))
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(SubmissionError, match="more than 1,000,000 JSON lists"):
        read_submission(path)


def test_the_summary_shows_a_few_failing_cells_and_counts_the_rest():
    report = Report("many.ipynb", "src.ipynb", [], 1.0, run=RunLog(errors={i: "ValueError: x" for i in range(30_000)}))
    text = to_text(report)
    assert text.count("raised ValueError") == SHOWN_ERRORS and f"and {30_000 - SHOWN_ERRORS} more cells raised" in text
    assert len(text) < 1_000


def test_how_to_use_states_the_limits():
    text = " ".join((ROOT / "book" / "how-to-use.md").read_text().split())
    for stated in (
        f"above {MAX_NOTEBOOK_BYTES >> 20} MB or {MAX_NOTEBOOK_CONTAINERS:,} JSON lists and objects",
        f"above {MAX_CELLS:,} cells",
        f"at most {wire.MAX_ANSWER_BYTES >> 20} MB of JSON",
        f"a message part over {MAX_MESSAGE_BYTES >> 20} MB",
        f"more than {MAX_MESSAGE_CONTAINERS:,} lists and objects",
        f"at most {MAX_QUEUED_MESSAGES} messages wait",
        f"when it has grown by {MAX_GRADER_GROWTH >> 20} MB",
        f"list at most {MAX_LISTED_CELLS} cells",
    ):
        assert stated in text, stated
