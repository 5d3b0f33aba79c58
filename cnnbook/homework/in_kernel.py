"""The code that runs inside the student's kernel: the untrusted side of the grader's wire.

Each request of the grader (:func:`cnnbook.homework.wire.request_expression`) makes the student's
kernel import this module and call :func:`answer`, which looks up a name of the student's (and
calls it) with :func:`run_request` and sends the result back as plain data made by :func:`encode`.
``check`` in JupyterLab runs :func:`run_request` too, in the notebook's own process, through
:class:`LocalTransport`.

Three rules keep the trust boundary where it can be seen and checked (``tests/test_grade.py``):

* This module runs in the untrusted kernel, whose code the student controls: it can rebind any
  name here and fabricate any reply, so **nothing it returns is trusted**. The grader reads a
  reply with :func:`cnnbook.homework.wire.parse_reply` and rebuilds its value with :func:`decode`
  in its own process; the kernel never sees the expected values.
* It **imports only the standard library and NumPy**, never the grader's side, so the kernel
  loads none of the grader's code.
* The grader's process never calls :func:`answer`, :func:`run_request` or :class:`LocalTransport`
  (they run the student's code); it names ``answer`` only in the text of a request. It uses only
  the codec, :func:`encode`, :func:`decode` and :class:`Unsupported`: pure functions of plain data,
  the same on both ends of the wire, and :func:`decode` trusts nothing in what it reads.

Plain data is the only kind of value that travels between a student's code and the tests. A
test never compares the student's own objects: it compares what :func:`encode` made of them,
rebuilt by :func:`decode`. Only exact built-in types and real NumPy arrays survive (checked
with ``type(x) is ...``, never ``isinstance``), so an object whose ``__eq__`` always says
true, or an ``ndarray`` subclass with tricks, arrives as :class:`Unsupported` and compares
unequal to everything. The encoding is JSON-ready, so it crosses the process boundary without
pickle.
"""

from __future__ import annotations

import base64
import builtins
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np

_SCALARS = (bool, int, float, str, type(None))
_MAX_DEPTH = 20


class Unsupported:
    """Stands for a value the tests cannot compare; equal to nothing, not even itself."""

    def __init__(self, description: str) -> None:
        self.description = description

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{self.description}>"


class Function:
    """A function the tests hand to the student's code, as the source of an expression over ``np`` and ``math``.

    A test's own function cannot cross the wire, and one the notebook defines is the student's to
    rewrite, so the function travels as text: ``Function("lambda a: float(np.sum(a ** 2))")``. It
    becomes a function only where the student's code runs (:func:`run_request`); the grader's
    :func:`decode` never compiles it.
    """

    def __init__(self, source: str) -> None:
        self.source = source

    def __repr__(self) -> str:
        return self.source


