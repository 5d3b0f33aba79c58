"""Running a submitted notebook in its own Jupyter kernel, with time limits and restarts (grader side).

:class:`Kernel` is one ipykernel process started as the :mod:`~cnnbook.homework.sandbox`
account; the grader opens only its shell channel (cell outputs go to an iopub socket nobody
reads, so a notebook that prints gigabytes costs the kernel time, not the grader memory).
:class:`NotebookSession` runs the submission's code cells in order: a cell that raises is
noted and the run goes on; a cell that runs past the per-cell limit is interrupted, and a
cell that ends the kernel (``os._exit``, ``exit()``, a crash) or ignores the interrupt gets
the kernel killed and restarted, and the notebook is re-run without that cell, so later
questions are still graded. :class:`KernelTransport` lets the tests' ``student`` handle read
names and call functions in that kernel, through the requests of :mod:`~cnnbook.homework.wire`;
what runs in the kernel to answer them is :mod:`~cnnbook.homework.in_kernel`.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cnnbook.homework import sandbox, wire

# The kernel sees only these variables of the grader's environment (no tokens, no secrets).
PASSED_ENV = (
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "LD_LIBRARY_PATH",
    "PYTHONPATH",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)
MAX_TEST_RESTARTS = 20  # each restart re-runs the notebook; the tests' time limit bounds them too


@dataclass(frozen=True)
class Limits:
    """Time limits in seconds."""

    cell: float = 120.0  # one cell, or one call the tests make
    total: float = 900.0  # running the whole notebook (and, separately, all the tests)
    grace: float = 5.0  # how long an interrupted cell may take to stop before the kernel is killed
    startup: float = 60.0  # for the kernel to answer its first message


class KernelError(RuntimeError):
    """The kernel could not be started: the grader cannot run."""


@dataclass
class Reply:
    """How one execute request ended: ``ok``, ``error``, ``timeout`` or ``died``."""

    status: str
    message: str = ""
    content: dict = field(default_factory=dict)
    msg_id: str = ""


class Kernel:
    """One ipykernel process running as ``account`` in ``workdir``."""

    def __init__(self, account: sandbox.Account, workdir: Path, startup: float = 60.0) -> None:
        from jupyter_client import BlockingKernelClient
        from jupyter_client.connect import write_connection_file

        self.workdir = workdir
        connection = workdir / ".kernel.json"
        # unix sockets in its folder: they reach into its network namespace, where 127.0.0.1 is its own
        ipc = os.name == "posix"
        write_connection_file(
            str(connection),
            ip=str(workdir / "kernel") if ipc else "127.0.0.1",
            transport="ipc" if ipc else "tcp",
            key=os.urandom(32).hex().encode(),
        )
        if account.isolated:
            os.chown(connection, account.uid, account.gid)
        safe_path = ["-P"] if sys.version_info >= (3, 11) else []  # not the cwd first on sys.path
        try:
            self.process = sandbox.launch(
                account,
                [sys.executable, *safe_path, "-m", "ipykernel_launcher", "-f", str(connection)],
                workdir,
                cwd=workdir,
                env=kernel_env(workdir, account.confined),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError as error:
            raise KernelError(f"the kernel could not be launched: {error}") from error
        self.pid = self.process.pid  # the kernel's own, once known (in bwrap it is not the process launched)
        self.output = _Tail(self.process.stdout)  # what the process writes to its fd 1 and 2, kept short
        self.client = BlockingKernelClient(connection_file=str(connection))
        self.client.load_connection_file()
        self.client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        reply = self.wait(self.client.kernel_info(), startup)
        if reply.status != "ok":
            self.close()
            raise KernelError(f"the kernel did not start ({reply.status}): {self.output.text() or 'no output'}")
        if account.confined:
            self.pid = sandbox.command_pid(self.process.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def execute(self, code: str, timeout: float, **options: Any) -> Reply:
        """Run ``code``; wait at most ``timeout`` seconds for its reply."""
        msg_id = self.client.execute(code, allow_stdin=False, stop_on_error=False, **options)
        reply = self.wait(msg_id, timeout)
        reply.msg_id = msg_id
        return reply

    def wait(self, msg_id: str, timeout: float) -> Reply:
        """The reply to ``msg_id``, or ``timeout``/``died``; anything malformed is skipped."""
        end = time.monotonic() + max(timeout, 0.0)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return Reply("timeout")
            try:
                message = self.client.get_shell_msg(timeout=min(0.2, left))
            except queue.Empty:
                if not self.alive():
                    return Reply("died")
                continue
            except Exception:  # noqa: BLE001 -- a bad signature or a malformed message from the kernel
                continue
            parent = message.get("parent_header") if type(message) is dict else None
            if type(parent) is not dict or parent.get("msg_id") != msg_id:
                continue
            content = message.get("content")
            if type(content) is not dict:
                return Reply("error", "the kernel sent a malformed reply")
            if content.get("status") == "ok":
                return Reply("ok", content=content)
            return Reply("error", f"{_text(content.get('ename'))}: {_text(content.get('evalue'))}", content)

    def interrupt(self) -> None:
        """Send SIGINT, as Jupyter's interrupt button does (it becomes KeyboardInterrupt)."""
        if self.alive():
            os.kill(self.pid, signal.SIGINT)

    def close(self) -> None:
        """Stop the client and kill the kernel process (its other processes are the Reaper's job)."""
        try:
            self.client.stop_channels()
        except Exception:  # noqa: BLE001 -- closing must not fail
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # its session's group: all there is without /proc
        except OSError:
            pass
        self.process.wait()


