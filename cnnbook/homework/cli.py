"""The ``cnnbook`` command: ``cnnbook grade`` scores submitted notebooks, ``cnnbook exercises`` generates them.

    cnnbook grade SUBMISSION.ipynb [--source solutions/NN.ipynb] [--json report.json] [--junit report.xml]
    cnnbook grade submissions/ --source solutions/ --json reports/ --junit reports/ --csv scores.csv
    cnnbook grade submissions/ --source solutions/ --shard 2/4 --json shard2/json --csv shard2/scores.csv
    cnnbook merge-reports shard*/scores.csv --json shard*/json --csv scores.csv --summary-csv summary.csv
    cnnbook regrade reports/ --manual manual.csv --csv scores.csv       (written answers graded by hand)
    cnnbook grade exercises/ --source solutions/ --visible-only --classroom "$GITHUB_OUTPUT"   (GitHub Classroom)
    cnnbook grade SUBMISSION.ipynb --source SOLUTION.ipynb --gradescope results.json          (Gradescope)
    cnnbook gradescope-zip solutions/01-convolution-and-edges.ipynb --out autograder.zip
    cnnbook exercises [--check]
    cnnbook --version

Exit status of ``grade``: 0 when every submission was graded (whatever the scores), 2 when the grader
itself could not run (bad arguments, no source notebook, a broken source, no kernel), could not write a
report (another submission's reports are still written) or stopped because a notebook changed the grader's own
Python environment (run as an ordinary user without bubblewrap: the rest are not graded); with
``--fail-below-max``, 1 when every submission was graded but one scored less than full marks (as
GitHub Classroom's graders fail a run). Grader side; the console script ``cnnbook`` and
``python -m cnnbook`` both run :func:`main`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from cnnbook import __version__
from cnnbook.homework.kernel import Limits

ROOT = Path(__file__).resolve().parents[2]  # the book's repository, for its solutions/
NOT_FULL_MARKS = 1  # with --fail-below-max
GRADER_FAILED = 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="cnnbook", description="Tools of the cnnbook executable textbook.")
    parser.add_argument("--version", action="version", version=f"cnnbook {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _grade_parser(
        commands.add_parser(
            "grade",
            help="grade submitted notebooks against their solution notebooks",
            description="Run each submitted notebook in a sandboxed kernel and score it with the visible and hidden "
            "tests of its solution notebook. A report is written whatever the notebook does.",
            epilog="Exit status: 0 when every submission was graded (whatever the scores), "
            "2 when the grader could not run or write a report; "
            "with --fail-below-max, 1 when a submission scored less than full marks.",
        )
    )
    _regrade_parser(
        commands.add_parser(
            "regrade",
            help="fill in the points of written answers graded by hand, and re-total the reports",
            description="Read JSON reports of cnnbook grade, give each written answer (a manual question) the points "
            "a CSV gives it, and write the reports again with their new totals. Nothing is written if a line of the "
            "CSV is wrong (points outside 0 to the question's maximum, an unknown student or question).",
        )
    )
    _merge_parser(
        commands.add_parser(
            "merge-reports",
            help="merge the reports of a class graded in shards (cnnbook grade --shard K/N) into one class's",
            description="Merge the scores CSVs of the shards of a class (cnnbook grade --shard K/N --csv) into "
            "the one an unsharded run writes (its lines in the same order; the seconds are each shard's), and "
            "write the class summary and the Markdown from the shards' JSON reports (--json). Shards that "
            "overlap (a submission twice), a CSV that is not cnnbook grade's, or JSON reports of other "
            "submissions are refused, and then nothing is written.",
            epilog="Exit status: 0 when merged, 2 when the shards cannot be merged or a file cannot be written.",
        )
    )
    exercises = commands.add_parser("exercises", help="generate exercises/ from solutions/ (--check: only verify)")
    exercises.add_argument("--check", action="store_true", help="only report stale or missing exercise notebooks")
    exercises.add_argument("--root", type=Path, help="the repository root")
    _zip_parser(
        commands.add_parser(
            "gradescope-zip",
            help="build a Gradescope autograder zip for a chapter",
            description="Write a Gradescope autograder zip: setup.sh and run_autograder at its root, the solution "
            "notebook (its visible and hidden tests) and the wheels of cnnbook and its dependencies, which setup.sh "
            "installs with no package index. Building it downloads the wheels (pip, with network); grading needs none.",
        )
    )
    args = parser.parse_args(argv)
    if args.command == "exercises":
        from cnnbook.homework.generate import main as generate

        return generate((["--check"] if args.check else []) + (["--root", str(args.root)] if args.root else []))
    if args.command == "gradescope-zip":
        return zip_command(args)
    if args.command == "regrade":
        return regrade_command(args)
    if args.command == "merge-reports":
        return merge_command(args)
    return grade_command(args)


def _grade_parser(parser: argparse.ArgumentParser) -> None:
    limits = Limits()
    parser.add_argument("submissions", nargs="+", type=Path, help="notebooks, or folders searched for *.ipynb")
    parser.add_argument(
        "--source",
        type=Path,
        help="the solution notebook, or a folder of them (default: the "
        "notebook of the same file name in ./solutions, else in the book's solutions/)",
    )
    parser.add_argument("--json", type=Path, help="write the JSON report here (a folder when grading several)")
    parser.add_argument("--junit", type=Path, help="write the JUnit XML report here (a folder when grading several)")
    parser.add_argument("--markdown", type=Path, help="append a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)")
    parser.add_argument(
        "--csv",
        type=Path,
        help="write one line per submission: student, assignment, submission, score, max_score, seconds, error",
    )
    parser.add_argument(
        "--summary-csv",
        type=Path,
        help="write the class summary: per question, how many passed, failed and are pending, "
        "and the most common failing test",
    )
    parser.add_argument(
        "--student",
        help="the student's name for the reports (default: the folder under the one given that holds the notebook, "
        "less the prefix all those folders share up to a '-', as in gh classroom clone; else the notebook's name)",
    )
    parser.add_argument(
        "--assignment", help="the assignment's name for the reports (default: the source notebook's name)"
    )
    parser.add_argument(
        "--classroom",
        type=Path,
        metavar="FILE",
        help="GitHub Classroom: print the autograding notices Classroom records and append each question's "
        "result (runners=..., Q1_RESULTS=...) to FILE, e.g. $GITHUB_OUTPUT",
    )
    parser.add_argument(
        "--gradescope", type=Path, help="write Gradescope's results.json here (a folder when grading several)"
    )
    parser.add_argument(
        "--fail-below-max",
        action="store_true",
        help="exit with status 1 when a submission scored less than full marks (a red run unless all tests pass)",
    )
    parser.add_argument(
        "--cell-timeout",
        type=float,
        default=limits.cell,
        help=f"seconds per cell and per call a test makes (default {limits.cell:g})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=limits.total,
        help=f"seconds for the whole notebook, and again for the tests (default {limits.total:g})",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=limits.grace,
        help=f"seconds an interrupted cell may take to stop before the kernel is killed (default {limits.grace:g})",
    )
    parser.add_argument(
        "--visible-only", action="store_true", help="grade with the visible tests only (feedback for students)"
    )
    parser.add_argument(
        "--user",
        help="run the student's kernel as this user; every process of it is killed after "
        "each notebook, so it must run nothing else (default, as root: a fresh dedicated uid)",
    )
    parser.add_argument(
        "--same-user", action="store_true", help="run the kernel as the grader's own user (no isolation)"
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=os.cpu_count() or 1,
        metavar="N",
        help="grade N submissions at once, each in a worker process and a sandbox of its own; the reports are the "
        "same as with --jobs 1 (default: the number of CPU cores; 1 with --user, whose processes are all killed "
        "after each notebook)",
    )
    parser.add_argument(
        "--shard",
        type=_shard,
        metavar="K/N",
        help="grade only shard K of N (1 <= K <= N) of the notebooks found, for N machines grading one class: "
        "in the order of their paths in the folder given, the K-th, (K+N)-th... (the same on every machine); "
        "merge the shards' reports with cnnbook merge-reports",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the totals")


def _shard(text: str) -> tuple[int, int]:
    """argparse's type for --shard: ``K/N`` with 1 <= K <= N."""
    shard, slash, shards = text.partition("/")
    if not (slash and shard.strip().isdecimal() and shards.strip().isdecimal()):
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N, shard K of N (e.g. 2/4)")
    k, n = int(shard), int(shards)
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"{text!r}: in K/N, K must be from 1 to N (e.g. 1/4 to 4/4)")
    return k, n


