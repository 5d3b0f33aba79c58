"""Gradescope: ``results.json`` from ``cnnbook grade --gradescope``, the autograder zip from ``cnnbook gradescope-zip``.

The format is Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): a top-level ``score`` (which
overrides the sum of the tests: it is that sum, exactly), ``execution_time`` in seconds, an ``output``,
and ``tests``, each with ``name``, ``number``, ``score``, ``max_score``, ``status``, ``output``,
``tags`` and ``visibility``. Hidden tests are ``after_published``: students see them, and so their
total, only once the instructor publishes the grades; a hidden test's output says only that it failed, and the
``output`` above the tests is the student's view of the report (no hidden test's message). A question's points
are split in hundredths (:func:`~cnnbook.homework.grade.split_points`), so the tests add up to the total to the
last digit. A written answer is one case with no score (Gradescope shows it as neither passed nor failed)
saying its points are pending: grade it by hand in Gradescope.

The autograder zip holds, at its root, ``setup.sh`` (run once when Gradescope builds the image: it
installs cnnbook into a virtual environment from the wheels in the zip, with ``pip install --no-index``,
so no package index is needed), ``run_autograder`` (run for each submission: it grades the
notebook in ``/autograder/submission`` and writes ``/autograder/results/results.json``), the
solution notebook with its hidden tests in ``solution/``, and the wheels in ``wheels/``.

Bubblewrap, which gives each student's kernel namespaces of its own (:mod:`cnnbook.homework.sandbox`), is a
system package, not a wheel: ``setup.sh`` installs it with apt-get when it is missing, as a best effort that
never fails the build (the one use of a package index, and only while the image is built). Whether kernels
were confined is the instructor's business, not the students': the report's warnings stay out of
``results.json`` and go to ``run_autograder``'s standard output, which Gradescope shows only to instructors
(specs.md: "/autograder/results/stdout captures the output of run_autograder, for displaying back to the
instructor"; ``stdout_visibility`` stays ``hidden``), after a first line from :func:`sandbox_status`.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from cnnbook import __version__
from cnnbook.homework.grade import Report, clean, student_message
from cnnbook.homework.report import assignment_name, to_text
from cnnbook.homework.sandbox import choose_account, unconfined_reason

REPOSITORY = "https://github.com/cnnbook/cnnbook"
RELEASE = f"cnnbook @ git+{REPOSITORY}@v{__version__}"  # the grader the zip installs by default
PYTHON_VERSION = "3.10"  # python3 of Gradescope's default image, Ubuntu 22.04
PLATFORM = "manylinux_2_35_x86_64"  # glibc 2.35 (Ubuntu 22.04); the wheels may be for any older manylinux too
ZIP_DATE = (2026, 1, 1, 0, 0, 0)  # fixed, so the same inputs give the same zip


def to_results(report: Report, student: str = "", assignment: str = "") -> dict:
    """The report in Gradescope's ``results.json`` format."""
    tests = []
    if report.error:
        tests.append(
            {
                "name": "notebook",
                "number": "0",
                "score": 0.0,
                "max_score": 0.0,
                "status": "failed",
                "output": f"The notebook could not be graded: {clean(report.error)}",
                "visibility": "visible",
            }
        )
    for number, question in enumerate(report.questions, 1):
        if question.manual:
            case = {"name": f"{question.name}: written answer", "number": f"{number}.1", "output": question.feedback}
            tests.append({**case, "tags": [question.name], "visibility": "visible"})
        for position, test in enumerate(question.tests, 1):
            tests.append(
                {
                    "name": f"{question.name}: {test.name}",
                    "number": f"{number}.{position}",
                    "score": test.points,
                    "max_score": test.max_points,
                    "status": "passed" if test.passed else "failed",
                    "output": "passed" if test.passed else clean(student_message(test)),
                    "tags": [question.name],
                    "visibility": "after_published" if test.hidden else "visible",
                }
            )
    return {
        "score": report.score,
        "execution_time": max(0, round(report.seconds)),
        "output": student_output(report),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {
            "student": student,
            "assignment": assignment or assignment_name(report),
            "submission": report.submission,
            "max_score": report.max_score,
            "cnnbook": __version__,
        },
        "tests": tests,
    }


