"""The grader's integrations, offline: GitHub Classroom, Gradescope, the CSV gradebook, the workflows, the release.

Each platform's format is checked against what it documents or what its own code reads (quoted from
the source next to each check), and chapter 1's solution notebook must score full marks and its
untouched exercise zero through every path, with totals that agree to the last digit.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

import cnnbook
from cnnbook.homework import classroom
from cnnbook.homework.cli import find_submissions, student_names
from cnnbook.homework.cli import main as cli_main
from cnnbook.homework.grade import QuestionResult, Report, TestResult, exact_sum, load_tests, split_points
from cnnbook.homework.notebook import questions, read
from cnnbook.homework.report import number, spreadsheet_safe, to_csv

ROOT = Path(__file__).resolve().parents[1]
# Chapters 1 and 7 of release 0.3.0, frozen: the grader suite grades against them, so the book's exercises can
# change without rewriting the hostile submissions (the current chapters are graded in test_grade.py too).
FROZEN = ROOT / "tests" / "submissions" / "homework"
CHAPTER1 = "01-convolution-and-edges.ipynb"
# what the reports total: the automatic points (a written answer's are pending, never scored)
AUTOMATIC = int(sum(q.points for q in questions(read(FROZEN / "solutions" / CHAPTER1)) if not q.manual))
SOLUTION = FROZEN / "solutions" / CHAPTER1
EXERCISE = FROZEN / "exercises" / CHAPTER1
WORKFLOWS = ROOT / ".github" / "workflows"
HOW_TO_USE = ROOT / "book" / "how-to-use.md"
CNNBOOK = [sys.executable, "-m", "cnnbook"]

# ---- scores that add up ----------------------------------------------------------------------------------


@pytest.mark.parametrize("points", [1, 2, 3, 10, 0.5, 1.5, 2.25, 0.125, 7])
@pytest.mark.parametrize("count", range(1, 9))
def test_points_split_in_hundredths_add_up_exactly(points, count):
    shares = split_points(points, count)
    assert len(shares) == count and exact_sum(shares) == points
    assert max(shares) - min(shares) <= 0.01 + 1e-12 and shares == sorted(shares, reverse=True)
    for share in shares:  # a decimal of at most two places (three for 0.125): never 0.666667
        assert len(Decimal(repr(share)).as_tuple().digits) <= 4


def test_the_three_way_split_of_two_points():
    assert split_points(2, 3) == [0.67, 0.67, 0.66]
    assert 0.67 + 0.67 + 0.66 == 2.0  # also as JavaScript's left-to-right double sum (the Classroom reporter's)


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_every_chapters_shares_add_up_even_as_floats(path):
    """The reporter and Gradescope add test scores as doubles, left to right: for the book's chapters that sum
    is the total too (the grader's own totals are exact decimal sums whatever the points)."""
    for visible_only in (False, True):
        scored = [q for q in load_tests(path, visible_only).questions if not q.manual]  # written: pending
        total = 0.0
        for question in scored:
            for share in split_points(question.points, len(question.tests)):
                total += share
        assert total == exact_sum(q.points for q in scored)


# ---- grading chapter 1 through every path -----------------------------------------------------------------


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CNNBOOK, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Chapter 1's solution and its exercise, each graded alone with every report, then both as one folder."""
    base = tmp_path_factory.mktemp("integrations")  # pytest's base folder is 0700: kernels cannot look in
    (base / "solutions").mkdir()
    shutil.copy(SOLUTION, base / "solutions")
    runs = {}
    for who, notebook in (("solved", SOLUTION), ("untouched", EXERCISE)):
        folder = base / who
        folder.mkdir()
        shutil.copy(notebook, folder / CHAPTER1)
        (folder / "outputs.txt").write_text("earlier=kept\n")  # $GITHUB_OUTPUT may hold other steps' lines
        result = _run(
            [
                "grade",
                str(folder / CHAPTER1),
                "--source",
                "solutions",
                "--student",
                who,
                "--json",
                f"{who}/report.json",
                "--junit",
                f"{who}/report.xml",
                "--csv",
                f"{who}/scores.csv",
                "--gradescope",
                f"{who}/results.json",
                "--classroom",
                f"{who}/outputs.txt",
                "--fail-below-max",
            ],
            base,
        )
        runs[who] = (result, folder)
    return runs


FULL, ZERO = "solved", "untouched"


def test_exit_status_with_fail_below_max(graded):
    assert graded[FULL][0].returncode == 0, graded[FULL][0].stderr[-2000:]
    assert graded[ZERO][0].returncode == 1, graded[ZERO][0].stderr[-2000:]


def _all_totals(folder: Path) -> dict[str, tuple[str, str]]:
    """(earned, possible) as each report prints them."""
    data = json.loads((folder / "report.json").read_text())
    results = json.loads((folder / "results.json").read_text())
    [row] = list(csv.DictReader(io.StringIO((folder / "scores.csv").read_text())))
    junit = {p.get("name"): p.get("value") for p in _junit_properties(folder / "report.xml")}
    outputs = _decode_outputs(folder / "outputs.txt")
    reporter = _notify_classroom(list(outputs["runners"].values()))
    return {
        "json": (repr(data["score"]), repr(data["max_score"])),
        "csv": (row["score"], row["max_score"]),
        "junit": (junit["score"], junit["max_score"]),
        "gradescope": (repr(results["score"]), repr(results["extra_data"]["max_score"])),
        "gradescope tests": (
            repr(exact_sum(t["score"] for t in results["tests"])),
            repr(exact_sum(t["max_score"] for t in results["tests"])),
        ),
        "classroom reporter": (_js(reporter[0]), _js(reporter[1])),
    }


def _junit_properties(path: Path):
    import xml.etree.ElementTree as ET

    return ET.parse(path).getroot().find("testsuite").find("properties")


@pytest.mark.parametrize("who, earned", [(FULL, AUTOMATIC), (ZERO, 0)])
def test_full_marks_and_zero_through_every_path_to_the_last_digit(graded, who, earned):
    folder = graded[who][1]
    totals = _all_totals(folder)
    for path, (score, possible) in totals.items():
        assert float(score) == earned and float(possible) == AUTOMATIC, (path, totals)
    # the same digits wherever a format prints numbers as text (10 or 10.0, never 9.999999 or 10.000001)
    assert {number(float(s)) for s, _ in totals.values()} == {str(earned)}
    notices = [line for line in graded[who][0].stdout.splitlines() if line.startswith("::")]
    assert notices == [
        f"::notice title=Autograding complete::Points {earned}/{AUTOMATIC}",
        f'::notice title=Autograding report::{{"totalPoints":{earned},"maxPoints":{AUTOMATIC}}}',
    ]


# ---- GitHub Classroom --------------------------------------------------------------------------------------

# The grading reporter (classroom-resources/autograding-grading-reporter, v1 = d13b591), src/main.js:10-12:
#     const encodedResults = process.env[`${runner.trim().toUpperCase()}_RESULTS`];
#     const json = Buffer.from(encodedResults, "base64").toString("utf-8");
#     return { runner, results: JSON.parse(json) };
# and its check of the runners input (main.js, catch block): /^([a-zA-Z0-9]+,)*[a-zA-Z0-9]+$/
RUNNERS_INPUT = re.compile(r"^([a-zA-Z0-9]+,)*[a-zA-Z0-9]+$")

# A runner's result as the command grader writes it (autograding-command-grader v1, src/main.js:16-31):
#     return { version: 1, status, max_score: maxScore,
#       tests: [ { name: testName, status, score: status === 'pass' ? maxScore : 0, message,
#                  test_code: command, filename: '', line_no: 0, duration, }, ...
RESULT_FIELDS = {"version": int, "status": str, "max_score": (int, float), "tests": list}
TEST_FIELDS = {
    "name": str,
    "status": str,
    "score": (int, float),
    "message": str,
    "test_code": str,
    "filename": str,
    "line_no": int,
    "duration": (int, float),
}


def _decode_outputs(path: Path) -> dict:
    """The ``name=value`` lines of a $GITHUB_OUTPUT file; every ``<ID>_RESULTS`` decoded as the reporter does."""
    lines = dict(line.split("=", 1) for line in path.read_text().splitlines())
    runners = lines["runners"].split(",")
    decoded = {r: json.loads(base64.b64decode(lines[f"{r.strip().upper()}_RESULTS"]).decode("utf-8")) for r in runners}
    return {"lines": lines, "runners": decoded}


def _notify_classroom(results: list[dict]) -> tuple[float, float]:
    """The reporter's src/notify-classroom.js:6-17, the total Classroom records:
    if (!results.max_score) return acc; acc.maxPoints += results.max_score;
    results.tests.forEach(({ score }) => { acc.totalPoints += score; });"""
    total, possible = 0, 0
    for result in results:
        if not result["max_score"]:
            continue
        possible += result["max_score"]
        for test in result["tests"]:
            total += test["score"]
    return total, possible


def _get_test_score(result: dict) -> float:
    """src/helpers/test-helpers.js:11-18, the console table's points for a runner:
    score = number of tests with status "pass"; return (score / tests.length) * max_score."""
    passed = sum(t["status"] == "pass" for t in result["tests"])
    return passed / len(result["tests"]) * (result["max_score"] or 0)


def _js(value: float) -> str:
    """How `${value}` prints a JavaScript number in the normal range: an integer without ``.0``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@pytest.mark.parametrize("who", [FULL, ZERO])
def test_classroom_results_are_the_reporters_format(graded, who):
    result, folder = graded[who]
    outputs = _decode_outputs(folder / "outputs.txt")
    assert outputs["lines"]["earlier"] == "kept"  # appended, not replaced
    runners = outputs["runners"]
    assert list(runners) == ["q1", "q2", "q3", "q4", "q5"] and RUNNERS_INPUT.match(",".join(runners))
    for name, runner in runners.items():
        assert list(runner) == list(RESULT_FIELDS), name  # the command grader's field order
        for key, kind in RESULT_FIELDS.items():
            assert isinstance(runner[key], kind) and not isinstance(runner[key], bool), (name, key)
        assert runner["version"] == 1 and runner["status"] == ("pass" if who == FULL else "fail")
        for test in runner["tests"]:
            assert list(test) == list(TEST_FIELDS)
            for key, kind in TEST_FIELDS.items():
                assert isinstance(test[key], kind) and not isinstance(test[key], bool), (name, key)
            assert test["status"] in ("pass", "fail") and (test["score"] > 0) == (test["status"] == "pass")
            assert (test["message"] == "") == (test["status"] == "pass")
        # the console table agrees with the recorded points: the shares differ by at most a hundredth
        assert abs(_get_test_score(runner) - exact_sum(t["score"] for t in runner["tests"])) < 0.01 * len(
            runner["tests"]
        )
        encoded = outputs["lines"][f"{name.upper()}_RESULTS"]
        assert classroom.encode(runner) == encoded  # a base64 round trip gives the same bytes
    total, possible = _notify_classroom(list(runners.values()))
    notices = [line for line in result.stdout.splitlines() if line.startswith("::")]
    # notify-classroom.js:21-31: text = `Points ${totalPoints}/${maxPoints}`; summary = JSON.stringify(...);
    # core.notice(text, {title: "Autograding complete"}); core.notice(summary, {title: "Autograding report"})
    summary = json.dumps({"totalPoints": total, "maxPoints": possible}, separators=(",", ":"))
    summary = re.sub(r"(\d)\.0\b", r"\1", summary)  # JSON.stringify writes 10, not 10.0
    assert notices == [
        f"::notice title=Autograding complete::Points {_js(total)}/{_js(possible)}",
        f"::notice title=Autograding report::{summary}",
    ]


def test_classroom_runner_ids_for_several_notebooks():
    def report(source: str, names: list[str]) -> Report:
        return Report("s.ipynb", source, [QuestionResult(n, 0.0, 1.0, []) for n in names], 0.0)

    reports = [report("01-conv.ipynb", ["q1", "q2"]), report("02-sharing.ipynb", ["q1"]), report("notes.ipynb", ["q1"])]
    ids = classroom.runner_ids(reports)
    assert ids == [["ch01q1", "ch01q2"], ["ch02q1"], ["notesq1"]]
    assert classroom.runner_ids(reports[:1]) == [["q1", "q2"]]
    assert all(RUNNERS_INPUT.match(i) for group in ids for i in group)


def test_classroom_notices_escape_as_actions_core_does():
    # @actions/core command.js: escapeData: % -> %25, \r -> %0D, \n -> %0A; escapeProperty adds : -> %3A, , -> %2C
    assert classroom.notice("a%b\nc", "t: x, y") == "::notice title=t%3A x%2C y::a%25b%0Ac"


def test_a_submission_that_is_no_notebook_is_an_error_runner():
    tests = [TestResult("t", False, False, 0.0, 1.0, "x.ipynb: not valid notebook JSON")]
    bad = Report("x.ipynb", "s.ipynb", [QuestionResult("q1", 0.0, 1.0, tests)], 0.0, error="x.ipynb: not valid")
    assert classroom.runners([bad])["q1"]["status"] == "error"


# ---- Gradescope --------------------------------------------------------------------------------------------

# gradescope/autograder_samples docs/specs.md ("Output format", lines 40-66) and "Controlling test case
# visibility" (92-95): the keys Gradescope reads, and the visibility values.
GRADESCOPE_TOP = {
    "score",
    "execution_time",
    "output",
    "output_format",
    "test_output_format",
    "test_name_format",
    "visibility",
    "stdout_visibility",
    "extra_data",
    "tests",
    "leaderboard",
}
GRADESCOPE_TEST = {
    "score",
    "max_score",
    "status",
    "name",
    "name_format",
    "number",
    "output",
    "output_format",
    "tags",
    "visibility",
    "extra_data",
}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def check_gradescope(results: dict, score: float) -> None:
    """A results.json as specs.md describes it, whose tests add up to its score exactly."""
    assert set(results) <= GRADESCOPE_TOP and isinstance(results["tests"], list)
    assert isinstance(results["score"], float) and results["score"] == score
    assert isinstance(results["execution_time"], int) and results["output_format"] in FORMATS
    assert results["visibility"] in VISIBILITY and results["stdout_visibility"] in VISIBILITY
    numbers = [t["number"] for t in results["tests"]]
    assert len(set(numbers)) == len(numbers)
    for test in results["tests"]:
        if "score" not in test:  # a written answer: pending, graded in Gradescope itself (no score, no max)
            assert set(test) <= GRADESCOPE_TEST and "max_score" not in test and "pending" in test["output"]
            continue
        assert set(test) <= GRADESCOPE_TEST and {"name", "score", "max_score", "output", "visibility"} <= set(test)
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert test["status"] in ("passed", "failed")
        if test["max_score"]:  # the "notebook" case of an unreadable notebook is worth nothing, and failed
            assert (test["status"] == "passed") == (test["score"] == test["max_score"])
        assert test["visibility"] in VISIBILITY and isinstance(test["output"], str) and test["output"]
        assert len(Decimal(repr(test["score"])).as_tuple().digits) <= 3  # 0.67, never 0.666667
    assert exact_sum(t["score"] for t in results["tests"] if "score" in t) == results["score"]


@pytest.mark.parametrize("who, score", [(FULL, 10.0), (ZERO, 0.0)])
def test_gradescope_results_are_gradescopes_format(graded, who, score):
    results = json.loads((graded[who][1] / "results.json").read_text())
    check_gradescope(results, score)
    by_name = {t["name"]: t for t in results["tests"]}
    assert [by_name[f"q1: {n}"]["max_score"] for n in ("no_padding", "same_padding", "strided_cases")] == [
        0.67,
        0.67,
        0.66,
    ]
    hidden = {t.name for q in load_tests(SOLUTION).questions for t in q.tests if t.hidden}
    for test in results["tests"]:
        expected = "after_published" if test["name"].split(": ", 1)[1] in hidden else "visible"
        assert test["visibility"] == expected, test["name"]
    assert results["extra_data"]["student"] == who and results["extra_data"]["assignment"] == CHAPTER1[:-6]
    _check_says_nothing_of_the_sandbox(results)


# What the report's warnings (cnnbook.homework.sandbox.reach_warnings, the readable-source warning) are made of.
SANDBOX_WORDS = re.compile(r"warning|confined|isolated|bubblewrap|bwrap|namespace|readable by the kernel", re.I)


def _check_says_nothing_of_the_sandbox(results: dict) -> None:
    """Nothing in results.json tells students how their kernel was (or was not) sandboxed: that is for the
    instructor, in run_autograder's stdout."""
    assert not SANDBOX_WORDS.search(json.dumps(results)), json.dumps(results)[:2000]


def test_gradescope_output_leaves_the_warnings_to_the_instructor():
    from cnnbook.homework.gradescope import to_results

    tests = [TestResult("t", False, True, 1.0, 1.0)]
    warnings = [
        "not confined: bubblewrap (bwrap) is not installed, so the kernel shared the grader's network",
        "the source notebook s.ipynb is readable by the kernel's user: its hidden tests and solutions are not secret",
    ]
    report = Report("x.ipynb", "s.ipynb", [QuestionResult("q1", 1.0, 1.0, tests)], 1.0, warnings=list(warnings))
    results = to_results(report)
    _check_says_nothing_of_the_sandbox(results)
    assert "q1" in results["output"] and results["stdout_visibility"] == "hidden"
    assert report.warnings == warnings  # the report itself keeps them: the instructor's reports show them


def _zip_and_unpack(tmp_path: Path) -> tuple[Path, list[zipfile.ZipInfo]]:
    out = tmp_path / "autograder.zip"
    assert cli_main(["gradescope-zip", str(SOLUTION), "--out", str(out), "--no-wheels", "--cell-timeout", "60"]) == 0
    source = tmp_path / "autograder" / "source"
    with zipfile.ZipFile(out) as archive:
        infos = archive.infolist()
        for info in infos:  # as unzip does on Gradescope: with the permissions stored in the zip
            target = source / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod(info.external_attr >> 16 & 0o777)
    return source.parent, infos


def _bubblewrap_step(setup: str) -> str:
    """setup.sh's ``install_bubblewrap`` function, as the generated script defines it."""
    match = re.search(r"^install_bubblewrap\(\) \{\n.*?^\}\n", setup, re.M | re.S)
    assert match, "setup.sh defines install_bubblewrap"
    return match.group(0)


def test_gradescope_zip_layout(tmp_path):
    _, infos = _zip_and_unpack(tmp_path)
    modes = {i.filename: i.external_attr >> 16 for i in infos}
    assert sorted(modes) == ["run_autograder", "setup.sh", f"solution/{CHAPTER1}"]  # at the root, not in a folder
    for script in ("setup.sh", "run_autograder"):
        assert stat.S_ISREG(modes[script]) and modes[script] & 0o777 == 0o755
    root = tmp_path / "autograder" / "source"
    setup, run = (root / "setup.sh").read_text(), (root / "run_autograder").read_text()
    assert setup.startswith("#!/usr/bin/env bash") and run.startswith("#!/usr/bin/env bash")
    # Grading never needs a package index. The one exception, deliberate: setup.sh's best-effort apt-get of
    # bubblewrap (a system package, not a wheel) while the image is built, and nothing else from apt.
    step = _bubblewrap_step(setup)
    for script in (setup.replace(step, ""), run):
        assert not re.search(r"\b(curl|wget|git|apt-get|apt|dpkg|add-apt-repository)\b", script)
    code = "\n".join(line for line in step.splitlines() if not line.lstrip().startswith("#"))
    # install; if that fails (no package lists), update and install again; no sources added
    assert re.findall(r"\bapt-get\s+(?:-\S+\s+)*([a-z-]+)", code) == ["install", "update", "install"]
    for arguments in re.findall(r"\bapt-get install ([^)>|;&]*)", code):
        assert [a for a in arguments.split() if re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", a)] == ["bubblewrap"]
    assert not re.search(r"\b(curl|wget|git|pip|dpkg|sources\.list)\b", code)
    pip_installs = [line for line in setup.splitlines() if re.search(r"\bpip\b.*\binstall\b", line)]
    assert pip_installs and all("--no-index --find-links" in line for line in pip_installs)
    assert not re.search(r"index-url|\bhttps?://", setup + run)
    assert not re.search(r"\bpip\b", run) and "--cell-timeout 60" in run
    assert (root / "solution" / CHAPTER1).read_bytes() == SOLUTION.read_bytes()  # with its hidden tests
    for name in ("setup.sh", "run_autograder"):
        subprocess.run(["bash", "-n", str(root / name)], check=True)


def _run_bubblewrap_step(tmp_path: Path, commands: dict[str, str]) -> tuple[subprocess.CompletedProcess, Path]:
    """setup.sh's bubblewrap step under setup.sh's own ``set -euo pipefail``, with only ``commands`` on PATH
    (each a /bin/sh script; nothing of the machine's, so no real bwrap or apt-get). Returns the run and the log
    of the fake commands' calls."""
    _zip_and_unpack(tmp_path)
    step = _bubblewrap_step((tmp_path / "autograder" / "source" / "setup.sh").read_text())
    fake, log = tmp_path / "bin", tmp_path / "calls.log"
    fake.mkdir()
    for name, body in commands.items():
        record = f"echo \"{name} DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*\" >> '{log}'"  # pytest's paths: no quotes
        (fake / name).write_text(f"#!/bin/sh\n{record}\n{body}\n")
        (fake / name).chmod(0o755)
    script = f"set -euo pipefail\n{step}install_bubblewrap\necho 'image built'\n"
    bash = shutil.which("bash")
    result = subprocess.run([bash, "-c", script], env={"PATH": str(fake)}, capture_output=True, text=True, timeout=60)
    return result, log


def test_gradescope_setup_builds_the_image_when_apt_get_fails(tmp_path):
    failing = 'echo "E: Unable to locate package bubblewrap" >&2; exit 100'
    result, log = _run_bubblewrap_step(tmp_path, {"apt-get": failing})
    assert result.returncode == 0 and result.stdout == "image built\n", result.stderr
    calls = log.read_text().splitlines()  # install, update (which fails too here), and nothing more
    assert len(calls) == 2 and calls[0].startswith("apt-get DEBIAN_FRONTEND=noninteractive install -y")
    assert calls[0].endswith(" bubblewrap") and " update -qq" in calls[1]
    assert "bubblewrap not installed" in result.stderr and "Unable to locate package" in result.stderr


def test_gradescope_setup_gets_the_package_lists_when_the_image_has_none(tmp_path):
    lists = tmp_path / "lists"  # what apt-get update would fetch
    fake = f'if [ "$1" = update ]; then : > "{lists}"; exit 0; fi; [ -e "{lists}" ] || exit 100'  # PATH: fakes only
    result, log = _run_bubblewrap_step(tmp_path, {"apt-get": fake})
    assert result.returncode == 0 and result.stdout == "image built\n" and not result.stderr
    assert [call.split()[2] for call in log.read_text().splitlines()] == ["install", "update", "install"]


def test_gradescope_setup_leaves_an_installed_bubblewrap_alone(tmp_path):
    result, log = _run_bubblewrap_step(tmp_path, {"bwrap": "exit 0", "apt-get": "exit 0"})
    assert result.returncode == 0 and result.stdout == "image built\n" and not result.stderr
    assert not log.exists()  # neither apt-get nor bwrap was run


@pytest.mark.parametrize("has_apt_get", [True, False], ids=["apt-get works", "no apt-get"])
def test_gradescope_setup_installs_bubblewrap_quietly_if_it_can(tmp_path, has_apt_get):
    commands = {"apt-get": "echo 'Setting up bubblewrap ...'; exit 0"} if has_apt_get else {}
    result, log = _run_bubblewrap_step(tmp_path, commands)
    assert result.returncode == 0 and result.stdout == "image built\n", result.stderr
    if has_apt_get:  # apt's own chatter is kept out of the build log
        assert not result.stderr and "install" in log.read_text()
    else:  # a Fedora or Rocky base image: no apt-get, said in one line
        assert "no apt-get" in result.stderr and not log.exists()


def test_gradescope_zip_refuses_an_incomplete_wheelhouse(tmp_path, capsys):
    (tmp_path / "wheels").mkdir()
    out = tmp_path / "a.zip"
    assert cli_main(["gradescope-zip", "01", "--out", str(out), "--wheels-from", str(tmp_path / "wheels")]) == 2
    assert "must include cnnbook and pip" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("who, score", [(FULL, 10.0), (ZERO, 0.0), ("nothing", 0.0)])
def test_gradescope_run_autograder_writes_results_json(tmp_path, who, score):
    """run_autograder as Gradescope runs it, with /autograder moved to a temporary folder (AUTOGRADER_ROOT)."""
    root, _ = _zip_and_unpack(tmp_path)
    (root / "submission" / "work").mkdir(parents=True)
    (root / "submission" / "work" / ".ipynb_checkpoints").mkdir()
    (root / "submission" / "work" / ".ipynb_checkpoints" / CHAPTER1).write_text("{}")  # a stale copy: ignored
    if who != "nothing":
        shutil.copy(SOLUTION if who == FULL else EXERCISE, root / "submission" / "work" / "my-homework.ipynb")
        metadata = {"users": [{"name": "Ada Lovelace", "email": "ada@example.org", "id": 1}], "id": 7}
        (root / "submission_metadata.json").write_text(json.dumps(metadata))  # as Gradescope writes it
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "CNNBOOK": str(Path(sys.executable).parent / "cnnbook")}
    result = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    check_gradescope(results, score)
    assert (root / "source" / "solution").stat().st_mode & 0o777 == 0o700
    # how the kernel was sandboxed: in stdout, for the instructor (the grader's own words), never in results.json
    assert re.search(r"^sandbox: each student's kernel runs .*\b(confined|NOT confined)\b", result.stdout, re.M)
    _check_says_nothing_of_the_sandbox(results)
    if who == "nothing":
        assert results["tests"][0]["name"] == "notebook" and "cannot read it" in results["tests"][0]["output"]
    else:
        assert results["extra_data"]["student"] == "Ada Lovelace"


def test_gradescope_run_autograder_says_when_the_grader_could_not_run(tmp_path):
    root, _ = _zip_and_unpack(tmp_path)
    (root / "submission").mkdir()
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "CNNBOOK": "/nonexistent/cnnbook"}
    result = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True)
    results = json.loads((root / "results" / "results.json").read_text())
    assert result.returncode == 0 and results["score"] == 0 and "tell your instructor" in results["output"]


