"""Who runs the student's kernel, and how every process it started is ended.

Run as root, the grader starts the kernel as a *dedicated* user: a numeric uid from systemd's
range for dynamic users (61184-65519) that has no account, no group and no process, chosen
afresh for each submission. That user cannot read anything private to root (a source notebook
in a ``0700`` folder, the grader's memory, other students' reports), and because nothing else
runs under that uid, "kill every process of the uid" ends the kernel and whatever it left
behind (daemons that called ``setsid``, double forks) without touching anything else.

Run as an ordinary user (a student's laptop), the kernel runs as that same user. The grader still
ends every process the kernel started (it becomes a *child subreaper*, so orphans come back to it)
and says in the report that the run was not isolated.

In both modes, where bubblewrap (``bwrap``) works, the kernel also runs in namespaces of its own
(:func:`confine`): no network but its own loopback, its own SysV IPC, PIDs, ``/proc``, ``/tmp``,
``/var/tmp``, ``/dev/shm`` and ``/run/lock`` (all gone when it ends), the system and the Python
environment read-only, and of the grader's files only its own working folder. Without bwrap it
shares all of that with the grader, and the report says so (:func:`reach_warnings`).

Run as an ordinary user without bwrap, the kernel can write the grader's own Python code: the cnnbook package,
site-packages (a ``.pth`` file or ``sitecustomize.py`` runs at every later start of that Python, as root too), the
user site folder, the folders on ``PYTHONPATH``. Nothing prevents that; :mod:`~cnnbook.homework.environment` notices
it, and grading stops.
"""

from __future__ import annotations

import ctypes
import functools
import grp
import itertools
import os
import pwd
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DYNAMIC_UIDS = range(61184, 65520)  # systemd's DynamicUser= range: no ordinary account lives there
MAX_PROCESSES = 512  # per dedicated uid: ipykernel needs ~15 threads, a fork bomb needs more
MAX_FILE_BYTES = 2 << 30  # one file the student writes; a full disk would break the grader too
_PR_SET_CHILD_SUBREAPER = 36
_TURNS = itertools.count()
PRIVATE_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")  # a fresh tmpfs each, in the kernel's namespaces
PRIVATE_FOLDER_BYTES = 1 << 30  # each; a tmpfs lives in memory
SYSTEM_PATHS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
PACKAGE = Path(__file__).resolve().parents[1]  # the cnnbook package: the kernel imports in_kernel from it


@dataclass(frozen=True)
class Account:
    """The user the student's kernel runs as."""

    uid: int
    gid: int
    isolated: bool  # True when it is not the grader's own user
    confined: bool = False  # True when it runs in namespaces of its own (bubblewrap)

    @property
    def shares_grader(self) -> bool:
        """Whether it is the grader's own user with no namespaces between them: it can read and write all the
        grader can, the grader's own Python code included."""
        return not self.isolated and not self.confined

    def describe(self) -> str:
        try:
            name = pwd.getpwuid(self.uid).pw_name
        except KeyError:
            name = "a dedicated user"
        return f"{name} (uid {self.uid})" + ("" if self.isolated else ", the grader's own user")


def choose_account(user: str | None = None, isolate: bool = True) -> Account:
    """The account for the next kernel: ``user`` if named, else a fresh dedicated uid (root only).

    Without root (or with ``isolate=False``) it is the grader's own user.
    """
    confined = not unconfined_reason()
    if not isolate or os.geteuid() != 0:
        return Account(os.getuid(), os.getgid(), isolated=False, confined=confined)
    if user is not None:
        entry = pwd.getpwnam(user)  # KeyError names the missing user
        return Account(entry.pw_uid, entry.pw_gid, isolated=entry.pw_uid != 0, confined=confined)
    busy = {p.uid for p in processes()}
    # a different uid for each submission (the previous one's files can outlive it in shared folders),
    # and concurrent graders start at different places
    start = (os.getpid() * 97 + next(_TURNS) * 7919) % len(DYNAMIC_UIDS)
    for step in range(len(DYNAMIC_UIDS)):
        uid = DYNAMIC_UIDS[(start + step) % len(DYNAMIC_UIDS)]
        if uid not in busy and not _exists(pwd.getpwuid, uid) and not _exists(grp.getgrgid, uid):
            return Account(uid, uid, isolated=True, confined=confined)
    raise RuntimeError("no free uid for the student's kernel in 61184-65519")


