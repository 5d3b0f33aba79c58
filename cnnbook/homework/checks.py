"""Tests for exercises: the ``@test`` decorator, ``check("q1")`` and helpful assertions.

A test is a function of one argument, the :class:`~cnnbook.homework.student.Student` handle::

    @test("q1")
    def top_left_value(student):
        assert student.edges[0, 0] == -5

The same test code runs in two places: in the student's notebook, where ``check("q1")`` gives
instant feedback, and in the grader's own process, where the student cannot reach it. In a
notebook ``@test`` registers into :data:`REGISTRY`; the grader loads a source notebook's tests
into a registry of its own (:meth:`Registry.collecting`) and passes that one along.
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnbook.homework.in_kernel import LocalTransport
from cnnbook.homework.student import Student, StudentError

TestFunction = Callable[[Student], None]


@dataclass
class Registry:
    """Tests by question, in the order they were defined; redefining a test replaces it."""

    tests: dict[str, dict[str, TestFunction]] = field(default_factory=dict)

    def add(self, question: str, function: TestFunction) -> None:
        self.tests.setdefault(question, {})[function.__name__] = function

    @contextmanager
    def collecting(self) -> Iterator[Registry]:
        """While open, ``@test`` registers here (in this thread or task only) instead of into :data:`REGISTRY`.

        Scoped rather than passed to each cell because the code run may import ``test`` afresh
        (``from cnnbook.homework import test``), which must still register here.
        """
        token = _COLLECTING.set(self)
        try:
            yield self
        finally:
            _COLLECTING.reset(token)


#: The notebook's registry: test cells executed in a notebook register into it.
REGISTRY = Registry()
_COLLECTING: ContextVar[Registry | None] = ContextVar("cnnbook_homework_collecting", default=None)


def test(question: str) -> Callable[[TestFunction], TestFunction]:
    """Register the decorated function as a test of ``question`` (for example ``"q1"``)."""
    if not isinstance(question, str) or not question:
        raise ValueError(f'use it as @test("q1"), with the question name, got {question!r}')

    def register(function: TestFunction) -> TestFunction:
        collecting = _COLLECTING.get()
        (REGISTRY if collecting is None else collecting).add(question, function)
        return function

    return register


test.__test__ = False  # not a pytest test itself


@dataclass(frozen=True)
class Outcome:
    """The result of one test."""

    name: str
    passed: bool
    message: str = ""


def run_test(function: TestFunction, student: Student) -> Outcome:
    """Run one test; a failure becomes a one-line message, never an exception."""
    try:
        function(student)
    except StudentError as error:
        return Outcome(function.__name__, False, f"your code: {error}")
    except AssertionError as error:
        return Outcome(function.__name__, False, str(error) or _failing_line(error))
    except Exception as error:  # noqa: BLE001 -- a broken test must not stop the others
        return Outcome(function.__name__, False, f"{type(error).__name__}: {error}")
    return Outcome(function.__name__, True)


def _failing_line(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    line = frames[-1].line if frames else ""
    return f"failed: {line}" if line else "an assertion failed"


@dataclass(frozen=True)
class CheckResult:
    """What ``check`` shows: every test of a question with a tick or a cross."""

    question: str
    outcomes: tuple[Outcome, ...]

    @property
    def passed(self) -> bool:
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    def summary(self) -> str:
        good = sum(o.passed for o in self.outcomes)
        if not self.outcomes:
            return f"{self.question}: no tests found (run the test cells above first)"
        verdict = "all tests passed" if self.passed else f"{good} of {len(self.outcomes)} tests passed"
        return f"{self.question}: {verdict}"

    def __repr__(self) -> str:
        lines = [self.summary()]
        for o in self.outcomes:
            lines.append(f"  {'✓' if o.passed else '✗'} {o.name}" + ("" if o.passed else f" -- {o.message}"))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#b42318"
        items = "".join(
            f"<li>{'✓' if o.passed else '✗'} <code>{html.escape(o.name)}</code>"
            + ("" if o.passed else f": {html.escape(o.message)}")
            + "</li>"
            for o in self.outcomes
        )
        return f'<div style="color:{colour}"><b>{html.escape(self.summary())}</b><ul>{items}</ul></div>'


def _notebook_namespace() -> dict:
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            return shell.user_ns
    except ImportError:
        pass
    import __main__

    return vars(__main__)


def check(question: str, namespace: dict | None = None) -> CheckResult:
    """Run the tests of ``question`` defined in this notebook against this notebook's names."""
    student = Student(LocalTransport(_notebook_namespace() if namespace is None else namespace))
    tests = REGISTRY.tests.get(question, {})
    return CheckResult(question, tuple(run_test(t, student) for t in tests.values()))


def assert_close(actual: Any, expected: Any, atol: float = 1e-6, rtol: float = 1e-6, what: str = "the result") -> None:
    """Assert two numbers or arrays agree, with a message that says how they differ."""
    expected = np.asarray(expected)
    if type(actual) in (int, float, bool) or isinstance(actual, np.generic):  # values already decoded: trusted types
        actual = np.asarray(actual)
    if type(actual) is not np.ndarray:
        raise AssertionError(f"{what} should be a number or array of shape {expected.shape}, got {actual!r}")
    if actual.shape != expected.shape:
        raise AssertionError(f"{what} should have shape {expected.shape}, got shape {actual.shape}")
    if not np.all(np.isfinite(actual)):
        raise AssertionError(f"{what} contains nan or inf")
    gap = np.abs(actual.astype(float) - expected.astype(float))
    if np.any(gap > atol + rtol * np.abs(expected)):
        worst = np.unravel_index(np.argmax(gap), gap.shape) if gap.ndim else ()
        where = f", at index {tuple(int(i) for i in worst)}" if gap.ndim else ""
        raise AssertionError(
            f"{what} is off by up to {gap.max():.4g}{where}: "
            f"got {actual[worst].item()!r}, expected {expected[worst].item()!r}"
        )
