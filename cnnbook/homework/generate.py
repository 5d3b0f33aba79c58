"""Generate the student notebooks in ``exercises/`` from ``solutions/`` (never edit them by hand).

``python -m cnnbook.homework.generate`` writes them; ``--check`` only reports whether they are
stale (the test suite runs it). For each question the student version gets a points line,
stubs in place of solutions, the visible tests, and a ``check("q1")`` cell; hidden tests and
the question markers are dropped. A written answer (``manual: true``) gets its prompt in place of the
example answer, in a cell with the id the grader reads, and no ``check`` cell.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from cnnbook.homework.notebook import (
    ANSWER_PROMPT,
    BEGIN_ANSWER,
    BEGIN_PROMPT,
    BEGIN_QUESTION,
    END_ANSWER,
    END_PROMPT,
    END_QUESTION,
    KINDS,
    FormatError,
    answer_id,
    first_line,
    parse_config,
    questions,
    read,
    test_kind,
)

ROOT = Path(__file__).resolve().parents[2]
BEGIN_SOLUTION, END_SOLUTION, SOLUTION_LINE = "# BEGIN SOLUTION", "# END SOLUTION", "# SOLUTION"
_ASSIGNMENT = re.compile(r"^(\s*[\w.\[\], ]+?\s*=)(?!=)")


def stub(source: str, where: str = "cell") -> str:
    """Replace solution regions and ``# SOLUTION`` lines with a stub a student fills in.

    A solution region followed directly by a ``# BEGIN PROMPT`` ... ``# END PROMPT`` block (each line
    commented out) is replaced by that block's code instead: a find-the-bug question gives the student
    the planted mistake, not an empty stub.
    """
    lines = source.splitlines()
    out: list[str] = []
    indent: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = line.strip()
        index += 1
        if marker == BEGIN_SOLUTION:
            if indent is not None:
                raise FormatError(f"{where}: nested BEGIN SOLUTION")
            indent = line[: len(line) - len(line.lstrip())]
        elif marker == END_SOLUTION:
            if indent is None:
                raise FormatError(f"{where}: END SOLUTION without BEGIN SOLUTION")
            if index < len(lines) and lines[index].strip() == BEGIN_PROMPT:
                prompt, index = _prompt(lines, index + 1, where)
                out += prompt
            else:
                out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
            indent = None
        elif indent is not None:
            continue
        elif marker in (BEGIN_PROMPT, END_PROMPT):
            raise FormatError(f"{where}: a PROMPT block must follow an END SOLUTION line directly")
        elif line.rstrip().endswith(SOLUTION_LINE):
            match = _ASSIGNMENT.match(line)
            lead = match.group(1) + " " if match else line[: len(line) - len(line.lstrip())]
            out.append(f"{lead}...  # YOUR CODE HERE")
        else:
            out.append(line)
    if indent is not None:
        raise FormatError(f"{where}: BEGIN SOLUTION without END SOLUTION")
    return "\n".join(out)


def _prompt(lines: list[str], index: int, where: str) -> tuple[list[str], int]:
    """The uncommented lines of the PROMPT block that starts at ``index``, and the index after it."""
    code: list[str] = []
    while index < len(lines) and lines[index].strip() != END_PROMPT:
        line = lines[index]
        lead = line[: len(line) - len(line.lstrip())]
        body = line.lstrip()
        if body and not body.startswith("#"):
            raise FormatError(f"{where}: every line of a PROMPT block is commented out: {line.strip()!r}")
        code.append(lead + body[2:] if body.startswith("# ") else lead + body[1:])
        index += 1
    if index == len(lines):
        raise FormatError(f"{where}: BEGIN PROMPT without END PROMPT")
    return code, index + 1


def stub_answer(source: str, where: str = "cell") -> str:
    """A markdown cell with each example answer (:data:`BEGIN_ANSWER` ... :data:`END_ANSWER`) replaced by the prompt."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        marker = line.strip()
        if marker not in (BEGIN_ANSWER, END_ANSWER) and (BEGIN_ANSWER in line or END_ANSWER in line):
            raise FormatError(f"{where}: put {BEGIN_ANSWER} and {END_ANSWER} on lines of their own")
        if marker in (BEGIN_ANSWER, END_ANSWER) and inside == (marker == BEGIN_ANSWER):
            raise FormatError(f"{where}: unbalanced {marker}")
        if marker == BEGIN_ANSWER:
            inside = True
        elif marker == END_ANSWER:
            inside = False
            out.append(ANSWER_PROMPT)
        elif not inside:
            out.append(line)
    if inside:
        raise FormatError(f"{where}: {BEGIN_ANSWER} without {END_ANSWER}")
    return "\n".join(out)