def _exists(lookup, number: int) -> bool:
    try:
        lookup(number)
    except KeyError:
        return False
    return True


def unconfined_reason() -> str:
    """Why the kernel cannot have namespaces of its own here; empty when it can."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    missing = [tool for tool in ("setpriv", "prlimit", "choom") if not shutil.which(tool)]
    if missing:
        return f"{', '.join(missing)} (util-linux) not installed"
    return _bwrap_fails(bwrap, os.geteuid())


@functools.lru_cache
def _bwrap_fails(bwrap: str, euid: int) -> str:
    """Why ``bwrap`` cannot make the kernel's namespaces (no user namespaces, a seccomp filter); empty if it can."""
    probe = confine(Account(euid, os.getegid(), isolated=False), ["true"], bwrap=bwrap)
    try:
        result = subprocess.run(probe, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not run ({error})"
    last = (result.stderr.strip().splitlines() or ["no message"])[-1]
    return "" if result.returncode == 0 else f"bubblewrap cannot make namespaces here ({last})"


def confine(account: Account, argv: list[str], workdir: Path | None = None, bwrap: str = "bwrap") -> list[str]:
    """``argv`` run in namespaces of its own by bubblewrap, as ``account``, with its limits set before it starts.

    The kernel sees the system and the Python environment read-only, ``workdir`` read-write, fresh
    ``/proc``, ``/dev`` and private folders, and nothing else of the grader's. Run as root, bwrap makes
    the namespaces and setpriv then leaves root; run as a user, bwrap needs a user namespace.
    """
    options = [
        "--die-with-parent",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]
    if os.geteuid() != 0:
        options.append("--unshare-user")
    elif not account.isolated:
        options += ["--cap-drop", "ALL"]  # root's own kernel: uid 0, but no power to remount what is read-only
    for path in SYSTEM_PATHS:
        if os.path.islink(path):  # /bin -> usr/bin on a merged /usr
            options += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            options += ["--ro-bind", path, path]
    options += ["--proc", "/proc", "--dev", "/dev"]
    for folder in PRIVATE_FOLDERS:
        options += ["--perms", "1777", "--size", str(PRIVATE_FOLDER_BYTES), "--tmpfs", folder]
    made = {"/", *PRIVATE_FOLDERS}
    for path in _python_paths():  # after the private folders, which would hide a venv in /tmp
        for parent in map(str, reversed(Path(path).parents)):
            if parent not in made:  # bwrap run as root would make it private to root
                options += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        options += ["--ro-bind", path, path]
    if workdir is not None:
        options += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    if account.isolated and os.geteuid() == 0:
        argv = [*_as(account), *argv]
    return [*_limits(account.isolated), bwrap, *options, "--remount-ro", "/", "--", *argv]


def _python_paths() -> list[str]:
    """What the kernel's Python needs, outside the system folders: the environment, its base, cnnbook, its data."""
    paths = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, str(PACKAGE)}
    if os.environ.get("CNNBOOK_DATA"):
        paths.add(os.environ["CNNBOOK_DATA"])
    paths |= {os.path.realpath(p) for p in paths}  # where a link leads, and the link itself
    # a path the grader cannot reach (a base Python in root's home, for another user) is left out: bwrap would fail
    covered = [p for p in SYSTEM_PATHS if os.path.isdir(p) and not os.path.islink(p)]
    return outermost((p for p in paths if os.path.isdir(p)), covered)


def outermost(paths, covered: list[str] | tuple = ()) -> list[str]:
    """``paths``, sorted, less those inside another of them or inside a folder of ``covered``."""
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(inside(path, other) for other in [*covered, *kept]):
            kept.append(path)
    return kept


def inside(path: str, folder: str) -> bool:
    """Whether the real path ``path`` is ``folder`` or under it."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _as(account: Account) -> list[str]:
    """setpriv's prefix that runs a command as ``account``, with no supplementary groups or new privileges."""
    return [
        "setpriv",
        f"--reuid={account.uid}",
        f"--regid={account.gid}",
        "--clear-groups",
        "--no-new-privs",
        "--",
    ]


def _limits(isolated: bool) -> list[str]:
    """util-linux's prefix that caps file size, core dumps (and a dedicated uid's processes) and raises the OOM score.

    Set before bwrap starts, so every process of the sandbox inherits them.
    """
    caps = [f"--fsize={MAX_FILE_BYTES}", "--core=0"] + ([f"--nproc={MAX_PROCESSES}"] if isolated else [])
    return ["prlimit", *caps, "--", "choom", "-n", "1000", "--"]


