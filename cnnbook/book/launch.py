"""The first cell of every chapter: in Colab or Binder, install this book's package (its release) if missing.

A chapter opened from the book's launch button runs where ``cnnbook`` may not be installed (Colab) or is
installed from this checkout (Binder, ``binder/requirements.txt``). The cell installs the release that
matches the book (``v`` + :data:`cnnbook.__version__`, a git tag), so a chapter never runs against another
version's code. It is hidden in the HTML book (``remove-cell``): readers there need no install.

    python -m cnnbook.book.launch      # write or refresh the cell in every chapter (after a version bump)
"""

from __future__ import annotations

from pathlib import Path

import cnnbook

REPOSITORY = "https://github.com/cnnbook/cnnbook"
TAG = "remove-cell"


def requirement(version: str = cnnbook.__version__) -> str:
    """The pip requirement of the book's release: ``cnnbook @ git+<repository>@v<version>``."""
    return f"cnnbook @ git+{REPOSITORY}@v{version}"


def install_cell_source(version: str = cnnbook.__version__) -> str:
    """The source of the chapters' first code cell."""
    return (
        "# In Colab or Binder: install this book's package (the book's release) when it is missing.\n"
        "try:\n"
        "    import cnnbook\n"
        "except ImportError:\n"
        f'    %pip install --quiet "{requirement(version)}"'
    )


def is_install_cell(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and "".join(cell.get("source", "")).startswith("# In Colab or Binder")


def refresh(path: Path) -> bool:
    """Put the install cell first among ``path``'s code cells (replacing an older one); True if it changed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    old = [cell for cell in nb.cells if is_install_cell(cell)]
    if len(old) == 1 and old[0].source == install_cell_source() and nb.cells.index(old[0]) == _first_code(nb):
        return False
    nb.cells = [cell for cell in nb.cells if not is_install_cell(cell)]
    cell = nbformat.v4.new_code_cell(install_cell_source(), metadata={"tags": [TAG]})
    nb.cells.insert(_first_code(nb), cell)
    nbformat.write(nb, path)
    return True


def _first_code(nb) -> int:
    return next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")


if __name__ == "__main__":
    from cnnbook.book.chapters import CHAPTERS

    root = Path(__file__).resolve().parents[2]
    changed = [c.notebook for c in CHAPTERS if refresh(root / f"{c.notebook}.ipynb")]
    print(f"install cell refreshed in {len(changed)} of {len(CHAPTERS)} chapters: {', '.join(changed) or 'none'}")
