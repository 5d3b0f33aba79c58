"""Running a submitted notebook in its own Jupyter kernel, with time limits and restarts (grader side).

:class:`Kernel` is one ipykernel process started as the :mod:`~cnnbook.homework.sandbox`
account; the grader opens only its shell channel (cell outputs go to an iopub socket nobody
reads, so a notebook that prints gigabytes costs the kernel time, not the grader memory).
What does come back on the shell channel is the student's to forge, so the grader's memory is
bounded before anything is decoded: each part of a message is at most :data:`MAX_MESSAGE_BYTES`
(a larger one drops the connection, and the kernel is stopped), at most :data:`MAX_QUEUED_MESSAGES`
wait to be read, only a reply's first parts are kept, and their JSON is checked for size before it
is parsed. A message of endless parts is the one thing no socket option bounds: :class:`_MemoryGuard`,
a process of its own, kills the kernel when the grader's own memory has grown by :data:`MAX_GRADER_GROWTH`
since the notebook's grading began (not past an absolute size: the process that grades may be large already).
:class:`NotebookSession` runs the submission's code cells in order: a cell that raises is
noted and the run goes on; a cell that runs past the per-cell limit is interrupted, and a
cell that ends the kernel (``os._exit``, ``exit()``, a crash) or ignores the interrupt gets
the kernel killed and restarted, and the notebook is re-run without that cell, so later
questions are still graded. :class:`KernelTransport` lets the tests' ``student`` handle read
names and call functions in that kernel, through the requests of :mod:`~cnnbook.homework.wire`;
what runs in the kernel to answer them is :mod:`~cnnbook.homework.in_kernel`.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
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
# What the grader takes in from the kernel (tests/test_grade_memory.py measures the grader's peak under attack):
MAX_MESSAGE_BYTES = 4 * wire.MAX_ANSWER_BYTES + (1 << 20)  # one part of a message: an answer escaped twice, and more
MAX_HEADER_BYTES = 64 << 10  # a message's header, parent header, metadata and signature: a few hundred bytes each
MAX_MESSAGE_CONTAINERS = 1 << 16  # lists and objects in a reply, outside its strings: an honest one has a dozen
MAX_QUEUED_MESSAGES = 4  # replies waiting to be read (the grader reads one at a time); more wait in the kernel
_KEPT_PARTS = 8  # of a message's parts, the first are kept: routing, the delimiter, signature, 4 of JSON; no buffers
# How much the grader's memory may grow while a notebook is graded before its kernel is killed, over what it held
# when that grading began. Growth, not size: the process that grades may be large already (pytest's is 2 GB). On its
# own the grader holds ~65 MB then, so with what one reply takes to read and parse at once (a few copies of
# MAX_MESSAGE_BYTES: ~100 MB) and what arrives as the kernel dies, it stays under 1 GB.
MAX_GRADER_GROWTH = 640 << 20
GUARD_SECONDS = 0.01  # how often the guard looks: zmq takes in at most ~20 MB meanwhile
SETTLE_SECONDS = 2.0  # at least this long for the empty request after a cell or call (Kernel.execute): honest: ms
_DELIMITER = b"<IDS|MSG>"
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


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

    def __init__(
        self, account: sandbox.Account, workdir: Path, startup: float = 60.0, baseline: int | None = None
    ) -> None:
        """Start the kernel and wait at most ``startup`` seconds for it; KernelError if it does not answer.

        Its memory guard kills it when the grader's resident memory passes ``baseline`` (by default, the grader's
        memory now) by :data:`MAX_GRADER_GROWTH`.
        """
        import zmq
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
        self.stopped = ""  # why the grader killed the kernel (its memory, a broken connection), once it has
        self.context = zmq.Context()  # its own, so these options hold for the shell socket from its first byte
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self.context.setsockopt(zmq.RCVHWM, MAX_QUEUED_MESSAGES)
        self.client = BlockingKernelClient(connection_file=str(connection), context=self.context)
        self.client.load_connection_file()
        self.client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        self.shell = self.client.shell_channel.socket
        # a part over MAXMSGSIZE drops the connection for good (libzmq does not reconnect after a protocol error)
        self.monitor = self.shell.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        self.poller = zmq.Poller()
        self.poller.register(self.shell, zmq.POLLIN)
        self.poller.register(self.monitor, zmq.POLLIN)
        if baseline is None:
            baseline = resident_memory()
        self.guard = _MemoryGuard(self.process.pid, baseline + MAX_GRADER_GROWTH)  # the group, as close() kills it
        reply = self.wait(self.client.kernel_info(), startup)
        if reply.status != "ok":
            self.close()
            raise KernelError(f"the kernel did not start ({reply.status}): {self.output.text() or 'no output'}")
        if account.confined:
            self.pid = sandbox.command_pid(self.process.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def execute(self, code: str, timeout: float, **options: Any) -> Reply:
        """Run ``code`` (a cell, or a test's request); its reply, once the kernel has answered an empty request sent
        right after it too.

        The code can forge its own reply (the kernel holds the key that signs it) and go on: a cell, or a student's
        function a test calls, that then sends an endless message or sleeps. The kernel takes requests one at a
        time, so the empty one is answered only when the code has really ended: until then, whatever happens (the
        kernel dies or is stopped, time runs out) is this code's doing, not the next cell's or test's. The reply's
        ``msg_id`` is the empty request's, so an interrupt waits for the code's true end.
        """
        end = time.monotonic() + max(timeout, 0.0)
        msg_id = self.client.execute(code, allow_stdin=False, stop_on_error=False, **options)
        after = self.client.execute("", silent=True, allow_stdin=False, stop_on_error=False)  # sent now: no round trip
        reply = self.wait(msg_id, timeout)
        if reply.status in ("ok", "error") and not _asked_to_exit(reply):  # exit(): the kernel answers nothing more
            ended = self.wait(after, max(end - time.monotonic(), SETTLE_SECONDS))
            if ended.status not in ("ok", "error"):
                reply = ended
        reply.msg_id = after
        return reply

    def wait(self, msg_id: str, timeout: float) -> Reply:
        """The reply to ``msg_id``, or ``timeout``/``died``; anything malformed is skipped.

        ``died`` says why in its message when the grader stopped the kernel (:meth:`stop`).
        """
        end = time.monotonic() + max(timeout, 0.0)
        while True:
            if not self.stopped and self.guard.tripped():
                self.stopped = (
                    f"the grader's memory grew by more than {MAX_GRADER_GROWTH >> 20} MB while the kernel ran, "
                    "so it was stopped"
                )
            if self.stopped:
                return Reply("died", self.stopped)
            left = end - time.monotonic()
            if left <= 0:
                return Reply("timeout")
            try:
                message = self._receive(min(0.2, left))
            except queue.Empty:
                if not self.alive() and not self.guard.tripped():
                    return Reply("died", self.stopped)
                continue  # (killed by the guard: said at the top of the loop)
            except _Refused as refused:
                self.stop(str(refused))
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

    def _receive(self, timeout: float) -> dict:
        """The next message on the shell channel, checked before any of it is decoded (queue.Empty: none came).

        Only the first parts are kept (the grader's replies have no buffers); a message whose JSON parts are too
        large, or the connection dropped while the kernel lives (a part over :data:`MAX_MESSAGE_BYTES`), raise
        :class:`_Refused`: an honest kernel sends neither.
        """
        ready = dict(self.poller.poll(int(timeout * 1000)))
        if self.monitor in ready:
            self._connection_event()
        if self.shell not in ready:
            raise queue.Empty
        parts = []
        while True:  # the whole message is already here (zmq delivers whole messages): read it all, keep its start
            part = self.shell.recv(copy=False)
            if len(parts) < _KEPT_PARTS:
                parts.append(part)
            if not part.more:
                break
        lengths = [len(part) for part in parts]
        start = next(
            (i + 1 for i, part in enumerate(parts) if len(part) == len(_DELIMITER) and part.bytes == _DELIMITER), 0
        )
        if not start or len(parts) < start + 5:
            raise ValueError("not a Jupyter message")
        if max(lengths[start : start + 4]) > MAX_HEADER_BYTES:
            raise _Refused(f"the kernel sent a message header larger than {MAX_HEADER_BYTES >> 10} kB")
        content = parts[start + 4].bytes
        if _containers(content) > MAX_MESSAGE_CONTAINERS:  # each would cost ~250 bytes parsed
            raise _Refused(f"the kernel sent a reply of more than {MAX_MESSAGE_CONTAINERS:,} lists and objects")
        return self.client.session.deserialize([part.bytes for part in parts[start : start + 4]] + [content])

    def _connection_event(self) -> None:
        """The shell connection dropped: a kernel that is ending, or one that broke it (it never comes back)."""
        from zmq.utils.monitor import recv_monitor_message

        while self.monitor.poll(0):
            recv_monitor_message(self.monitor)
        try:
            self.process.wait(1.0)  # a kernel that ended: its connection went with it
        except subprocess.TimeoutExpired:
            raise _Refused(
                f"the kernel sent a message larger than {MAX_MESSAGE_BYTES >> 20} MB (an answer is at most "
                f"{wire.MAX_ANSWER_BYTES >> 20} MB) or broke its connection to the grader"
            ) from None

    def stop(self, reason: str) -> None:
        """Kill the kernel now; :meth:`wait` then answers ``died``, saying ``reason``."""
        self.stopped = self.stopped or f"{reason}, so it was stopped"
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except OSError:
            pass

    def interrupt(self) -> None:
        """Send SIGINT, as Jupyter's interrupt button does (it becomes KeyboardInterrupt)."""
        if self.alive():
            os.kill(self.pid, signal.SIGINT)

    def close(self) -> None:
        """Stop the client and kill the kernel process (its other processes are the Reaper's job)."""
        guard = getattr(self, "guard", None)
        if guard is not None:
            guard.end()
        try:
            self.client.stop_channels()
        except Exception:  # noqa: BLE001 -- closing must not fail
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # its session's group: all there is without /proc
        except OSError:
            pass
        self.process.wait()
        try:
            self.context.destroy(linger=0)  # the monitor's socket, and whatever the kernel left in zmq's queues
        except Exception:  # noqa: BLE001 -- closing must not fail
            pass
        if self.stopped or (guard is not None and guard.tripped()):
            _give_back_memory()


def _containers(text: bytes) -> int:
    """How many lists and objects the JSON ``text`` holds, at most (its strings, an answer's text among them, left
    out only when the quick count of every [ and { is over :data:`MAX_MESSAGE_CONTAINERS`)."""
    count = text.count(b"[") + text.count(b"{")
    if count > MAX_MESSAGE_CONTAINERS:
        bare = _JSON_STRING.sub(b'""', text)
        count = bare.count(b"[") + bare.count(b"{")
    return count


class _Refused(Exception):
    """The kernel sent what no honest kernel sends; the grader stops it, saying why."""


# The memory guard: a process of its own (the grader's threads need the GIL, which a parse of a reply holds for a
# second under load while zmq's thread, which needs none, takes in gigabytes). It ends itself when the grader does.
_GUARD = """
import os, signal, sys, time
grader, group, limit, every = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
page = os.sysconf("SC_PAGE_SIZE")
while os.getppid() == grader:
    try:
        with open(f"/proc/{grader}/statm", "rb") as statm:
            size = int(statm.read().split()[1]) * page
    except (OSError, ValueError, IndexError):
        sys.exit(0)
    if size > limit:
        try:
            os.killpg(group, signal.SIGKILL)
        finally:
            sys.exit(3)
    time.sleep(every)
"""
_GUARD_TRIPPED = 3  # the guard's exit status when it killed the kernel


class _MemoryGuard:
    """Kills the kernel when the grader's resident memory passes ``limit`` bytes (where /proc can tell).

    zmq receives a message in a thread of its own, and holds one of endless parts, each under
    :data:`MAX_MESSAGE_BYTES`, whole before it can be read: only the grader's own size can tell. A process of
    its own looks every :data:`GUARD_SECONDS`; killing the kernel ends the connection, and zmq frees what it held.
    """

    def __init__(self, kernel_group: int, limit: int) -> None:
        argv = [sys.executable, "-I", "-S", "-c", _GUARD, str(os.getpid()), str(kernel_group)]
        try:
            self.process: subprocess.Popen | None = subprocess.Popen(
                [*argv, str(limit), str(GUARD_SECONDS)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            self.process = None

    def tripped(self) -> bool:
        return self.process is not None and self.process.poll() == _GUARD_TRIPPED

    def end(self) -> None:
        """End the guard (before the kernel is reaped: its process group's number may then be reused)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait()


def resident_memory() -> int:
    """The grader's resident memory in bytes, as the guard reads it (0 where /proc cannot tell)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _give_back_memory() -> None:
    """Hand freed memory back to the system (glibc keeps it otherwise): the guard counts resident memory, so what
    an attack made zmq take in, once freed, must not count against the next kernel."""
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


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


_FONT_LISTS: dict[str, Path | None] = {}  # the Python that made it -> matplotlib's font list (None: no matplotlib)


def _font_list() -> Path | None:
    """matplotlib's list of the system's fonts, made once per grader process in a private folder (None without
    matplotlib). Each kernel's matplotlib starts from an empty folder of its own and would list the fonts anew, half a
    second of every notebook that imports it; it gets a copy of this instead. Made with an empty home: only the
    system's fonts, which the kernel sees too. A Python that could not be run is not remembered (the next kernel
    tries again), nor a list that has since been deleted."""
    if sys.executable in _FONT_LISTS:
        made = _FONT_LISTS[sys.executable]
        if made is None or made.is_file():
            return made
    folder = Path(tempfile.mkdtemp(prefix="cnnbook-fonts-"))
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(folder), "MPLCONFIGDIR": str(folder)}
    try:  # -B: no bytecode written into the environment the grader may be watching (cnnbook.homework.environment)
        subprocess.run(
            [sys.executable, "-I", "-B", "-c", "import matplotlib.font_manager"],
            env=env | {"MPLBACKEND": "Agg"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        shutil.rmtree(folder, ignore_errors=True)
        return None
    found = sorted(folder.glob("fontlist-*.json"))
    if found:
        atexit.register(shutil.rmtree, folder, True)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    _FONT_LISTS[sys.executable] = found[0] if found else None
    return _FONT_LISTS[sys.executable]


def _give_font_list(workdir: Path, account: sandbox.Account) -> None:
    """Put a copy of :func:`_font_list` where the kernel's matplotlib looks for it (``MPLCONFIGDIR``), owned by it."""
    font_list = _font_list()
    if font_list is None:
        return
    folder = workdir / ".matplotlib"
    try:
        folder.mkdir(exist_ok=True)
        shutil.copyfile(font_list, folder / font_list.name)
        if account.isolated:
            for path in (folder, folder / font_list.name):
                os.chown(path, account.uid, account.gid)
    except OSError:  # only a saving: the kernel's matplotlib makes its own
        pass


def _text(value: Any) -> str:
    return value[:1000] if type(value) is str else "unknown"


@dataclass
class RunLog:
    """What happened to the submission's cells (indices are positions in the notebook, from 0)."""

    errors: dict[int, str] = field(default_factory=dict)
    timed_out: list[int] = field(default_factory=list)
    killed_kernel: list[int] = field(default_factory=list)
    not_run: list[int] = field(default_factory=list)
    time_limit: int | None = None  # the cell that was running when the notebook's time limit ran out
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
        # The size the memory guard lets grading grow from, once for every kernel of this notebook: a restart after an
        # attack must not raise it. Memory freed since (the notebook's parse) is handed back first, so it is not in it.
        _give_back_memory()
        self.baseline = resident_memory()

    def __enter__(self) -> NotebookSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        """A fresh kernel in a fresh folder holding a copy of the submission (and of matplotlib's font list)."""
        self._stop()
        self.workdir = sandbox.make_workdir(self.account)
        _give_font_list(self.workdir, self.account)
        if self.submission is not None:
            copy = self.workdir / self.submission.name
            shutil.copyfile(self.submission, copy)
            if self.account.isolated:
                os.chown(copy, self.account.uid, self.account.gid)
        try:
            self.kernel = Kernel(self.account, self.workdir, self.limits.startup, self.baseline)
        except KernelError:  # once more: a port taken between choosing and binding it, a slow machine
            self.reaper.end_all()
            self.kernel = Kernel(self.account, self.workdir, self.limits.startup, self.baseline)

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
        """Run every code cell once, restarting the kernel after a cell that ended it.

        A cell still running when the notebook's time limit runs out is interrupted; if it has to be killed, the
        answers defined before it die with its kernel, so the cells before it run once more in a fresh kernel, under
        a limit of their own (they ran within one already): what the student finished in time is graded.
        """
        started = time.monotonic()
        self._run_cells(started + self.limits.total, recover=True)
        self.log.seconds = time.monotonic() - started
        self.test_deadline = time.monotonic() + self.limits.total

    def _run_cells(self, deadline: float, recover: bool = False) -> None:
        """Passes over the cells until one ends with the kernel alive; ``recover``: see :meth:`run`."""
        self.log.not_run = []
        stop = len(self.cells)  # the cells from this position on are not run
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
            if self._run_pass(deadline, stop):
                return
            self.log.restarts += 1
            if recover and self.log.time_limit is not None:  # killed in the cell where time ran out (see run())
                recover = False  # once: a re-run that runs out of time again ends there
                stop = next(p for p, (i, _) in enumerate(self.cells) if i == self.log.time_limit)
                deadline = time.monotonic() + self.limits.total

    def _run_pass(self, deadline: float, stop: int) -> bool:
        """One pass over the cells before position ``stop``; False when the kernel had to be killed (then a new
        pass starts)."""
        assert self.kernel is not None
        for position, (index, source) in enumerate(self.cells):
            if index in self.skip:
                continue
            left = deadline - time.monotonic()
            if left <= 0 or position >= stop:
                self.log.not_run = [i for i, _ in self.cells[position:] if i not in self.skip]
                return True
            limit = min(self.limits.cell, left)
            reply = self.kernel.execute(source, limit)
            if reply.status == "timeout":
                self.skip.add(index)
                self.log.timed_out.append(index)
                if limit < self.limits.cell:  # the notebook's time limit, not the cell's, ran out
                    self.log.time_limit = index
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
        # settled (Kernel.execute): a function that forges its reply and runs on is this test's, not the next one's
        reply = self.kernel.execute("", min(self.limits.cell, left), silent=True, user_expressions={"r": expression})
        if reply.status == "timeout":
            if not self._interrupt(reply.msg_id):
                self._restart_for_tests()
            return {"error": f"did not finish within the time limit of {self.limits.cell:g} s"}
        if reply.status == "died":
            self._restart_for_tests()
            return {
                "error": reply.message
                or "the kernel died while running it (os._exit, exit(), a crash or too much memory)"
            }
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
