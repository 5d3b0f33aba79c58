"""The ``student`` handle that tests receive: it reaches the student's names only as plain data.

``student.edge`` is the value of the student's ``edge``; ``student.output_size(7, 3)`` calls
the student's function. Arguments and results both go through the codec of
:mod:`cnnbook.homework.in_kernel`, so tests compare plain numbers and arrays, never the student's
objects. The handle runs wherever the tests run: in the grader's own process, and in the
notebook for ``check``. Where the student's code runs is the transport's business: in the same
process for ``check`` in JupyterLab (:class:`~cnnbook.homework.in_kernel.LocalTransport`), in a
separate kernel for the grader (:class:`~cnnbook.homework.kernel.KernelTransport`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from cnnbook.homework.in_kernel import decode, encode


class StudentError(Exception):
    """The student's code raised, or a name the test needs is missing."""


class Transport(Protocol):
    """Runs requests in the student's namespace and answers with plain data."""

    def get(self, name: str) -> dict: ...

    def call(self, name: str, args: Any, kwargs: Any) -> dict: ...


def _unwrap(answer: dict, what: str) -> Any:
    if type(answer) is not dict or ("value" not in answer and "error" not in answer):
        raise StudentError(f"{what}: no answer came back from the notebook")
    if "error" in answer:
        raise StudentError(f"{what} raised {answer['error']}")
    return decode(answer["value"])


class Student:
    """Attribute access reads the student's names; calling a function name calls it remotely."""

    def __init__(self, transport: Transport) -> None:
        object.__setattr__(self, "_transport", transport)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        answer = self._transport.get(name)
        value = _unwrap(answer, name)
        if type(answer.get("value")) is dict and "callable" in answer["value"]:
            return self._function(name)
        return value

    def _function(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            shown = ", ".join([_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()])
            return _unwrap(self._transport.call(name, encode(args), encode(kwargs)), f"{name}({shown})")

        call.__name__ = name
        return call


def _short(value: Any) -> str:
    text = f"array of shape {value.shape}" if hasattr(value, "shape") else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