def _positive(text: str) -> int:
    """argparse's type for --jobs: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _regrade_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reports", nargs="+", type=Path, help="JSON reports of cnnbook grade, or folders of them")
    parser.add_argument(
        "--manual",
        type=Path,
        required=True,
        help="a CSV with columns student (or submission; add assignment when a student has several reports), "
        "question and points",
    )
    parser.add_argument("--csv", type=Path, help="write the scores, one line per report (as cnnbook grade --csv)")
    parser.add_argument("--summary-csv", type=Path, help="write the class summary (as cnnbook grade --summary-csv)")
    parser.add_argument("--markdown", type=Path, help="append a Markdown summary")


def _merge_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scores", nargs="+", type=Path, metavar="SCORES_CSV", help="the shards' scores CSVs (cnnbook grade --csv)"
    )
    parser.add_argument(
        "--json",
        nargs="+",
        action="extend",
        type=Path,
        metavar="REPORTS",
        help="the shards' JSON reports, or folders searched for them (needed for --summary-csv and --markdown)",
    )
    parser.add_argument("--csv", type=Path, help="write the class's scores (as cnnbook grade --csv)")
    parser.add_argument("--summary-csv", type=Path, help="write the class summary (as cnnbook grade --summary-csv)")
    parser.add_argument("--markdown", type=Path, help="append the Markdown summary (as cnnbook grade --markdown)")


def merge_command(args: argparse.Namespace) -> int:
    """Merge the shards' reports into the class's: every file, or (when the shards cannot merge) none."""
    from cnnbook.homework.report import append_report, to_markdown, to_summary_csv, write_report
    from cnnbook.homework.shards import MergeError, merge

    if (args.summary_csv or args.markdown) and not args.json:
        print("error: --summary-csv and --markdown are made from the shards' JSON reports (--json)", file=sys.stderr)
        return GRADER_FAILED
    try:
        merged = merge(args.scores, args.json)
    except MergeError as error:
        print(f"error: {error}", file=sys.stderr)
        return GRADER_FAILED
    reports = merged.reports or []
    try:
        if args.csv:
            write_report(args.csv, merged.csv)
        if args.summary_csv:
            write_report(args.summary_csv, to_summary_csv(reports, merged.assignment))
        if args.markdown and reports:
            append_report(args.markdown, to_markdown(reports, merged.assignment))
    except OSError as error:
        print(f"error: cannot write the merged reports: {error}", file=sys.stderr)
        return GRADER_FAILED
    print(f"merged {merged.submissions} submissions from {len(args.scores)} shards")
    return 0


def regrade_command(args: argparse.Namespace) -> int:
    """Fill in written answers' points from ``--manual`` and write every report again, or nothing at all."""
    from cnnbook.homework.report import (
        append_report,
        from_dict,
        grade_by_hand,
        to_csv,
        to_dict,
        to_markdown,
        to_summary_csv,
        totals,
        write_report,
    )

    paths = sorted({p for given in args.reports for p in ([given] if given.is_file() else given.rglob("*.json"))})
    try:
        found = [(path, json.loads(path.read_text())) for path in paths]
        reports = [from_dict(data) for _, data in found]
        grade_by_hand([(r, data) for r, (_, data) in zip(reports, found)], args.manual.read_text())
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:  # not our reports: nothing is written
        print(f"error: {error}", file=sys.stderr)
        return GRADER_FAILED
    for report, (path, data) in zip(reports, found):
        fresh = to_dict(report)
        data.update({key: fresh[key] for key in ("score", "max_score", "pending", "questions")})
        write_report(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        print(f"{report.submission}: {totals(report)}")
    rows = [
        (report, data.get("student") or "", data.get("assignment") or "") for report, (_, data) in zip(reports, found)
    ]
    if args.csv:
        write_report(args.csv, to_csv(rows))
    if args.summary_csv:
        write_report(args.summary_csv, to_summary_csv(reports))
    if args.markdown:
        append_report(args.markdown, to_markdown(reports))
    return 0


def find_submissions(paths: list[Path]) -> list[tuple[Path, Path]]:
    """``(notebook, name for its reports)`` for every notebook named or found in a folder (not following links).

    A report's name is the notebook's path inside the folder given, or its file name; two
    notebooks that would share a name get their parent folder's name in front, then a number.
    """
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if path.suffix == ".ipynb" or not path.is_dir():
            found.append((path, Path(path.name)))
            continue
        for folder, dirs, files in os.walk(path):
            # anything named *.ipynb is a submission, refused if it is not a file (a folder, a FIFO, a link);
            # hidden folders are skipped: .ipynb_checkpoints holds stale copies
            notebooks = sorted(name for name in dirs + files if name.endswith(".ipynb"))
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in notebooks)
            found += [(Path(folder, name), Path(folder, name).relative_to(path)) for name in notebooks]
    taken: set[Path] = set()
    for position, (notebook, name) in enumerate(found):
        candidates = [name, Path(notebook.absolute().parent.name) / name]
        candidates += [name.with_name(f"{name.stem}-{n}{name.suffix}") for n in range(2, len(found) + 2)]
        name = next(c for c in candidates if c not in taken)
        taken.add(name)
        found[position] = (notebook, name)
    return found


