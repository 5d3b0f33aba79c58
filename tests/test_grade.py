"""The grader: exact scores for solutions, exercises and a suite of broken and hostile submissions.

The hostile notebooks live in tests/submissions/ (built by tests/submissions/build.py from chapter
1). They are graded in one run of the ``cnnbook grade`` command, as an instructor would, and each
report is checked: the score its code earns, and what the report says went wrong.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import numpy as np
import pytest

from cnnbook.homework import checks, in_kernel, wire
from cnnbook.homework.cli import find_submissions
from cnnbook.homework.cli import main as cli_main
from cnnbook.homework.grade import (
    GraderError,
    QuestionResult,
    Report,
    SubmissionError,
    TestResult,
    clean,
    grade,
    load_tests,
    read_submission,
)
from cnnbook.homework.in_kernel import answer, decode, encode
from cnnbook.homework.kernel import KernelTransport, Limits, NotebookSession
from cnnbook.homework.report import to_dict, to_junit, to_markdown, write_report
from cnnbook.homework.sandbox import Account, Reaper, choose_account, processes, unconfined_reason
from cnnbook.homework.student import Student
from cnnbook.homework.wire import parse_reply, request_expression

ROOT = Path(__file__).resolve().parents[1]
# Chapters 1 and 7 of release 0.3.0, frozen: the grader suite grades against them, so the book's exercises can
# change without rewriting the hostile submissions (the current chapters are graded in test_grade.py too).
FROZEN = ROOT / "tests" / "submissions" / "homework"
SUBMISSIONS = ROOT / "tests" / "submissions"
CHAPTER1 = "01-convolution-and-edges.ipynb"
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
FULL = {"q1": 2, "q2": 3, "q3": 1, "q4": 2, "q5": 2}
ZERO = dict.fromkeys(FULL, 0)
ISOLATED = os.geteuid() == 0  # as root the kernel runs as a dedicated user; otherwise as ours
CONFINED = not unconfined_reason()  # in namespaces of its own (bubblewrap), where the grader's files do not exist
HOMEWORK = ROOT / "cnnbook" / "homework"
KERNEL_SIDE = "in_kernel"  # runs in the student's kernel
BOTH_SIDES = {"__init__", "checks", "student"}  # run where the tests run: the grader, and the notebook for check
GRADER_SIDE = {p.stem for p in HOMEWORK.glob("*.py")} - BOTH_SIDES - {KERNEL_SIDE}

# What each hostile notebook's code earns, question by question (q2's 3 points are shared by 4 tests).
EXPECTED = {
    "solved": FULL,
    "malformed-json": ZERO,
    "not-a-notebook": ZERO,
    "cell-raises": {**FULL, "q2": 0, "q4": 0},  # correlate2d is never defined; sobel_separable needs it
    "syntax-error": {**FULL, "q1": 0},
    "infinite-loop": FULL,  # the loop is interrupted, the rest runs
    "ignores-interrupt": FULL,  # the kernel is killed and the notebook re-run without that cell
    "slow-function": {**FULL, "q4": 0},
    "sys-exit": FULL,  # SystemExit is an ordinary exception in a kernel
    "exit-call": FULL,  # exit() ends the kernel: restarted, re-run without it
    "os-exit": FULL,
    "os-exit-in-function": {**FULL, "q4": 0},
    "huge-output": FULL,
    "deleted-cells": {**FULL, "q3": 0},  # the answer to q3 is gone; the visible tests do not matter
    "reordered-cells": {**FULL, "q3": 0},  # q3 now runs before VERTICAL exists
    "missing-function": {**ZERO, "q1": 2},
    "always-equal": {**ZERO, "q4": 2},  # only q4 is honest work
    "monkeypatch": ZERO,
    "edited-tests": {**ZERO, "q1": 2},
    "protocol-spoof": ZERO,
    "fake-report": ZERO,
    "reads-solution": FULL if not (ISOLATED or CONFINED) else ZERO,  # the source sits in a 0700 folder of root's
    "partial": {"q1": 2, "q2": 0.75, "q3": 1, "q4": 0, "q5": 1},  # a flipped kernel; ceil instead of floor
}


# ---- plain parts: no kernel ----------------------------------------------------------------------


def _shown(text: str) -> dict:
    """A user_expressions entry as ipykernel sends it."""
    return {"status": "ok", "data": {"text/plain": repr(text)}, "metadata": {}}


def test_a_request_round_trip_without_a_kernel():
    namespace = {"scale": lambda a, factor=1: a * factor, "x": np.arange(3)}
    for expression, expected in [
        (request_expression("x"), np.arange(3)),
        (request_expression("scale", (encode((np.ones(2),)), encode({"factor": 3}))), [3, 3]),
    ]:
        text = eval(expression, namespace)  # what the kernel evaluates
        np.testing.assert_array_equal(decode(parse_reply(_shown(text))["value"]), expected)
    missing = answer(namespace, json.dumps({"name": "nope", "call": None}))
    assert "'nope' is not defined" in parse_reply(_shown(missing))["error"]


def _imports(path: Path) -> list[tuple[str, set[str]]]:
    """``(module, names)`` for every import statement of a homework module, at any depth.

    ``names`` is empty for ``import m``; a relative import is resolved against ``cnnbook.homework``.
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, set()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            package = ".".join(["cnnbook", "homework"][: 3 - node.level]) if node.level else ""
            module = ".".join(part for part in (package, node.module) if part)
            found.append((module, {alias.name for alias in node.names}))
    return found


