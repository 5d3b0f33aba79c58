#!/usr/bin/env python3
"""The project's commands. Each one sets up what it needs (a .venv with requirements.txt) first.

    python3 tasks.py book   build the HTML book into _build/html (runs every chapter)
    python3 tasks.py test   every check: lint and format, notebooks clean, exercises in sync, book with warnings
                            as errors, then pytest (library, the chapters' reference outputs in the book
                            build, nbval over the solutions, a headless browser reading the built book offline)
    python3 tasks.py lab    open JupyterLab on the project, for working the exercises

Needs only Python 3.10+. With CI set in the environment, `test` also installs PyTorch (the
tests' oracle; a student's run stays light without it) and, on Debian as root, Chromium and bubblewrap.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
TORCH = "torch==2.13.0"  # the CPU build the tests compare against


def run(*command: str | Path, **kwargs) -> None:
    """Run a command from the repository root; stop with its exit code if it fails."""
    print("+", " ".join(str(c) for c in command), flush=True)
    code = subprocess.call([str(c) for c in command], cwd=ROOT, **kwargs)
    if code:
        sys.exit(code)


def ensure_venv(with_torch: bool = False) -> None:
    """Create .venv and install requirements.txt, unless what it holds is already up to date."""
    if sys.version_info < (3, 10):  # noqa: UP036 (tasks.py runs on whatever python3 the machine has)
        sys.exit(f"cnnbook needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    wanted = [TORCH] if with_torch else []
    digest = hashlib.sha256(b"".join((ROOT / f).read_bytes() for f in ("requirements.txt", "pyproject.toml")))
    digest.update(" ".join(wanted).encode())
    stamp = VENV / ".installed"
    if PYTHON.exists() and stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", "requirements.txt", *wanted)
    stamp.write_text(digest.hexdigest())


def build_book(*extra: str) -> None:
    """Execute every chapter and write the HTML book to _build/html (with its scripts, for offline reading)."""
    run(PYTHON, "-m", "cnnbook.book.offline")
    run(PYTHON, "-m", "cnnbook.data.spam")  # chapter 10 trains on it; the tests only read it
    shutil.rmtree(ROOT / "_build" / "html", ignore_errors=True)  # no stale pages from renamed chapters
    # Interactives freeze every frame into the page, so they answer readers without a kernel (cnnbook.book.live).
    run(BIN / "jupyter-book", "build", ".", "--path-output", ".", *extra, env={**os.environ, "CNNBOOK_STATIC": "1"})


def book() -> None:
    ensure_venv()
    build_book()
    print(f"\nThe book is at {ROOT / '_build' / 'html' / 'index.html'}")


def ensure_ci_packages() -> None:
    """In CI (as root on Debian), install what the tests need beyond Python, if missing: Chromium and a CJK font
    for the browser test, bubblewrap for the grader's sandbox."""
    wanted = {"chromium": ["chromium", "fonts-wqy-zenhei"], "bwrap": ["bubblewrap"]}
    missing = [package for command, packages in wanted.items() if not shutil.which(command) for package in packages]
    if not missing or not shutil.which("apt-get") or os.geteuid() != 0:
        return
    run("apt-get", "update", "-qq")
    run(
        "apt-get",
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        *missing,
        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
    )


def test() -> None:
    ci = bool(os.environ.get("CI"))
    ensure_venv(with_torch=ci)
    if ci:
        ensure_ci_packages()
    run(BIN / "ruff", "check", ".")  # the linter, then the formatter, as configured in pyproject.toml
    run(BIN / "ruff", "format", "--check", ".")
    run(PYTHON, "-m", "cnnbook.book.nbclean", "--check", "notebooks", "solutions", "exercises")
    run(PYTHON, "-m", "cnnbook.homework.generate", "--check")
    build_book("-W", "-n", "--keep-going")  # Sphinx warnings and broken references are errors
    run(
        PYTHON,
        "-m",
        "pytest",
        "tests",  # tests/test_notebook_outputs.py checks the chapters as the book build above ran them
        "solutions",
        "--nbval-lax",
        "--nbval-cell-timeout=600",
        "--durations=15",  # the slowest tests, printed: where the test command's minutes go
        "-p",
        "no:cacheprovider",
    )


def lab() -> None:
    ensure_venv()
    run(BIN / "jupyter", "lab", *sys.argv[2:])


COMMANDS = {"book": book, "test": test, "lab": lab}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]]()