def _zip_parser(parser: argparse.ArgumentParser) -> None:
    from cnnbook.homework import gradescope

    parser.add_argument("solution", help="the solution notebook, or a chapter: 01 or 01-convolution-and-edges")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the zip to write")
    parser.add_argument(
        "--cnnbook",
        help="what pip builds the cnnbook wheel from (default: this checkout when run from one, else "
        f"{gradescope.RELEASE!r})",
    )
    parser.add_argument(
        "--python-version",
        default=gradescope.PYTHON_VERSION,
        help=f"the autograder image's python3 (default {gradescope.PYTHON_VERSION}: Gradescope's Ubuntu 22.04)",
    )
    parser.add_argument(
        "--platform", default=gradescope.PLATFORM, help=f"the wheels' platform (default {gradescope.PLATFORM})"
    )
    parser.add_argument("--wheels-from", type=Path, help="take the wheels from this folder instead of downloading")
    parser.add_argument(
        "--no-wheels", action="store_true", help="leave the wheels out (for tests only: setup.sh cannot install then)"
    )
    parser.add_argument("--cell-timeout", type=float, help="the grader's --cell-timeout on Gradescope")
    parser.add_argument("--timeout", type=float, help="the grader's --timeout on Gradescope")


def find_chapter(name: str) -> Path:
    """A solution notebook named by its path, or by its chapter (``01``, ``01-convolution-and-edges``)."""
    if Path(name).is_file():
        return Path(name)
    for folder in (Path("solutions"), ROOT / "solutions"):
        found = sorted(folder.glob(f"{name}.ipynb")) or sorted(folder.glob(f"{name}-*.ipynb"))
        if found:
            return found[0]
    raise FileNotFoundError(
        f"no solution notebook {name} (a path, or a chapter in ./solutions or {ROOT / 'solutions'})"
    )


