"""The grader run as an ordinary user: a notebook that changes the grader's own Python environment.

Without bubblewrap the kernel runs as the grader's own user and can write the code the grader imports (here a copy
of cnnbook on its ``PYTHONPATH``, owned by that user): the grader notices once the kernel has ended, that
submission's report says so, and grading stops (exit status 2), since nothing the grader would import from then on
can be trusted. With bubblewrap the same notebook changes nothing, and every submission is graded. As in
tests/test_grade_isolation.py, the ordinary user is an unprivileged uid made with setpriv when the suite runs as
root, and "no bubblewrap" is a PATH without it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER1 = ROOT / "tests" / "submissions" / "homework" / "solutions" / "01-convolution-and-edges.ipynb"
SOLVED = ROOT / "tests" / "submissions" / "solved.ipynb"
AS_ROOT = os.geteuid() == 0
USER_UID = 60999  # the unprivileged grader, as in tests/test_grade_isolation.py

# Rewrites the grader's code where the kernel's user may write: a cnnbook module, and a .pth file and a
# sitecustomize.py in the folder on the grader's PYTHONPATH (the latter runs at every later start of that Python).
ATTACK = """
import os
import cnnbook.homework.checks as checks

lib = os.environ["PYTHONPATH"]
written = []
for path, text in (
    (checks.__file__, "\\nrun_test = lambda function, student: Outcome(function.__name__, True)\\n"),
    (os.path.join(lib, "zz-grader.pth"), "import os\\n"),
    (os.path.join(lib, "sitecustomize.py"), "# runs at every start of the grader's Python\\n"),
):
    try:
        with open(path, "a") as handle:
            handle.write(text)
        written.append(path)
    except OSError as error:
        written.append(f"{path}: {error}")
print(written)
"""

# The grader's command line, run as the mode's user; it says its exit status, how many kernels it started, and
# which modules it imported once a kernel had run the student's code (none may be, in the unconfined mode).
DRIVER = """
import json, sys
from cnnbook.homework import cli, kernel, sandbox

seen = {"kernels": 0}
launch, execute = sandbox.launch, kernel.Kernel.execute

def counted(*args, **kwargs):
    seen["kernels"] += 1
    return launch(*args, **kwargs)

def first_code(self, *args, **kwargs):
    seen.setdefault("modules", set(sys.modules))
    return execute(self, *args, **kwargs)