def student_output(report: Report) -> str:
    """The top-level ``output`` students see: the student's view of the report, without its warnings.

    The warnings say what the kernel could reach (not confined, not isolated, a readable source notebook):
    the instructor's to act on, and a map for a student probing the grader. Gradescope documents no visibility
    for the top-level output alone, so they go to run_autograder's stdout instead (instructors only).
    """
    return to_text(dataclasses.replace(report, warnings=[]), student=True)


def sandbox_status() -> str:
    """The line run_autograder prints first, for the instructor: how each student's kernel runs in this container.

    By the grader's own checks (:func:`~cnnbook.homework.sandbox.choose_account`), so it says what grading
    does here; each submission's report below it repeats any warning in full.
    """
    account = choose_account()
    user = "as a dedicated user" if account.isolated else f"as {account.describe()} (NOT isolated)"
    if account.confined:
        confined = "confined in bubblewrap's namespaces (no network, private /tmp and IPC, the system read-only)"
    else:
        confined = f"NOT confined ({unconfined_reason() or 'bubblewrap was not used'})"
    return f"sandbox: each student's kernel runs {user}, {confined}"


SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image. It installs the cnnbook grader
# into its own virtual environment from the wheels in this zip, with no package index: grading
# never needs the network. The image's python3 (Gradescope's harness uses it) is left as it is.
set -euo pipefail

# Bubblewrap (bwrap) gives each student's kernel namespaces of its own: no network, private /tmp and IPC,
# the system read-only. It is a system package, not a wheel, so this is the one package index used, and
# only while the image is built: a best effort that never fails the build. Without it (or where the
# container refuses namespaces) the grader still runs, and run_autograder tells the instructor so.
install_bubblewrap() {{
  if command -v bwrap >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: bubblewrap is not installed and there is no apt-get; kernels will not be confined" >&2
    return 0
  fi
  local log status=0
  # an image without package lists (a bare Ubuntu image has none) gets them once, and the install is tried again
  log=$(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap 2>&1 </dev/null) \\
    || log=$(apt-get update -qq 2>&1 </dev/null \\
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap 2>&1 </dev/null) \\
    || status=$?
  if [ "$status" -ne 0 ]; then
    echo "setup.sh: bubblewrap not installed (apt-get: exit status $status, ${{log##*$'\\n'}}); kernels will not be" \\
      "confined" >&2
  fi
}}
install_bubblewrap

SOURCE="${{AUTOGRADER_ROOT:-/autograder}}/source"
VENV="${{CNNBOOK_VENV:-/opt/cnnbook}}"
python3 -m venv --without-pip "$VENV"   # no ensurepip needed: pip runs from its wheel below
pip_wheel=$(ls "$SOURCE"/wheels/pip-*.whl | head -n 1)
"$VENV/bin/python" "$pip_wheel/pip" install --quiet --no-index --find-links "$SOURCE/wheels" pip "cnnbook[grade]"
"$VENV/bin/cnnbook" --version
# Only root may read the solution (its hidden tests): each student's kernel runs as a throw-away user.
chmod 700 "$SOURCE/solution"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission: it grades the notebook in submission/ with the visible
# and hidden tests of {solution} and writes results/results.json. Nothing is downloaded.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
CNNBOOK="${{CNNBOOK:-${{CNNBOOK_VENV:-/opt/cnnbook}}/bin/cnnbook}}"
SOLUTION="$ROOT/source/solution/{solution}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
chmod 700 "$ROOT/source/solution" 2>/dev/null || true
# The notebook of the solution's name, else the first notebook submitted (checkpoints left out).
submission=$(find "$ROOT/submission" -type f -name {solution_quoted} -not -path '*/.ipynb_checkpoints/*' \\
  2>/dev/null | sort | head -n 1)
if [ -z "$submission" ]; then
  submission=$(find "$ROOT/submission" -type f -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' \\
    2>/dev/null | sort | head -n 1)
fi
# No notebook at all: grading the missing file writes a report that scores zero and says why.
submission="${{submission:-$ROOT/submission/{solution}}}"
# The student's name for the report's extra_data, from Gradescope's submission_metadata.json.
names='import json, sys; print(", ".join(u.get("name", "") for u in json.load(open(sys.argv[1]))["users"]))'
student=$(python3 -c "$names" "$ROOT/submission_metadata.json" 2>/dev/null || true)
# Gradescope shows this script's stdout to instructors only (stdout_visibility: hidden): first whether kernels
# are confined here, then the grader's full report with its warnings, none of which results.json shows students.
"${{CNNBOOK%/*}}/python" -c 'from cnnbook.homework.gradescope import sandbox_status; print(sandbox_status())' \\
  || echo "sandbox: the grader could not say whether kernels are confined"
