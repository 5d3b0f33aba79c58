"""Interactives that answer the reader in a running kernel and in the static HTML book alike.

``interactive(draw, x=[...], y=[...])`` gives ``draw`` one control per keyword, each over a short list of
values, and shows what ``draw(x=..., y=...)`` returns: a matplotlib figure, anything with an HTML form
(``_repr_html_``, e.g. :class:`~cnnbook.book.display.Table`), or a string of HTML.

- **In a kernel** (JupyterLab, Colab, Binder, nbval) the controls are ipywidgets and ``draw`` runs on
  every move.
- **When the book is built** (``CNNBOOK_STATIC`` set in the environment, as ``python3 tasks.py book`` does)
  ``draw`` runs once for every combination of values, and one HTML output holds those frames, the
  controls, and a few lines of JavaScript that show the frame of the values chosen. The page needs no
  kernel, no widget manager and no request: it answers from a folder on disk or any static server.

Both modes call the same ``draw`` with the same values, so the book never draws anything twice by hand.
Each frame carries the SHA-256 of what Python drew (``data-digest``): the browser test moves every
control and checks that the page shows the frame Python drew for the values it reads off the controls.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import multiprocessing
import os
import sys
import uuid
import warnings
from collections.abc import Callable, Sequence
from typing import Any

#: Frames per interactive at most: the built book stays small (a frame is a PNG of about 20-60 KB).
MAX_FRAMES = 200
STATIC_ENV = "CNNBOOK_STATIC"

Choices = Sequence[Any]  # values, or (label, value) pairs


def static() -> bool:
    """Whether interactives are being frozen into the HTML book (``CNNBOOK_STATIC`` is set and not "0")."""
    return os.environ.get(STATIC_ENV, "0") not in ("", "0")


def _labelled(name: str, choices: Choices) -> list[tuple[str, Any]]:
    """``[(label, value), ...]`` for a control; a ValueError for an empty one."""
    pairs = [c if isinstance(c, tuple) and len(c) == 2 and isinstance(c[0], str) else (str(c), c) for c in choices]
    if not pairs:
        raise ValueError(f"control {name!r} needs at least one value")
    return pairs


def render(output: Any) -> tuple[str, str]:
    """``(html, sha256)`` of one frame: a figure as an inline PNG (digest of the PNG bytes), anything else as
    its HTML (digest of that text). A figure is closed once drawn, so frames do not pile up in memory."""
    from matplotlib.figure import Figure

    if isinstance(output, Figure):
        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        output.savefig(buffer, format="png", dpi=72, bbox_inches="tight")
        plt.close(output)
        png = buffer.getvalue()
        source = base64.b64encode(png).decode()
        return f'<img alt="figure" src="data:image/png;base64,{source}">', hashlib.sha256(png).hexdigest()
    if hasattr(output, "_repr_html_"):
        text = output._repr_html_()
    elif isinstance(output, str):
        text = output
    else:
        raise TypeError(
            f"draw must return a matplotlib Figure, HTML text or an object with _repr_html_, got {output!r}"
        )
    return text, hashlib.sha256(text.encode()).hexdigest()


# Shows the frame of the controls' values; every page holds its frames, so nothing is fetched.
_SCRIPT = """(function () {
  const root = document.getElementById("%(id)s");
  const frames = JSON.parse(root.querySelector("script.cnnbook-live-frames").textContent);
  const controls = [...root.querySelectorAll("[data-control]")];
  const view = root.querySelector(".cnnbook-live-view");
  function update() {
    const key = controls.map(c => c.value).join(",");
    for (const c of controls) c.nextElementSibling.textContent = JSON.parse(c.dataset.labels)[c.value];
    view.innerHTML = frames[key][0];
    view.dataset.key = key;
    view.dataset.digest = frames[key][1];
  }
  for (const c of controls) c.addEventListener("input", update);
  update();
})();"""


def frozen(draw: Callable[..., Any], defaults: dict[str, Any] | None = None, **controls: Choices) -> str:
    """The static HTML of an interactive: every frame of ``draw``, the controls, and the script that switches."""
    named = {name: _labelled(name, choices) for name, choices in controls.items()}
    count = 1
    for pairs in named.values():
        count *= len(pairs)
    if count > MAX_FRAMES:
        sizes = " x ".join(f"{len(p)} {name}" for name, p in named.items())
        raise ValueError(f"{sizes} make {count} frames; at most {MAX_FRAMES} (choose fewer values)")
    keys = list(itertools.product(*(range(len(p)) for p in named.values())))
    frames = dict(zip((",".join(map(str, indices)) for indices in keys), _draw_all(draw, named, keys)))
    element = f"cnnbook-live-{uuid.uuid4().hex[:12]}"
    rows = []
    for name, pairs in named.items():
        start = _start(pairs, (defaults or {}).get(name))
        labels = html.escape(json.dumps([label for label, _ in pairs]))
        attributes = f'data-control="{html.escape(name)}" data-labels="{labels}"'
        if _numeric(pairs):
            field = f'<input type="range" min="0" max="{len(pairs) - 1}" step="1" value="{start}" {attributes}>'
        else:
            options = "".join(
                f'<option value="{i}"{" selected" if i == start else ""}>{html.escape(label)}</option>'
                for i, (label, _) in enumerate(pairs)
            )
            field = f"<select {attributes}>{options}</select>"
        rows.append(
            '<label style="display:flex;gap:.6em;align-items:center;margin:.2em 0">'
            f'<span style="min-width:8em">{html.escape(name)}</span>{field}<output></output></label>'
        )
    data = json.dumps(frames).replace("</", "<\\/")  # no "</script>" can end the data early
    return (
        f'<div class="cnnbook-live" id="{element}">{"".join(rows)}'
        f'<div class="cnnbook-live-view"></div>'
        f'<script type="application/json" class="cnnbook-live-frames">{data}</script>'
        f"<script>{_SCRIPT % {'id': element}}</script></div>"
    )


# What the worker processes of _draw_all draw: set before they fork, so they inherit it (a draw function is
# often a closure of the notebook's, which could not be pickled to them).
_JOB: tuple[Callable[..., Any], dict[str, list[tuple[str, Any]]]] | None = None


def frame_workers(frames: int) -> int:
    """How many processes draw ``frames`` frames: one per available core, on Linux only (the workers are
    forked, which is safe there), and one where there are too few frames to pay for starting them."""
    if sys.platform != "linux" or frames < 4:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), frames // 2))


def _draw_all(draw: Callable[..., Any], named: dict[str, list[tuple[str, Any]]], keys: list[tuple[int, ...]]):
    """``render(draw(...))`` for every tuple of value indices in ``keys``, in order, drawn by
    :func:`frame_workers` processes (the frames are independent; building the book spends most of its time
    drawing them)."""
    global _JOB
    workers = frame_workers(len(keys))
    if workers == 1:
        return [_draw_frame(indices, (draw, named)) for indices in keys]
    _JOB = (draw, named)
    try:
        with warnings.catch_warnings():  # Python 3.12+ warns of fork in a threaded process: the workers only draw
            warnings.simplefilter("ignore", DeprecationWarning)
            pool = multiprocessing.get_context("fork").Pool(workers, initializer=_quiet)
        with pool:
            return pool.map(_draw_frame, keys, chunksize=max(1, len(keys) // (4 * workers)))
    finally:
        _JOB = None


def _quiet() -> None:
    """A worker writes nothing: a forked kernel's output streams belong to the kernel's own threads."""
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (open for the worker's whole life)


def _draw_frame(indices: tuple[int, ...], job=None) -> tuple[str, str]:
    """One frame: ``draw`` called with the values at ``indices``, rendered."""
    draw, named = job or _JOB
    values = {name: pairs[i][1] for (name, pairs), i in zip(named.items(), indices)}
    return render(draw(**values))


def _numeric(pairs: list[tuple[str, Any]]) -> bool:
    """A slider suits several numbers; anything else is a menu."""
    return len(pairs) > 1 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for _, v in pairs)


def _start(pairs: list[tuple[str, Any]], default: Any) -> int:
    """The index of the control's first position: the default's, else the first value."""
    return next((i for i, (_, value) in enumerate(pairs) if default is not None and value == default), 0)


def interactive(draw: Callable[..., Any], defaults: dict[str, Any] | None = None, **controls: Choices) -> None:
    """Show ``draw`` with one control per keyword (a list of values, or of ``(label, value)`` pairs).

    ``defaults`` names the value each control starts at (else its first). Frozen into the page when the
    book is built (:func:`static`); ipywidgets in a kernel.
    """
    from IPython.display import HTML, display

    if static():
        display(HTML(frozen(draw, defaults, **controls)))
        return
    import ipywidgets as widgets

    named = {name: _labelled(name, choices) for name, choices in controls.items()}
    boxes = {}
    for name, pairs in named.items():
        value = pairs[_start(pairs, (defaults or {}).get(name))][1]
        kind = widgets.SelectionSlider if _numeric(pairs) else widgets.Dropdown
        boxes[name] = kind(options=pairs, value=value, description=name, style={"description_width": "initial"})

    def show(**values: Any) -> None:
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        output = draw(**values)
        if isinstance(output, Figure):  # the same test as render's: a figure is shown as itself, then closed
            display(output)
            plt.close(output)
        else:
            display(HTML(render(output)[0]))

    widgets.interact(show, **boxes)