def test_the_kernel_side_imports_only_the_standard_library_and_numpy():
    for module, _ in _imports(HOMEWORK / f"{KERNEL_SIDE}.py"):
        top = module.split(".")[0]
        assert top in sys.stdlib_module_names or top == "numpy", f"{KERNEL_SIDE}.py imports {module}"


def test_the_grader_side_takes_only_the_codec_from_the_kernel_side():
    """What runs the student's code (answer, run_request, LocalTransport) is never imported by the grader's
    modules: they name ``answer`` only in the text of a request, which the kernel evaluates."""
    codec = {"encode", "decode", "Unsupported"}
    for path in sorted(HOMEWORK.glob("*.py")):
        allowed = codec | ({"LocalTransport"} if path.stem in BOTH_SIDES else set())  # check runs in the notebook
        for module, names in _imports(path):
            # ``import cnnbook.homework.in_kernel`` (no names) would let it call anything there
            assert module != f"cnnbook.homework.{KERNEL_SIDE}" or names and names <= allowed, (path.name, names)
            assert not (module == "cnnbook.homework" and KERNEL_SIDE in names), path.name
    assert importlib.import_module(wire.KERNEL_SIDE) is in_kernel and wire.KERNEL_SIDE in request_expression("x")


def test_a_notebook_loads_nothing_of_the_graders():
    """What a notebook imports (and the kernel imports to answer a request) brings no grader-side module along."""
    code = f"import sys, cnnbook.homework, cnnbook.homework.{KERNEL_SIDE}; print(*sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert not {f"cnnbook.homework.{m}" for m in GRADER_SIDE} & set(loaded.stdout.split())


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        "text",
        {"status": "error", "ename": "NameError", "evalue": "x"},
        {"status": "ok"},
        {"status": "ok", "data": {"text/plain": 42}},
        _shown("not json"),
        _shown('{"value": 1, "error": "x"}'),
        _shown('{"error": {"not": "text"}}'),
        _shown('{"passed": true}'),
        _shown("[1, 2]"),
        {"status": "ok", "data": {"text/plain": "__import__('os').system('true')"}},
        _shown("[" * 100_000 + "]" * 100_000),
    ],
)
def test_a_reply_that_is_not_an_answer_becomes_an_error(garbage):
    reply = parse_reply(garbage)
    assert set(reply) == {"error"} and isinstance(reply["error"], str)


def test_clean_makes_one_short_printable_line():
    text = clean("\x1b[31mred\x1b[0m\nsecond\tline\x00" + "x" * 1000)
    assert text.startswith("red second line") and "\n" not in text and "\x1b" not in text and len(text) == 300


def test_load_tests_uses_its_own_registry_and_keeps_hidden_flags():
    notebook_registry = checks.REGISTRY
    before = {q: dict(t) for q, t in checks.REGISTRY.tests.items()}
    loaded = load_tests(FROZEN / "solutions" / CHAPTER1)  # its import cell imports test afresh: still registers there
    assert checks.REGISTRY is notebook_registry and {q: dict(t) for q, t in checks.REGISTRY.tests.items()} == before
    assert loaded.source == FROZEN / "solutions" / CHAPTER1 and {q.name: q.points for q in loaded.questions} == FULL
    assert [(t.name, t.hidden) for t in loaded.questions[0].tests] == [
        ("no_padding", False),
        ("same_padding", False),
        ("strided_cases", True),
    ]
    visible = load_tests(FROZEN / "solutions" / CHAPTER1, visible_only=True)
    assert [len(q.tests) for q in visible.questions] == [2, 2, 1, 1, 1]