"$CNNBOOK" grade "$submission" --source "$SOLUTION" --gradescope "$RESULTS" \\
  {options}${{student:+--student "$student"}}
status=$?
if [ ! -s "$RESULTS" ]; then
  # The grader itself could not run (not the student's fault): say so rather than leave no result.
  message="The autograder could not run (exit status $status). This is not a problem with your notebook:"
  printf '{{"score": 0, "output": "%s please tell your instructor.", "tests": []}}\\n' "$message" > "$RESULTS"
fi
exit 0
"""


def _entry(archive: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, ZIP_DATE)
    info.external_attr = (0o100000 | mode) << 16  # a regular file with these permissions
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def platforms(platform: str) -> list[str]:
    """``manylinux_2_35_x86_64`` and every older manylinux tag a glibc-2.35 machine installs (pip takes only the
    tags it is given); any other platform as it is."""
    match = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", platform)
    if not match:
        return [platform]
    major, minor, arch = int(match.group(1)), int(match.group(2)), match.group(3)
    tags = [f"manylinux_{major}_{m}_{arch}" for m in range(minor, 4, -1)] if major == 2 else [platform]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    return tags + [f"{name}_{arch}" for glibc, name in legacy.items() if major > 2 or minor >= glibc]


def download_wheels(folder: Path, requirement: str, python_version: str, platform: str) -> None:
    """The wheels of ``requirement`` (built here if it is a source) and of every dependency, for the target Python.

    Uses pip with the package index (at zip-build time, on the instructor's machine); raises
    CalledProcessError when pip cannot.
    """
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    with tempfile.TemporaryDirectory() as built:
        subprocess.run([*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", built, requirement], check=True)
        wheels = sorted(Path(built).glob("cnnbook-*.whl"))
        if not wheels:
            raise FileNotFoundError(f"pip built no cnnbook wheel from {requirement}")
        shutil.copy(wheels[0], folder)
        target = ["--only-binary=:all:", "--python-version", python_version]
        target += [option for tag in platforms(platform) for option in ("--platform", tag)]
        grader = f"{wheels[0]}[grade]"  # the grader's extra: nbclient, nbformat, ipykernel, pyyaml
        subprocess.run([*pip, "download", "--quiet", *target, "--dest", str(folder), grader, "pip"], check=True)


def build_zip(
    solution: Path,
    out: Path,
    *,
    wheels: bool = True,
    wheels_from: Path | None = None,
    requirement: str = RELEASE,
    python_version: str = PYTHON_VERSION,
    platform: str = PLATFORM,
    cell_timeout: float | None = None,
    timeout: float | None = None,
) -> list[str]:
    """Write the autograder zip for ``solution`` to ``out``; returns the names in it.

    ``wheels_from`` takes the wheels from a folder instead of downloading them; ``wheels=False``
    leaves them out (for tests: setup.sh cannot install anything then).
    """
    from cnnbook.homework.grade import load_tests

    load_tests(solution)  # a broken solution notebook fails here, not on Gradescope
    options = ""
    if cell_timeout is not None:
        options += f"--cell-timeout {cell_timeout:g} "
    if timeout is not None:
        options += f"--timeout {timeout:g} "
    script = RUN_AUTOGRADER.format(solution=solution.name, solution_quoted=shlex.quote(solution.name), options=options)
    with tempfile.TemporaryDirectory() as folder:
        wheelhouse = Path(folder)
        if wheels_from is not None:
            for wheel in sorted(Path(wheels_from).glob("*.whl")):
                shutil.copy(wheel, wheelhouse)
        elif wheels:
            download_wheels(wheelhouse, requirement, python_version, platform)
        found = sorted(p.name for p in wheelhouse.glob("*.whl"))
        needed = [n for n in ("cnnbook-", "pip-") if not any(name.startswith(n) for name in found)]
        if wheels and needed:
            raise FileNotFoundError(f"the wheels must include cnnbook and pip; found {', '.join(found) or 'none'}")
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w") as archive:
            _entry(archive, "setup.sh", SETUP_SH.format().encode(), 0o755)
            _entry(archive, "run_autograder", script.encode(), 0o755)
            _entry(archive, f"solution/{solution.name}", solution.read_bytes())
            for name in found:
                _entry(archive, f"wheels/{name}", (wheelhouse / name).read_bytes())
            return archive.namelist()
