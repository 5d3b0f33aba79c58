"""The hostile class: one submission for every kind of attack of issue 16, graded by ``cnnbook grade`` in each mode.

Modes: ``root`` (the grader as root: each kernel a throw-away uid, in bubblewrap's namespaces), ``user`` (the grader
as an ordinary user, here an unprivileged uid made with setpriv: the kernel runs as that user, in namespaces of its
own) and ``root-without-bwrap`` (root on a machine without bubblewrap: a throw-away uid, no namespaces). For each
mode a world is made in a fresh folder: a checkout whose ``cnnbook`` the grader imports (``solutions/`` beside it,
readable by all, as in a clone), the solutions the grader is given (private), the class's folder (private), the
reports and a folder outside it all. The class of tests/submissions/class_attacks.py is graded with ``--jobs 2``,
then a second class looks for what the first left. Every case is checked for its score, its reports (JSON, JUnit,
a CSV row), and, after each run, that nothing of a submission outlived it and nothing was written anywhere but the
reports. The outcomes are those the table in book/how-to-use.md states (the last test reads it).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from cnnbook.homework.sandbox import processes

ROOT = Path(__file__).resolve().parents[1]
FROZEN = ROOT / "tests" / "submissions" / "homework"
AS_ROOT = os.geteuid() == 0
USER_UID = 60998  # the unprivileged grader of the user mode (test_grade_isolation.py uses 60999)
BWRAP = shutil.which("bwrap")
SHARED = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")

_spec = importlib.util.spec_from_file_location("class_attacks", ROOT / "tests" / "submissions" / "class_attacks.py")
attacks = importlib.util.module_from_spec(_spec)
sys.modules["class_attacks"] = attacks  # its dataclass looks its module up there
_spec.loader.exec_module(attacks)

_needs_bwrap = pytest.mark.skipif(not BWRAP and not os.environ.get("CI"), reason="bubblewrap is not installed")
MODES = [
    pytest.param("root", marks=[_needs_bwrap, pytest.mark.skipif(not AS_ROOT, reason="needs root")]),
    pytest.param("user", marks=_needs_bwrap),
    pytest.param("root-without-bwrap", marks=pytest.mark.skipif(not AS_ROOT, reason="needs root")),
]
# What each case earns beyond its own code's score, by mode: only where the mode lets the attack work (and the report
# says the kernel was not confined). Everywhere else an attack earns nothing and leaves nothing.
STOLEN = {"root-without-bwrap": {"reads-the-solutions": 10}}
REACHED_THE_NETWORK = {"root-without-bwrap"}


@dataclass
class World:
    """The folders of one mode's grader, and what its two runs produced."""

    mode: str
    base: Path
    token: str = field(default_factory=lambda: f"cnnbook-hostile-{uuid.uuid4().hex[:12]}")
    key: int = field(default_factory=lambda: int(uuid.uuid4().hex[:7], 16) + 1)
    runs: list[dict] = field(default_factory=list)

    @property
    def comm(self) -> str:
        return "hst" + self.token[-12:]

    def path(self, name: str) -> Path:
        return self.base / name


def _grader_user() -> list[str]:
    return [shutil.which("setpriv"), f"--reuid={USER_UID}", f"--regid={USER_UID}", "--clear-groups", "--"]


def _own(world: World, path: Path) -> None:
    if world.mode == "user" and AS_ROOT:
        for p in [path, *path.rglob("*")]:
            os.lchown(p, USER_UID, USER_UID)


def _make_world(mode: str) -> World:
    world = World(mode, Path(tempfile.mkdtemp(prefix="cnnbook-hostile-")))
    world.base.chmod(0o755)
    checkout = world.path("checkout")
    shutil.copytree(ROOT / "cnnbook", checkout / "cnnbook", ignore=shutil.ignore_patterns("__pycache__"))
    (checkout / "solutions").mkdir()
    for chapter in (attacks.CHAPTER1, attacks.CHAPTER7):
        shutil.copy(FROZEN / "solutions" / chapter, checkout / "solutions")
    for made in [checkout, *checkout.rglob("*")]:
        made.chmod(0o755 if made.is_dir() else 0o644)  # a clone: readable by all
    private = world.path("private")
    shutil.copytree(checkout / "solutions", private / "solutions")
    private.chmod(0o700)
    for name in ("reports", "reports2", "outside", "home", "bin"):
        world.path(name).mkdir(mode=0o755)
    for tool in ("setpriv", "prlimit", "choom"):  # a PATH without bwrap, for root-without-bwrap
        if shutil.which(tool):
            (world.path("bin") / tool).symlink_to(shutil.which(tool))
    _own(world, world.base)
    return world


