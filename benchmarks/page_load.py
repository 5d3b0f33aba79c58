"""How long each chapter page of the built book takes until every interactive answers (issue 15: within 3 s).

    .venv/bin/python benchmarks/page_load.py      # after python3 tasks.py book; needs Chromium and playwright

Serves ``_build/html`` on 127.0.0.1 and, per chapter, times from the request to the moment every frozen
interactive (``cnnbook.book.live``) shows its first frame, and to the page's load event.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

HTML = Path(__file__).resolve().parents[1] / "_build" / "html"
READY = """() => { const v = [...document.querySelectorAll('.cnnbook-live-view')];
  return v.length > 0 && v.every(e => e.dataset.key); }"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def main() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(HTML)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_port}/notebooks/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        context = browser.new_context()
        for name in sorted(p.name for p in (HTML / "notebooks").glob("*.html")):
            page = context.new_page()
            start = time.perf_counter()
            page.goto(origin + name, wait_until="commit")
            page.wait_for_function(READY, timeout=30_000)
            ready = time.perf_counter() - start
            page.wait_for_load_state("load")
            print(
                f"{name}: every interactive answers after {ready:.2f} s; load event {time.perf_counter() - start:.2f} s"
            )
            page.close()
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