# ---- CSV and gradebook -------------------------------------------------------------------------------------


def test_csv_has_student_and_assignment_and_no_formulas():
    def report(submission: str, error: str = "") -> Report:
        tests = [TestResult("t", False, True, 0.67, 0.67), TestResult("u", False, True, 0.67, 0.67)]
        return Report(submission, "solutions/01-conv.ipynb", [QuestionResult("q1", 1.34, 2.0, tests)], 1.5, error)

    text = to_csv(
        [
            (report('=HYPERLINK("http://x","y").ipynb'), "+alice", ""),
            (report("bob.ipynb", "@SUM(A1)"), "-bob", "hw1"),
            (report("carol.ipynb"), "\tcarol", ""),
        ]
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["student", "assignment", "submission", "score", "max_score", "seconds", "error"]
    assert [r[:3] for r in rows[1:]] == [
        ["'+alice", "01-conv", '\'=HYPERLINK("http://x","y").ipynb'],
        ["'-bob", "hw1", "bob.ipynb"],
        ["'\tcarol", "01-conv", "carol.ipynb"],
    ]
    assert rows[2][6] == "'@SUM(A1)" and rows[1][3:5] == ["1.34", "2"]
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)
    assert spreadsheet_safe("alice") == "alice" and spreadsheet_safe(None) == ""