def _targets(world: World, classmates: list[str], folder: str) -> dict:
    return {
        "source": str(world.path("private") / "solutions"),
        "class": str(world.path("private") / folder),
        "checkout": str(world.path("checkout")),
        "reports": str(world.path("reports")),
        "outside": str(world.path("outside")),
        "shared": list(SHARED),
        "token": world.token,
        "key": world.key,
        "comm": world.comm,
        "port": 0,
        "classmates": classmates,
        "chapter": attacks.CHAPTER1,
    }


def _write_class(world: World, folder: str, cases_of, port: int) -> list:
    """The class's folder: ``hw1-<student>/<chapter>`` for every case; the cases."""
    names = ["hw1-" + c.student for c in cases_of({"port": 0})]
    targets = _targets(world, names, folder) | {"port": port}
    cases = cases_of(targets)
    root = world.path("private") / folder
    for case in cases:
        student = os.path.join(os.fsencode(root), os.fsencode("hw1-" + case.student))
        os.makedirs(student)
        path = os.path.join(student, os.fsencode(case.chapter))
        if case.notebook is None:
            os.mkfifo(path)
        elif isinstance(case.notebook, bytes):
            Path(os.fsdecode(path)).write_bytes(case.notebook)
        else:
            nbformat.write(case.notebook, os.fsdecode(path))
    _own(world, root)
    return cases


def _digests(*folders: Path) -> dict[str, str]:
    """Every entry under ``folders``: a file's SHA-256, a link's target, a folder, anything else by its kind."""
    found = {}
    for folder in folders:
        for path in [folder, *folder.rglob("*")]:
            if path.is_symlink():
                found[str(path)] = "-> " + os.readlink(path)
            elif path.is_file():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[str(path)] = "dir" if path.is_dir() else "other"
    return found


def _shm_keys() -> set[int]:
    return {int(line.split()[0]) for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]}


def _workdirs(owners: set[int] | None = None) -> set[str]:
    """The kernels' working folders in the temporary folder (of ``owners`` only, if given: other tests grade too)."""
    found = set()
    for path in Path(tempfile.gettempdir()).glob("cnnbook-grade-*"):
        try:
            if owners is None or path.lstat().st_uid in owners:
                found.add(str(path))
        except OSError:
            pass
    return found


def _left_behind(world: World, kernel_uids: set[int]) -> list[str]:
    """What the submissions left: files in the shared folders, SysV shared memory, processes, working folders."""
    left = [str(p) for shared in SHARED for p in Path(shared).glob(f"{world.token}*")]
    if world.key in _shm_keys():
        left.append(f"SysV shared memory {world.key:#x}")
    for p in processes():
        try:
            comm = Path(f"/proc/{p.pid}/comm").read_text().strip()
        except OSError:
            continue
        if p.state not in "ZX" and (comm == world.comm or p.uid in kernel_uids):
            left.append(f"process {p.pid} ({comm}, uid {p.uid})")
    return left


def _clean(world: World) -> None:
    """What a failing run left, removed so that the next test starts clean."""
    for p in processes():
        try:
            if Path(f"/proc/{p.pid}/comm").read_text().strip() == world.comm:
                os.kill(p.pid, 9)
        except OSError:
            pass
    subprocess.run(["ipcrm", "-M", str(world.key)], capture_output=True)
    for shared in SHARED:
        for path in Path(shared).glob(f"{world.token}*"):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    shutil.rmtree(world.base, ignore_errors=True)


