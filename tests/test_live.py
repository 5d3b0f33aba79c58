"""Interactives frozen into the HTML book: every frame drawn by the same function, switched by the page alone."""

from __future__ import annotations

import hashlib
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from cnnbook.book.display import Table  # noqa: E402
from cnnbook.book.live import MAX_FRAMES, frozen, interactive, render, static  # noqa: E402


def square(n: int, shout: bool) -> str:
    text = f"{n} squared is {n * n}"
    return f"<p>{text.upper() if shout else text}</p>"


def frames_of(page: str) -> dict[str, list[str]]:
    data = re.search(r'<script type="application/json" class="cnnbook-live-frames">(.*?)</script>', page, re.S)
    return json.loads(data.group(1))


def test_every_combination_is_a_frame_keyed_by_the_controls_positions():
    page = frozen(square, {"n": 3}, n=[1, 2, 3], shout=[("quietly", False), ("loudly", True)])
    frames = frames_of(page)
    assert set(frames) == {f"{i},{j}" for i in range(3) for j in range(2)}
    assert frames["2,1"][0] == "<p>3 SQUARED IS 9</p>"
    assert frames["2,1"][1] == hashlib.sha256(b"<p>3 SQUARED IS 9</p>").hexdigest()
    assert 'type="range" min="0" max="2" step="1" value="2" data-control="n"' in page  # starts at the default
    assert '<option value="1">loudly</option>' in page and "<select" in page  # not numbers: a menu


def test_a_figure_frame_is_its_png_and_the_digest_is_of_those_bytes():
    def draw(k: int):
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, k])
        return fig

    html, digest = render(draw(2))
    assert html.startswith('<img alt="figure" src="data:image/png;base64,')
    import base64

    png = base64.b64decode(html.split(",", 1)[1].rstrip('">'))
    assert png.startswith(b"\x89PNG") and hashlib.sha256(png).hexdigest() == digest
    assert not plt.get_fignums()  # closed once drawn
    assert render(Table(["a"], [[1]]))[0].startswith("<table")
    with pytest.raises(TypeError, match="must return a matplotlib Figure"):
        render(42)


def test_data_cannot_close_its_script_early_and_too_many_frames_are_refused():
    page = frozen(lambda s: f"<p>{s}</p>", s=["</script><script>alert(1)</script>"])
    assert page.count("</script>") == 2  # the data's own and the switcher's
    assert frames_of(page)["0"][0] == "<p></script><script>alert(1)</script></p>"
    with pytest.raises(ValueError, match=f"make {MAX_FRAMES + 1} frames; at most {MAX_FRAMES}"):
        frozen(square, n=list(range(MAX_FRAMES + 1)), shout=[False])
    with pytest.raises(ValueError, match="'n' needs at least one value"):
        frozen(square, n=[], shout=[False])


def test_the_mode_follows_the_environment(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects, **_: shown.extend(objects))
    monkeypatch.delenv("CNNBOOK_STATIC", raising=False)
    assert not static()
    interactive(square, n=[1, 2], shout=[False])  # a kernel: ipywidgets draws the first values at once
    assert [o.data for o in shown if hasattr(o, "data")] == ["<p>1 squared is 1</p>"]
    shown.clear()
    monkeypatch.setenv("CNNBOOK_STATIC", "1")
    assert static()
    interactive(square, n=[1, 2], shout=[False])
    assert len(shown) == 1 and 'class="cnnbook-live"' in shown[0].data and len(frames_of(shown[0].data)) == 2


def test_frames_drawn_by_several_processes_are_the_frames_one_draws(monkeypatch):
    """Building the book draws frames in forked workers; the page must be what one process would draw."""
    import cnnbook.book.live as live

    seen_by = set()
    origin = __import__("os").getpid()

    def draw(k: int, w: float):
        seen_by.add(__import__("os").getpid())  # in a worker, this set is the worker's copy
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, k], [0, w])
        ax.set_title(f"{k} {w}")
        return fig

    controls = {"k": [1, 2, 3, 4, 5, 6], "w": [0.5, 1.0]}
    monkeypatch.setattr(live, "frame_workers", lambda frames: 1)
    one = frames_of(frozen(draw, **controls))
    monkeypatch.setattr(live, "frame_workers", lambda frames: 2)
    two = frames_of(frozen(draw, **controls))
    assert one == two and len(two) == 12
    assert seen_by == {origin}  # the parallel frames were drawn elsewhere: only the serial ones here
    assert not plt.get_fignums()

    def broken(k: int):
        raise RuntimeError(f"no frame for {k}")

    with pytest.raises(RuntimeError, match="no frame for"):
        frozen(broken, k=[1, 2, 3, 4])