def zip_command(args: argparse.Namespace) -> int:
    """Build the Gradescope autograder zip."""
    import subprocess

    from cnnbook.homework.grade import GraderError
    from cnnbook.homework.gradescope import RELEASE, build_zip

    requirement = args.cnnbook or (str(ROOT) if (ROOT / "pyproject.toml").is_file() else RELEASE)
    try:
        solution = find_chapter(args.solution)
        names = build_zip(
            solution,
            args.out,
            wheels=not args.no_wheels,
            wheels_from=args.wheels_from,
            requirement=requirement,
            python_version=args.python_version,
            platform=args.platform,
            cell_timeout=args.cell_timeout,
            timeout=args.timeout,
        )
    except (FileNotFoundError, GraderError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return GRADER_FAILED
    wheels = [n for n in names if n.startswith("wheels/")]
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB): setup.sh, run_autograder, {solution.name}, ",
        end="",
    )
    print(f"{len(wheels)} wheels" if wheels else "no wheels (setup.sh cannot install cnnbook from it)")
    return 0


def student_names(found: list[tuple[Path, Path]], given: str | None = None) -> list[str]:
    """The student of each ``(notebook, name)`` of :func:`find_submissions`: ``given``, else the first folder of the
    name (less the prefix every such folder shares up to its last ``-``: ``hw1-alice``, ``hw1-bob`` give ``alice``,
    ``bob``), else the notebook's file name without ``.ipynb``."""
    if given:
        return [given] * len(found)
    names = [name.parts[0] if len(name.parts) > 1 else name.stem for _, name in found]
    distinct = sorted(set(names))
    if len(distinct) > 1 and all(len(name.parts) > 1 for _, name in found):
        prefix = os.path.commonprefix(distinct)
        prefix = prefix[: prefix.rfind("-") + 1]
        if prefix and all(len(d) > len(prefix) for d in distinct):
            names = [n[len(prefix) :] for n in names]
    return names