def _cell(kind: str, source: str, cell_id: str):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    cell.id = cell_id
    return cell


def make_exercise(solution, name: str):
    """The student notebook for a parsed solution notebook ``solution`` (file name ``name``)."""
    parsed = {q.name: q for q in questions(solution, name)}
    notice = (
        f"*Exercise notebook generated from `solutions/{name}` by `python -m cnnbook.homework.generate`. "
        "Fill in every `# YOUR CODE HERE`, then run the `check` cell under the question. "
        "The grader also runs hidden tests, so make your code right in general, not just for the visible tests.*"
    )
    cells = [_cell("markdown", notice, "generated-notice")]
    current = None
    for index, cell in enumerate(solution.cells):
        line = first_line(cell)
        if cell.cell_type == "raw" and line == BEGIN_QUESTION:
            current = parse_config(cell.source).name
            points, kind = parsed[current].points, KINDS[parsed[current].kind]
            worth = f"{points:g} point" + ("" if points == 1 else "s") + (f", {kind}" if kind else "")
            cells.append(_cell("markdown", f"**Question {current}** ({worth})", f"{current}-points"))
        elif cell.cell_type == "raw" and line == END_QUESTION:
            # a written answer has nothing to check, and a prediction's tests are hidden (its reveal cell checks)
            if any(not test.hidden for test in parsed[current].tests):
                cells.append(_cell("code", f'check("{current}")', f"{current}-check"))
            current = None
        elif test_kind(cell) == "hidden":
            continue
        else:
            copy = nbformat.from_dict(dict(cell))
            if copy.cell_type == "code":
                copy.source = stub(copy.source, f"{name}, cell {index}")
                copy.outputs, copy.execution_count = [], None
            elif copy.cell_type == "markdown" and (BEGIN_ANSWER in copy.source or END_ANSWER in copy.source):
                copy.source = stub_answer(copy.source, f"{name}, cell {index}")
                if current is not None and parsed[current].manual:
                    copy.id = answer_id(current)
            cells.append(copy)
    exercise = nbformat.v4.new_notebook(cells=cells, metadata=solution.metadata)
    exercise.nbformat_minor = solution.nbformat_minor
    return exercise


def expected_exercises(solutions: Path = ROOT / "solutions") -> dict[str, str]:
    """Exercise file name -> the text it must have, for every solution notebook."""
    texts = {}
    for path in sorted(solutions.glob("*.ipynb")):
        texts[path.name] = nbformat.writes(make_exercise(read(path), path.name)) + "\n"
    return texts


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` verify) ``exercises/`` from ``solutions/``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale or missing exercise notebooks")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository root")
    args = parser.parse_args(argv)
    target = args.root / "exercises"
    try:
        wanted = expected_exercises(args.root / "solutions")
    except FormatError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    extra = sorted(p.name for p in target.glob("*.ipynb") if p.name not in wanted)
    stale = sorted(n for n, text in wanted.items() if not (target / n).exists() or (target / n).read_text() != text)
    if args.check:
        for problem, names in (("stale or missing", stale), ("without a solution notebook", extra)):
            if names:
                print(f"exercises {problem}: {', '.join(names)}", file=sys.stderr)
        if stale or extra:
            print("run: python -m cnnbook.homework.generate", file=sys.stderr)
            return 1
        print(f"exercises/ is in sync with solutions/ ({len(wanted)} notebooks)")
        return 0
    target.mkdir(exist_ok=True)
    for name in stale:
        (target / name).write_text(wanted[name])
    for name in extra:
        (target / name).unlink()
    print(f"wrote {len(stale)} and removed {len(extra)} of {len(wanted)} exercise notebooks in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
