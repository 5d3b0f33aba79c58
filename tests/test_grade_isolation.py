"""What a submission's kernel can reach, and what it leaves behind, in each of the grader's modes.

Modes: ``root`` (the grader runs as root; each kernel gets a dedicated uid) and ``user`` (the grader runs as an
ordinary user, here an unprivileged uid made with setpriv; the kernel runs as that same user). In both the kernel
runs in bubblewrap's namespaces when bwrap works; ``bwrap missing`` is simulated with a PATH without it. The
hostile notebooks come from tests/submissions/isolation.py. What a hostile class achieves in each mode (rewriting the
grader, leaving things behind, stealing answers) is tests/test_grade_hostile.py's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Chapters 1 and 7 of release 0.3.0, frozen: the grader suite grades against them, so the book's exercises can
# change without rewriting the hostile submissions (the current chapters are graded in test_grade.py too).
FROZEN = ROOT / "tests" / "submissions" / "homework"
CHAPTER1 = FROZEN / "solutions" / "01-convolution-and-edges.ipynb"
CHAPTER7 = FROZEN / "solutions" / "07-cnn-from-scratch.ipynb"
AS_ROOT = os.geteuid() == 0
USER_UID = 60999  # the unprivileged grader of the "user" mode: outside the dynamic uids the root mode hands out
SHARED = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
BWRAP = shutil.which("bwrap")

_spec = importlib.util.spec_from_file_location("isolation_submissions", ROOT / "tests" / "submissions" / "isolation.py")
hostile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hostile)

# Runs in a grader process of the mode under test: the session of ``cells`` (reads ``names`` back), or a grading.
DRIVER = """
import json, sys
from pathlib import Path
from cnnbook.homework.grade import grade
from cnnbook.homework.kernel import KernelTransport, Limits, NotebookSession
from cnnbook.homework.sandbox import choose_account
from cnnbook.homework.student import Student, StudentError

job = json.loads(sys.argv[1])
if "cells" in job:
    values = {}
    with NotebookSession(list(enumerate(job["cells"])), choose_account(), Limits(cell=30, total=120)) as session:
        session.run()
        student = Student(KernelTransport(session))
        for name in job["names"]:
            try:
                values[name] = getattr(student, name)
            except StudentError as error:
                values[name] = f"error: {error}"
    print(json.dumps({"values": values, "errors": session.log.errors}))
else:
    report = grade(job["notebook"], job["source"], Limits(cell=30, total=120))
    print(json.dumps({"score": report.score, "warnings": report.warnings, "error": report.error}))
"""

MODES = [
    pytest.param("root", marks=pytest.mark.skipif(not AS_ROOT, reason="needs root")),
    "user",
]


def _folder(mode: str) -> Path:
    """A fresh folder the mode's grader owns, in /tmp (which every kernel could reach without namespaces)."""
    folder = Path(tempfile.mkdtemp(prefix="cnnbook-isolation-"))
    folder.chmod(0o755)
    if mode == "user" and AS_ROOT:
        os.chown(folder, USER_UID, USER_UID)
    return folder


def _drive(mode: str, job: dict, folder: Path, path: str | None = None, pythonpath: str | None = None) -> dict:
    """Run the driver as the mode's grader (with ``PATH`` and ``PYTHONPATH`` if given); its JSON answer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV"))}
    env.update(HOME=str(folder), OMP_NUM_THREADS="1", PATH=path or env.get("PATH", os.defpath))
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    as_user = [shutil.which("setpriv"), f"--reuid={USER_UID}", f"--regid={USER_UID}", "--clear-groups", "--"]
    result = subprocess.run(
        [*(as_user if mode == "user" and AS_ROOT else []), sys.executable, "-c", DRIVER, json.dumps(job)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _without_bwrap(folder: Path) -> str:
    """A PATH holding setpriv but no bwrap: what a grader on a machine without bubblewrap finds."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(mode=0o755)
    for tool in ("setpriv", "prlimit", "choom"):
        if shutil.which(tool):
            (bin_dir / tool).symlink_to(shutil.which(tool))
    return str(bin_dir)