def test_a_broken_source_is_the_graders_error(tmp_path):
    nb = nbformat.read(FROZEN / "solutions" / CHAPTER1, as_version=4)
    cell = next(c for c in nb.cells if c.source.startswith("# HIDDEN TESTS"))
    cell.source += "\n1 / 0"
    nbformat.write(nb, tmp_path / "broken.ipynb")
    with pytest.raises(GraderError, match="ZeroDivisionError"):
        load_tests(tmp_path / "broken.ipynb")


def test_read_submission(tmp_path):
    cells = read_submission(FROZEN / "exercises" / CHAPTER1)
    assert cells[0] == (2, "import numpy as np\n\nfrom cnnbook.homework import assert_close, check, test")
    link = tmp_path / "link.ipynb"
    link.symlink_to(FROZEN / "solutions" / CHAPTER1)
    for path, reason in [
        (link, "symbolic link"),
        (tmp_path / "missing.ipynb", "cannot read"),
        (SUBMISSIONS / "malformed-json.ipynb", "not valid notebook JSON"),
        (SUBMISSIONS / "not-a-notebook.ipynb", "not a Jupyter notebook"),
    ]:
        with pytest.raises(SubmissionError, match=reason):
            read_submission(path)


def _report() -> Report:
    tests = [TestResult("a", False, True, 1.5, 1.5), TestResult("b", True, False, 0.0, 1.5, 'got 1 | "2" <x>')]
    return Report("sub.ipynb", "src.ipynb", [QuestionResult("q1", 1.5, 3.0, tests)], 1.25, warnings=["careful"])


def test_report_formats():
    data = to_dict(_report())
    assert (data["score"], data["max_score"], data["seconds"]) == (1.5, 3.0, 1.25)
    assert data["questions"][0]["message"] == '1 of 2 tests failed; b: got 1 | "2" <x>'
    suite = ET.fromstring(to_junit([_report()])).find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    assert suite.find("testcase[@name='b']/failure").get("message") == 'got 1 | "2" <x>'
    assert 'got 1 \\| "2" &lt;x&gt;' in to_markdown([_report()])


def test_a_report_replaces_a_planted_link_and_stays_private(tmp_path, monkeypatch):
    """The kernel's user may plant a link where a report goes: it is replaced, never written through."""
    monkeypatch.setenv("SUDO_UID", "61000")
    monkeypatch.setenv("SUDO_GID", "61001")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "report.json").symlink_to(victim)
    write_report(tmp_path / "report.json", "{}")
    written = (tmp_path / "report.json").lstat()
    assert victim.read_text() == "keep me" and (tmp_path / "report.json").read_text() == "{}"
    assert stat.S_ISREG(written.st_mode) and written.st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "victim.txt"]
    if os.geteuid() == 0:  # under sudo, root hands the report to the user who ran sudo
        assert (written.st_uid, written.st_gid) == (61000, 61001)


def test_report_names_in_a_folder_do_not_collide(tmp_path):
    for folder in ("solutions", "exercises"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / CHAPTER1).write_text("{}")
    (tmp_path / "solutions" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "solutions" / ".ipynb_checkpoints" / CHAPTER1).write_text("{}")
    names = [str(n) for _, n in find_submissions([tmp_path / "solutions", tmp_path / "exercises" / CHAPTER1])]
    assert names == [CHAPTER1, f"exercises/{CHAPTER1}"]


def test_the_cnnbook_command_is_the_graders():
    tomllib = pytest.importorskip("tomllib")
    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["cnnbook"]
    module, _, function = target.partition(":")
    assert getattr(importlib.import_module(module), function) is cli_main


def test_cli_exercises_and_errors(tmp_path, capsys):
    assert cli_main(["exercises", "--check"]) == 0
    (tmp_path / "99-nothing.ipynb").write_text("{}")
    assert cli_main(["grade", str(tmp_path / "99-nothing.ipynb")]) == 2
    assert "no source notebook 99-nothing.ipynb" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["grade"])


def test_no_kernel_is_the_graders_failure(monkeypatch, capsys):
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    failed = r"kernel (did not start|could not be launched)"  # setpriv starts, then fails to run it
    with pytest.raises(GraderError, match=failed):
        grade(SUBMISSIONS / "solved.ipynb", FROZEN / "solutions" / CHAPTER1)
    assert cli_main(["grade", str(SUBMISSIONS / "solved.ipynb"), "--source", str(FROZEN / "solutions" / CHAPTER1)]) == 2
    assert re.search(failed, capsys.readouterr().err)


