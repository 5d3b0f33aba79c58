"""Hostile submissions for tests/test_grade_isolation.py, built from the exercise notebooks as build.py builds its own.

They are not written into this folder (tests/test_grade.py grades every notebook here against chapter 1):
the tests build them into a temporary folder, with the paths, ports and names of that run filled in.
Each probing cell records what it reached in plain variables, which the tests read back.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("build_submissions", HERE / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

# What the kernel can reach: the network, the namespaces, shared folders, the grader's files, the Python environment.
PROBE = """
import errno, json, os, socket, sys

def attempt(action):
    try:
        return action()
    except OSError as error:
        return type(error).__name__

def connect():
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    return "connected"

def write_into(folder):
    path = os.path.join(folder, "written-by-the-kernel")
    with open(path, "w") as handle:
        handle.write("x")
    os.unlink(path)
    return "written"

interfaces = sorted(name for _, name in socket.if_nameindex())
tcp = attempt(connect)
namespaces = {{kind: os.readlink(f"/proc/self/ns/{{kind}}") for kind in ("net", "ipc", "mnt", "pid", "uts")}}
markers = {{path: os.path.exists(path) for path in {markers!r}}}
grader_files = {{path: attempt(lambda: sorted(os.listdir(path))) for path in {grader_files!r}}}
import cnnbook, numpy
python_dirs = {{os.path.dirname(module.__file__) for module in (os, numpy, cnnbook)}} | {{sys.prefix}}
python_writes = {{path: attempt(lambda: write_into(path)) for path in python_dirs}}
own_writes = {{path: attempt(lambda: write_into(path)) for path in (os.getcwd(), "/tmp", "/var/tmp", "/dev/shm")}}
"""

# SysV shared memory, files in every shared temporary folder (nested too) and a daemon that outlives its kernel.
LEFTOVERS = """
import ctypes, os, signal, time

libc = ctypes.CDLL(None, use_errno=True)
shm = libc.shmget({key}, 4096, 0o1000 | 0o666)  # IPC_CREAT
made = []
for folder in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
    nested = os.path.join(folder, "{token}", "nested", "deeper")
    try:
        os.makedirs(nested)
        for path in (os.path.join(folder, "{token}.file"), os.path.join(nested, "file")):
            with open(path, "w") as handle:
                handle.write("left behind")
        made.append(folder)
    except OSError as error:
        made.append(f"{{folder}}: {{error}}")

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)
        with open("/proc/self/comm", "w") as handle:
            handle.write("{comm}")
        while True:  # keep putting the files back, in case they are deleted
            for folder in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
                try:
                    with open(os.path.join(folder, "{token}.daemon"), "w") as handle:
                        handle.write(str(os.getpid()))
                except OSError:
                    pass
            time.sleep(0.05)
    os._exit(0)
os.wait()
time.sleep(0.3)
daemon_ran = all(os.path.exists(os.path.join(folder, "{token}.daemon")) for folder in ("/tmp", "/var/tmp"))
"""

# Rewrite the grader's own code, as installed, so that every test passes from then on.
REWRITE_PACKAGE = """
import cnnbook.homework.checks as checks

try:
    with open(checks.__file__, "a") as handle:
        handle.write("\\nrun_test = lambda function, student: Outcome(function.__name__, True)\\n")
    rewritten = True
except OSError as error:
    rewritten = str(error)
print("rewritten:", rewritten)
"""

# Chapter 7: define the helpers its checks used to call, to answer q5 and q6 without numerical_gradient.
REDEFINED_HELPERS = """
GRADIENTS = {
    "sum_of_squares": lambda a, eps: 2 * a,
    "sum_of_cubes": lambda a, eps: 3 * a ** 2 + eps ** 2,
    "weighted_softplus": lambda a, eps: np.arange(1, a.size + 1).reshape(a.shape) / (1 + np.exp(-a)),
    "zero": lambda a, eps: np.zeros_like(a),
}


def numerical_gradient_of(name, x, eps=1e-6):
    x = np.array(x, dtype=float)
    return GRADIENTS[name](x, eps), True


def gradient_check_of(name, x, analytic, eps=1e-6):
    x = np.array(x, dtype=float)
    numeric, analytic = GRADIENTS[name](x, eps), np.asarray(analytic, dtype=float)
    scale = max(np.abs(analytic).max(), np.abs(numeric).max())
    return 0.0 if scale == 0 else float(np.abs(analytic - numeric).max() / scale)
"""


def probe_cells(port: int, markers: list[str], grader_files: list[str]) -> list[str]:
    """The cells of a notebook that records what its kernel can reach."""
    return [PROBE.format(port=port, markers=markers, grader_files=grader_files)]


def leftover_cells(token: str, key: int, comm: str) -> list[str]:
    """The cells of a notebook that tries to leave things behind (``comm`` names its daemon, 15 characters)."""
    return [LEFTOVERS.format(token=token, key=key, comm=comm[:15])]


def rewrites_package():
    """Chapter 1's exercise, answering nothing, with a cell that rewrites the installed grader."""
    return build.insert(build.exercise(), "import numpy", REWRITE_PACKAGE)


def redefines_helpers():
    """Chapter 7's exercise, answering nothing, with every helper its checks once called redefined to cheat."""
    nb = nbformat.read(build.FROZEN / "exercises" / "07-cnn-from-scratch.ipynb", as_version=4)
    nb.cells.append(build.code(REDEFINED_HELPERS))
    return nb
