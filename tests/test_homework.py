"""The exercise format: plain data, the student handle, check, the generator, and real notebooks."""

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from cnnbook.homework import REGISTRY, LocalTransport, Student, assert_close, check, test
from cnnbook.homework.checks import Registry
from cnnbook.homework.generate import expected_exercises, stub
from cnnbook.homework.generate import main as generate_main
from cnnbook.homework.in_kernel import Unsupported, decode, encode
from cnnbook.homework.notebook import FormatError, questions

ROOT = Path(__file__).resolve().parents[1]


class AlwaysEqual:
    def __eq__(self, other):
        return True


class SneakyArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)


@pytest.mark.parametrize(
    "value",
    [
        3,
        -2.5,
        float("inf"),
        True,
        None,
        "s",
        [1, (2, 3.0)],
        {"a": [1]},
        np.arange(6, dtype=np.int32).reshape(2, 3),
        np.float32(1.5),
    ],
)
def test_plain_round_trip(value):
    back = decode(json.loads(json.dumps(encode(value))))
    if isinstance(value, np.ndarray):
        assert type(back) is np.ndarray and back.dtype == value.dtype and np.array_equal(back, value)
    else:
        assert back == value and type(back) is type(value.item() if isinstance(value, np.generic) else value)


def test_nan_survives():
    assert np.isnan(decode(encode(float("nan"))))


@pytest.mark.parametrize(
    "liar",
    [
        AlwaysEqual(),
        np.zeros(3).view(SneakyArray),
        np.array([AlwaysEqual()]),
        {AlwaysEqual(): 1} if False else [AlwaysEqual()],
    ],
)
def test_objects_that_lie_about_equality_compare_unequal(liar):
    back = decode(encode(liar))
    flat = back[0] if isinstance(back, list) else back
    assert isinstance(flat, Unsupported) and flat != flat and not (flat == 3)


@pytest.mark.parametrize(
    "garbage",
    [
        {"ndarray": {"dtype": "O", "shape": [1], "data": ""}},
        {"float": 3},
        {"x": 1, "y": 2},
        [1, 2],
        {"ndarray": {"dtype": "<f8", "shape": [5], "data": "AAAA"}},
    ],
)
def test_malformed_data_decodes_to_unsupported(garbage):
    assert isinstance(decode(garbage), Unsupported)


def test_student_handle_reads_values_and_calls_functions():
    namespace = {"x": np.arange(3.0), "double": lambda v: 2 * v, "broken": lambda: 1 / 0}
    student = Student(LocalTransport(namespace))
    assert_close(student.x, [0, 1, 2])
    assert_close(student.double(np.ones(2)), [2, 2])
    with pytest.raises(Exception, match="ZeroDivisionError"):
        student.broken()
    with pytest.raises(Exception, match="'missing' is not defined"):
        _ = student.missing  # reading the name is what raises


def test_the_student_cannot_mutate_the_tests_arguments():
    expected = np.ones(3)

    def vandal(array):
        array[:] = 0
        return array

    student = Student(LocalTransport({"vandal": vandal}))
    student.vandal(expected)
    assert expected.sum() == 3


def test_check_reports_each_test():
    @test("q_demo")
    def passes(student):
        assert student.answer == 42

    @test("q_demo")
    def fails(student):
        assert_close(student.answer, 41, what="the answer")

    result = check("q_demo", {"answer": 42})
    assert not result.passed and [o.passed for o in result.outcomes] == [True, False]
    assert "the answer is off by up to 1" in repr(result) and "1 of 2 tests passed" in repr(result)
    assert check("q_demo", {"answer": AlwaysEqual()}).outcomes[0].passed is False
    REGISTRY.tests.pop("q_demo")


def test_a_registry_collects_only_while_open():
    before = {q: dict(t) for q, t in REGISTRY.tests.items()}
    loading = Registry()
    with loading.collecting():
        from cnnbook.homework import test as imported_afresh  # as a source notebook's import cell does

        @imported_afresh("q_collect")
        def inside(student):
            pass

    @test("q_collect")
    def outside(student):
        pass

    assert list(loading.tests) == ["q_collect"] and list(loading.tests["q_collect"]) == ["inside"]
    assert list(REGISTRY.tests.pop("q_collect")) == ["outside"] and REGISTRY.tests == before


def test_check_with_no_tests_says_so():
    assert "no tests found" in check("q_nothing", {}).summary()


