"""Launch buttons: every chapter installs the book's release where cnnbook is missing, and runs the Colab way.

The Colab test builds a fresh virtual environment without cnnbook (with ipykernel, which Colab has), runs a
chapter's own install cell pointed at this checkout instead of the release tag, then every cell. It needs
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


@pytest.mark.skipif(
    not (os.environ.get("CI") or os.environ.get("CNNBOOK_COLAB_TEST")), reason="needs the package index (CI runs it)"
)
def test_a_chapter_runs_the_colab_way_in_an_environment_without_cnnbook(tmp_path):
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    env_dir = tmp_path / "colab"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", "ipykernel"], check=True, timeout=600)
    probe = subprocess.run([python, "-c", "import cnnbook"], capture_output=True, cwd=tmp_path)
    assert probe.returncode != 0  # a fresh environment: no cnnbook

    chapter = os.environ.get("CNNBOOK_COLAB_CHAPTER", "01-convolution-and-edges")
    nb = nbformat.read(ROOT / "notebooks" / f"{chapter}.ipynb", as_version=4)
    install = next(cell for cell in nb.cells if is_install_cell(cell))
    install.source = install.source.replace(requirement(), str(ROOT))  # this checkout, not the release tag
    nb.cells.append(nbformat.v4.new_code_cell("import cnnbook; print(cnnbook.__file__)"))
    kernel_env = {k: v for k, v in os.environ.items() if k not in ("CNNBOOK_STATIC", "PYTHONPATH", "VIRTUAL_ENV")}
    spec = tmp_path / "kernels" / "colab"
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Colab", "language": "python"}))
    specs = KernelSpecManager(kernel_dirs=[str(spec.parent)])
    manager = KernelManager(kernel_name="colab", kernel_spec_manager=specs)
    workdir = tmp_path / "content"  # Colab's working folder: not the checkout
    workdir.mkdir()
    NotebookClient(nb, km=manager, timeout=600, resources={"metadata": {"path": str(workdir)}}).execute(env=kernel_env)
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert str(env_dir) in printed, printed  # the chapter ran on the package its own cell installed
    assert sys.prefix not in printed