class _Tail:
    """Drains a pipe in a thread, keeping only its last few kilobytes (a kernel may print without end)."""

    def __init__(self, pipe: IO[bytes], keep: int = 4096) -> None:
        self.chunks: deque[bytes] = deque()
        self.keep = keep
        threading.Thread(target=self._drain, args=(pipe,), daemon=True).start()

    def _drain(self, pipe: IO[bytes]) -> None:
        with pipe:
            for chunk in iter(lambda: pipe.read1(65536), b""):
                self.chunks.append(chunk[-self.keep :])
                while sum(map(len, self.chunks)) > self.keep and len(self.chunks) > 1:
                    self.chunks.popleft()

    def text(self) -> str:
        time.sleep(0.1)  # let the last words of a process that just failed arrive
        return b"".join(self.chunks)[-2000:].decode(errors="replace").strip()


def kernel_env(workdir: Path, confined: bool = False) -> dict[str, str]:
    """A minimal environment: home and every Jupyter/IPython/matplotlib folder inside ``workdir``."""
    env = {k: v for k, v in os.environ.items() if k in PASSED_ENV or k.startswith("CNNBOOK_")}
    home = str(workdir)
    env.update(
        HOME=home,
        TMPDIR=home,
        USER="student",
        LOGNAME="student",
        MPLBACKEND="Agg",
        MPLCONFIGDIR=f"{home}/.matplotlib",
        IPYTHONDIR=f"{home}/.ipython",
        JUPYTER_CONFIG_DIR=f"{home}/.jupyter",
        JUPYTER_DATA_DIR=f"{home}/.local/share/jupyter",
        JUPYTER_RUNTIME_DIR=f"{home}/.local/share/jupyter/runtime",
        PYTHONNOUSERSITE="1",
        PYTHONDONTWRITEBYTECODE="1",
        JPY_PARENT_PID=str(os.getpid()),
    )
    if confined:  # its parent is bwrap's init, pid 1 there, which ipykernel would take for an orphaning
        del env["JPY_PARENT_PID"]
    env.setdefault("PATH", os.defpath)
    return env


def _text(value: Any) -> str:
    return value if type(value) is str else "unknown"


@dataclass
class RunLog:
    """What happened to the submission's cells (indices are positions in the notebook, from 0)."""

    errors: dict[int, str] = field(default_factory=dict)
    timed_out: list[int] = field(default_factory=list)
    killed_kernel: list[int] = field(default_factory=list)
    not_run: list[int] = field(default_factory=list)
    restarts: int = 0
    seconds: float = 0.0  # spent running the student's cells, restarts included


