"""A real browser reads the built book with the network off.

Headless Chromium opens every page of ``_build/html`` (served on 127.0.0.1; every other address is
refused) and the test fails on a JavaScript error, a request that leaves the machine, a missing
image, math that MathJax did not typeset, or a saved widget that did not render. A screenshot of
each page goes to ``_build/screenshots/``. ``python3 tasks.py test`` builds the book first.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = next(
    (
        p
        for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
        if p and Path(p).exists()
    ),
    None,
)
REQUIRED = bool(os.environ.get("CI"))  # in CI a missing browser or book is a failure, not a skip

PAGES = (
    sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if not {"_static", "vendor", "_sources", "_images"} & set(p.relative_to(HTML).parts)
    )
    if HTML.exists()
    else []
)

# Runs in the page: what a reader would notice. Waits for MathJax and the widget manager first.
INSPECT = """async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length;
  for (let i = 0; i < 100 && document.querySelectorAll('.jupyter-widgets').length < views; i++) await sleep(100);
  // Load every declared font now: browsers differ in which ones they fetch lazily, and a missing one is a 404.
  await Promise.allSettled([...document.fonts].map(f => f.load()));
  const images = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);
  const math = [...document.querySelectorAll('.math')]
    .filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60));
  return {views, rendered: document.querySelectorAll('.jupyter-widgets').length, images, math,
          errors: [...document.querySelectorAll('.jupyter-widgets')].filter(w => /error/i.test(w.textContent)).length};
}"""


def _missing() -> str | None:
    if not PAGES:
        return "the book is not built (run: python3 tasks.py book)"
    if CHROMIUM is None:
        return "Chromium is not installed (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def book_browser():
    reason = _missing()
    if reason:
        (pytest.fail if REQUIRED else pytest.skip)(reason)
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(HTML)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_port}/"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        outside: list[str] = []

        def gate(route):  # the network is off: only the book's own server answers
            if route.request.url.startswith(origin):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", gate)
        yield context, origin, outside
        browser.close()
    server.shutdown()


@pytest.mark.parametrize("name", PAGES or ["(no pages)"])
def test_page_reads_well_offline(book_browser, name):
    context, origin, outside = book_browser
    outside.clear()
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    page.on("console", lambda m: problems.append(f"console error: {m.text}") if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed to load {r.url}") if r.url.startswith(origin) else None)
    page.goto(origin + name, wait_until="load")
    page.wait_for_load_state("networkidle")  # index.html redirects to the first page
    seen = page.evaluate(INSPECT)
    page.screenshot(path=str(SHOTS / (name.replace("/", "__").removesuffix(".html") + ".png")), full_page=True)
    page.close()
    problems += [f"missing image {src}" for src in seen["images"]]
    problems += [f"math not typeset: {text!r}" for text in seen["math"]]
    problems += [f"request left the machine: {url}" for url in outside if not url.startswith("data:")]
    if seen["rendered"] < seen["views"] or seen["errors"]:
        problems.append(f"{seen['views']} saved widgets, {seen['rendered']} rendered, {seen['errors']} with errors")
    assert not problems, "\n".join(problems)


# Runs in the page: every control of every frozen interactive, moved through each of its values in turn.
MOVE_EVERY_CONTROL = """async () => {
  const hex = async text => [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))]
    .map(b => b.toString(16).padStart(2, '0')).join('');
  const states = [];
  for (const [n, root] of [...document.querySelectorAll('.cnnbook-live')].entries()) {
    const frames = JSON.parse(root.querySelector('script.cnnbook-live-frames').textContent);
    const controls = [...root.querySelectorAll('[data-control]')];
    const view = root.querySelector('.cnnbook-live-view');
    const start = controls.map(c => c.value);
    for (const control of controls) {
      const values = control.tagName === 'SELECT' ? [...control.options].map(o => o.value)
        : [...Array(Number(control.max) + 1).keys()].map(String);
      for (const value of values) {
        control.value = value;
        control.dispatchEvent(new Event('input'));
        const key = controls.map(c => c.value).join(',');
        const [html, digest] = frames[key];
        const figure = /^<img alt="figure" src="data:image\\/png;base64,[^"]*">$/.test(html);
        const drawn = document.createElement('template');
        drawn.innerHTML = html;  // the frame as the browser parses it, to compare with what the page shows
        states.push({interactive: n, control: control.dataset.control, key, shownKey: view.dataset.key,
                     shown: view.dataset.digest, expected: digest, sameAsFrame: drawn.innerHTML === view.innerHTML,
                     png: figure ? view.querySelector('img').src.split(',')[1] : null,
                     htmlDigest: figure ? null : await hex(html), label: control.nextElementSibling.textContent});
      }
      control.value = start[controls.indexOf(control)];
      control.dispatchEvent(new Event('input'));
    }
  }
  return states;
}"""

LIVE_PAGES = [name for name in PAGES if "cnnbook-live" in (HTML / name).read_text(encoding="utf-8")]


@pytest.mark.parametrize("name", LIVE_PAGES or ["(no interactive pages)"])
def test_every_control_of_every_interactive_answers_the_reader(book_browser, name):
    """Moving a control shows the frame Python drew for the values the controls now read, and it changes."""
    import base64
    import hashlib

    if not LIVE_PAGES:  # a book built without CNNBOOK_STATIC (python3 tasks.py book sets it)
        (pytest.fail if REQUIRED else pytest.skip)("no page holds a frozen interactive")
    context, origin, _ = book_browser
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(origin + name, wait_until="load")
    states = page.evaluate(MOVE_EVERY_CONTROL)
    first = page.locator(".cnnbook-live").first
    shot = SHOTS / (name.replace("/", "__").removesuffix(".html") + "--live")
    first.screenshot(path=f"{shot}-a.png")
    control = first.locator("[data-control]").first
    if control.evaluate("c => c.tagName") == "SELECT":
        control.select_option(index=control.evaluate("c => c.options.length - 1"))
    else:
        control.fill(control.evaluate("c => c.max"))
    first.screenshot(path=f"{shot}-b.png")
    page.close()
    assert not errors and states, (errors, name)
    for state in states:
        assert state["shownKey"] == state["key"] and state["shown"] == state["expected"], state
        assert state["sameAsFrame"], state  # the page shows the frame drawn for the values the controls read
        if state["png"] is not None:  # a figure: the PNG shown has the digest Python wrote for those values
            assert hashlib.sha256(base64.b64decode(state["png"])).hexdigest() == state["expected"], state
        else:  # HTML: the frame's text has the digest Python wrote for it
            assert state["htmlDigest"] == state["expected"], state
        assert state["label"], state
    for control in {(s["interactive"], s["control"]) for s in states}:
        shown = {s["shown"] for s in states if (s["interactive"], s["control"]) == control}
        moves = sum((s["interactive"], s["control"]) == control for s in states)
        assert moves == 1 or len(shown) > 1, f"{name}: moving {control[1]!r} never changed what the page shows"