def test_the_reaper_ends_a_daemon_that_left_its_session(tmp_path):
    """Without root the kernel is ours: a double-forked, setsid daemon must still be found and killed."""
    reaper = Reaper(Account(os.getuid(), os.getgid(), isolated=False))
    daemon = (
        "import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        open(sys.argv[1], 'w').write(str(os.getpid()))\n        time.sleep(60)\n"
        "    os._exit(0)\nos.wait()"
    )
    subprocess.run([sys.executable, "-c", daemon, str(tmp_path / "pid")], timeout=30, check=True)
    for _ in range(100):  # the grandchild writes its pid a moment after its parents are gone
        if (tmp_path / "pid").exists() and (tmp_path / "pid").read_text():
            break
        time.sleep(0.05)
    pid = int((tmp_path / "pid").read_text())
    assert pid in reaper.targets()
    assert reaper.end_all()
    assert pid not in {p.pid for p in processes() if p.state not in "ZX"}


# ---- with a kernel ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_solution_scores_full_marks(path):
    report = grade(path, path)
    assert report.score == report.max_score > 0, to_dict(report)["questions"]
    assert not report.run.errors and report.run.restarts == 0
    assert report.seconds - report.run.seconds < 30  # the grader's own overhead, whatever the notebook's run time


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_exercise_scores_zero(path):
    exercise = ROOT / "exercises" / path.name
    if not exercise.exists():
        pytest.skip("not generated yet (test_homework checks that exercises/ is in sync)")
    report = grade(exercise, path)
    assert report.score == 0 and report.max_score > 0 and not report.error
    assert all(not t.passed and t.message for q in report.questions for t in q.tests)


def test_time_limits_and_what_the_kernel_can_reach(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "secret-token")
    private = tmp_path / "private.txt"  # tmp_path is in a 0700 folder of ours
    private.write_text("the hidden tests")
    cells = [
        (0, "import os, time"),
        (1, "token = os.environ.get('GITHUB_TOKEN')"),
        (2, f"try:\n    leak = open({str(private)!r}).read()\nexcept OSError as e:\n    leak = type(e).__name__"),
        (3, "time.sleep(1)"),
        (4, "time.sleep(5)"),
        (5, "late = 1"),
    ]
    with NotebookSession(cells, choose_account(), Limits(cell=3, total=2.5, grace=2)) as session:
        session.run()
        student = Student(KernelTransport(session))
        assert student.token is None
        reached = "FileNotFoundError" if CONFINED else "PermissionError" if ISOLATED else "the hidden tests"
        assert student.leak == reached
        assert session.log.timed_out == [4] and session.log.not_run == [5]
        with pytest.raises(Exception, match="'late' is not defined"):
            _ = student.late  # reading the name is what raises


def test_the_grader_never_runs_kernel_side_code_itself(monkeypatch):
    """The student's code runs only in the kernel: with the functions that run it broken here, grading still works."""

    def forbidden(*args, **kwargs):
        raise AssertionError("kernel-side code ran in the grader's process")

    for name in ("answer", "run_request"):
        monkeypatch.setattr(in_kernel, name, forbidden)
    monkeypatch.setattr(in_kernel.LocalTransport, "__init__", forbidden)
    report = grade(SUBMISSIONS / "solved.ipynb", FROZEN / "solutions" / CHAPTER1, isolate=False)
    assert report.score == report.max_score == 10


def test_without_isolation_the_report_says_so():
    report = grade(SUBMISSIONS / "solved.ipynb", FROZEN / "solutions" / CHAPTER1, isolate=False)
    assert report.score == 10 and not report.isolated
    assert any(w.startswith("not isolated") for w in report.warnings)


