"""Grade a submitted notebook against the tests of its solution notebook.

Grader side. The grader reads the source (``solutions/NN-*.ipynb``) into memory and runs its test
cells in its own process, into a registry of their own that :func:`load_tests` returns and
:func:`grade` is handed (:class:`SourceTests`), before the student's kernel exists. The submission's code
cells run in a separate kernel (:mod:`~cnnbook.homework.kernel`) as a user that cannot read the
source (:mod:`~cnnbook.homework.sandbox`); each test reaches the student's names through a
``student`` handle that brings back plain data only, and compares it here. Whatever the
notebook does, :func:`grade` returns a :class:`Report` (a notebook that cannot be read scores
zero, with the reason); it raises :class:`GraderError` only when the grader itself cannot run. Where the kernel could
write the grader's own Python code (the grader's own user, no bubblewrap), :data:`ENVIRONMENT` watches it: once a
notebook has changed it, that notebook's report says so and nothing more is graded in this process.

A written answer (a ``manual: true`` question) is never scored here: its points stay *pending* until the
instructor fills them in (:meth:`QuestionResult.grade_by_hand`), and the report keeps the student's text.
"""

from __future__ import annotations

import ast
import gc
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
from cnnbook.homework.environment import ENVIRONMENT
from cnnbook.homework.kernel import KernelError, KernelTransport, Limits, NotebookSession, RunLog
from cnnbook.homework.notebook import (
    BEGIN_QUESTION,
    END_QUESTION,
    FormatError,
    Question,
    answer_id,
    first_line,
    questions,
    read,
)
from cnnbook.homework.sandbox import Account, can_read, choose_account, reach_warnings
from cnnbook.homework.student import Student

# A notebook is refused unread above this size: a homework notebook with its outputs is rarely over a few MB,
# and parsing JSON takes up to 25 times its size in memory (20 MB of ``{},`` are 7 million dicts: 0.5 GB).
MAX_NOTEBOOK_BYTES = 20 << 20
# [ and { in a notebook's JSON, counted before it is parsed (its code's too): the book's notebooks have under 1,000,
# and each costs the grader up to 250 bytes parsed.
MAX_NOTEBOOK_CONTAINERS = 1_000_000
# A notebook with more cells is refused once parsed: the book's have under 100, and each cell costs a round trip
# to the kernel and a line of the grader's memory.
MAX_CELLS = 10_000
# What nbformat reads of a cell, in any version: its text (joined if a list of lines), and keys kept with a list or
# dict emptied. Outputs, attachments and metadata's contents are dropped before nbformat copies and validates the
# notebook: they cost memory and time, and grading never reads them.
_CELL_TEXTS = ("source", "input", "code", "text")
_CELL_KEYS = ("cell_type", "id", "metadata", "outputs", "attachments")
_CELL_KEYS += ("execution_count", "prompt_number", "language", "level", "collapsed")
MAX_MESSAGE = 300
MAX_ANSWER = 5000  # characters of a written answer kept in the report: a page of prose
MAX_SHOWN_VALUE = 80  # characters of a value a failed ``assert`` shows
# What must not reach a report as it is: control characters (C0, C1), line and paragraph separators,
# bidirectional overrides (which make a name read as another), lone surrogates (no UTF-8 form), non-characters.
_UNSAFE = r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
_CONTROL = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|" + _UNSAFE)
_UNSAFE_CHAR = re.compile(_UNSAFE)
_UNSAFE_IN_TEXT = re.compile(r"(?![\n\t])" + _UNSAFE)  # a written answer keeps its lines
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACES = re.compile(r"\s+")  # what str.split() splits on; one pass, not a list of every word of a huge text
MAX_LISTED_CHANGES = 3  # of the paths a notebook changed in the grader's environment, those its report names
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
    manual: bool = False  # a written answer, graded by hand


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


def student_message(test: TestResult) -> str:
    """What a student may see of a test's outcome: a hidden test's message can give its case or expected value
    away, so it says only that it failed (the format around it says which question)."""
    if test.passed:
        return ""
    return "failed" if test.hidden else test.message or "failed"


