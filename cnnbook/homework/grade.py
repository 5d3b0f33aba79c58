"""Grade a submitted notebook against the tests of its solution notebook.

Grader side. The grader reads the source (``solutions/NN-*.ipynb``) into memory and runs its test
cells in its own process, into a registry of their own that :func:`load_tests` returns and
:func:`grade` is handed (:class:`SourceTests`), before the student's kernel exists. The submission's code
cells run in a separate kernel (:mod:`~cnnbook.homework.kernel`) as a user that cannot read the
source (:mod:`~cnnbook.homework.sandbox`); each test reaches the student's names through a
``student`` handle that brings back plain data only, and compares it here. Whatever the
notebook does, :func:`grade` returns a :class:`Report` (a notebook that cannot be read scores
zero, with the reason); it raises :class:`GraderError` only when the grader itself cannot run.
"""

from __future__ import annotations

import ast
import json
import linecache
import os
import re
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import nbformat
import numpy as np

from cnnbook.homework.checks import Registry, assert_close, run_test, test
from cnnbook.homework.kernel import KernelError, KernelTransport, Limits, NotebookSession, RunLog
from cnnbook.homework.notebook import BEGIN_QUESTION, END_QUESTION, FormatError, Question, first_line, questions, read
from cnnbook.homework.sandbox import Account, can_read, choose_account
from cnnbook.homework.student import Student

# A notebook is refused unread above this size: a homework notebook with its outputs is rarely over a few MB,
# and parsing one (JSON, then nbformat's copy) takes several times its size in memory.
MAX_NOTEBOOK_BYTES = 20 << 20
MAX_MESSAGE = 300
# What must not reach a report as it is: control characters (C0, C1), line and paragraph separators,
# bidirectional overrides (which make a name read as another), lone surrogates (no UTF-8 form), non-characters.
_UNSAFE = r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
_CONTROL = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|" + _UNSAFE)
_UNSAFE_CHAR = re.compile(_UNSAFE)
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_FILE_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
}


class GraderError(RuntimeError):
    """The grader cannot run (a broken source notebook, no kernel): not the student's fault."""


class SubmissionError(ValueError):
    """The submission is not a notebook the grader can run; it scores zero."""


@dataclass
class SourceTest:
    """One test of the source notebook, ready to run in the grader's process."""

    name: str
    hidden: bool
    function: Callable[[Student], None]


@dataclass
class SourceQuestion:
    """A question of the source notebook with its tests."""

    name: str
    points: float
    tests: list[SourceTest]


@dataclass
class SourceTests:
    """The registry of a source notebook's tests, as :func:`load_tests` loaded them: what :func:`grade` runs.

    Load it once to grade many submissions against the same source.
    """

    source: Path
    questions: list[SourceQuestion]


@dataclass
class TestResult:
    """The outcome of one test for the report."""

    __test__ = False  # not a pytest class
    name: str
    hidden: bool
    passed: bool
    points: float  # earned
    max_points: float
    message: str = ""


@dataclass
class QuestionResult:
    """A question's score: its points shared among its tests in hundredths (:func:`split_points`)."""

    name: str
    score: float
    max_score: float
    tests: list[TestResult]

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.tests)

    @property
    def message(self) -> str:
        failed = [t for t in self.tests if not t.passed]
        if not failed:
            return f"all {len(self.tests)} tests passed"
        return f"{len(failed)} of {len(self.tests)} tests failed; {failed[0].name}: {failed[0].message}"


@dataclass
class Report:
    """Everything the grader says about one submission."""

    submission: str
    source: str
    questions: list[QuestionResult]
    seconds: float
    error: str = ""  # why the notebook could not be run at all
    warnings: list[str] = field(default_factory=list)
    kernel_user: str = ""
    isolated: bool = False
    run: RunLog = field(default_factory=RunLog)
    cells: dict[int, str] = field(default_factory=dict)  # first line of each code cell, for messages

    @property
    def score(self) -> float:
        return exact_sum(q.score for q in self.questions)

    @property
    def max_score(self) -> float:
        return exact_sum(q.max_score for q in self.questions)


def split_points(points: float, count: int) -> list[float]:
    """``points`` shared among ``count`` tests in hundredths (finer only if ``points`` is), adding up exactly.

    The hundredths left over go to the first tests: 2 points over 3 tests are 0.67, 0.67, 0.66, never
    3 x 0.666667. Every share is a decimal of at most two places (or as many as ``points`` has), so
    :func:`exact_sum` of the shares is ``points`` to the last digit in every report.
    """
    exact = Decimal(repr(float(points)))
    places = max(2, -exact.as_tuple().exponent)
    units = int(exact.scaleb(places))
    base, extra = divmod(units, count)
    return [float(Decimal(base + (i < extra)).scaleb(-places)) for i in range(count)]