sandbox.launch, kernel.Kernel.execute = counted, first_code
status = cli.main(sys.argv[1:])
late = sorted(set(sys.modules) - seen.get("modules", set(sys.modules)))
print(json.dumps({"status": status, "kernels": seen["kernels"], "late": late}))
"""


def _files(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` but the bytecode the grader's own imports write, with its digest."""
    files = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _class(folder: Path) -> Path:
    """The grader's folder (made, owned by the grader's user): a copy of cnnbook in ``lib``, the source, and three
    submissions (the second attacks)."""
    shutil.copytree(ROOT / "cnnbook", folder / "lib" / "cnnbook", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(CHAPTER1, folder / CHAPTER1.name)
    (folder / "subs").mkdir()
    shutil.copy(SOLVED, folder / "subs" / "a-solved.ipynb")
    attack = nbformat.read(SOLVED, as_version=4)
    attack.cells.append(nbformat.v4.new_code_cell(ATTACK.strip()))
    nbformat.write(attack, folder / "subs" / "b-rewrites.ipynb")
    shutil.copy(SOLVED, folder / "subs" / "c-solved.ipynb")
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
        if AS_ROOT:
            os.chown(path, USER_UID, USER_UID)
    return folder


def _grade(folder: Path, path: str | None, *options: str) -> tuple[dict, str]:
    """Run ``cnnbook grade`` on the class as the ordinary user, from its folder (on its sys.path, as ``""``); what
    the driver says, and stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV"))}
    env.update(HOME=str(folder), OMP_NUM_THREADS="1", PYTHONPATH=str(folder / "lib"))
    env["PATH"] = path or env.get("PATH", os.defpath)
    as_user = [shutil.which("setpriv"), f"--reuid={USER_UID}", f"--regid={USER_UID}", "--clear-groups", "--"]
    command = ["grade", str(folder / "subs"), "--source", str(folder / CHAPTER1.name), "--json", str(folder / "out")]
    command += ["--csv", str(folder / "scores.csv"), "--cell-timeout", "30", "--timeout", "120", "-q", *options]
    result = subprocess.run(
        [*(as_user if AS_ROOT else []), sys.executable, "-c", DRIVER, *command],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    return json.loads(lines[-1]), result.stderr


def _rows(folder: Path) -> dict[str, dict]:
    with open(folder / "scores.csv", newline="") as handle:
        return {Path(row["submission"]).stem: row for row in csv.DictReader(handle)}


@pytest.fixture
def folder():
    """A fresh folder in /tmp, which every user can reach (pytest's tmp_path is root's own)."""
    made = Path(tempfile.mkdtemp(prefix="cnnbook-environment-"))
    made.chmod(0o755)
    yield made
    shutil.rmtree(made, ignore_errors=True)


def _without_bwrap(folder: Path) -> str:
    """A PATH holding setpriv, prlimit and choom but no bwrap: a machine without bubblewrap."""
    for tool in ("setpriv", "prlimit", "choom"):
        if shutil.which(tool):
            (folder / tool).symlink_to(shutil.which(tool))
    return str(folder)


def test_a_notebook_that_changes_the_graders_environment_stops_the_grading(folder):
    """Unconfined: the first submission is graded; the second rewrites the grader's code, and its report says which
    files it changed; the third is not graded (no kernel started), and the exit status is 2."""
    graded, tools = _class(folder / "class"), folder / "bin"
    tools.mkdir(mode=0o755)
    answer, stderr = _grade(graded, _without_bwrap(tools), "--jobs", "2")
    assert answer["status"] == 2, stderr
    assert answer["kernels"] == 2 and answer["late"] == [], answer
    assert "graded one at a time" in stderr and "reinstall it before grading again" in stderr, stderr
    assert "grading stopped: the 1 submissions after it were not graded" in stderr, stderr
    assert (graded / "lib" / "sitecustomize.py").exists()  # the attack did happen

    rows = _rows(graded)
    assert (rows["a-solved"]["score"], rows["a-solved"]["error"]) == ("10", "")
    assert rows["b-rewrites"]["score"] == "0"
    assert "the notebook changed the grader's own Python environment" in rows["b-rewrites"]["error"]
    error = json.loads((graded / "out" / "b-rewrites.json").read_text())["error"]
    for changed in ("lib/cnnbook/homework/checks.py", "lib/sitecustomize.py", "lib/zz-grader.pth"):
        assert f"{graded.resolve()}/{changed}" in error, error
    assert error.endswith("reinstall it before grading again"), error
    left = rows["c-solved"]
    assert (left["score"], left["max_score"]) == ("0", "10")
    assert left["error"].startswith("not graded: ") and "b-rewrites.ipynb changed" in left["error"], left
    assert json.loads((graded / "out" / "c-solved.json").read_text())["seconds"] == 0


@pytest.mark.skipif(not shutil.which("bwrap"), reason="bubblewrap is not installed (apt-get install bubblewrap)")
def test_with_bubblewrap_the_same_notebook_changes_nothing(folder):
    """Confined: the attack cannot write the grader's files, and all three submissions are graded in full."""
    folder = _class(folder / "class")
    before = _files(folder / "lib")
    answer, stderr = _grade(folder, None, "--jobs", "1")
    assert answer["status"] == 0, stderr
    assert {name: (row["score"], row["error"]) for name, row in _rows(folder).items()} == {
        "a-solved": ("10", ""),
        "b-rewrites": ("10", ""),
        "c-solved": ("10", ""),
    }
    report = json.loads((folder / "out" / "b-rewrites.json").read_text())
    assert not any("not confined" in warning for warning in report["warnings"]), report["warnings"]
    assert _files(folder / "lib") == before
