"""The ``student`` handle that tests receive: it reaches the student's names only as plain data.

``student.edge`` is the value of the student's ``edge``; ``student.output_size(7, 3)`` calls
the student's function. Arguments and results both go through :mod:`cnnbook.homework.plain`,
so tests compare plain numbers and arrays, never the student's objects. Where the student's
code runs is the transport's business: in the same process for ``check`` in JupyterLab, in a
separate kernel for the grader.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from cnnbook.homework.plain import decode, encode


class StudentError(Exception):
    """The student's code raised, or a name the test needs is missing."""


class Transport(Protocol):
    """Runs requests in the student's namespace and answers with plain data."""

    def get(self, name: str) -> dict: ...

    def call(self, name: str, args: Any, kwargs: Any) -> dict: ...


def run_request(namespace: dict, name: str, call: tuple[Any, Any] | None = None) -> dict:
    """Look up ``name`` (and call it with plain ``call`` arguments); answer ``{"value": ...}`` or ``{"error": ...}``.

    This is the one function that executes the student's code for a test; it runs wherever
    the student's namespace lives.
    """
    if name not in namespace:
        return {"error": f"NameError: {name!r} is not defined (did you run the cell that defines it?)"}
    try:
        value = namespace[name]
        if call is not None:
            args, kwargs = decode(call[0]), decode(call[1])
            value = value(*args, **kwargs)
        return {"value": encode(value)}
    except NotImplementedError:
        return {"error": "NotImplementedError: not answered yet"}
    except BaseException as error:  # noqa: BLE001 -- the student's code may raise anything, even SystemExit
        return {"error": f"{type(error).__name__}: {error}"[:500]}


class LocalTransport:
    """Runs requests in a namespace of this process (the notebook's own, for ``check``)."""

    def __init__(self, namespace: dict) -> None:
        self.namespace = namespace

    def get(self, name: str) -> dict:
        return run_request(self.namespace, name)

    def call(self, name: str, args: Any, kwargs: Any) -> dict:
        return run_request(self.namespace, name, (args, kwargs))


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