def test_visible_only_grades_with_the_visible_tests():
    report = grade(SUBMISSIONS / "partial.ipynb", FROZEN / "solutions" / CHAPTER1, visible_only=True)
    assert not any(t.hidden for q in report.questions for t in q.tests)
    # q2: the shape test passes, the value test fails; q5's visible case has no leftover rows
    assert {q.name: q.score for q in report.questions} == {"q1": 2, "q2": 1.5, "q3": 1, "q4": 0, "q5": 2}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Grade every notebook of tests/submissions in one ``cnnbook grade`` run; yield the reports' folder."""
    private = tmp_path_factory.mktemp("private")  # pytest's base folder is 0700: the kernel's user cannot enter
    (private / "solutions").mkdir()
    shutil.copy(FROZEN / "solutions" / CHAPTER1, private / "solutions")
    shutil.copytree(
        SUBMISSIONS, private / "submissions", ignore=shutil.ignore_patterns("*.py", "__pycache__", "homework")
    )
    out = Path(tempfile.mkdtemp(prefix="cnnbook-reports-"))
    out.chmod(0o777)  # writable by the kernel's user, so the fake-report attack has a real target
    command = [
        sys.executable,
        "-m",
        "cnnbook",
        "grade",
        str(private / "submissions"),
        "--source",
        str(private / "solutions" / CHAPTER1),
        "--json",
        str(out),
        "--junit",
        str(out),
        "--cell-timeout",
        "5",
        "--grace",
        "2",
        "--timeout",
        "60",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    time.sleep(0.5)  # anything still alive would have rewritten a report by now
    yield result, out
    shutil.rmtree(out)


def test_the_grader_ran_and_graded_everything(hostile):
    result, out = hostile
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"graded {len(EXPECTED)} of {len(EXPECTED)} notebooks" in result.stdout
    assert sorted(p.stem for p in out.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_submission_scores_what_its_code_earns(hostile, name):
    _, out = hostile
    report = json.loads((out / f"{name}.json").read_text())
    scores = {q["name"]: q["score"] for q in report["questions"]}
    assert scores == pytest.approx(EXPECTED[name]), [q["message"] for q in report["questions"]]
    assert report["score"] == pytest.approx(sum(EXPECTED[name].values())) and report["max_score"] == 10
    assert report["seconds"] - report["kernel"]["run_seconds"] < 30
    assert all("\n" not in t["message"] and len(t["message"]) <= 300 for q in report["questions"] for t in q["tests"])
    suite = ET.parse(out / f"{name}.xml").getroot().find("testsuite")
    failed = sum(not t["passed"] for q in report["questions"] for t in q["tests"])
    assert int(suite.get("failures")) == failed and int(suite.get("tests")) == 13 + bool(report["error"])


def _read(out: Path, name: str) -> dict:
    return json.loads((out / f"{name}.json").read_text())


def test_what_the_reports_say_went_wrong(hostile):
    _, out = hostile
    for name in ("malformed-json", "not-a-notebook"):
        assert _read(out, name)["error"]
    errors = _read(out, "cell-raises")["cells"]["errors"]
    assert [e["message"].split(":")[0] for e in errors] == ["ValueError", "ZeroDivisionError"]
    assert _read(out, "infinite-loop")["cells"]["timed_out"][0]["code"] == "while True:"
    assert _read(out, "ignores-interrupt")["kernel"]["restarts"] >= 1
    for name in ("exit-call", "os-exit"):
        assert len(_read(out, name)["cells"]["killed_kernel"]) == 1, name
    q4 = _read(out, "os-exit-in-function")["questions"][3]
    assert all("kernel died" in t["message"] for t in q4["tests"])
    assert all("time limit" in t["message"] for t in _read(out, "slow-function")["questions"][3]["tests"])
    assert "not defined" in _read(out, "missing-function")["questions"][1]["message"]
    assert (out / "huge-output.json").stat().st_size < 50_000


def test_a_background_process_cannot_rewrite_the_reports(hostile):
    _, out = hostile
    assert CONFINED or (out / "attacker-was-here").exists()  # the attack really ran (confined, it finds no reports)
    assert _read(out, "fake-report")["questions"]  # the genuine report, not the fake one
    owners = {int(u) for u in re.findall(r"uid (\d+)", " ".join(_read(out, n)["kernel"]["user"] for n in EXPECTED))}
    assert not {p.pid for p in processes() if p.uid in owners - {os.getuid()} and p.state not in "ZX"}


def test_the_solution_on_disk_is_out_of_reach(hostile):
    _, out = hostile
    report = _read(out, "reads-solution")
    assert report["kernel"]["isolated"] is ISOLATED
    if not ISOLATED:
        assert report["warnings"][0].startswith("not isolated")


def test_the_hostile_notebooks_are_up_to_date():
    spec = importlib.util.spec_from_file_location("build_submissions", SUBMISSIONS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    assert sorted(built) == sorted(EXPECTED) == sorted(p.stem for p in SUBMISSIONS.glob("*.ipynb"))
    for name, nb in built.items():
        text = nb if isinstance(nb, str) else nbformat.writes(nb) + "\n"
        assert (SUBMISSIONS / f"{name}.ipynb").read_text() == text, f"run: python {SUBMISSIONS / 'build.py'}"
