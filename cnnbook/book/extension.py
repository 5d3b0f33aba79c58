"""A small Sphinx extension for the book's HTML (listed in ``_config.yml``).

* Jupyter Book 1 registers sphinx-thebe's inline configuration script twice, so every page
  declared ``const THEBE_JS_URL`` twice: a JavaScript error on each page. Scripts are de-duplicated.
* The ipywidgets manager loads its icon fonts relative to the URLs requirejs gives its modules:
  requirejs's ``baseUrl`` is set, page by page, to the book's own ``vendor/`` copy
  (see :mod:`cnnbook.book.offline`).
* The ipywidgets manager calls MathJax 2's API; a shim maps it to MathJax 3.
* The kernel client that executes the chapters polls in short slices (:mod:`cnnbook.book.polling`):
  a missed wake-up once made a chapter wait for the whole cell timeout.
"""

from __future__ import annotations

from typing import Any

from cnnbook.book.polling import poll_in_slices

# ipywidgets' HTML manager typesets widget labels with MathJax 2's ``MathJax.Hub.Queue``, which
# MathJax 3 lacks: every widget threw. This shim maps it to MathJax 3's typesetPromise, both before
# MathJax loads (the config object) and after (MathJax 3 replaces the global at startup).
MATHJAX2_SHIM = """(function () {
  var hub = {Queue: function (job) {
    var mj = window.MathJax, el = job && job[2];
    if (mj && mj.startup && mj.startup.promise && mj.typesetPromise) {
      mj.startup.promise.then(function () { return mj.typesetPromise(el ? [el] : undefined); });
    }
  }};
  window.MathJax.Hub = hub;
  window.MathJax.startup = Object.assign(window.MathJax.startup || {}, {
    ready: function () { MathJax.startup.defaultReady(); MathJax.Hub = hub; }
  });
})();"""


def _dedupe(scripts: list) -> list:
    seen: set = set()
    unique = []
    for script in scripts:  # the same script may be registered once with filename None, once with ""
        key = (getattr(script, "filename", script) or "", tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    return unique


def _page_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    vendor = context["pathto"]("vendor/", 1)
    kind = type(scripts[0])
    page = []
    for script in _dedupe(scripts):
        page.append(script)
        name = str(getattr(script, "filename", "") or "")
        body = getattr(script, "attributes", {}).get("body", "")
        if name.endswith("require.js"):
            # The widget manager finds its fonts next to the module URLs requirejs computes.
            page.append(kind(None, body=f'require.config({{baseUrl: "{vendor}"}});'))
        if body.startswith("window.MathJax"):
            page.append(kind(None, body=MATHJAX2_SHIM))
    scripts[:] = page


def setup(app: Any) -> dict:
    """Register the page hook (Sphinx entry point)."""
    poll_in_slices()  # this process runs the chapters' kernels (MyST-NB's execution)
    app.connect("html-page-context", _page_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