@dataclass
class QuestionResult:
    """A question's score: its points shared among its tests in hundredths (:func:`split_points`).

    A written answer (``manual``) has no tests: its score is ``pending`` until :meth:`grade_by_hand`.
    """

    name: str
    score: float
    max_score: float
    tests: list[TestResult]
    manual: bool = False
    pending: bool = False
    answer: str = ""  # a written answer's text, for the instructor

    @property
    def passed(self) -> bool:
        if self.manual:
            return not self.pending and self.score == self.max_score
        return all(t.passed for t in self.tests)

    @property
    def message(self) -> str:
        """One line for the instructor: which test failed first, and why."""
        return self._summary(student=False)

    @property
    def feedback(self) -> str:
        """One line for the student: a visible test's failure first, never a hidden test's message."""
        return self._summary(student=True)

    def _summary(self, student: bool) -> str:
        if self.manual:
            return f"{number(self.max_score)} points pending: graded by hand" if self.pending else "graded by hand"
        failed = [t for t in self.tests if not t.passed]
        if not failed:
            return f"all {len(self.tests)} tests passed"
        if student:
            failed.sort(key=lambda t: t.hidden)  # stable: the first visible failure, else the first hidden one
            why = f"{failed[0].name}: {student_message(failed[0])}" if not failed[0].hidden else "a hidden test failed"
        else:
            why = f"{failed[0].name}: {failed[0].message}"
        return f"{len(failed)} of {len(self.tests)} tests failed; {why}"

    def grade_by_hand(self, points: float) -> None:
        """Give a written answer its points; ValueError says why not (not a written answer, out of range)."""
        if not self.manual:
            raise ValueError(f"{self.name} is not graded by hand: its points come from its tests")
        if not 0 <= points <= self.max_score:
            raise ValueError(f"{self.name}: {number(points)} points is not between 0 and {number(self.max_score)}")
        self.score, self.pending = float(points), False


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
        """Points earned, leaving out written answers not yet graded by hand."""
        return exact_sum(q.score for q in self.questions if not q.pending)

    @property
    def max_score(self) -> float:
        """Points possible, leaving out written answers not yet graded by hand."""
        return exact_sum(q.max_score for q in self.questions if not q.pending)

    @property
    def pending(self) -> float:
        """Points of written answers still to be graded by hand."""
        return exact_sum(q.max_score for q in self.questions if q.pending)

    @property
    def manual(self) -> bool:
        """Whether the assignment has written answers (graded or not)."""
        return any(q.manual for q in self.questions)


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


def number(value: float) -> str:
    """A score as every report prints it: ``8``, ``0.67`` (the shortest repr, no trailing ``.0``)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def clean(text: object, limit: int = MAX_MESSAGE) -> str:
    """One printable line of at most ``limit`` characters (messages may come from the student's kernel)."""
    line = _SPACES.sub(" ", _CONTROL.sub(" ", str(text))).strip()
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
    namespace: dict = {
        "__name__": "cnnbook_grader_tests",
        "np": np,
        "test": test,
        "assert_close": assert_close,
        _EXPLAIN: explain,
    }
    registry = Registry()
    try:
        with registry.collecting():
            for cell in _import_cells(nb):
                _run(cell, f"{source.name} (imports)", namespace)
            loaded = [_load_question(question, source, namespace, registry, visible_only) for question in parsed]
            found = [question for question in loaded if question is not None]
    except GraderError:
        raise
    except Exception as error:  # noqa: BLE001 -- a test cell that fails to run is the source's fault
        raise GraderError(f"{source}: a test cell raised {type(error).__name__}: {error}") from error
    return SourceTests(source, found)


def _load_question(
    question: Question, source: Path, namespace: dict, registry: Registry, visible_only: bool
) -> SourceQuestion | None:
    """Run one question's test cells in order; a test redefined by a later cell takes that cell's visibility.

    With ``visible_only``, a question whose tests are all hidden (a prediction) is left out (None): what
    only hidden tests can check is not in the students' own score."""
    if question.manual:
        return SourceQuestion(question.name, question.points, [], manual=True)
    tests: list[SourceTest] = []
    for number, cell in enumerate(question.tests):
        before = dict(registry.tests.get(question.name, {}))
        _run(cell.source, f"{source} ({question.name} tests {number + 1})", namespace)
        for name, function in registry.tests.get(question.name, {}).items():
            if before.get(name) is not function:
                tests = [t for t in tests if t.name != name] + [SourceTest(name, cell.hidden, function)]
    kept = [t for t in tests if not (visible_only and t.hidden)]
    if visible_only and tests and not kept:
        return None
    if not kept:
        raise GraderError(f"{source}: question {question.name!r} has no {'visible ' if visible_only else ''}tests")
    return SourceQuestion(question.name, question.points, kept)


def _run(code: str, name: str, namespace: dict) -> None:
    """Execute the instructor's cell; linecache lets a failed bare ``assert`` show its line in the report."""
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)
    tree = ast.fix_missing_locations(_ExplainAsserts().visit(ast.parse(code, name)))
    exec(compile(tree, name, "exec"), namespace)  # noqa: S102 -- the instructor's own code


