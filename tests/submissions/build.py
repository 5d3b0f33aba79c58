"""Build the broken and hostile submissions in this folder from chapter 1's exercise and solution notebooks
(as of release 0.3.0, frozen in ``homework/``: the book's exercises may change, this suite does not).

    python tests/submissions/build.py

Each notebook is the generated exercise with some answers filled in from the solution notebook,
then broken or made hostile in one way. ``tests/test_grade.py`` grades them all and checks that
each scores exactly what its code earns. pytest does not collect this folder (tests/conftest.py).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FROZEN = HERE / "homework"  # chapters 1 and 7 of release 0.3.0, frozen for the grader suite
NAME = "01-convolution-and-edges.ipynb"
QUESTIONS = ("q1", "q2", "q3", "q4", "q5")


def _answers() -> dict[str, str]:
    """Each question's solution code with the solution markers removed."""
    solution = nbformat.read(FROZEN / "solutions" / NAME, as_version=4)
    cells = [c.source for c in solution.cells if c.cell_type == "code" and "SOLUTION" in c.source]
    assert len(cells) == len(QUESTIONS), "chapter 1 changed: update tests/submissions/build.py"
    cleaned = []
    for source in cells:
        lines = [line for line in source.splitlines() if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION")]
        cleaned.append("\n".join(re.sub(r"\s*# SOLUTION$", "", line) for line in lines))
    return dict(zip(QUESTIONS, cleaned))


ANSWERS = _answers()


def exercise():
    return nbformat.read(FROZEN / "exercises" / NAME, as_version=4)


def answer_cells(nb) -> dict[str, int]:
    """Question -> index of its answer cell in an exercise notebook."""
    found = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "# YOUR CODE HERE" in c.source]
    return dict(zip(QUESTIONS, found))


def solved(questions=QUESTIONS):
    """The exercise with the given questions answered correctly (the others left as stubs)."""
    nb = exercise()
    for question, index in answer_cells(nb).items():
        if question in questions:
            nb.cells[index].source = ANSWERS[question]
    return nb


def index_of(nb, start: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.source.startswith(start))


def code(source: str):
    cell = nbformat.v4.new_code_cell(source.strip("\n"))
    cell.id = "added-" + hashlib.sha1(source.encode()).hexdigest()[:8]  # stable, so rebuilding changes nothing
    return cell


def insert(nb, after: str, source: str):
    nb.cells.insert(index_of(nb, after) + 1, code(source))
    return nb


STARTS = {
    "q1": "def conv_output_size",
    "q2": "def correlate2d",
    "q3": "horizontal =",
    "q4": "def sobel_separable",
    "q5": "def cnn_shapes",
}


def replace(nb, question: str, source: str):
    """Replace the answer cell of ``question`` (found by the line it starts with)."""
    nb.cells[index_of(nb, STARTS[question])].source = source.strip("\n")
    return nb


ALWAYS_EQUAL = '''
class AlwaysEqual:
    """Equal to everything, with every attribute a test might look at."""
    shape = (4, 4)
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __getitem__(self, index): return self
    def __float__(self): return 0.0


class LyingArray(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
'''

FAKE_REPORT = """
# A daemon (double fork, new session, deaf to SIGTERM) that keeps replacing every report the
# grader (this kernel's parent) was told to write with a perfect score, and leaves a mark to show it ran.
import glob, json, os, signal, time

args = open(f"/proc/{os.getppid()}/cmdline", "rb").read().decode(errors="replace").split("\\0")
targets = {value for flag, value in zip(args, args[1:]) if flag in ("--json", "--junit")}
FAKE = json.dumps({"score": 10, "max_score": 10, "seconds": 0, "questions": [], "error": None})
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            for target in targets:
                paths = [target]
                if os.path.isdir(target):
                    paths = glob.glob(os.path.join(target, "*.json")) + [os.path.join(target, "attacker-was-here")]
                for path in paths:
                    try:
                        with open(path + ".fake", "w") as handle:
                            handle.write(FAKE)
                        os.replace(path + ".fake", path)
                    except OSError:
                        pass
            time.sleep(0.01)
    os._exit(0)
os.wait()
"""

READ_SOLUTION = """
# Find the grader's source notebook (its path is on the command line of this kernel's parent,
# the grader) and run the solutions in it.
import glob, json, os
stolen = []
args = open(f"/proc/{os.getppid()}/cmdline", "rb").read().decode(errors="replace").split("\\0")
for arg in args:
    if not arg.startswith("/"):
        continue
    paths = sorted(glob.glob(os.path.join(arg, "*.ipynb"))) if os.path.isdir(arg) else [arg]
    for path in paths:
        try:
            with open(path) as handle:
                cells = json.load(handle)["cells"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]
        if any("# BEGIN SOLUTION" in s for s in sources):
            stolen.append(path)
            for source in sources:
                if "SOLUTION" in source and "HIDDEN TESTS" not in source:
                    exec(source, globals())
print("read the solutions from", stolen or "nowhere")
"""

MONKEYPATCH = """
# Make every comparison, assertion and check say yes, in this kernel.
import builtins
import numpy.testing
import cnnbook.homework as homework
import cnnbook.homework.checks as checks

np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
builtins.all = lambda *args, **kwargs: True
builtins.any = lambda *args, **kwargs: True
checks.assert_close = homework.assert_close = assert_close = lambda *args, **kwargs: None
checks.run_test = lambda function, student: checks.Outcome(function.__name__, True)
check = lambda question: print(f"{question}: all tests passed")
"""