def test_student_names(tmp_path):
    for folder in ("hw1-alice", "hw1-bob", "hw1-=cmd"):
        (tmp_path / "subs" / folder).mkdir(parents=True)
        (tmp_path / "subs" / folder / CHAPTER1).write_text("{}")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "dave.ipynb").write_text("{}")
    found = find_submissions([tmp_path / "subs"])
    assert student_names(found) == ["=cmd", "alice", "bob"]  # made safe when written to the CSV
    assert student_names(find_submissions([tmp_path / "subs" / "hw1-bob"])) == [CHAPTER1[:-6]]
    assert student_names(find_submissions([tmp_path / "flat"])) == ["dave"]
    assert student_names(found, "erin") == ["erin"] * 3


def test_a_folder_gives_each_student_a_line(graded):
    rows = [list(csv.DictReader(io.StringIO((graded[w][1] / "scores.csv").read_text())))[0] for w in (FULL, ZERO)]
    assert [(r["student"], r["assignment"], r["score"]) for r in rows] == [
        (FULL, CHAPTER1[:-6], "10"),
        (ZERO, CHAPTER1[:-6], "0"),
    ]
    data = json.loads((graded[FULL][1] / "report.json").read_text())
    assert (data["student"], data["assignment"]) == (FULL, CHAPTER1[:-6])