def _grade(world: World, folder: str, reports: str, cases_of) -> dict:
    """Grade one class in ``world``'s mode with ``cnnbook grade``; what came of it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    cases = _write_class(world, folder, cases_of, listener.getsockname()[1])
    graded = [world.path("checkout"), world.path("private")]
    before, workdirs = _digests(*graded), _workdirs()
    out = world.path(reports)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV"))}
    env.update(HOME=str(world.path("home")), PYTHONPATH=str(world.path("checkout")), OMP_NUM_THREADS="1")
    if world.mode == "root-without-bwrap":
        env["PATH"] = str(world.path("bin"))
    command = [sys.executable, "-m", "cnnbook", "grade", str(world.path("private") / folder)]
    command += ["--source", str(world.path("private") / "solutions"), "--jobs", "2", "-q"]
    command += ["--json", str(out), "--junit", str(out), "--csv", str(out / "scores.csv")]
    command += ["--cell-timeout", "20", "--timeout", "90"]
    as_user = _grader_user() if world.mode == "user" and AS_ROOT else []
    try:
        result = subprocess.run(
            [*as_user, *command], cwd=world.base, env=env, capture_output=True, text=True, timeout=900
        )
        connections = 0
        while True:
            try:
                listener.accept()[0].close()
                connections += 1
            except BlockingIOError:
                break
    finally:
        listener.close()
    reports_found = {}
    for path in out.rglob("*.json"):
        report = json.loads(path.read_text())
        reports_found[path.relative_to(out).parts[0][len("hw1-") :]] = report
    uids = {int(u) for r in reports_found.values() for u in re.findall(r"uid (\d+)", r["kernel"]["user"])}
    return {
        "result": result,
        "cases": cases,
        "reports": reports_found,
        "out": out,
        "connections": connections,
        "left_behind": _left_behind(world, uids - {os.getuid(), USER_UID}),
        "changed": {k: (before.get(k), v) for k, v in _digests(*graded).items() if before.get(k) != v}
        | {k: (v, None) for k, v in before.items() if not os.path.lexists(k)},
        "workdirs_left": sorted(_workdirs(uids | {USER_UID}) - workdirs),
        "outside": sorted(p.name for p in world.path("outside").iterdir()),
    }


@pytest.fixture(scope="module", params=MODES)
def world(request):
    world = _make_world(request.param)
    try:
        world.runs.append(_grade(world, "class", "reports", attacks.first_run))
        world.runs.append(_grade(world, "class2", "reports2", attacks.second_run))
        yield world
    finally:
        _clean(world)


def _cases() -> list[str]:
    names = [c.student for c in attacks.first_run({"port": 0})] + ["next/" + c.student for c in attacks.second_run({})]
    return names


def _case(world: World, name: str):
    run = world.runs[1] if name.startswith("next/") else world.runs[0]
    student = name.removeprefix("next/")
    case = next(c for c in run["cases"] if c.student == student)
    return run, case, run["reports"].get(student)


def test_every_run_graded_the_whole_class_and_wrote_every_report(world):
    for run in world.runs:
        result = run["result"]
        assert result.returncode == 0, result.stderr[-3000:]
        assert sorted(run["reports"]) == sorted(c.student for c in run["cases"]), result.stderr[-3000:]
        rows = list(csv.DictReader(io.StringIO((run["out"] / "scores.csv").read_text(encoding="utf-8"))))
        assert len(rows) == len(run["cases"])
        assert sorted(float(r["score"]) for r in rows) == sorted(r["score"] for r in run["reports"].values())
        for path in run["out"].rglob("*.xml"):
            ET.parse(path)
        assert len(list(run["out"].rglob("*.xml"))) == len(run["cases"])


@pytest.mark.parametrize("name", _cases())
def test_each_submission_earns_what_its_own_code_earns(world, name):
    run, case, report = _case(world, name)
    assert report is not None, sorted(run["reports"])
    expected = case.earns + STOLEN.get(world.mode, {}).get(case.student, 0)
    assert report["score"] == pytest.approx(expected), (report["error"], report["questions"], report["warnings"])
    if case.notebook is None:
        assert "named pipe (FIFO), not a notebook file" in report["error"], report["error"]
    if case.student == "huge-answer":
        assert "larger than 4 MB" in json.dumps(report["questions"][0])
    if expected > case.earns:  # the attack worked: the report must have said the kernel was not confined
        assert any(w.startswith("not confined") for w in report["warnings"]), report["warnings"]


def test_nothing_of_a_submission_outlives_it(world):
    for run in world.runs:
        assert run["left_behind"] == [] and run["workdirs_left"] == []


def test_nothing_is_written_but_the_reports(world):
    for run in world.runs:
        assert run["changed"] == {}
        assert run["outside"] == []
        written = sorted(str(p.relative_to(run["out"])) for p in run["out"].rglob("*") if not p.is_dir())
        assert not [p for p in run["out"].rglob("*") if p.is_symlink()]
        assert "attacker-was-here" not in written
        assert len(written) == 2 * len(run["cases"]) + 1, written  # a JSON and a JUnit report each, and the CSV


def test_the_network_is_reached_only_where_the_report_says_so(world):
    run, _, report = _case(world, "uses-the-network")
    reached = world.mode in REACHED_THE_NETWORK
    assert (run["connections"] > 0) is reached
    assert any("the grader's network" in w for w in report["warnings"]) is reached, report["warnings"]


# ---- the table of book/how-to-use.md ---------------------------------------------------------------------------

HOW_TO_USE = ROOT / "book" / "how-to-use.md"
COLUMNS = {"root": "root, bubblewrap", "user": "user, bubblewrap", "root-without-bwrap": "root, no bubblewrap"}
SHOWN = {"new\nline\x1b[2J": "new\\nline\\x1b[2J", "not-utf8-\udcff": "not-utf8-\\xff"}  # as the table writes them


def _table() -> dict[str, dict[str, str]]:
    """The hostile table of how-to-use: submission -> column -> cell."""
    lines = HOW_TO_USE.read_text().split("<!-- hostile-table:", 1)[1].splitlines()[1:]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines if line.startswith("|")]
    header, body = rows[0], rows[2:]
    return {row[0].strip("`"): dict(zip(header, row)) for row in body}


def _measured(world: World, name: str) -> str:
    """A case's cell as the table writes it: the score, what the attack got, and whether the report said so."""
    run, case, report = _case(world, name)
    score = f"{report['score']:g}"
    gains = [", stolen"] * (report["score"] > case.earns)
    gains += [", sent"] * (case.student == "uses-the-network" and run["connections"] > 0)
    warned = any(w.startswith("not confined") for w in report["warnings"])
    return score + "".join(gains) + (" (warned)" if gains and warned else "")


