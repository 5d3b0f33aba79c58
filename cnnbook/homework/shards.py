"""A class graded on several machines: ``cnnbook grade --shard K/N`` and ``cnnbook merge-reports`` (grader side).

**The split.** The notebooks ``cnnbook grade`` finds are put in the order of :func:`submission_order`: by
their path inside the folder given, a folder's notebooks (by name) before its subfolders (by name), which
is the order an unsharded run grades a folder in. Shard K of N takes the K-th, (K+N)-th, (K+2N)-th...
of them (:func:`in_shard`). The split depends only on the paths inside the folder, not on the machine or
on the order the file system lists them, so N runners given the same folder grade disjoint sets, of sizes
that differ by one at most, whose union is the whole class. The students' names are taken from the whole
class before the split (the prefix ``hw1-`` that every folder shares is left out in every shard alike).

**The merge.** :func:`merge` reads the shards' scores CSVs (``cnnbook grade --csv``) and, for the class
summary and the Markdown, their JSON reports: a summary cannot be merged from the shards' summaries (the
most common failing test of the class is not the most common of any one shard), so it is computed again
from the reports, by the code that writes it for an unsharded run. The merged files are those an unsharded
run writes, the ``seconds`` aside: the lines in the order above, cells written by the grader's own CSV
writer (:func:`~cnnbook.homework.report.csv_text`) and made safe for spreadsheets as it makes them.
Shards that overlap (a submission twice), a CSV that is not the grader's (another header, a cell that is no
number where a score goes), or JSON reports that are not those of the CSVs' submissions raise
:class:`MergeError`, before anything is written.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cnnbook.homework.grade import Report, number
from cnnbook.homework.report import (
    PENDING_COLUMN,
    assignment_name,
    csv_header,
    csv_text,
    from_dict,
    spreadsheet_safe,
)

TEXT_COLUMNS = ("student", "assignment", "submission", "error")  # what comes from students: made safe again
NUMBER_COLUMNS = ("score", "max_score", PENDING_COLUMN, "seconds")
Found = TypeVar("Found")


class MergeError(ValueError):
    """Shards that cannot be merged into one class's reports; nothing is written."""


def submission_order(path: str | Path) -> tuple:
    """Where a notebook comes in the order :func:`~cnnbook.homework.cli.find_submissions` walks a folder: folder
    by folder, a folder's notebooks by name before its subfolders by name (``b.ipynb`` before ``a/c.ipynb``)."""
    parts = Path(path).parts
    return tuple((1, folder) for folder in parts[:-1]) + tuple((0, name) for name in parts[-1:])


def in_shard(found: Sequence[tuple[Found, Path]], shard: int, shards: int) -> list[tuple[Found, Path]]:
    """The ``(notebook, name)`` pairs of shard ``shard`` of ``shards`` (1 <= shard <= shards), in their order in
    ``found``: the shard-th, (shard+shards)-th... by :func:`submission_order` of their names (their paths in the
    folder given, all different), whatever the order of ``found``."""
    if not 1 <= shard <= shards:
        raise ValueError(f"shard {shard} of {shards} does not exist")
    ranked = sorted(range(len(found)), key=lambda i: submission_order(found[i][1]))
    chosen = set(ranked[shard - 1 :: shards])
    return [item for i, item in enumerate(found) if i in chosen]


@dataclass
class Merged:
    """A class's reports merged from its shards: the scores CSV's text, and the reports (in the CSV's order)
    with the ``assignment`` to give :func:`~cnnbook.homework.report.to_summary_csv` and ``to_markdown``."""

    csv: str
    submissions: int
    reports: list[Report] | None = None  # None without the JSON reports
    assignment: str = ""