# ---- GitHub Actions workflows ------------------------------------------------------------------------------

# The first major of each action whose action.yml says `runs: using: node24` (for upload-pages-artifact, a
# composite action: the first whose nested upload-artifact does). Node 20 leaves GitHub's runners in 2026.
NODE24 = {
    "actions/checkout": 5,
    "actions/setup-python": 6,
    "actions/upload-artifact": 6,
    "actions/download-artifact": 7,
    "actions/deploy-pages": 5,
    "actions/configure-pages": 6,
    "actions/upload-pages-artifact": 5,
}


def _workflows() -> dict[str, dict]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(WORKFLOWS.glob("*.yml"))}


def _uses(workflow: dict) -> list[str]:
    return [step["uses"] for job in workflow["jobs"].values() for step in job.get("steps", []) if "uses" in step]


def test_every_action_runs_on_node_24():
    workflows = _workflows()
    assert set(workflows) == {"book.yml", "homework-instructor.yml", "homework-student.yml", "tests.yml"}
    for name, workflow in workflows.items():
        for uses in _uses(workflow):
            action, _, ref = uses.partition("@")
            assert action in NODE24, f"{name}: {uses} is not in the table of Node 24 majors"
            major = re.fullmatch(r"v(\d+)(\.\d+)*", ref)
            assert major and int(major.group(1)) >= NODE24[action], f"{name}: {uses} runs on Node 20 or older"