def command_pid(launched: int) -> int:
    """The pid of the command :func:`launch` started: in bwrap's pid namespace, the process numbered 2 there."""
    for pid in sorted(descendants(launched, processes())):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        numbers = next((line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")), [])
        if len(numbers) > 1 and numbers[-1] == "2":
            return pid
    return launched


def reach_warnings(account: Account) -> list[str]:
    """What the kernel could reach beyond its own folder, as the report's warnings (none when it was isolated and
    confined)."""
    shared = "the grader's network, /tmp, /var/tmp, /dev/shm, /run/lock and SysV IPC"
    warnings = []
    if not account.isolated and account.confined:
        warnings.append(
            f"not isolated as a user: the notebook ran as {account.describe()}, though in namespaces of its own "
            "(no network, private /tmp, /var/tmp, /dev/shm, /run/lock and SysV IPC, the Python environment "
            "read-only, none of the grader's other files); run the grader as root to give it a user of its own too"
        )
    elif not account.isolated:
        warnings.append(
            f"not isolated: the notebook ran as {account.describe()}, so it could read the source notebook "
            "(hidden tests, solutions) and the grader's files; run the grader as root to isolate it"
        )
    if not account.confined:
        could = (
            "could read every file all users may read"
            if account.isolated
            else "could read and write whatever the grader's user can, the grader's own code included (if it changes "
            "the grader's Python environment, grading stops: the rest of the submissions are not graded)"
        )
        warnings.append(
            f"not confined: {unconfined_reason() or 'bubblewrap was not used'}, so the kernel shared {shared}, "
            f"and {could}; install bubblewrap (apt-get install bubblewrap) to give it namespaces of its own"
        )
    return warnings


def launch(account: Account, argv: list[str], workdir: Path | None = None, **popen) -> subprocess.Popen:
    """Start ``argv`` as ``account`` in a new session, with no supplementary groups or new privileges.

    A confined account's command runs in namespaces of its own, with ``workdir`` its only writable folder.
    """
    if account.confined:
        argv = confine(account, argv, workdir, shutil.which("bwrap") or "bwrap")
        return subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL, **popen)
    if account.isolated and shutil.which("setpriv"):
        # setpriv also sets no_new_privs, so setuid programs (sudo, su) cannot give anything back
        argv = [*_as(account), *argv]
    elif account.isolated:
        popen.update(user=account.uid, group=account.gid, extra_groups=[])
    process = subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL, **popen)
    _limit(process.pid, account.isolated)
    return process


def _limit(pid: int, isolated: bool) -> None:
    """Cap file size (and, for a dedicated uid, its processes); make it the first the OOM killer picks.

    Set from outside right after the start, before the kernel has read its first cell. Children
    inherit all of it, so a memory bomb kills the student's kernel, not the grader.
    """
    limits = [(resource.RLIMIT_FSIZE, MAX_FILE_BYTES), (resource.RLIMIT_CORE, 0)]
    if isolated:  # RLIMIT_NPROC counts every process of the uid: only a dedicated uid's are all the kernel's
        limits.append((resource.RLIMIT_NPROC, MAX_PROCESSES))
    for limit, value in limits:
        try:
            resource.prlimit(pid, limit, (value, value))
        except (OSError, ValueError, AttributeError):  # not Linux, or the process already ended
            pass
    try:
        Path(f"/proc/{pid}/oom_score_adj").write_text("1000")
    except OSError:
        pass


def can_read(account: Account, path: str | Path) -> bool:
    """Whether ``account``'s kernel can read ``path`` (asked of a process running as it, in its namespaces if confined,
    so ACLs and what is hidden count too)."""
    if account.shares_grader:
        return os.access(path, os.R_OK)
    probe = "import os, sys; sys.exit(0 if os.access(sys.argv[1], os.R_OK) else 1)"
    try:
        process = launch(
            account,
            [sys.executable, "-I", "-S", "-c", probe, str(Path(path).resolve())],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
        )
        return process.wait(timeout=60) == 0
    except (OSError, subprocess.TimeoutExpired):
        return True  # cannot tell: assume the worst, so the report warns