def find_source(submission: Path, option: Path | None) -> Path:
    """The solution notebook that grades ``submission``."""
    if option is not None and not option.is_dir():
        if option.is_file():
            return option
        raise FileNotFoundError(f"--source {option} does not exist")
    folders = [option] if option is not None else [Path("solutions"), ROOT / "solutions"]
    for folder in folders:
        if (folder / submission.name).is_file():
            return folder / submission.name
    raise FileNotFoundError(f"no source notebook {submission.name} in {' or '.join(map(str, folders))} (use --source)")


def grade_command(args: argparse.Namespace) -> int:
    """Grade every submission, print a summary, write the reports; the exit status says whether all were graded."""
    from cnnbook.homework import classroom
    from cnnbook.homework.environment import ENVIRONMENT
    from cnnbook.homework.grade import exact_sum, shown
    from cnnbook.homework.gradescope import to_results
    from cnnbook.homework.report import (
        append_report,
        number,
        to_csv,
        to_json,
        to_junit,
        to_markdown,
        to_summary_csv,
        to_text,
        totals,
        write_report,
    )
    from cnnbook.homework.shards import in_shard

    found = find_submissions(args.submissions)
    if not found:
        print("error: no notebooks to grade", file=sys.stderr)
        return GRADER_FAILED
    # Names and report paths come from the whole class, so that every shard gives the same.
    several = len(found) > 1 or any(p.is_dir() for p in args.submissions)
    names = [shown(student) for student in student_names(found, args.student)]  # printable, one line
    students = dict(zip((name for _, name in found), names))
    submissions = found if args.shard is None else in_shard(found, *args.shard)
    assignment = args.assignment or ""
    shared = _shared_folders(args.submissions, args.user, not args.same_user)  # in every report, and said now
    for warning in shared:
        print(f"warning: {warning}", file=sys.stderr)
    limits = Limits(cell=args.cell_timeout, total=args.timeout, grace=args.grace)
    status, reports, tests = 0, [], {}
    unwritten: set[Path] = set()

    def save(write_file, path: Path, *content) -> None:
        """``write_file(path, *content)``; a report that cannot be written (a folder planted at its path) is said
        and the others are still written (the exit status tells)."""
        try:
            write_file(path, *content)
            unwritten.discard(path)
            ENVIRONMENT.note_written(path)  # a report where Python imports from (the current folder) is the grader's
        except OSError as error:
            if path not in unwritten:
                print(f"error: cannot write the report {shown(path)}: {error}", file=sys.stderr)
            unwritten.add(path)

    def write(report, name: Path) -> None:
        """The report's JSON, JUnit and Gradescope files: at the paths given, or named ``name`` in those folders."""
        student = students[name]
        results = json.dumps(to_results(report, student, assignment), indent=2, ensure_ascii=False) + "\n"
        for option, suffix, text in (
            (args.json, ".json", to_json(report, student, assignment)),
            (args.junit, ".xml", to_junit([report], [student], assignment)),
            (args.gradescope, ".json", results),
        ):
            if option and several:
                save(write_report, option / name.with_suffix(suffix), text, option)
            elif option:
                save(write_report, option, text)

    jobs = min(args.jobs, len(submissions))
    if jobs > 1 and args.user is not None:
        print(f"note: --user {shown(args.user)} grades one submission at a time (--jobs 1)", file=sys.stderr)
        jobs = 1
    if jobs > 1 and _kernel_can_write_the_grader(args.user, not args.same_user):
        print(
            "note: the kernels would run as the grader's own user without bubblewrap, so submissions are graded one "
            "at a time in this process (--jobs 1): a change to the grader's Python environment is then known to be "
            "one notebook's, before anything imports it",
            file=sys.stderr,
        )
        jobs = 1
    options = (args.source, limits, args.visible_only, args.user, not args.same_user)
    outcomes = _graded_in_workers(submissions, options, jobs) if jobs > 1 else None
    not_run = 0
    for position, (notebook, name) in enumerate(submissions):
        if ENVIRONMENT.changed:  # nothing this process would import can be trusted: the rest are not graded
            report, failure = _not_graded(notebook, args.source, tests, ENVIRONMENT.changed), None
            not_run += 1
        else:
            report, failure = next(outcomes) if outcomes is not None else _grade_one(notebook, options, tests)
            if ENVIRONMENT.changed:
                left = len(submissions) - position - 1
                what = "the cnnbook package and the Python environment it runs in"
                stopped = f"grading stopped: the {left} submissions after it were not graded"
                print(f"error: {ENVIRONMENT.changed} ({what}); {stopped}", file=sys.stderr)
                status = GRADER_FAILED
        if failure is not None:
            print(failure, file=sys.stderr)
            status = GRADER_FAILED
            continue
        report.warnings += shared
        reports.append((report, name))
        print(f"{report.submission}: {totals(report)}" if args.quiet else to_text(report), flush=True)
        write(report, name)
    if outcomes is not None:
        outcomes.close()  # the worker processes end here
    # Written again once every kernel is dead: no submission's processes can have altered another's report.
    for report, name in reports:
        write(report, name)
    graded = [r for r, _ in reports]
    if args.csv:
        save(write_report, args.csv, to_csv([(r, students[name], assignment) for r, name in reports]))
    if args.summary_csv:
        save(write_report, args.summary_csv, to_summary_csv(graded, assignment))
    if args.markdown and reports:
        save(append_report, args.markdown, to_markdown(graded, assignment))
    if several and not submissions:  # an empty shard: its folders of reports are there, empty
        for option in (args.json, args.junit, args.gradescope):
            if option:
                save(lambda path: path.mkdir(parents=True, exist_ok=True), option)
    if args.classroom is not None and graded:
        save(classroom.append_outputs, args.classroom, graded)
        if classroom.totals(graded)[1]:  # the reporter says nothing when there are no points to give
            print("\n".join(classroom.notices(graded)), flush=True)
    if several or args.shard:
        total = exact_sum(r.score for r in graded)
        shard = f" (shard {args.shard[0]}/{args.shard[1]} of {len(found)})" if args.shard else ""
        print(f"graded {len(reports) - not_run} of {len(submissions)} notebooks{shard}; {number(total)} points in all")
    if unwritten:
        status = GRADER_FAILED
    if status == 0 and args.fail_below_max and any(r.score < r.max_score or r.error for r in graded):
        status = NOT_FULL_MARKS
    return status