def read_scores(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the lines of a scores CSV of ``cnnbook grade --csv``; MergeError if it is not one."""
    try:
        table = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise MergeError(f"{path}: cannot be read as a CSV: {error}") from None
    expected = csv_header(True)
    if not table or tuple(table[0]) not in (csv_header(False), expected):
        header = ",".join(table[0]) if table else "nothing"
        raise MergeError(
            f"{path}: its header is {header}, not that of cnnbook grade --csv: {','.join(expected)} "
            f"(with {PENDING_COLUMN} only when an assignment has written answers)"
        )
    header, rows = table[0], table[1:]
    for line, row in enumerate(rows, 2):
        if len(row) != len(header):
            raise MergeError(f"{path}, line {line}: {len(row)} cells, not the header's {len(header)}")
        for column, cell in zip(header, row):
            try:
                float(cell) if column in NUMBER_COLUMNS else None
            except ValueError:
                raise MergeError(f"{path}, line {line}: {column} {cell!r} is not a number") from None
    return header, rows


def merge_scores(tables: Sequence[tuple[Path, list[str], list[list[str]]]]) -> tuple[tuple[str, ...], list[list[str]]]:
    """One class's header and lines from the shards' ``(path, header, lines)``, in :func:`submission_order`.

    The ``pending`` column is there when a shard has it: a shard without it had no written answers, so its
    lines get the ``0`` an unsharded run writes for them. MergeError names a submission found twice.
    """
    header = csv_header(any(PENDING_COLUMN in columns for _, columns, _ in tables))
    merged, seen = [], {}
    for path, columns, rows in tables:
        for row in rows:
            cells = {PENDING_COLUMN: number(0.0), **dict(zip(columns, row))}
            submission = cells["submission"]
            if submission in seen:
                where = f"twice in {path}" if seen[submission] == path else f"in both {seen[submission]} and {path}"
                raise MergeError(f"the shards overlap: {submission} is {where}")
            seen[submission] = path
            merged.append([spreadsheet_safe(cells[c]) if c in TEXT_COLUMNS else cells[c] for c in header])
    at = header.index("submission")
    merged.sort(key=lambda row: submission_order(row[at]))
    return header, merged


def read_reports(given: Sequence[Path]) -> list[tuple[Path, dict]]:
    """``(path, its JSON)`` of every JSON report named in ``given`` or found in its folders (recursively)."""
    paths = set()
    for path in given:
        if not path.exists():
            raise MergeError(f"{path} does not exist")
        paths.update([path] if path.is_file() else path.rglob("*.json"))
    found = []
    for path in sorted(paths):
        try:
            found.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise MergeError(f"{path}: cannot be read as a JSON report of cnnbook grade: {error}") from None
    return found


def _class_assignment(found: list[tuple[Path, dict, Report]]) -> str:
    """The ``assignment`` the shards were graded with: ``""`` when each report's is its source notebook's name,
    else the ``--assignment`` they all share; MergeError when shards were given different ones."""
    if all(data.get("assignment") == assignment_name(report) for _, data, report in found):
        return ""
    names = {data.get("assignment") for _, data, _ in found}
    if len(names) == 1 and isinstance(next(iter(names)), str):
        return next(iter(names))
    raise MergeError(f"the shards were graded with different --assignment names: {', '.join(sorted(map(str, names)))}")


def merge(scores: Sequence[Path], reports: Sequence[Path] | None = None) -> Merged:
    """The class's scores CSV merged from the shards' CSVs and, with ``reports`` (their JSON reports or folders
    of them), the class's reports for its summary and Markdown. MergeError says why the shards cannot merge."""
    twice = sorted({str(path) for path in scores if sum(p.resolve() == path.resolve() for p in scores) > 1})
    if twice:
        raise MergeError(f"the shards overlap: {', '.join(twice)} given twice")
    header, rows = merge_scores([(path, *read_scores(path)) for path in scores])
    merged = Merged(csv_text(header, rows), len(rows))
    if reports is None:
        return merged
    found, seen = [], {}
    for path, data in read_reports(reports):
        try:
            report = from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise MergeError(f"{path}: not a JSON report of cnnbook grade ({type(error).__name__}: {error})") from None
        key = spreadsheet_safe(report.submission)  # as the CSV writes it
        if key in seen:
            raise MergeError(f"the shards overlap: the reports {seen[key]} and {path} are both of {report.submission}")
        seen[key] = path
        found.append((path, data, report))
    in_csv = {row[header.index("submission")] for row in rows}
    if set(seen) != in_csv:
        missing, extra = sorted(in_csv - set(seen)), sorted(set(seen) - in_csv)
        raise MergeError(
            "the JSON reports are not those of the CSVs' submissions: "
            + "; ".join(
                f"{what}: {', '.join(names[:5])}{' ...' * (len(names) > 5)}"
                for what, names in (("no report for", missing), ("not in the CSVs", extra))
                if names
            )
        )
    merged.assignment = _class_assignment(found) if found else ""
    found.sort(key=lambda item: submission_order(spreadsheet_safe(item[2].submission)))
    merged.reports = [report for _, _, report in found]
    return merged