def _own_namespaces() -> dict[str, str]:
    return {kind: os.readlink(f"/proc/self/ns/{kind}") for kind in ("net", "ipc", "mnt", "pid", "uts")}


def _probe(mode: str, path: str | None = None) -> dict:
    """Grade the probing notebook in ``mode``: what its kernel reached."""
    folder = _folder(mode)
    token = uuid.uuid4().hex
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    markers = [f"{shared}/{token}" for shared in SHARED]
    try:
        for marker in markers:
            Path(marker).write_text("the grader's")
            os.chmod(marker, 0o644)
        (folder / "submissions").mkdir()
        shutil.copy(CHAPTER1, folder / "submissions" / "another-student.ipynb")
        (folder / "reports").mkdir()
        (folder / "reports" / "report.json").write_text("{}")
        for made in folder.rglob("*"):
            made.chmod(0o755 if made.is_dir() else 0o644)
        grader_files = [str(ROOT), str(ROOT / "solutions"), str(folder / "submissions"), str(folder / "reports")]
        cells = hostile.probe_cells(listener.getsockname()[1], markers, grader_files)
        names = ["interfaces", "tcp", "namespaces", "markers", "grader_files", "python_writes", "own_writes"]
        answer = _drive(mode, {"cells": cells, "names": names}, folder, path)
        assert not answer["errors"], answer["errors"]
        return answer["values"] | {"checkout": str(ROOT), "folder": str(folder)}
    finally:
        listener.close()
        for marker in markers:
            Path(marker).unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)


# ---- 1. the kernel runs in namespaces of its own -----------------------------------------------------------------


@pytest.mark.skipif(
    not BWRAP and not os.environ.get("CI"), reason="bubblewrap is not installed (apt-get install bubblewrap)"
)
@pytest.mark.parametrize("mode", MODES)
def test_the_kernel_reaches_nothing_of_the_graders(mode):
    seen = _probe(mode)
    assert seen["interfaces"] == ["lo"] and seen["tcp"] == "ConnectionRefusedError"  # its own loopback only
    assert all(seen["namespaces"][kind] != mine for kind, mine in _own_namespaces().items()), seen["namespaces"]
    assert not any(seen["markers"].values()), seen["markers"]  # private /tmp, /var/tmp, /dev/shm, /run/lock
    checkout = seen["grader_files"].pop(seen["checkout"])
    assert set(checkout) <= {".venv", "cnnbook"}, checkout  # the Python environment only: no solutions, no tests
    assert set(seen["grader_files"].values()) == {"FileNotFoundError"}, seen["grader_files"]
    assert set(seen["python_writes"].values()) == {"OSError"}, seen["python_writes"]  # read-only (EROFS)
    assert set(seen["own_writes"].values()) == {"written"}, seen["own_writes"]


@pytest.mark.parametrize("mode", MODES)
def test_without_bwrap_the_report_says_what_the_kernel_could_reach(mode):
    """The fallback, and its warning, are honest: what the warning says the kernel shared, it really reached."""
    folder, tools = _folder(mode), _folder("root")
    try:
        path = _without_bwrap(tools)
        shutil.copy(ROOT / "tests" / "submissions" / "solved.ipynb", folder / "solved.ipynb")
        shutil.copy(CHAPTER1, folder / CHAPTER1.name)
        job = {"notebook": str(folder / "solved.ipynb"), "source": str(folder / CHAPTER1.name)}
        answer = _drive(mode, job, folder, path)
        seen = _probe(mode, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(tools, ignore_errors=True)
    assert answer["score"] == 10 and not answer["error"]
    warning = next((w for w in answer["warnings"] if "bubblewrap" in w), answer["warnings"])
    for shared in ("network", *SHARED, "SysV IPC", "apt-get install bubblewrap"):
        assert shared in warning, (shared, warning)
    assert seen["tcp"] == "connected"
    assert all(seen["namespaces"][kind] == mine for kind, mine in _own_namespaces().items())
    assert all(seen["markers"].values()), seen["markers"]
    assert "solutions" in seen["grader_files"][seen["checkout"]]  # the checkout is readable by all