def _on(workflow: dict) -> dict:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True


def test_tests_workflow_least_permissions_one_run_per_branch():
    workflow = _workflows()["tests.yml"]
    assert workflow["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values())
    on = _on(workflow)
    assert on["push"] == {"branches": ["main"]} and "pull_request" in on  # a PR branch runs through the PR only
    assert workflow["concurrency"]["cancel-in-progress"] is True
    group = workflow["concurrency"]["group"]
    assert "github.ref" in group and "pull_request.number" in group


def test_pages_deployment_is_never_cancelled():
    workflow = _workflows()["book.yml"]
    assert workflow["concurrency"] == {"group": "pages", "cancel-in-progress": False}  # GitHub's starter workflow
    assert workflow["permissions"] == {"contents": "read"}
    deploy = workflow["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"


def test_templates_are_pinned_to_this_release():
    tag = f"v{cnnbook.__version__}"
    for name in ("homework-student.yml", "homework-instructor.yml"):
        workflow = _workflows()[name]
        job = workflow["jobs"]["grade"]
        env = {**workflow.get("env", {}), **job["env"]}  # the instructor's: one line for the shards and the merge
        assert env["CNNBOOK_RELEASE"] == tag, name
        text = (WORKFLOWS / name).read_text()
        assert '"cnnbook[grade] @ git+https://github.com/cnnbook/cnnbook@$CNNBOOK_RELEASE"' in text
        assert not re.search(r"^\s*-?\s*uses:\s*classroom-resources/", text, re.M)  # Node 20 actions: comments only
        assert workflow["permissions"] == {"contents": "read"}
    student = _workflows()["homework-student.yml"]["jobs"]["grade"]["steps"]
    book = next(s for s in student if s.get("with", {}).get("repository") == "cnnbook/cnnbook")
    assert book["with"]["ref"] == "${{ env.CNNBOOK_RELEASE }}"
    grade = next(s for s in student if s.get("id") == "grade")["run"]
    assert '--classroom "$GITHUB_OUTPUT"' in grade and "--fail-below-max" in grade and "--visible-only" in grade
    configured = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert configured == "https://github.com/cnnbook/cnnbook"


def _actionlint() -> str | None:
    found = shutil.which("actionlint") or Path(sys.executable).parent / "actionlint"
    return str(found) if found and Path(found).exists() else None


@pytest.mark.skipif(_actionlint() is None, reason="actionlint is not installed (the YAML checks above still run)")
def test_actionlint():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    result = subprocess.run([_actionlint(), *files], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# ---- the release -------------------------------------------------------------------------------------------


def test_one_version_everywhere(capsys):
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "cnnbook.__version__"}
    with pytest.raises(SystemExit) as exit_:
        cli_main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"cnnbook {cnnbook.__version__}\n"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    released = [v for v in re.findall(r"^## (\S+)", changelog, re.M) if v != "Unreleased"]
    assert released[0] == cnnbook.__version__  # the newest release first (after what is not released yet)
    assert f"CNNBOOK_RELEASE: v{cnnbook.__version__}" in HOW_TO_USE.read_text()


# ---- the instructor's walkthrough in how-to-use -------------------------------------------------------------


def test_how_to_use_makes_no_otter_claim():
    text = " ".join(HOW_TO_USE.read_text().split())
    assert "uses the markers of" not in text and "otter-grader and nbgrader are not supported directly" in text


def _walkthrough() -> list[tuple[str, str]]:
    """``(section, bash block)`` for every fenced bash block under "## Instructor walkthrough"."""
    text = HOW_TO_USE.read_text().split("## Instructor walkthrough", 1)[1].split("\n## ", 1)[0]
    blocks, section = [], ""
    for part in re.split(r"^(### .*)$", text, flags=re.M):
        if part.startswith("### "):
            section = part[4:].strip()
        blocks += [(section, b) for b in re.findall(r"^```bash\n(.*?)^```", part, re.M | re.S)]
    return blocks


def test_the_instructor_walkthrough_runs_as_written(tmp_path):
    blocks = _walkthrough()
    assert [s for s, _ in blocks] == ["A local folder", "GitHub Classroom", "Gradescope"]
    script = "\n".join(b for _, b in blocks)
    offline = re.sub(r"^(cnnbook gradescope-zip .*)$", r"\1 --no-wheels", script, flags=re.M)
    assert offline.count("--no-wheels") == 1  # the one change: the zip is built without downloading wheels
    work = tmp_path / "book"
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder, work / folder)
    prelude = f'set -euo pipefail\ncnnbook() {{ "{sys.executable}" -m cnnbook "$@"; }}\n'
    result = subprocess.run(["bash", "-c", prelude + offline], cwd=work, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    documented = re.search(r"`scores.csv` then reads.*?```text\n(.*?)```", HOW_TO_USE.read_text(), re.S).group(1)

    def without_seconds(text: str) -> list[str]:
        return [re.sub(r",[0-9.]+,$", ",", line) for line in text.splitlines()]

    assert without_seconds(documented) == without_seconds((work / "scores.csv").read_text())
    assert (work / "scores.csv").read_text() in result.stdout  # what `cat scores.csv` printed
    notices = re.search(r"records as the score:\n\n```text\n(.*?)```", HOW_TO_USE.read_text(), re.S).group(1)
    assert notices in result.stdout
    check_gradescope(json.loads((work / "results.json").read_text()), 0.0)
    with zipfile.ZipFile(work / "autograder-01.zip") as archive:
        assert {"setup.sh", "run_autograder", f"solution/{CHAPTER1}"} <= set(archive.namelist())


def test_classroom_shows_no_hidden_tests_name_or_message():
    from cnnbook.homework.classroom import runner_result
    from cnnbook.homework.grade import QuestionResult, TestResult

    question = QuestionResult(
        "q1",
        1.0,
        2.0,
        [
            TestResult("the_example", False, True, 1.0, 1.0),
            TestResult("stride_three_case", True, False, 0.0, 1.0, "expected [[1, 12, 20]], got [[0]]"),
        ],
    )
    hidden = runner_result(question)["tests"][1]
    assert hidden["name"] == "hidden test 2" and hidden["message"] == "failed" and hidden["status"] == "fail"
    assert "stride_three" not in json.dumps(runner_result(question)) and "12, 20" not in json.dumps(
        runner_result(question)
    )