def exact_sum(values: Iterable[float]) -> float:
    """The sum of scores as decimals (each one as printed), as a float: ``0.67 + 0.67 + 0.66`` is ``2.0``."""
    return float(sum((Decimal(repr(float(v))) for v in values), Decimal(0)))


def clean(text: object, limit: int = MAX_MESSAGE) -> str:
    """One printable line of at most ``limit`` characters (messages may come from the student's kernel)."""
    line = " ".join(_CONTROL.sub(" ", str(text)).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def shown(name: object) -> str:
    """A file or student name as one printable line that keeps what it says: a newline as ``\\n``, an escape
    as ``\\x1b``, a byte that is not UTF-8 (which :func:`os.fsdecode` made a surrogate) as ``\\xff``."""
    return _UNSAFE_CHAR.sub(_escaped, str(name))


def _escaped(match: re.Match) -> str:
    char = match.group()
    return f"\\x{ord(char) - 0xDC00:02x}" if "\udc80" <= char <= "\udcff" else ascii(char)[1:-1]


def load_tests(source: Path, visible_only: bool = False) -> SourceTests:
    """Parse the source notebook and run its test cells here, registering into a registry of their own.

    The tests' namespace has ``np``, ``test`` and ``assert_close``, and whatever the source's
    import cells outside questions import; test cells share it, in notebook order. The
    notebook's own registry (:data:`~cnnbook.homework.checks.REGISTRY`) is left alone.
    """
    try:
        nb = read(source)
        parsed = questions(nb, str(source))
    except FormatError as error:
        raise GraderError(str(error)) from error
    namespace: dict = {"__name__": "cnnbook_grader_tests", "np": np, "test": test, "assert_close": assert_close}
    registry = Registry()
    try:
        with registry.collecting():
            for cell in _import_cells(nb):
                _run(cell, f"{source.name} (imports)", namespace)
            found = [_load_question(question, source, namespace, registry, visible_only) for question in parsed]
    except GraderError:
        raise
    except Exception as error:  # noqa: BLE001 -- a test cell that fails to run is the source's fault
        raise GraderError(f"{source}: a test cell raised {type(error).__name__}: {error}") from error
    return SourceTests(source, found)


def _load_question(
    question: Question, source: Path, namespace: dict, registry: Registry, visible_only: bool
) -> SourceQuestion:
    """Run one question's test cells in order; a test redefined by a later cell takes that cell's visibility."""
    tests: list[SourceTest] = []
    for number, cell in enumerate(question.tests):
        before = dict(registry.tests.get(question.name, {}))
        _run(cell.source, f"{source} ({question.name} tests {number + 1})", namespace)
        for name, function in registry.tests.get(question.name, {}).items():
            if before.get(name) is not function:
                tests = [t for t in tests if t.name != name] + [SourceTest(name, cell.hidden, function)]
    kept = [t for t in tests if not (visible_only and t.hidden)]
    if not kept:
        raise GraderError(f"{source}: question {question.name!r} has no {'visible ' if visible_only else ''}tests")
    return SourceQuestion(question.name, question.points, kept)


def _run(code: str, name: str, namespace: dict) -> None:
    """Execute the instructor's cell; linecache lets a failed bare ``assert`` show its line in the report."""
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)
    exec(compile(code, name, "exec"), namespace)  # noqa: S102 -- the instructor's own code


def _import_cells(nb) -> list[str]:
    """Code cells outside questions made only of import statements (the tests may need those modules)."""
    found, inside = [], False
    for cell in nb.cells:
        line = first_line(cell)
        if cell.cell_type == "raw" and line in (BEGIN_QUESTION, END_QUESTION):
            inside = line == BEGIN_QUESTION
        elif cell.cell_type == "code" and not inside:
            try:
                body = ast.parse(cell.source).body
            except SyntaxError:
                continue
            if body and all(isinstance(node, (ast.Import, ast.ImportFrom)) for node in body):
                found.append(cell.source)
    return found


