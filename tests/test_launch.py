"""Launch buttons: every chapter installs the book's release where cnnbook is missing, and runs the Colab way.

The Colab tests build a fresh virtual environment without cnnbook (with ipykernel, which Colab has), run a
chapter's own install cell pointed at this checkout instead of the release tag, then the chapter: chapter 1
top to bottom, and every chapter up to its imports. It needs
the package index, so it runs in CI (``CI`` set) or with ``CNNBOOK_COLAB_TEST=1``, and skips otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest

import cnnbook
from cnnbook.book.chapters import CHAPTERS
from cnnbook.book.launch import TAG, install_cell_source, is_install_cell, requirement

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_every_chapter_starts_by_installing_the_books_release(chapter):
    nb = nbformat.read(ROOT / f"{chapter.notebook}.ipynb", as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert is_install_cell(code[0]) and code[0].source == install_cell_source(), (
        f"{chapter.name}: run python -m cnnbook.book.launch"
    )
    assert TAG in code[0].metadata.get("tags", [])  # hidden in the HTML book
    assert sum(is_install_cell(cell) for cell in nb.cells) == 1
    assert f"@v{cnnbook.__version__}" in requirement() and "%pip install" in code[0].source


COLAB = pytest.mark.skipif(
    not (os.environ.get("CI") or os.environ.get("CNNBOOK_COLAB_TEST")), reason="needs the package index (CI runs it)"
)


@pytest.fixture(scope="module")
def colab(tmp_path_factory) -> tuple[Path, Path]:
    """A fresh environment with ipykernel (as Colab has) and no cnnbook, and a kernel spec that runs it."""
    root = tmp_path_factory.mktemp("colab")
    venv.create(root / "env", with_pip=True)
    python = root / "env" / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", "ipykernel"], check=True, timeout=600)
    assert subprocess.run([python, "-c", "import cnnbook"], capture_output=True, cwd=root).returncode != 0
    spec = root / "kernels" / "colab"
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Colab", "language": "python"}))
    return root / "env", spec.parent


def run_the_colab_way(nb, colab: tuple[Path, Path], workdir: Path) -> str:
    """Run ``nb`` in the fresh environment, its install cell pointed at this checkout; returns where cnnbook is."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    install = next(cell for cell in nb.cells if is_install_cell(cell))
    install.source = install.source.replace(requirement(), str(ROOT))  # this checkout, not the release tag
    nb.cells.append(nbformat.v4.new_code_cell("import cnnbook; print(cnnbook.__file__)"))
    kernel_env = {k: v for k, v in os.environ.items() if k not in ("CNNBOOK_STATIC", "PYTHONPATH", "VIRTUAL_ENV")}
    manager = KernelManager(kernel_name="colab", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(colab[1])]))
    workdir.mkdir(exist_ok=True)  # Colab's working folder: not the checkout
    NotebookClient(nb, km=manager, timeout=600, resources={"metadata": {"path": str(workdir)}}).execute(env=kernel_env)
    return "".join(o.get("text", "") for o in nb.cells[-1].outputs)


@COLAB
def test_a_chapter_runs_the_colab_way_top_to_bottom(colab, tmp_path):
    chapter = os.environ.get("CNNBOOK_COLAB_CHAPTER", "01-convolution-and-edges")
    where = run_the_colab_way(nbformat.read(ROOT / "notebooks" / f"{chapter}.ipynb", as_version=4), colab, tmp_path)
    assert str(colab[0]) in where and sys.prefix not in where, where  # the package its own cell installed


@COLAB
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_every_chapter_installs_and_imports_the_colab_way(colab, tmp_path, chapter):
    """Each chapter's install cell and import cell (the failure Colab readers met: the first import); the
    whole of every chapter runs under nbval and in the book build."""
    nb = nbformat.read(ROOT / f"{chapter.notebook}.ipynb", as_version=4)
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    nb.cells = nb.cells[: code[1] + 1]  # up to the imports
    where = run_the_colab_way(nb, colab, tmp_path)
    assert str(colab[0]) in where, where