SPOOF = """
# Answer every question the grader sends with a fabricated "yes", and print a fake report.
import json
FAKE = repr(json.dumps({"value": True}))
get_ipython().user_expressions = lambda expressions: {
    key: {"status": "ok", "data": {"text/plain": FAKE}, "metadata": {}} for key in expressions}
print(json.dumps({"score": 10, "max_score": 10, "passed": True}))
"""


def build() -> dict[str, object]:
    """File name -> notebook (or raw text for the files that are not notebooks)."""
    out: dict[str, object] = {}
    out["solved"] = solved()
    out["malformed-json"] = nbformat.writes(solved())[:700]  # cut off in the middle
    out["not-a-notebook"] = json.dumps({"title": "my homework", "answers": [4, 32]})

    out["cell-raises"] = replace(solved(), "q2", "1 / 0\n\n" + ANSWERS["q2"])
    insert(
        out["cell-raises"], "import numpy", 'raise ValueError("\\x1b[31mred\\n" + "a long\\nmulti-line message " * 500)'
    )
    out["syntax-error"] = replace(solved(), "q1", ANSWERS["q1"].replace("):", ")", 1))
    out["infinite-loop"] = insert(solved(), "import numpy", "while True:\n    pass")
    out["ignores-interrupt"] = insert(
        solved(),
        "import numpy",
        ("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.1)"),
    )
    out["slow-function"] = replace(solved(), "q4", "def sobel_separable(image):\n    while True:\n        pass")
    out["sys-exit"] = insert(solved(), "import numpy", 'import sys\nsys.exit("bye")')
    insert(out["sys-exit"], 'check("q1")', "raise SystemExit(3)")
    out["exit-call"] = insert(solved(), 'check("q2")', "exit()")
    out["os-exit"] = insert(solved(), 'check("q2")', "import os\nos._exit(0)")
    out["os-exit-in-function"] = replace(solved(), "q4", "import os\n\ndef sobel_separable(image):\n    os._exit(1)")
    out["huge-output"] = insert(
        solved(),
        "import numpy",
        (
            'from IPython.display import HTML, display\nprint("x" * 20_000_000)\n'
            "for i in range(100_000):\n    print(i)\n"
            'display(HTML("<p>" * 1_000_000))'
        ),
    )

    deleted = solved()
    deleted.cells = [c for c in deleted.cells if not c.source.startswith(("# TESTS", "check(", "horizontal ="))]
    out["deleted-cells"] = deleted

    reordered = solved()
    blocks, current = [], None
    for cell in reordered.cells[3:-1]:  # after the imports, before the closing remark
        if cell.source.startswith("**Question"):
            current = []
            blocks.append(current)
        current.append(cell)
    reordered.cells = reordered.cells[:3] + [c for block in reversed(blocks) for c in block] + reordered.cells[-1:]
    out["reordered-cells"] = reordered

    missing = solved(["q1"])
    missing.cells = [c for c in missing.cells if not c.source.startswith("def correlate2d")]
    out["missing-function"] = missing

    lying = solved(["q4"])
    insert(lying, "import numpy", ALWAYS_EQUAL)
    replace(lying, "q1", "def conv_output_size(n, k, s=1, p=0):\n    return AlwaysEqual()")
    replace(lying, "q2", "def correlate2d(image, kernel):\n    return np.zeros((4, 4)).view(LyingArray)")
    replace(lying, "q3", "horizontal = AlwaysEqual()")
    replace(lying, "q5", "def cnn_shapes(size, channels, filters, k, pool):\n    return [AlwaysEqual()] * 5")
    replace(
        lying,
        "q4",
        (
            "def sobel_separable(image):\n    image = np.asarray(image, dtype=float)\n"
            "    column = image[:-2] + 2 * image[1:-1] + image[2:]\n    return column[:, :-2] - column[:, 2:]"
        ),
    )
    out["always-equal"] = lying

    out["monkeypatch"] = insert(exercise(), "import numpy", MONKEYPATCH)

    edited = solved(["q1"])
    for cell in edited.cells:
        match = re.search(r'@test\("(q\d)"\)', cell.source)
        if cell.source.startswith("# TESTS") and match:
            cell.source = f'# TESTS\n@test("{match.group(1)}")\ndef passes(student):\n    assert True'
    out["edited-tests"] = edited

    out["protocol-spoof"] = insert(exercise(), "import numpy", SPOOF)
    out["fake-report"] = insert(exercise(), "import numpy", FAKE_REPORT)
    reader = exercise()
    reader.cells.append(code(READ_SOLUTION))
    out["reads-solution"] = reader

    partial = solved()
    replace(partial, "q2", ANSWERS["q2"].replace("* kernel)", "* kernel[::-1, ::-1])"))
    replace(partial, "q5", ANSWERS["q5"].replace("pooled = conv // pool", "pooled = -(-conv // pool)"))
    assert "[::-1, ::-1]" in partial.cells[index_of(partial, STARTS["q2"])].source
    out["partial"] = partial
    return out


def main() -> None:
    for stale in HERE.glob("*.ipynb"):
        stale.unlink()
    for name, nb in build().items():
        text = nb if isinstance(nb, str) else nbformat.writes(copy.deepcopy(nb)) + "\n"
        (HERE / f"{name}.ipynb").write_text(text)
    print(f"wrote {len(list(HERE.glob('*.ipynb')))} notebooks to {HERE}")


if __name__ == "__main__":
    main()
