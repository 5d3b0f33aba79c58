"""A class graded in shards (cnnbook grade --shard K/N) and merged (cnnbook merge-reports): the reports of one run."""

from __future__ import annotations

import csv
import io
import random
import shutil
from pathlib import Path

import pytest

from cnnbook.homework.cli import find_submissions
from cnnbook.homework.cli import main as cli_main
from cnnbook.homework.grade import QuestionResult, Report, TestResult
from cnnbook.homework.report import to_csv, to_json, to_markdown, to_summary_csv
from cnnbook.homework.shards import in_shard, submission_order

ROOT = Path(__file__).resolve().parents[1]
FROZEN = ROOT / "tests" / "submissions" / "homework"  # chapter 1 of release 0.3.0, frozen (see test_grade_jobs)
CHAPTER1 = "01-convolution-and-edges.ipynb"
SOLUTION = FROZEN / "solutions" / CHAPTER1

# ---- the split ------------------------------------------------------------------------------------------------

NAMES = [
    "zz.ipynb",
    "hw1-alice/01.ipynb",
    "hw1-alice/02.ipynb",
    "hw1-alice/late/01.ipynb",
    "hw1-bob/01.ipynb",
    "hw1-bob/b/01.ipynb",
    "hw1-bob/a.ipynb",
    "hw1-carol/x/y/z.ipynb",
    "hw1-dave/01.ipynb",
    "hw1-erin/01.ipynb",
    "hw1-=cmd/01.ipynb",
]


@pytest.mark.parametrize("shards", [1, 2, 3, 4, 5, 11, 12])
def test_the_shards_partition_the_class_whatever_the_listing_order(shards):
    found = [(Path("class", name), Path(name)) for name in NAMES]
    split = [in_shard(found, k, shards) for k in range(1, shards + 1)]
    names = [name for shard in split for _, name in shard]
    assert sorted(names) == sorted(Path(n) for n in NAMES)  # each notebook in exactly one shard
    assert max(map(len, split)) - min(map(len, split)) <= 1  # as even as can be
    for shard in split:  # each shard keeps the order it was given
        assert shard == [item for item in found if item in shard]
    for seed in range(5):
        shuffled = random.Random(seed).sample(found, len(found))
        again = [in_shard(shuffled, k, shards) for k in range(1, shards + 1)]
        assert [sorted(s) for s in again] == [sorted(s) for s in split]


def test_shard_k_takes_every_nth_in_the_order_a_folder_is_graded(tmp_path):
    for name in NAMES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    found = find_submissions([tmp_path])
    assert [name for _, name in found] == sorted((Path(n) for n in NAMES), key=submission_order)
    assert [str(name) for _, name in found][:3] == ["zz.ipynb", "hw1-=cmd/01.ipynb", "hw1-alice/01.ipynb"]
    assert in_shard(found, 2, 3) == found[1::3]
    with pytest.raises(ValueError):
        in_shard(found, 4, 3)


@pytest.mark.parametrize("shard", ["0/3", "4/3", "x", "3", "1/0", "-1/3", "1/3/4", ""])
def test_a_bad_shard_is_an_argument_error(shard, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli_main(["grade", str(SOLUTION), "--shard", shard])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "argument --shard" in error and "K/N" in error


def test_an_empty_shard_writes_empty_reports(tmp_path, capsys):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "broken.ipynb").write_text("{ not a notebook")  # graded without a kernel
    out = tmp_path / "shard2"
    args = ["grade", str(tmp_path / "class"), "--source", str(SOLUTION), "--shard", "2/2", "-q"]
    args += ["--json", str(out / "json"), "--csv", str(out / "scores.csv"), "--summary-csv", str(out / "summary.csv")]
    assert cli_main(args) == 0
    assert "graded 0 of 0 notebooks (shard 2/2 of 1)" in capsys.readouterr().out
    assert (out / "scores.csv").read_text().splitlines() == [
        "student,assignment,submission,score,max_score,seconds,error"
    ]
    assert (out / "summary.csv").read_text().startswith("assignment,question,submissions,passed,")
    assert len((out / "summary.csv").read_text().splitlines()) == 1
    assert (out / "json").is_dir() and not any((out / "json").iterdir())


# ---- the merge, on reports made here ----------------------------------------------------------------------


def _report(submission: str, passed: bool, manual: bool = False, error: str = "") -> Report:
    tests = [TestResult("t1", False, passed, 1.0 if passed else 0.0, 1.0, "" if passed else "wrong")]
    tests.append(TestResult("t2", True, False, 0.0, 1.0, "hidden case"))
    questions = [QuestionResult("q1", 1.0 if passed else 0.0, 2.0, tests)]
    if manual:
        questions.append(QuestionResult("q2", 0.0, 2.0, [], manual=True, pending=True, answer="because"))
    return Report(submission, "solutions/01-conv.ipynb", questions, 1.25, error)