def _grade_one(notebook: Path, options: tuple, tests: dict) -> tuple:
    """``(report, None)`` for one submission, or ``(None, the error to print)``; ``tests`` caches load_tests."""
    from cnnbook.homework.grade import GraderError, grade, load_tests, shown

    source_option, limits, visible_only, user, isolate = options
    try:
        source = find_source(notebook, source_option)
        if source not in tests:
            tests[source] = load_tests(source, visible_only)
        report = grade(
            notebook, source, limits, visible_only=visible_only, user=user, isolate=isolate, tests=tests[source]
        )
    except (GraderError, FileNotFoundError, KeyError) as error:
        return None, f"error: {shown(notebook)}: {error}"
    except Exception:  # noqa: BLE001 -- a bug of the grader's: say so, grade the others
        return None, f"error: {shown(notebook)}: the grader failed:\n{traceback.format_exc()}"
    return report, None


def _not_graded(notebook: Path, source_option: Path | None, tests: dict, reason: str):
    """The report of a submission left ungraded because a notebook before it changed the grader's environment (its
    source's tests, if already loaded, at zero: they are not loaded now)."""
    from cnnbook.homework.grade import not_graded

    try:
        source: Path | None = find_source(notebook, source_option)
    except FileNotFoundError:
        source = None
    return not_graded(notebook, source, f"not graded: {reason}", tests.get(source))