_EXPLAIN = "_cnnbook_explain"
_OPERATORS = {ast.Eq: "", ast.NotEq: "!= ", ast.Lt: "< ", ast.LtE: "<= ", ast.Gt: "> ", ast.GtE: ">= "}
_OPERATORS |= {ast.Is: "is ", ast.IsNot: "is not ", ast.In: "in ", ast.NotIn: "not in "}


class _ExplainAsserts(ast.NodeTransformer):
    """``assert student.f(2) == 5`` with no message fails saying what came back, as pytest's assert does:
    both sides are computed once, into names, and the message shows them (:func:`explain`)."""

    def visit_Assert(self, node: ast.Assert) -> ast.AST | list[ast.stmt]:
        test = node.test
        if node.msg is not None or not isinstance(test, ast.Compare) or len(test.ops) != 1:
            return node
        names = [ast.Name("_cnnbook_got", ast.Load()), ast.Name("_cnnbook_expected", ast.Load())]
        stores = [ast.Name(n.id, ast.Store()) for n in names]
        compute = ast.Assign([ast.Tuple(stores, ast.Store())], ast.Tuple([test.left, test.comparators[0]], ast.Load()))
        message = ast.Call(
            ast.Name(_EXPLAIN, ast.Load()),
            [ast.Constant(ast.unparse(test)), ast.Constant(_OPERATORS.get(type(test.ops[0]), "")), *names],
            [],
        )
        check = ast.Assert(ast.Compare(names[0], test.ops, [names[1]]), message)
        return [ast.copy_location(compute, node), ast.copy_location(check, node)]


def explain(source: str, operator: str, got: object, expected: object) -> str:
    """The message of a failed comparison: the case (its source), what came back, what was expected."""
    return f"{source}: got {_brief(got)}, expected {operator}{_brief(expected)}"


def _brief(value: object) -> str:
    text = _SPACES.sub(" ", repr(value)).strip()  # a value is at most an answer's size (wire.MAX_ANSWER_BYTES)
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 3] + "..."


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
    return code_cells(read_cells(path))


def code_cells(cells: list) -> list[tuple[int, str]]:
    """``(position, source)`` of every code cell with code in it."""
    code = []
    for position, cell in enumerate(cells):
        source = _source(cell)
        if isinstance(cell, dict) and cell.get("cell_type") == "code" and source.strip():
            # JSON can escape a lone surrogate ("\\ud800"), which has no UTF-8 form to send to the kernel
            code.append((position, _SURROGATE.sub("\ufffd", source)))
    return code


def written_answers(cells: list, ids: set[str]) -> dict[str, str]:
    """The text of the first cell with each of these ids, the written answers' (:func:`~.notebook.answer_id`).

    Only the text is read, whatever the cell's type or metadata says: nothing in the notebook can mark an
    answer graded. It keeps its lines, less control characters, capped at :data:`MAX_ANSWER` characters.
    """
    answers: dict[str, str] = {}
    for cell in cells:
        cell_id = cell.get("id") if isinstance(cell, dict) else None
        if isinstance(cell_id, str) and cell_id in ids and cell_id not in answers:  # an id may be any JSON
            text = _UNSAFE_IN_TEXT.sub(" ", _source(cell).replace("\r\n", "\n").strip())
            answers[cell_id] = text if len(text) <= MAX_ANSWER else text[: MAX_ANSWER - 3] + "..."
    return answers


