"""cnnbook grade --jobs N grades several submissions at once, with the same reports as --jobs 1."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnbook.homework import kernel, sandbox
from cnnbook.homework.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
# Chapters 1 and 7 of release 0.3.0, frozen: the grader suite grades against them, so the book's exercises can
# change without rewriting the hostile submissions (the current chapters are graded in test_grade.py too).
FROZEN = ROOT / "tests" / "submissions" / "homework"
CHAPTER1 = "01-convolution-and-edges.ipynb"
TIMING = {"seconds", "run"}  # and the kernel's uid and run_seconds, which differ from run to run


def _class(folder: Path) -> Path:
    """Two solved copies, two unsolved ones and a broken notebook, one folder per student."""
    for n in (1, 2):
        for kind in ("solutions", "exercises"):
            student = folder / f"hw1-{kind}{n}"
            student.mkdir(parents=True)
            shutil.copy(FROZEN / kind / CHAPTER1, student / CHAPTER1)
    (folder / "hw1-broken").mkdir()
    (folder / "hw1-broken" / CHAPTER1).write_text("{ not a notebook")
    return folder


def _grade(tmp_path: Path, submissions: Path, jobs: int, capsys) -> tuple[int, list[dict], dict]:
    out = tmp_path / f"jobs{jobs}"
    args = ["grade", str(submissions), "--source", str(FROZEN / "solutions" / CHAPTER1), "-q"]
    args += ["--json", str(out / "json"), "--csv", str(out / "scores.csv"), "--jobs", str(jobs)]
    status = cli_main(args)
    printed = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO((out / "scores.csv").read_text())))
    for row in rows:
        row.pop("seconds")
    reports = {}
    for path in sorted((out / "json").rglob("*.json")):
        data = json.loads(path.read_text())
        for key in ("user", "run_seconds"):
            data.get("kernel", {}).pop(key, None)
        reports[str(path.relative_to(out / "json"))] = {k: v for k, v in data.items() if k not in TIMING}
    return status, rows, {"reports": reports, "printed": printed}


def test_jobs_2_gives_the_reports_of_jobs_1(tmp_path, capsys):
    submissions = _class(tmp_path / "class")
    one = _grade(tmp_path, submissions, 1, capsys)
    two = _grade(tmp_path, submissions, 2, capsys)
    assert one == two
    status, rows, rest = two
    assert status == 0
    assert [row["student"] for row in rows] == ["broken", "exercises1", "exercises2", "solutions1", "solutions2"]
    scores = {row["student"]: (float(row["score"]), float(row["max_score"])) for row in rows}
    assert scores["solutions1"][0] == scores["solutions1"][1] > 0
    assert scores["exercises1"][0] < scores["exercises1"][1]
    assert scores["broken"][0] == 0 and rows[0]["error"]
    assert len(rest["reports"]) == 5


@pytest.mark.parametrize("jobs", ["0", "-3", "two"])
def test_jobs_must_be_a_positive_number(jobs, capsys):
    with pytest.raises(SystemExit) as exit:
        cli_main(["grade", str(FROZEN / "solutions" / CHAPTER1), "--jobs", jobs])
    assert exit.value.code == 2
    assert "--jobs" in capsys.readouterr().err


# What a kernel's matplotlib prints (at INFO) when it has to list the system's fonts itself.
FONT_PROBE = (
    "import logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stdout); import matplotlib.font_manager"
)


@pytest.mark.parametrize("given", [True, False], ids=["with the grader's font list", "without"])
def test_a_kernel_gets_matplotlibs_font_list_instead_of_making_it(given):
    """Making it costs every notebook that imports matplotlib 0.3-0.5 s here; a copy in its own folder costs none."""
    account = sandbox.choose_account()
    workdir = sandbox.make_workdir(account)
    try:
        if given:
            kernel._give_font_list(workdir, account)
        env = kernel.kernel_env(workdir, account.confined)
        argv = [sys.executable, "-c", FONT_PROBE]
        process = sandbox.launch(account, argv, workdir, cwd=workdir, env=env, stdout=subprocess.PIPE)
        printed = process.communicate(timeout=120)[0].decode()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert process.returncode == 0
    assert ("generated new fontManager" in printed) is not given, printed


def test_a_font_list_that_could_not_be_made_is_made_by_the_next_kernel(monkeypatch):
    """A failure (here no Python to make it with, as in test_grade.py's no-kernel test) is not kept for the
    process's later kernels."""
    with monkeypatch.context() as broken:
        broken.setattr(sys, "executable", "/nonexistent/python")
        assert kernel._font_list() is None
    made = kernel._font_list()
    assert made is not None and made.is_file() and made.name.startswith("fontlist-")
