"""Grader side: the grader's requests to the student's kernel, and its reading of the answers, as JSON text.

A request is a Python expression sent as a Jupyter ``user_expressions`` entry (so it leaves no
trace in the notebook's history or ``Out``); it makes the kernel import
:mod:`cnnbook.homework.in_kernel` and call its ``answer``, which returns JSON. The grader names
that function here only in the text it sends: it never runs it. Everything that comes back is
untrusted: the student's code controls that kernel, can rebind any name and can fabricate any
reply. :func:`parse_reply` therefore accepts only ``{"value": plain}`` or ``{"error": str}``, and
the value is rebuilt by :func:`~cnnbook.homework.in_kernel.decode` into trusted types. The worst
a fabricated reply can do is fail a test: the kernel never sees the expected values, which are
computed in the grader's own process.
"""

from __future__ import annotations

import ast
import json
from typing import Any

KERNEL_SIDE = "cnnbook.homework.in_kernel"  # the module the kernel imports to answer a request
MAX_REPLY_CHARS = 256 << 20  # an answer bigger than this is not an answer to an exercise


def request_expression(name: str, call: tuple[Any, Any] | None = None) -> str:
    """The expression that asks the kernel for ``name`` (called with already-encoded ``call`` arguments)."""
    payload = json.dumps({"name": name, "call": None if call is None else list(call)})
    # only builtins and our module are named, so a student's variable called json or answer changes nothing
    return f"__import__({KERNEL_SIDE!r}, fromlist=['answer']).answer(globals(), {payload!r})"


def parse_reply(result: Any) -> dict:
    """Turn the kernel's ``user_expressions`` entry (untrusted) into ``{"value": ...}`` or ``{"error": str}``."""
    if type(result) is not dict:
        return {"error": "the notebook sent back something that is not an answer"}
    if result.get("status") != "ok":
        return {
            "error": f"the grader could not query the notebook ({_text(result.get('ename'))}: "
            f"{_text(result.get('evalue'))})"
        }
    data = result.get("data")
    shown = data.get("text/plain") if type(data) is dict else None
    if type(shown) is not str or len(shown) > MAX_REPLY_CHARS:
        return {"error": "the notebook sent back an answer the grader cannot read"}
    try:
        text = ast.literal_eval(shown)  # the repr of a str; literal_eval builds literals only
        parsed = json.loads(text) if type(text) is str else None
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        parsed = None
    if type(parsed) is dict and len(parsed) == 1 and "value" in parsed:
        return parsed
    if type(parsed) is dict and len(parsed) == 1 and type(parsed.get("error")) is str:
        return {"error": parsed["error"][:500]}
    return {"error": "the notebook sent back a malformed answer"}


def _text(value: Any) -> str:
    return value[:200] if type(value) is str else "unknown"