def _kernel_can_write_the_grader(user: str | None, isolate: bool) -> bool:
    """Whether the kernels would run as the grader's own user, unconfined: able to write the grader's Python code."""
    from cnnbook.homework.sandbox import choose_account

    if isolate and user is None and os.geteuid() == 0:
        return False  # root gives each kernel a dedicated uid (asked here without choosing one)
    try:
        account = choose_account(user, isolate)
    except KeyError:
        return False  # an unknown --user: each submission will say so
    return account.shares_grader


# --jobs N runs each grading in a worker *process*, not a thread: a Reaper ends every new descendant of the
# grader's process (threads would kill each other's kernels), and the tests of a source share one namespace.
_WORKER_TESTS: dict = {}  # a worker's load_tests cache


def _start_worker(counter, workers: int) -> None:
    """Give this worker its own share of the dedicated uids, so two kernels graded at once never share a uid
    (each worker picks a uid free of processes from uids no other worker of this run can pick)."""
    from cnnbook.homework import sandbox

    with counter.get_lock():
        index = counter.value
        counter.value += 1
    sandbox.DYNAMIC_UIDS = sandbox.DYNAMIC_UIDS[index % workers :: workers]


def _worker_grade(notebook: Path, options: tuple) -> tuple:
    """:func:`_grade_one` in a worker process, whose become_subreaper and Reaper see only its own kernels."""
    return _grade_one(notebook, options, _WORKER_TESTS)


def _graded_in_workers(submissions: list[tuple[Path, Path]], options: tuple, jobs: int):
    """Grade the submissions in ``jobs`` worker processes; yields each ``(report, error)`` in their order.

    A worker that dies (killed, out of memory) breaks the pool: the submission next in order is graded again
    alone, and fails (with ``error``) only if its worker dies again; the others are graded in a fresh pool."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from cnnbook.homework.grade import shown

    context = multiprocessing.get_context("spawn")
    pending: dict = {}
    pools: list[ProcessPoolExecutor] = []

    def start(indices, workers: int) -> None:
        while pools:
            pools.pop().shutdown(wait=True, cancel_futures=True)
        counter = context.Value("i", 0)
        pools.append(ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=(counter, workers)))
        pending.update({i: pools[0].submit(_worker_grade, submissions[i][0], options) for i in indices})

    try:
        start(range(len(submissions)), jobs)
        for i in range(len(submissions)):
            try:
                yield pending.pop(i).result()
                continue
            except BrokenProcessPool:
                start([i], 1)
            try:
                yield pending.pop(i).result()
            except BrokenProcessPool:
                yield None, f"error: {shown(submissions[i][0])}: the grader's worker process died"
            if i + 1 < len(submissions):
                start(range(i + 1, len(submissions)), min(jobs, len(submissions) - i - 1))
    finally:
        while pools:
            pools.pop().shutdown(wait=True, cancel_futures=True)


def _shared_folders(paths: list[Path], user: str | None, isolate: bool) -> list[str]:
    """A warning for each folder of submissions the student's kernel could read: one student's code could read the
    others' notebooks (the kernel's user is asked, in its namespaces when confined)."""
    from cnnbook.homework.grade import shown
    from cnnbook.homework.sandbox import can_read, choose_account

    folders = [p for p in paths if p.is_dir()]
    try:
        account = choose_account(user, isolate) if folders else None
    except KeyError:
        return []  # an unknown --user: each submission will say so
    return [
        f"the student's kernel can read the folder of submissions {shown(folder)}, so one submission's code could "
        f"read the others (chmod 700 {shown(folder)})"
        for folder in folders
        if account is not None and (account.isolated or account.confined) and can_read(account, folder)
    ]


if __name__ == "__main__":
    sys.exit(main())
