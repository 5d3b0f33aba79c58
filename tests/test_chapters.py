"""The table of chapters against everything made from it: files, _toc.yml, the chapter map, the README, the errata."""

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from cnnbook.book.chapters import CHAPTERS, SUPPORT_MODULES, chapter_modules, load
from cnnbook.book.errata import all_claims

ROOT = Path(__file__).resolve().parents[1]


def test_numbers_run_in_order():
    assert [chapter.number for chapter in CHAPTERS] == list(range(1, len(CHAPTERS) + 1))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_files_and_heading(chapter):
    for folder in ("notebooks", "solutions", "exercises"):
        assert (ROOT / folder / f"{chapter.name}.ipynb").is_file(), f"{folder}/{chapter.name}.ipynb is missing"
    first = json.loads((ROOT / f"{chapter.notebook}.ipynb").read_text())["cells"][0]
    assert "".join(first["source"]).splitlines()[0] == f"# {chapter.number}. {chapter.title}"


def test_no_notebook_outside_the_table():
    named = {f"{chapter.name}.ipynb" for chapter in CHAPTERS}
    for folder in ("notebooks", "solutions", "exercises"):
        assert {path.name for path in (ROOT / folder).glob("*.ipynb")} == named


def test_toc_lists_the_chapters_in_order():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    assert [f for f in files if f.startswith("notebooks/")] == [chapter.notebook for chapter in CHAPTERS]


def test_intro_chapter_map():
    links = re.findall(
        r"^\| \[(\d+)\. ([^\]]+)\]\(\.\./(notebooks/[^)]+)\.ipynb\)", (ROOT / "book/intro.md").read_text(), re.MULTILINE
    )
    assert links == [(str(c.number), c.title, c.notebook) for c in CHAPTERS]


def _readme_table(heading: str) -> list[list[str]]:
    """The rows (cells split on |) of the README table whose header starts with ``heading``."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {heading} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_readme_package_table_matches_the_chapters_and_the_tree():
    rows = _readme_table("chapter")
    named = {row[0]: re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", row[1])) for row in rows}
    for chapter in CHAPTERS:
        assert named[f"{chapter.number}. {chapter.title}"] == list(chapter.modules)
    in_readme = {module for modules in named.values() for module in modules}
    package = {
        path.stem
        for path in (ROOT / "cnnbook").iterdir()
        if not path.name.startswith(("_", ".")) and (path.suffix == ".py" or (path / "__init__.py").exists())
    }
    assert in_readme == package == set(chapter_modules()) | set(SUPPORT_MODULES)


def test_readme_folder_table_matches_the_tree():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: which folders are the project's is what git tracks")
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    folders = {line.split("/")[0] for line in listed.splitlines() if "/" in line}
    named = {name.strip("`/") for row in _readme_table("folder") for name in row[0].split(", ")}
    assert named == folders | {"_config.yml", "_toc.yml"}


@pytest.mark.parametrize("module", chapter_modules())
def test_every_chapter_module_has_its_tests(module):
    load(module)
    assert list((ROOT / "tests").glob(f"test_{module}*.py")), f"tests/test_{module}.py is missing"


def test_errata_collects_the_claims_of_every_module_that_has_some():
    import pkgutil

    import cnnbook

    with_claims = set()
    for info in pkgutil.walk_packages(cnnbook.__path__, "cnnbook."):
        if info.name.startswith(("cnnbook.homework", "cnnbook.book")) or info.name.endswith("__main__"):
            continue
        module = __import__(info.name, fromlist=["CLAIMS"])
        if getattr(module, "CLAIMS", None):
            with_claims.add(info.name.split(".")[1])
    assert with_claims <= set(chapter_modules())
    assert len(all_claims()) == len(
        {id(c) for module in chapter_modules() for c in getattr(load(module), "CLAIMS", [])}
    )