class NotebookSession:
    """The submission's kernel: run its cells, answer the tests' requests, then end every process."""

    def __init__(
        self, cells: list[tuple[int, str]], account: sandbox.Account, limits: Limits, submission: Path | None = None
    ) -> None:
        self.cells, self.account, self.limits, self.submission = cells, account, limits, submission
        self.log = RunLog()
        self.skip: set[int] = set()  # cells that timed out or ended the kernel: not run again
        self.kernel: Kernel | None = None
        self.workdir: Path | None = None
        self.test_restarts = 0
        self.started = False
        self.broken = ""  # why the kernel is gone for good, if it is
        self.test_deadline = float("inf")
        self.reaper = sandbox.Reaper(account)
        sandbox.remove_leftovers(account)

    def __enter__(self) -> NotebookSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        """A fresh kernel in a fresh folder holding a copy of the submission."""
        self._stop()
        self.workdir = sandbox.make_workdir(self.account)
        if self.submission is not None:
            copy = self.workdir / self.submission.name
            shutil.copyfile(self.submission, copy)
            if self.account.isolated:
                os.chown(copy, self.account.uid, self.account.gid)
        try:
            self.kernel = Kernel(self.account, self.workdir, self.limits.startup)
        except KernelError:  # once more: a port taken between choosing and binding it, a slow machine
            self.reaper.end_all()
            self.kernel = Kernel(self.account, self.workdir, self.limits.startup)

    def _stop(self) -> None:
        if self.kernel is not None:
            self.kernel.close()
            self.kernel = None
        self.reaper.end_all()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        sandbox.remove_leftovers(self.account)

    def close(self) -> None:
        """End the kernel and every process it started; only then may a report be written."""
        self._stop()
        if not self.reaper.end_all():
            raise KernelError("some of the student's processes could not be killed, so no report is written")

    def run(self) -> None:
        """Run every code cell once, restarting the kernel after a cell that ended it."""
        started = time.monotonic()
        self._run_cells(started + self.limits.total)
        self.log.seconds = time.monotonic() - started
        self.test_deadline = time.monotonic() + self.limits.total

    def _run_cells(self, deadline: float) -> None:
        self.log.not_run = []
        while True:  # each pass that ends the kernel adds a cell to skip, so this ends
            try:
                self._start()
            except KernelError as error:
                if not self.started:
                    raise  # the very first start: the grader's environment is at fault
                self.broken = f"the notebook's kernel could not be restarted ({error})"[:500]
                self._stop()
                return
            self.started = True
            if self._run_pass(deadline):
                return
            self.log.restarts += 1

    def _run_pass(self, deadline: float) -> bool:
        """One pass over the cells; False when the kernel had to be killed (then a new pass starts)."""
        assert self.kernel is not None
        for position, (index, source) in enumerate(self.cells):
            if index in self.skip:
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                self.log.not_run = [i for i, _ in self.cells[position:] if i not in self.skip]
                return True
            reply = self.kernel.execute(source, min(self.limits.cell, left))
            if reply.status == "timeout":
                self.skip.add(index)
                self.log.timed_out.append(index)
                if not self._interrupt(reply.msg_id):  # it ignored the interrupt, or died of it
                    return False
                continue
            if reply.status == "died" or _asked_to_exit(reply):
                self.skip.add(index)
                self.log.killed_kernel.append(index)
                return False
            if reply.status == "error":
                self.log.errors[index] = reply.message[:1000]
        return True

    def _interrupt(self, msg_id: str) -> bool:
        """Interrupt the request ``msg_id``; True when it stopped within the grace time and the kernel lives."""
        assert self.kernel is not None
        self.kernel.interrupt()
        return self.kernel.wait(msg_id, self.limits.grace).status in ("ok", "error") and self.kernel.alive()

    def request(self, expression: str) -> dict:
        """Evaluate one test request in the kernel; always answers ``{"value": ...}`` or ``{"error": ...}``."""
        if self.broken:
            return {"error": self.broken}
        left = self.test_deadline - time.monotonic()
        if left <= 0:
            return {"error": f"the time limit for the tests ({self.limits.total:g} s) ran out"}
        if self.kernel is None or not self.kernel.alive():
            self._restart_for_tests()
            if self.kernel is None:
                return {"error": self.broken or "the notebook's kernel could not be restarted"}
        reply = self.kernel.execute("", min(self.limits.cell, left), silent=True, user_expressions={"r": expression})
        if reply.status == "timeout":
            if not self._interrupt(reply.msg_id):
                self._restart_for_tests()
            return {"error": f"did not finish within the time limit of {self.limits.cell:g} s"}
        if reply.status == "died":
            self._restart_for_tests()
            return {"error": "the kernel died while running it (os._exit, exit(), a crash or too much memory)"}
        if reply.status != "ok":
            return {"error": f"the grader's request failed: {reply.message}"[:500]}
        results = reply.content.get("user_expressions")
        answer = wire.parse_reply(results.get("r") if type(results) is dict else None)
        if _asked_to_exit(reply):  # exit() inside the student's function: the kernel is going away
            self._restart_for_tests()
        return answer

    def _restart_for_tests(self) -> None:
        """A new kernel with the notebook re-run (without the cells that broke it) for the remaining tests."""
        self.test_restarts += 1
        self.log.restarts += 1
        if self.test_restarts > MAX_TEST_RESTARTS:
            self.broken = "the notebook's kernel kept dying, so the remaining tests were not run"
            self._stop()
            return
        self._run_cells(min(time.monotonic() + self.limits.total, self.test_deadline))


def _asked_to_exit(reply: Reply) -> bool:
    """``exit()`` and ``quit()`` in a cell answer normally, then the kernel shuts down."""
    payload = reply.content.get("payload")
    return type(payload) is list and any(type(p) is dict and p.get("source") == "ask_exit" for p in payload)


class KernelTransport:
    """The :class:`~cnnbook.homework.student.Transport` that reaches a notebook's kernel.

    ``student.f(x)`` reads ``f`` (to learn that it is a function), then calls it: two round
    trips. A name once seen to be a function is remembered until the kernel restarts, which
    halves the trips of tests that call a function in a loop; the call itself still looks the
    name up afresh in the kernel.
    """

    def __init__(self, session: NotebookSession) -> None:
        self.session = session
        self.functions: set[str] = set()
        self.kernel: Kernel | None = None

    def get(self, name: str) -> dict:
        if self.kernel is not self.session.kernel:  # a new kernel: what was a function may not be
            self.functions, self.kernel = set(), self.session.kernel
        if name in self.functions:
            return {"value": {"callable": name}}
        answer = self.session.request(wire.request_expression(name))
        value = answer.get("value")
        if type(value) is dict and type(value.get("callable")) is str and self.kernel is self.session.kernel:
            self.functions.add(name)
        return answer

    def call(self, name: str, args: Any, kwargs: Any) -> dict:
        return self.session.request(wire.request_expression(name, (args, kwargs)))
