"""Plain data: the only values that travel between a student's code and the tests.

A test never compares the student's own objects: it compares what :func:`encode` made of them,
rebuilt by :func:`decode`. Only exact built-in types and real NumPy arrays survive (checked
with ``type(x) is ...``, never ``isinstance``), so an object whose ``__eq__`` always says
true, or an ``ndarray`` subclass with tricks, arrives as :class:`Unsupported` and compares
unequal to everything. The encoding is JSON-ready, so it can cross a process boundary
without pickle.
"""

from __future__ import annotations

import base64
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
        return {"ndarray": {"dtype": array.dtype.str, "shape": list(array.shape),
                            "data": base64.b64encode(array.tobytes()).decode("ascii")}}
    if isinstance(value, np.generic) and kind.__module__ == "numpy" and value.dtype.kind in "biuf":
        return encode(value.item(), depth)
    if callable(value):
        return {"callable": getattr(value, "__name__", kind.__name__)}
    return {"unsupported": f"a {kind.__module__}.{kind.__qualname__} object, which the tests cannot compare"}


def decode(data: Any) -> Any:
    """Rebuild plain Python and NumPy values from :func:`encode`'s output (trusting nothing in it)."""
    if type(data) in (bool, int, str, type(None)):
        return data
    if type(data) is not dict or len(data) != 1:
        return Unsupported(f"malformed data of type {type(data).__name__}")
    (tag, body), = data.items()
    if tag == "float" and type(body) is str:
        try:
            return float(body)
        except ValueError:
            return Unsupported("a malformed float")
    if tag in ("list", "tuple") and type(body) is list:
        items = [decode(item) for item in body]
        return items if tag == "list" else tuple(items)
    if tag == "dict" and type(body) is list and all(type(p) is list and len(p) == 2 for p in body):
        try:
            return {decode(k): decode(v) for k, v in body}
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
    if tag == "unsupported":
        return Unsupported(str(body))
    return Unsupported(f"data tagged {tag!r}")