@pytest.mark.parametrize(
    "source, expected",
    [
        (
            "def f(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION",
            "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()",
        ),
        ("answer = 6 * 7  # SOLUTION", "answer = ...  # YOUR CODE HERE"),
        ("a[0] = 1  # SOLUTION\nb = 2", "a[0] = ...  # YOUR CODE HERE\nb = 2"),
        (  # find the bug: the student starts from the planted mistake
            "def f(x):\n    # BEGIN SOLUTION\n    return x[::-1]\n    # END SOLUTION\n"
            "    # BEGIN PROMPT\n    # return x[::1]  # a bug here\n    #\n    # END PROMPT\n    pass",
            "def f(x):\n    return x[::1]  # a bug here\n    \n    pass",
        ),
    ],
)
def test_stub(source, expected):
    assert stub(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "# BEGIN SOLUTION\nx = 1",
        "# END SOLUTION",
        "# BEGIN SOLUTION\n# BEGIN SOLUTION",
        "# BEGIN PROMPT\n# x = 1\n# END PROMPT",  # a prompt replaces a solution, so follows one
        "# BEGIN SOLUTION\nx = 2\n# END SOLUTION\n# BEGIN PROMPT\n# x = 1",  # never closed
        "# BEGIN SOLUTION\nx = 2\n# END SOLUTION\n# BEGIN PROMPT\nx = 1\n# END PROMPT",  # would run in the solution
    ],
)
def test_stub_rejects_unbalanced_markers(source):
    with pytest.raises(FormatError):
        stub(source)


def _question(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_raw_cell("# BEGIN QUESTION\nname: q1\npoints: 2"),
        *cells,
        nbformat.v4.new_raw_cell("# END QUESTION"),
    ]
    return nb


def test_format_errors_name_the_cell():
    with pytest.raises(FormatError, match="has no test cells"):
        questions(_question(nbformat.v4.new_code_cell("x = 1")))
    with pytest.raises(FormatError, match=r'cell 1: tests of .q1. must be decorated with @test\("q1"\)'):
        questions(_question(nbformat.v4.new_code_cell('# TESTS\n@test("q2")\ndef t(student): pass')))
    parsed = questions(_question(nbformat.v4.new_code_cell('# HIDDEN TESTS\n@test("q1")\ndef t(student): pass')))
    assert parsed[0].points == 2 and parsed[0].tests[0].hidden


def test_exercises_are_in_sync(capsys):
    assert generate_main(["--check"]) == 0, capsys.readouterr().err


def test_a_stale_exercise_is_reported(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "exercises").mkdir()
    for path in (ROOT / "solutions").glob("*.ipynb"):
        (tmp_path / "solutions" / path.name).write_text(path.read_text())
    assert generate_main(["--check", "--root", str(tmp_path)]) == 1
    assert "stale or missing" in capsys.readouterr().err
    assert generate_main(["--root", str(tmp_path)]) == 0
    assert generate_main(["--check", "--root", str(tmp_path)]) == 0


def test_generated_exercises_hold_no_solution_or_hidden_test():
    for name, text in expected_exercises().items():
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "# SOLUTION" not in text, name
        assert "BEGIN PROMPT" not in text and "END PROMPT" not in text, name


REPORT = """
import json
from cnnbook.homework.checks import REGISTRY, check
print(json.dumps({q: [o.passed for o in check(q).outcomes] for q in REGISTRY.tests}))
"""


def _run_and_check(path: Path) -> dict:
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if not c.source.startswith("check(")]  # report every question at the end
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    NotebookClient(
        nb, timeout=120, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return json.loads(nb.cells[-1].outputs[0]["text"])


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_solutions_pass_every_test_and_exercises_pass_none(path):
    parsed = questions(nbformat.read(path, as_version=4))
    # a written answer (manual) has no tests: it is graded by hand, never here
    declared = {q.name: len(q.tests) for q in parsed if not q.manual}
    solved = _run_and_check(path)
    assert set(solved) == set(declared) and all(all(r) and r for r in solved.values()), solved
    untouched = _run_and_check(ROOT / "exercises" / path.name)
    # the student's copy registers only visible tests (a prediction's are all hidden: the grader runs them)
    visible = {q.name for q in parsed if any(not t.hidden for t in q.tests)}
    assert set(untouched) == visible and not any(any(r) for r in untouched.values()), untouched


SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_chapter_asks_six_questions_of_three_kinds_one_written(path):
    asked = questions(nbformat.read(path, as_version=4))
    kinds = {q.kind for q in asked}
    assert len(asked) >= 6 and len(kinds) >= 3 and "written" in kinds, [(q.name, q.kind) for q in asked]
    for q in asked:  # a visible test of a prediction would print the answer the student is to predict
        assert q.kind != "predict" or all(t.hidden for t in q.tests), f"{path.name} {q.name}: its tests must be hidden"


def test_no_chapter_asks_for_what_another_chapter_asks_for():
    """The names a chapter's tests read from the student (``student.<name>``) belong to that chapter alone."""
    owner: dict[str, str] = {}
    for path in SOLUTIONS:
        names = set()
        for q in questions(nbformat.read(path, as_version=4)):
            for cell in q.tests:
                names |= set(re.findall(r"\bstudent\.([A-Za-z_]\w*)", cell.source))
        for name in sorted(names):
            assert name not in owner, f"student.{name} is asked for in {owner[name]} and {path.name}"
            owner[name] = path.name