def read_submission(path: Path) -> list[tuple[int, str]]:
    """The code cells of a submitted notebook as ``(position, source)``; SubmissionError says why not."""
    raw = _read_notebook_file(path)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise SubmissionError(f"it is not valid notebook JSON ({clean(error, 120)})") from error
    if type(data) is not dict or not isinstance(data.get("cells", data.get("worksheets")), list):
        raise SubmissionError("it is JSON but not a Jupyter notebook (no list of cells)")
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        cells = list(nb.cells)
    except Exception as error:  # noqa: BLE001 -- nbformat raises many types for odd files
        raise SubmissionError(f"it is not a notebook nbformat can read ({clean(error, 120)})") from error
    code = []
    for position, cell in enumerate(cells):
        source = cell.get("source") if isinstance(cell, dict) else None
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if isinstance(cell, dict) and cell.get("cell_type") == "code" and isinstance(source, str) and source.strip():
            # JSON can escape a lone surrogate ("\\ud800"), which has no UTF-8 form to send to the kernel
            code.append((position, _SURROGATE.sub("\ufffd", source)))
    return code


def _read_notebook_file(path: Path) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_NOTEBOOK_BYTES`; anything else is refused unread.

    A link is not followed, and a FIFO is never opened for reading (that would wait for a writer):
    the file's type is checked before opening, and again on what was opened, in case it was swapped.
    """
    try:
        kind = os.lstat(path).st_mode
        if not stat.S_ISREG(kind):
            raise SubmissionError(
                f"it is {_FILE_KINDS.get(stat.S_IFMT(kind), 'not a regular file')}, not a notebook file"
            )
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as handle:
            opened = os.fstat(handle.fileno())
            if not stat.S_ISREG(opened.st_mode):
                raise SubmissionError("it is not a regular file, not a notebook file")
            raw = handle.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as error:
        raise SubmissionError(f"cannot read it ({error.strerror or error})") from error
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"it is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
    return raw


def grade(
    submission: str | Path,
    source: str | Path,
    limits: Limits = Limits(),
    *,
    visible_only: bool = False,
    user: str | None = None,
    isolate: bool = True,
    tests: SourceTests | None = None,
) -> Report:
    """Run ``submission`` in a sandboxed kernel and score it with every test of ``source``.

    ``user`` names the account for the kernel (default: a fresh dedicated uid when run as root);
    ``isolate=False`` runs it as the grader's own user; ``tests`` is the registry :func:`load_tests`
    returned for ``source`` (loaded here when not given). Raises GraderError only when the grader
    cannot run; every problem of the submission ends up in the report.
    """
    started = time.monotonic()
    submission, source = Path(submission), Path(source)
    tests = load_tests(source, visible_only) if tests is None else tests
    report = Report(shown(submission), shown(source), [], 0.0)
    try:
        cells = read_submission(submission)
    except SubmissionError as error:
        report.error = f"{shown(submission.name)}: {error}"
        report.questions = [_score(q, None, report.error) for q in tests.questions]
        report.seconds = round(time.monotonic() - started, 3)
        return report
    account = choose_account(user, isolate)
    report.kernel_user, report.isolated = account.describe(), account.isolated
    report.warnings = _isolation_warnings(account, source)
    report.cells = {i: clean(s.strip().splitlines()[0], 60) for i, s in cells}
    try:
        with NotebookSession(cells, account, limits, submission) as session:
            session.run()
            student = Student(KernelTransport(session))
            report.questions = [_score(q, student) for q in tests.questions]
            report.run = session.log
    except KernelError as error:
        raise GraderError(str(error)) from error
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _score(question: SourceQuestion, student: Student | None, reason: str = "") -> QuestionResult:
    results = []
    for source_test, share in zip(question.tests, split_points(question.points, len(question.tests))):
        if student is None:
            results.append(TestResult(source_test.name, source_test.hidden, False, 0.0, share, clean(reason)))
            continue
        outcome = run_test(source_test.function, student)
        results.append(
            TestResult(
                source_test.name,
                source_test.hidden,
                outcome.passed,
                share if outcome.passed else 0.0,
                share,
                "" if outcome.passed else clean(outcome.message or "failed"),
            )
        )
    return QuestionResult(question.name, exact_sum(t.points for t in results), question.points, results)


def _isolation_warnings(account: Account, source: Path) -> list[str]:
    """Say plainly what the student's code could reach."""
    if not account.isolated:
        return [
            f"not isolated: the notebook ran as {account.describe()}, so it could read the source notebook "
            "(hidden tests, solutions) and the grader's files; run the grader as root to isolate it"
        ]
    if can_read(account, source):
        return [
            f"the source notebook {source} is readable by the kernel's user: its hidden tests and solutions "
            "are not secret (keep it in a folder only root can read: chmod 700)"
        ]
    return []
