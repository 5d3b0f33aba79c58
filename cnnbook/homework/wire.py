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

An answer is at most :data:`MAX_ANSWER_BYTES` of JSON: the request tells the kernel so (an honest
kernel answers "the answer is larger than 4 MB" itself), and :func:`parse_reply` checks the length of
what came back before it decodes anything, so a larger one costs the grader no more than its text.
"""

from __future__ import annotations

import json
from typing import Any

KERNEL_SIDE = "cnnbook.homework.in_kernel"  # the module the kernel imports to answer a request
# The JSON of one answer: 13 times the largest of the book's exercises (0.3 MB, chapter 7); decoding one costs the
# grader up to 25 times its size, and the kernel's message holds it escaped twice (repr, then JSON): 4 times it.
MAX_ANSWER_BYTES = 4 << 20
_MAX_SHOWN = 2 * MAX_ANSWER_BYTES + 2  # its repr, what the kernel shows: each character escaped at most once, quoted
TOO_LARGE = f"the answer is larger than {MAX_ANSWER_BYTES >> 20} MB, more than the grader reads"


def request_expression(name: str, call: tuple[Any, Any] | None = None) -> str:
    """The expression that asks the kernel for ``name`` (called with already-encoded ``call`` arguments)."""
    payload = json.dumps({"name": name, "call": None if call is None else list(call), "limit": MAX_ANSWER_BYTES})
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
    if type(shown) is not str:
        return {"error": "the notebook sent back an answer the grader cannot read"}
    if len(shown) > _MAX_SHOWN:  # measured before anything is decoded
        return {"error": TOO_LARGE}
    try:
        text = _unrepr(shown)
        if text is not None and len(text) > MAX_ANSWER_BYTES:
            return {"error": TOO_LARGE}
        parsed = json.loads(text) if text is not None else None
    except (ValueError, TypeError, MemoryError, RecursionError):
        parsed = None
    if type(parsed) is dict and len(parsed) == 1 and "value" in parsed:
        return parsed
    if type(parsed) is dict and len(parsed) == 1 and type(parsed.get("error")) is str:
        return {"error": parsed["error"][:500]}
    return {"error": "the notebook sent back a malformed answer"}


def _unrepr(shown: str) -> str | None:
    """The str whose repr ``shown`` is (the answer's JSON is ASCII, and so is its repr), or None.

    Not :func:`ast.literal_eval`: that parses whatever it is given into a syntax tree first, and the tree of a few
    megabytes of ``[0, 0, ...`` takes gigabytes. This reads one quoted string and its escapes, nothing else.
    """
    quote = shown[:1]
    if len(shown) < 2 or quote not in ("'", '"') or shown[-1] != quote or not shown.isascii():
        return None
    return shown[1:-1].encode("ascii").decode("unicode_escape")  # UnicodeDecodeError (a ValueError) if malformed


def _text(value: Any) -> str:
    return value[:200] if type(value) is str else "unknown"
