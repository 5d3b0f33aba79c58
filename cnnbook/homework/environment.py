"""The grader's own Python environment, watched where a student's kernel could write it.

Run as an ordinary user without bubblewrap, the kernel runs as the grader's own user and can write the grader's
Python code: the cnnbook package, site-packages (a ``.pth`` file or ``sitecustomize.py`` runs at every later start of
that Python, as root too), the user site folder, the folders on ``PYTHONPATH``. Nothing here prevents that; the
grader notices it: before the first such kernel starts it imports every module it would import later and records
where the files it imports from stand (:func:`python_roots`, :func:`snapshot`: paths and ``lstat``, not contents),
and after each kernel has ended it looks again (:func:`changed_paths`). A change stops the grading
(:mod:`~cnnbook.homework.grade`, :mod:`~cnnbook.homework.cli`).
"""

from __future__ import annotations

import importlib
import os
import site
import stat
import sys
from pathlib import Path

from cnnbook.homework.sandbox import PACKAGE, inside, outermost

# What the grader imports only once it needs it (inside functions, here and in cli.py, and numpy's submodules, which
# numpy imports when a test first names them: np.random): where the kernel could rewrite it (the grader's own user,
# no bubblewrap), it is imported before the first kernel runs (EnvironmentGuard).
LAZY_MODULES = (
    "zmq",
    "zmq.utils.monitor",
    "jupyter_client",
    "jupyter_client.connect",
    "cnnbook.homework.classroom",
    "cnnbook.homework.gradescope",
    "cnnbook.homework.report",
    "cnnbook.homework.shards",
    "numpy.dtypes",
    "numpy.exceptions",
    "numpy.fft",
    "numpy.linalg",
    "numpy.ma",
    "numpy.polynomial",
    "numpy.random",
    "numpy.testing",
)

# One file of the grader's Python environment as lstat sees it: size, mtime_ns, ctime_ns (which no user can set back,
# as os.utime can the mtime), inode and device. A root that is missing is None: it must not appear.
Snapshot = dict[str, tuple[int, int, int, int, int] | None]


def python_roots() -> list[str]:
    """Where the grader's Python imports from, or will at its next start, as real paths, none inside another.

    The folders (and zip files) on ``sys.path`` (``""`` is the current folder), the user site folder, a virtual
    environment's own folder (its ``bin`` and ``pyvenv.cfg``), the cnnbook package and every package imported from
    elsewhere (an editable install's). Those missing are kept: a folder on ``sys.path`` that appears matters too.
    """
    paths = [entry or os.getcwd() for entry in sys.path if isinstance(entry, str)]
    paths += [site.getusersitepackages(), str(PACKAGE)]
    if sys.prefix != sys.base_prefix:
        paths.append(sys.prefix)
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and os.path.isabs(file):
            paths.append(os.path.dirname(file) if hasattr(module, "__path__") else file)
    return outermost(os.path.realpath(path) for path in paths)


def snapshot(roots: list[str]) -> Snapshot:
    """Every file and link under ``roots`` (links are not followed; one to a folder adds that folder as a root).

    A site-packages folder inside a root that is not on ``sys.path`` (a virtual environment's base Python's, inside
    its standard library) is left out: this Python never imports from it.
    """
    found: Snapshot = {}
    used = {os.path.realpath(entry or os.getcwd()) for entry in sys.path if isinstance(entry, str)}
    todo, seen = list(roots), set(roots)
    while todo:
        root = todo.pop()
        try:
            info = os.lstat(root)
        except OSError:
            found[root] = None
            continue
        if not stat.S_ISDIR(info.st_mode):
            found[root] = _entry(info)
            continue
        for link in _walk(root, found, used):  # a folder a link leads to is imported from too
            target = os.path.realpath(link)
            if target not in seen and not any(inside(target, r) for r in roots) and os.path.isdir(target):
                seen.add(target)
                todo.append(target)
    return found


def _walk(top: str, found: Snapshot, used: set[str]) -> list[str]:
    """Record every file and link under the folder ``top`` in ``found`` (but in site folders not ``used``); the
    links that lead to folders."""
    links, folders = [], [top]
    while folders:
        try:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):  # from the folder's listing: no system call
                        if entry.name not in _SITE_FOLDERS or os.path.realpath(entry.path) in used:
                            folders.append(entry.path)
                        continue
                    found[entry.path] = _entry(entry.stat(follow_symlinks=False))
                    if entry.is_symlink() and os.path.isdir(entry.path):
                        links.append(entry.path)
        except OSError:  # unreadable, or gone meanwhile: nothing in it can be imported then
            continue
    return links


_SITE_FOLDERS = ("site-packages", "dist-packages")


def _entry(info: os.stat_result) -> tuple[int, int, int, int, int]:
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev


def changed_paths(before: Snapshot, after: Snapshot) -> list[str]:
    """The paths changed, added or removed between two snapshots, sorted; the grader's own open output files
    (its stdout and stderr sent to a file in one of the folders) are left out."""
    own = set()
    for descriptor in (1, 2):
        try:
            info = os.fstat(descriptor)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            own.add((info.st_ino, info.st_dev))
    return sorted(
        path
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path)
        and not any(entry is not None and entry[3:] in own for entry in (before.get(path), after.get(path)))
    )


class EnvironmentGuard:
    """The grader's own Python environment, watched while kernels that could write it run: :func:`grade` uses it when
    the kernel runs as the grader's own user without bubblewrap, and in no other mode.

    Armed before the first such kernel starts: every module the grader imports later (:data:`LAZY_MODULES`) is
    imported, and the files where its Python imports from are recorded (:func:`snapshot`).
    Checked once each kernel has ended: if anything there changed, appeared or went, nothing the grader would import
    can be trusted any more, so no further notebook is graded in this process (:attr:`changed` says why,
    set by the grader).
    """

    def __init__(self) -> None:
        self.roots: list[str] = []
        self.before: Snapshot | None = None
        self.changed = ""  # once a notebook changed the environment: which, and what to do

    def arm(self) -> None:
        """Import what grading imports later, and record the environment (once, before the first kernel)."""
        if self.before is not None:
            return
        for name in LAZY_MODULES:
            importlib.import_module(name)
        self.roots = python_roots()
        self.before = snapshot(self.roots)

    def check(self) -> list[str]:
        """What changed, appeared or went since :meth:`arm` (sorted paths); call it once a kernel has ended."""
        if self.before is None:
            return []
        return changed_paths(self.before, snapshot(self.roots))

    def note_written(self, path: str | Path) -> None:
        """The grader wrote ``path`` itself (a report): take it as it now is, if it lies where Python imports from."""
        real = os.path.realpath(path)
        if self.before is not None and any(inside(real, root) for root in self.roots):
            self.before.update(snapshot([real]))


ENVIRONMENT = EnvironmentGuard()  # one per process: what one kernel changed, every later grading imports
