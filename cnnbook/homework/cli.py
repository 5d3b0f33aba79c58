"""The ``cnnbook`` command: ``cnnbook grade`` scores submitted notebooks, ``cnnbook exercises`` generates them.

    cnnbook grade SUBMISSION.ipynb [--source solutions/NN.ipynb] [--json report.json] [--junit report.xml]
    cnnbook grade submissions/ --source solutions/ --json reports/ --junit reports/ --csv scores.csv
    cnnbook exercises [--check]

Exit status: 0 when every submission was graded (whatever the scores), 2 when the grader itself
could not run (bad arguments, no source notebook, a broken source, no kernel). Grader side; the
console script ``cnnbook`` and ``python -m cnnbook`` both run :func:`main`.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import traceback
from pathlib import Path

from cnnbook.homework.kernel import Limits

ROOT = Path(__file__).resolve().parents[2]  # the book's repository, for its solutions/
GRADER_FAILED = 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="cnnbook", description="Tools of the cnnbook executable textbook.")
    commands = parser.add_subparsers(dest="command", required=True)
    _grade_parser(
        commands.add_parser(
            "grade",
            help="grade submitted notebooks against their solution notebooks",
            description="Run each submitted notebook in a sandboxed kernel and score it with the visible and hidden "
            "tests of its solution notebook. A report is written whatever the notebook does.",
            epilog="Exit status: 0 when every submission was graded (whatever the scores), "
            "2 when the grader could not run.",
        )
    )
    exercises = commands.add_parser("exercises", help="generate exercises/ from solutions/ (--check: only verify)")
    exercises.add_argument("--check", action="store_true", help="only report stale or missing exercise notebooks")
    exercises.add_argument("--root", type=Path, help="the repository root")
    args = parser.parse_args(argv)
    if args.command == "exercises":
        from cnnbook.homework.generate import main as generate

        return generate((["--check"] if args.check else []) + (["--root", str(args.root)] if args.root else []))
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
        "--csv", type=Path, help="write one line per submission: submission, score, max_score, seconds, error"
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
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the totals")


def find_submissions(paths: list[Path]) -> list[tuple[Path, Path]]:
    """``(notebook, name for its reports)`` for every notebook named or found in a folder (not following links).

    A report's name is the notebook's path inside the folder given, or its file name; two
    notebooks that would share a name get their parent folder's name in front, then a number.
    """
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if not path.is_dir():
            found.append((path, Path(path.name)))
            continue
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # .ipynb_checkpoints holds stale copies
            for name in sorted(files):
                if name.endswith(".ipynb"):
                    notebook = Path(folder, name)
                    found.append((notebook, notebook.relative_to(path)))
    taken: set[Path] = set()
    for position, (notebook, name) in enumerate(found):
        candidates = [name, Path(notebook.absolute().parent.name) / name]
        candidates += [name.with_name(f"{name.stem}-{n}{name.suffix}") for n in range(2, len(found) + 2)]
        name = next(c for c in candidates if c not in taken)
        taken.add(name)
        found[position] = (notebook, name)
    return found


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
    from cnnbook.homework.grade import GraderError, grade, load_tests
    from cnnbook.homework.report import to_json, to_junit, to_markdown, to_text, write_report

    submissions = find_submissions(args.submissions)
    if not submissions:
        print("error: no notebooks to grade", file=sys.stderr)
        return GRADER_FAILED
    several = len(submissions) > 1 or any(p.is_dir() for p in args.submissions)
    _warn_if_shared(args.submissions, args.user, not args.same_user)
    limits = Limits(cell=args.cell_timeout, total=args.timeout, grace=args.grace)
    status, reports, tests = 0, [], {}

    def write(report, name: Path) -> None:
        """The report's JSON and JUnit files: at the paths given, or named ``name`` in those folders."""
        if args.json:
            write_report(args.json / name.with_suffix(".json") if several else args.json, to_json(report))
        if args.junit:
            write_report(args.junit / name.with_suffix(".xml") if several else args.junit, to_junit([report]))

    for notebook, name in submissions:
        try:
            source = find_source(notebook, args.source)
            if source not in tests:
                tests[source] = load_tests(source, args.visible_only)
            report = grade(
                notebook,
                source,
                limits,
                visible_only=args.visible_only,
                user=args.user,
                isolate=not args.same_user,
                tests=tests[source],
            )
        except (GraderError, FileNotFoundError, KeyError) as error:
            print(f"error: {notebook}: {error}", file=sys.stderr)
            status = GRADER_FAILED
            continue
        except Exception:  # noqa: BLE001 -- a bug of the grader's: say so, grade the others
            print(f"error: {notebook}: the grader failed:\n{traceback.format_exc()}", file=sys.stderr)
            status = GRADER_FAILED
            continue
        reports.append((report, name))
        print(to_text(report) if not args.quiet else f"{notebook}: {report.score:g} / {report.max_score:g}", flush=True)
        write(report, name)
    # Written again once every kernel is dead: no submission's processes can have altered another's report.
    for report, name in reports:
        write(report, name)
    if args.csv:
        write_report(args.csv, _csv([r for r, _ in reports]))
    if args.markdown and reports:
        with open(args.markdown, "a", encoding="utf-8") as handle:
            handle.write(to_markdown([r for r, _ in reports]))
    if several:
        total = sum(r.score for r, _ in reports)
        print(f"graded {len(reports)} of {len(submissions)} notebooks; {total:g} points in all")
    return status


def _csv(reports: list) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["submission", "score", "max_score", "seconds", "error"])
    for r in reports:
        writer.writerow([r.submission, r.score, r.max_score, r.seconds, r.error])
    return out.getvalue()


def _warn_if_shared(paths: list[Path], user: str | None, isolate: bool) -> None:
    """A folder of submissions the kernel's user can read lets one student's code read another's notebook."""
    from cnnbook.homework.sandbox import can_read, choose_account

    folders = [p for p in paths if p.is_dir()]
    try:
        account = choose_account(user, isolate) if folders else None
    except KeyError:
        return  # an unknown --user: each submission will say so
    for folder in folders:
        if account is not None and account.isolated and can_read(account, folder):
            print(
                f"warning: the student's kernel can read {folder}, so one submission's code could read the "
                f"others (chmod 700 {folder})",
                file=sys.stderr,
            )


if __name__ == "__main__":
    sys.exit(main())