def _source(cell: object) -> str:
    """A cell's source as one string ("" for a cell without one); a list of lines is joined."""
    source = cell.get("source") if isinstance(cell, dict) else None
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def read_cells(path: Path) -> list:
    """The cells of a submitted notebook, as nbformat reads them; SubmissionError says why not.

    At most :data:`MAX_NOTEBOOK_BYTES` are read, with at most :data:`MAX_NOTEBOOK_CONTAINERS` lists and objects, and
    parsed once; nbformat gets only what grading reads of the cells (:func:`_slim`), at most :data:`MAX_CELLS`.
    """
    raw = _read_notebook_file(path)
    if raw.count(b"{") + raw.count(b"[") > MAX_NOTEBOOK_CONTAINERS:
        raise SubmissionError(f"it has more than {MAX_NOTEBOOK_CONTAINERS:,} JSON lists and objects")
    collecting = gc.isenabled()
    gc.disable()  # JSON makes no cycles; collecting while it builds millions of lists only takes time
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise SubmissionError(f"it is not valid notebook JSON ({clean(error, 120)})") from error
    finally:
        if collecting:
            gc.enable()
    del raw
    if type(data) is not dict or not isinstance(data.get("cells", data.get("worksheets")), list):
        raise SubmissionError("it is JSON but not a Jupyter notebook (no list of cells)")
    slim = _slim(data)
    del data
    try:
        nb = nbformat.reads(json.dumps(slim), as_version=4)
        return list(nb.cells)
    except Exception as error:  # noqa: BLE001 -- nbformat raises many types for odd files
        raise SubmissionError(f"it is not a notebook nbformat can read ({clean(error, 120)})") from error


def _slim(data: dict) -> dict:
    """The notebook ``data`` less what grading never reads (:func:`_slim_cell`); SubmissionError if it has more than
    :data:`MAX_CELLS` cells (worksheets, in nbformat 3, count as cells)."""
    slim = {key: _emptied(data[key]) for key in ("nbformat", "nbformat_minor", "metadata") if key in data}
    if "cells" in data:
        _check_count(len(data["cells"]))
        slim["cells"] = [_slim_cell(cell) for cell in data["cells"]]
        return slim
    sheets = data["worksheets"]
    _check_count(len(sheets) + sum(len(s["cells"]) for s in sheets if isinstance(s, dict) and _is_list(s, "cells")))
    slim["worksheets"] = [_slim_sheet(sheet) for sheet in sheets]
    return slim


def _check_count(count: int) -> None:
    if count > MAX_CELLS:
        raise SubmissionError(f"it has {count} cells, more than the {MAX_CELLS} a notebook may have")


def _is_list(data: dict, key: str) -> bool:
    return isinstance(data.get(key), list)


def _slim_sheet(sheet: object) -> object:
    """An nbformat 3 worksheet: its cells slimmed, its metadata emptied."""
    if not isinstance(sheet, dict):
        return _emptied(sheet)
    slim = {key: _emptied(sheet[key]) for key in ("metadata", "cells") if key in sheet}
    if _is_list(sheet, "cells"):
        slim["cells"] = [_slim_cell(cell) for cell in sheet["cells"]]
    return slim


def _slim_cell(cell: object) -> object:
    """A cell with the keys nbformat reads and nothing else: its source (lines joined), type and id as they are,
    outputs, attachments and metadata emptied (nbformat validates and copies every output otherwise)."""
    if not isinstance(cell, dict):
        return _emptied(cell)
    slim = {}
    for key, value in cell.items():
        if key in _CELL_TEXTS and isinstance(value, list) and all(isinstance(line, str) for line in value):
            slim[key] = "".join(value)
        elif key in _CELL_TEXTS or key in _CELL_KEYS:
            slim[key] = _emptied(value)
    return slim