@dataclass(frozen=True)
class Proc:
    """One line of the process table."""

    pid: int
    ppid: int
    uid: int
    state: str


def processes() -> list[Proc]:
    """Every process on the machine, read from ``/proc`` (empty where there is none)."""
    found = []
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            uid = int(
                next(
                    line for line in Path(entry.path, "status").read_text().splitlines() if line.startswith("Uid:")
                ).split()[1]
            )
        except (OSError, StopIteration, ValueError):
            continue  # it ended while we looked
        fields = stat[stat.rfind(")") + 2 :].split()  # the command name may hold spaces and parentheses
        found.append(Proc(int(entry.name), int(fields[1]), uid, fields[0]))
    return found


def descendants(root: int, table: list[Proc]) -> set[int]:
    """The pids below ``root`` in the process tree."""
    children: dict[int, list[int]] = {}
    for p in table:
        children.setdefault(p.ppid, []).append(p.pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def become_subreaper() -> None:
    """Make orphans of our children our children, so a double-forked daemon is still found."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: only the kernel's session is found
        pass


class Reaper:
    """Ends every process the student's kernel started: all of its uid, or all our new descendants."""

    def __init__(self, account: Account) -> None:
        self.account = account
        become_subreaper()
        self.before = descendants(os.getpid(), processes())  # what the grader itself already runs

    def targets(self) -> set[int]:
        table = processes()
        mine = descendants(os.getpid(), table) - self.before
        return {
            p.pid
            for p in table
            if p.state not in "ZX"
            and p.pid != os.getpid()
            and (p.pid in mine or (self.account.isolated and p.uid == self.account.uid))
        }

    def end_all(self, deadline_s: float = 10.0) -> bool:
        """Stop every target first (a stopped process cannot fork), then kill them; True when none is left."""
        end = time.monotonic() + deadline_s
        stopped: set[int] = set()
        while time.monotonic() < end:
            fresh = self.targets() - stopped
            if not fresh:
                break
            for pid in fresh:
                _signal(pid, signal.SIGSTOP)
            stopped |= fresh
        while time.monotonic() < end:
            left = self.targets()
            for pid in left | stopped:
                _signal(pid, signal.SIGKILL)
            stopped = set()
            self._reap()
            if not left:
                return True
            time.sleep(0.02)
        return False

    def _reap(self) -> None:
        """Collect the zombies that became our children (orphans come to a subreaper)."""
        for p in processes():
            if p.ppid == os.getpid() and p.state == "Z":
                try:
                    os.waitpid(p.pid, os.WNOHANG)
                except ChildProcessError:
                    pass


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def make_workdir(account: Account) -> Path:
    """A fresh, private folder owned by ``account``: the kernel's working directory and home."""
    path = Path(tempfile.mkdtemp(prefix="cnnbook-grade-"))
    if account.isolated:
        os.chown(path, account.uid, account.gid)
    return path


def remove_leftovers(account: Account) -> None:
    """Delete what a dedicated uid left in the shared folders and SysV IPC, so the next student starts clean.

    Only needed without namespaces: a confined kernel's folders and IPC end with it.
    """
    if not account.isolated or account.uid not in DYNAMIC_UIDS:
        return  # a named account may own files there that are none of our business
    for folder in {tempfile.gettempdir(), *PRIVATE_FOLDERS}:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != account.uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass
    remove_ipc(account.uid)


_IPC_RMID = 0
_IPC_KINDS = {"shm": "shmctl", "sem": "semctl", "msg": "msgctl"}  # /proc/sysvipc/<kind> and the call that removes one


def remove_ipc(uid: int) -> list[str]:
    """Remove every SysV shared memory segment, semaphore set and message queue that ``uid`` owns or made; what was
    removed, as ``kind id``. (They outlive every process, and another user's kernel could attach to them.)"""
    removed = []
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return removed
    for kind, call in _IPC_KINDS.items():
        try:
            header, *lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        except OSError:
            continue  # not Linux, or no SysV IPC
        columns = header.split()
        for line in lines:
            row = dict(zip(columns, line.split()))
            if uid not in (int(row.get("uid", -1)), int(row.get("cuid", -1))):
                continue
            ident = int(row[columns[1]])
            ending = getattr(libc, call)
            if (ending(ident, 0, _IPC_RMID) if kind == "sem" else ending(ident, _IPC_RMID, None)) == 0:
                removed.append(f"{kind} {ident}")
    return removed