def encode(value: Any, depth: int = 0) -> Any:
    """Turn ``value`` into JSON-ready plain data (see the module docstring)."""
    kind = type(value)
    if depth > _MAX_DEPTH:
        return {"unsupported": "a structure nested too deeply"}
    if kind in _SCALARS:
        return {"float": repr(value)} if kind is float else value  # repr keeps nan, inf and every bit
    if kind in (list, tuple):
        return {kind.__name__: [encode(item, depth + 1) for item in value]}
    if kind is dict:
        if not all(type(key) in _SCALARS for key in value):
            return {"unsupported": "a dict with keys that are not plain numbers or strings"}
        return {"dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if kind is np.ndarray and value.dtype.kind in "biuf":
        array = np.ascontiguousarray(value)
        return {
            "ndarray": {
                "dtype": array.dtype.str,
                "shape": list(array.shape),
                "data": base64.b64encode(array.tobytes()).decode("ascii"),
            }
        }
    if isinstance(value, np.generic) and kind.__module__ == "numpy" and value.dtype.kind in "biuf":
        return encode(value.item(), depth)
    if kind is Function and type(value.source) is str:
        return {"function": value.source}
    if callable(value):
        return {"callable": getattr(value, "__name__", kind.__name__)}
    return {"unsupported": f"a {kind.__module__}.{kind.__qualname__} object, which the tests cannot compare"}


def decode(data: Any, function: Callable[[str], Any] | None = None) -> Any:
    """Rebuild plain Python and NumPy values from :func:`encode`'s output (trusting nothing in it).

    A :class:`Function` comes back as ``function(source)`` where the student's code runs, and as
    :class:`Unsupported` everywhere else (the grader never passes ``function``).
    """
    if type(data) in (bool, int, str, type(None)):
        return data
    if type(data) is not dict or len(data) != 1:
        return Unsupported(f"malformed data of type {type(data).__name__}")
    ((tag, body),) = data.items()
    if tag == "float" and type(body) is str:
        try:
            return float(body)
        except ValueError:
            return Unsupported("a malformed float")
    if tag in ("list", "tuple") and type(body) is list:
        items = [decode(item, function) for item in body]
        return items if tag == "list" else tuple(items)
    if tag == "dict" and type(body) is list and all(type(p) is list and len(p) == 2 for p in body):
        try:
            return {decode(k): decode(v, function) for k, v in body}
        except TypeError:
            return Unsupported("a dict with unhashable keys")
    if tag == "ndarray" and type(body) is dict:
        try:
            dtype = np.dtype(body["dtype"])
            if dtype.kind not in "biuf":
                raise ValueError(dtype)
            raw = base64.b64decode(body["data"], validate=True)
            return np.frombuffer(raw, dtype=dtype).reshape([int(n) for n in body["shape"]]).copy()
        except (KeyError, TypeError, ValueError):
            return Unsupported("a malformed array")
    if tag == "callable":
        return Unsupported(f"the function {body}")
    if tag == "function" and type(body) is str:
        return Unsupported(f"the function {body}") if function is None else function(body)
    if tag == "unsupported":
        return Unsupported(str(body))
    return Unsupported(f"data tagged {tag!r}")


def run_request(namespace: dict, name: str, call: tuple[Any, Any] | None = None) -> dict:
    """Look up ``name`` (and call it with plain ``call`` arguments); answer ``{"value": ...}`` or ``{"error": ...}``.

    This is the one function that executes the student's code for a test; it runs wherever
    the student's namespace lives (the kernel, or the notebook's own process for ``check``).
    """
    if name not in namespace:
        return {"error": f"NameError: {name!r} is not defined (did you run the cell that defines it?)"}
    try:
        value = namespace[name]
        if call is not None:
            args, kwargs = decode(call[0], _function), decode(call[1], _function)
            value = value(*args, **kwargs)
        return {"value": encode(value)}
    except NotImplementedError:
        return {"error": "NotImplementedError: not answered yet"}
    except BaseException as error:  # noqa: BLE001 -- the student's code may raise anything, even SystemExit
        return {"error": f"{type(error).__name__}: {error}"[:500]}


def _function(source: str) -> Any:
    """A :class:`Function` of the tests, made here, where the student's code runs: it sees NumPy, math and builtins."""
    scope = {"np": np, "math": math, "__builtins__": builtins}
    return eval(compile(source, "<a function of the tests>", "eval"), scope)  # noqa: S307 -- the instructor's code


class LocalTransport:
    """Runs requests in a namespace of this process: the notebook's own, for ``check``."""

    def __init__(self, namespace: dict) -> None:
        self.namespace = namespace

    def get(self, name: str) -> dict:
        return run_request(self.namespace, name)

    def call(self, name: str, args: Any, kwargs: Any) -> dict:
        return run_request(self.namespace, name, (args, kwargs))


def answer(namespace: dict, payload: str) -> str:
    """Answer one request of the grader's (JSON text, see :mod:`~cnnbook.homework.wire`) as JSON text.

    An answer longer than the request's ``limit`` (the most the grader reads) is not sent: an error says so.
    """
    request = json.loads(payload)
    call = request["call"]
    text = json.dumps(run_request(namespace, request["name"], None if call is None else tuple(call)))
    limit = request.get("limit")
    if type(limit) is int and len(text) > limit:
        return json.dumps({"error": f"the answer is larger than {limit >> 20} MB, more than the grader reads"})
    return text