def _emptied(value: object) -> object:
    """An empty list or dict for a list or dict (whatever it held), any other JSON value as it is."""
    return type(value)() if isinstance(value, (list, dict)) else value


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
    if ENVIRONMENT.changed:  # the source's tests are not even loaded: they could import what a notebook wrote
        return not_graded(submission, source, f"not graded: {ENVIRONMENT.changed}", tests)
    tests = load_tests(source, visible_only) if tests is None else tests
    report = Report(shown(submission), shown(source), [], 0.0)
    try:
        notebook = read_cells(submission)
    except SubmissionError as error:
        report.error = f"{shown(submission.name)}: {error}"
        report.questions = [_score(q, None, {}, report.error) for q in tests.questions]
        report.seconds = round(time.monotonic() - started, 3)
        return report
    cells = code_cells(notebook)
    answers = written_answers(notebook, {answer_id(q.name) for q in tests.questions if q.manual})
    account = choose_account(user, isolate)
    report.kernel_user, report.isolated = account.describe(), account.isolated
    report.warnings = _isolation_warnings(account, source)
    report.cells = {i: clean(_first_line(s), 60) for i, s in cells}
    guarded = account.shares_grader  # the kernel can write the grader's own Python code
    if guarded:
        ENVIRONMENT.arm()
    try:
        with NotebookSession(cells, account, limits, submission) as session:
            session.run()
            student = Student(KernelTransport(session))
            report.questions = [_score(q, student, answers) for q in tests.questions]
            report.run = session.log
    except KernelError as error:
        raise GraderError(str(error)) from error
    finally:  # every process of the kernel has ended (or the grader failed): what did it change?
        changed = _environment_error(submission, ENVIRONMENT.check()) if guarded else ""
    if changed:
        report.error = changed
        report.questions = [_score(q, None, answers, changed) for q in tests.questions]
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _environment_error(submission: Path, changed: list[str]) -> str:
    """The report's error for a notebook that changed the grader's own Python environment ("" if it changed nothing);
    the first time, :attr:`ENVIRONMENT.changed <cnnbook.homework.environment.EnvironmentGuard.changed>` says it."""
    if not changed:
        return ""
    listed = ", ".join(shown(path) for path in changed[:MAX_LISTED_CHANGES])
    if len(changed) > MAX_LISTED_CHANGES:
        listed += f" and {len(changed) - MAX_LISTED_CHANGES} more"
    advice = "reinstall it before grading again"
    ENVIRONMENT.changed = (
        ENVIRONMENT.changed or f"{shown(submission)} changed the grader's own Python environment: {advice}"
    )
    return f"the notebook changed the grader's own Python environment ({listed}): {advice}"


def not_graded(submission: Path, source: Path | None, reason: str, tests: SourceTests | None = None) -> Report:
    """The report of a submission the grader would not run: ``reason`` its error, each question of ``tests`` (when
    they were loaded) at zero."""
    report = Report(shown(submission), shown(source or ""), [], 0.0, error=reason)
    if tests is not None:
        report.questions = [_score(q, None, {}, reason) for q in tests.questions]
    return report


def _first_line(source: str) -> str:
    """A cell's first line with text, read from its first kilobytes only (a cell may have millions of lines)."""
    return source.lstrip()[:1000].splitlines()[0]


def _score(
    question: SourceQuestion, student: Student | None, answers: dict[str, str], reason: str = ""
) -> QuestionResult:
    """Run a question's tests; a written answer is only read, and left pending."""
    if question.manual:
        answer = answers.get(answer_id(question.name), "")
        return QuestionResult(question.name, 0.0, question.points, [], manual=True, pending=True, answer=answer)
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
    warnings = reach_warnings(account)
    if (account.isolated or account.confined) and can_read(account, source):
        warnings.append(
            f"the source notebook {source} is readable by the kernel's user: its hidden tests and solutions "
            "are not secret (keep it in a folder only root can read: chmod 700)"
        )
    return warnings