CLASS = [  # (report, student), in the order an unsharded run of class/ grades them
    (_report("class/=top.ipynb", True, error="@SUM(A1)"), "=top"),
    (_report("class/hw1-+bob/01-conv.ipynb", False, manual=True), "+bob"),
    (_report("class/hw1-alice/01-conv.ipynb", True, manual=True), "alice"),
    (_report("class/hw1-alice/late/01-conv.ipynb", False, manual=True), "alice"),
]


def _write_shard(folder: Path, members: list[tuple[Report, str]]) -> Path:
    """What cnnbook grade --csv and --json write for these reports (the JSON named as in a folder)."""
    folder.mkdir(parents=True)
    (folder / "scores.csv").write_text(to_csv([(report, student, "") for report, student in members]))
    for report, student in members:
        path = folder / "json" / Path(report.submission).relative_to("class").with_suffix(".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_json(report, student))
    return folder


def _merge(tmp_path: Path, shards: list[Path], *more: str) -> int:
    out = tmp_path / "merged"
    args = ["merge-reports", *(str(s / "scores.csv") for s in shards), "--json", *(str(s / "json") for s in shards)]
    args += ["--csv", str(out / "scores.csv"), "--summary-csv", str(out / "summary.csv")]
    return cli_main([*args, "--markdown", str(out / "summary.md"), *more])


def test_merged_reports_are_the_unsharded_ones(tmp_path):
    reports = [report for report, _ in CLASS]
    # shard 2 has no written answers (no pending column), shard 3 is empty (nothing but the header)
    shards = [
        _write_shard(tmp_path / "s1", [CLASS[3], CLASS[1]]),
        _write_shard(tmp_path / "s2", [CLASS[0]]),
        _write_shard(tmp_path / "s3", []),
        _write_shard(tmp_path / "s4", [CLASS[2]]),
    ]
    assert "pending" not in (shards[1] / "scores.csv").read_text()
    (shards[2] / "json").mkdir()
    assert _merge(tmp_path, shards) == 0
    out = tmp_path / "merged"
    assert (out / "scores.csv").read_text() == to_csv([(report, student, "") for report, student in CLASS])
    assert (out / "summary.csv").read_text() == to_summary_csv(reports)
    assert (out / "summary.md").read_text() == to_markdown(reports)
    rows = list(csv.reader(io.StringIO((out / "scores.csv").read_text())))
    assert rows[1][:3] == ["'=top", "01-conv", "class/=top.ipynb"] and rows[1][-1] == "'@SUM(A1)"
    assert rows[1][5] == "0" and rows[2][0] == "'+bob"  # pending 0 where that shard had no column


def _refused(tmp_path: Path, shards: list[Path], capsys, *more: str) -> str:
    out = tmp_path / "merged"
    out.mkdir(exist_ok=True)
    (out / "summary.md").write_text("earlier steps' summary\n")
    assert _merge(tmp_path, shards, *more) == 2
    assert sorted(p.name for p in out.iterdir()) == ["summary.md"]  # no file written, not even half of one
    assert (out / "summary.md").read_text() == "earlier steps' summary\n"
    return capsys.readouterr().err


def test_overlapping_shards_are_refused(tmp_path, capsys):
    one = _write_shard(tmp_path / "s1", CLASS[:2])
    two = _write_shard(tmp_path / "s2", CLASS[1:])
    error = _refused(tmp_path, [one, two], capsys)
    assert "overlap" in error and "class/hw1-+bob/01-conv.ipynb" in error and "s1" in error and "s2" in error
    assert "given twice" in _refused(tmp_path, [one, one], capsys)


def test_shards_of_another_format_are_refused(tmp_path, capsys):
    one = _write_shard(tmp_path / "s1", CLASS[:2])
    two = _write_shard(tmp_path / "s2", CLASS[2:])
    good = (two / "scores.csv").read_text()
    (two / "scores.csv").write_text(good.replace("max_score,", "max_score,extra,", 1))
    assert "its header is" in _refused(tmp_path, [one, two], capsys)
    (two / "scores.csv").write_text(to_summary_csv([r for r, _ in CLASS[2:]]))  # the summary, not the scores
    assert "not that of cnnbook grade --csv" in _refused(tmp_path, [one, two], capsys)
    (two / "scores.csv").write_text(good)
    shutil.rmtree(two / "json" / "hw1-alice" / "late")  # a report missing
    assert "no report for: class/hw1-alice/late/01-conv.ipynb" in _refused(tmp_path, [one, two], capsys)


# ---- a real class, graded whole and in two shards ---------------------------------------------------------


def _grade(tmp_path: Path, submissions: Path, run: str, *shard: str) -> Path:
    out = tmp_path / run
    args = ["grade", str(submissions), "--source", str(SOLUTION), "-q", "--jobs", "1", *shard]
    args += ["--json", str(out / "json"), "--csv", str(out / "scores.csv"), "--summary-csv", str(out / "summary.csv")]
    assert cli_main([*args, "--markdown", str(out / "summary.md")]) == 0
    return out


def _without_seconds(path: Path) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    for row in rows:
        assert float(row.pop("seconds")) >= 0
    return rows


def test_two_shards_merge_into_the_unsharded_reports(tmp_path, capsys):
    """Two kernels a run (a solved and an untouched notebook) and two broken notebooks (no kernel), in an order
    that sorting the paths would change (``hw1-a/zz`` before ``hw1-a/sub/y``); shard 1 holds only student a."""
    submissions = tmp_path / "class"
    for student, kind in (("hw1-a", "solutions"), ("hw1-b", "exercises")):
        (submissions / student).mkdir(parents=True)
        shutil.copy(FROZEN / kind / CHAPTER1, submissions / student / CHAPTER1)
    (submissions / "hw1-a" / "sub").mkdir()
    (submissions / "hw1-a" / "zz.ipynb").write_text("{ not a notebook")
    (submissions / "hw1-a" / "sub" / "y.ipynb").write_text("{ not a notebook")
    whole = _grade(tmp_path, submissions, "whole")
    shards = [_grade(tmp_path, submissions, f"shard{k}", "--shard", f"{k}/2") for k in (1, 2)]
    capsys.readouterr()

    assert [row["student"] for row in _without_seconds(shards[0] / "scores.csv")] == ["a", "a"]  # not hw1-a
    shard_reports = [sorted(p.relative_to(s / "json") for p in (s / "json").rglob("*.json")) for s in shards]
    assert shard_reports == [
        [Path("hw1-a", CHAPTER1[:-6] + ".json"), Path("hw1-a/sub/y.json")],
        [Path("hw1-a/zz.json"), Path("hw1-b", CHAPTER1[:-6] + ".json")],
    ]
    assert _merge(tmp_path, shards) == 0
    assert "merged 4 submissions from 2 shards" in capsys.readouterr().out
    merged = tmp_path / "merged"
    assert _without_seconds(merged / "scores.csv") == _without_seconds(whole / "scores.csv")
    assert [row["submission"][len(str(submissions)) + 1 :] for row in _without_seconds(merged / "scores.csv")] == [
        f"hw1-a/{CHAPTER1}",
        "hw1-a/zz.ipynb",
        "hw1-a/sub/y.ipynb",
        f"hw1-b/{CHAPTER1}",
    ]
    assert (merged / "summary.csv").read_text() == (whole / "summary.csv").read_text()
    assert (merged / "summary.md").read_text() == (whole / "summary.md").read_text()
    seconds = {row["submission"]: row["seconds"] for s in shards for row in csv.DictReader((s / "scores.csv").open())}
    assert [row["seconds"] for row in csv.DictReader((merged / "scores.csv").open())] == [
        seconds[row["submission"]] for row in csv.DictReader((whole / "scores.csv").open())
    ]


# ---- the instructor's workflow template -------------------------------------------------------------------


def test_the_instructor_template_grades_in_shards_and_merges():
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "homework-instructor.yml").read_text())
    grade, merge = workflow["jobs"]["grade"], workflow["jobs"]["merge"]
    assert grade["strategy"] == {"fail-fast": False, "matrix": {"shard": [1, 2, 3, 4]}}
    step = next(s for s in grade["steps"] if s.get("name") == "Grade")
    assert '--shard "$SHARD"' in step["run"] and step["env"]["SHARD"] == "${{ matrix.shard }}/${{ strategy.job-total }}"
    upload = grade["steps"][-1]
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["if"] == "always()"
    assert upload["with"]["name"] == "homework-reports-shard-${{ matrix.shard }}"
    assert merge["needs"] == "grade" and merge["if"] == "always()" and "permissions" not in merge
    assert workflow["permissions"] == {"contents": "read"}
    download = next(s for s in merge["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["pattern"] == "homework-reports-shard-*"
    run = next(s for s in merge["steps"] if s.get("name") == "Merge the shards")["run"]
    assert "cnnbook merge-reports shards/*/scores.csv --json shards/*/json" in run
    assert '--markdown "$GITHUB_STEP_SUMMARY"' in run and "--csv reports/scores.csv" in run
    checkouts = [s for job in workflow["jobs"].values() for s in job["steps"] if "checkout" in s.get("uses", "")]
    assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts)