def test_how_to_use_states_what_each_mode_measured(world):
    table = _table()
    names = [n for n in _cases() if not n.startswith("next/")] + ["next/reads-what-was-left"]
    assert sorted(table) == sorted(SHOWN.get(n, n).removeprefix("next/") for n in names)
    for name in names:
        row = table[SHOWN.get(name, name).removeprefix("next/")]
        assert row[COLUMNS[world.mode]] == _measured(world, name), name


# ---- a folder of submissions the kernel can read -------------------------------------------------------------------


@pytest.mark.skipif(not AS_ROOT, reason="needs root (a throw-away uid for the kernel)")
def test_a_folder_of_submissions_the_kernel_can_read_is_said_in_every_report(tmp_path):
    """Without bubblewrap, a class folder readable by all lets one submission read the others: every report says
    so (JSON warnings, JUnit system-err), not only the grader's stderr."""
    world = _make_world("root-without-bwrap")
    try:
        folder = world.path("class")
        for student in ("hw1-a", "hw1-b"):
            (folder / student).mkdir(parents=True)
            nbformat.write(attacks.build.solved(), folder / student / attacks.CHAPTER1)
        for made in [folder, *folder.rglob("*")]:
            made.chmod(0o755 if made.is_dir() else 0o644)
        out = tmp_path / "reports"
        command = [sys.executable, "-m", "cnnbook", "grade", str(folder), "-q", "--json", str(out), "--junit", str(out)]
        command += ["--source", str(world.path("private") / "solutions")]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV"))}
        result = subprocess.run(command, env=env | {"PATH": str(world.path("bin"))}, capture_output=True, text=True)
    finally:
        _clean(world)
    assert result.returncode == 0, result.stderr[-2000:]
    said = f"can read the folder of submissions {folder}"
    assert said in result.stderr
    for student in ("hw1-a", "hw1-b"):
        report = json.loads((out / student / attacks.CHAPTER1).with_suffix(".json").read_text())
        assert report["score"] == 10 and any(said in w for w in report["warnings"]), report["warnings"]
        junit = ET.parse((out / student / attacks.CHAPTER1).with_suffix(".xml")).getroot()
        assert said in junit.find("testsuite").find("system-err").text
