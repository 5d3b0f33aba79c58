"""Keep notebooks committed without outputs (except the reference outputs nbval compares).

Cells tagged ``nbval-check-output`` keep their outputs: they are the expected output that
``pytest --nbval-lax`` compares at every test run, and ``--refresh`` regenerates them by
executing the notebook. Every other output, execution count and editor metadata is removed.

    python -m cnnbook.book.nbclean notebooks/*.ipynb            # strip
    python -m cnnbook.book.nbclean --refresh notebooks/01-*.ipynb  # execute, keep reference outputs
    python -m cnnbook.book.nbclean --check notebooks solutions exercises   # what the tests run
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

CHECKED = "nbval-check-output"
_KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def is_checked(cell) -> bool:
    """Whether nbval compares this cell's output (so it keeps it)."""
    return CHECKED in cell.get("metadata", {}).get("tags", [])


def clean(nb, keep: dict[int, list] | None = None):
    """Return ``nb`` without outputs; ``keep`` maps cell index to outputs to store (checked cells only).

    A checked cell keeps an execution count too (its ordinal among code cells, so it is stable):
    nbval skips a reference cell that looks unrun.
    """
    ordinal = 0
    nb.metadata = {"kernelspec": _KERNELSPEC, "language_info": {"name": "python"}}
    for index, cell in enumerate(nb.cells):
        cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags" and v}
        if cell.cell_type != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            continue
        ordinal += 1
        checked = is_checked(cell)
        cell.outputs = (keep or {}).get(index, cell.outputs) if checked else []
        cell.execution_count = ordinal if checked else None
        for output in cell.outputs:
            if output.get("output_type") == "execute_result":
                output["execution_count"] = cell.execution_count
            output.get("metadata", {}).clear()
    return nb


def problems(nb) -> list[str]:
    """What keeps ``nb`` from being clean: stray outputs or execution counts."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.outputs and not is_checked(cell):
            found.append(f"cell {index} has outputs")
        if cell.cell_type == "code" and cell.execution_count is not None and not is_checked(cell):
            found.append(f"cell {index} has an execution count")
    return found


def refresh(path: Path) -> None:
    """Execute the notebook (in its folder) and store the outputs of its checked cells only."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    keep = {i: c.outputs for i, c in enumerate(nb.cells) if c.cell_type == "code" and is_checked(c)}
    nbformat.write(clean(nbformat.read(path, as_version=4), keep), path)


def _notebooks(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        found += sorted(path.glob("*.ipynb")) if path.is_dir() else [path]
    return found


def main(argv: list[str] | None = None) -> int:
    """Strip, refresh or check notebooks; exit 1 on ``--check`` when one is not clean."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="report notebooks with outputs, change nothing")
    mode.add_argument("--refresh", action="store_true", help="execute and keep the checked cells' outputs")
    args = parser.parse_args(argv)
    dirty = 0
    for path in _notebooks(args.paths):
        if args.check:
            found = problems(nbformat.read(path, as_version=4))
            for problem in found:
                print(f"{path}: {problem}", file=sys.stderr)
            dirty += bool(found)
        elif args.refresh:
            refresh(path)
        else:
            nbformat.write(clean(nbformat.read(path, as_version=4)), path)
    if args.check and dirty:
        print(f"{dirty} notebook(s) carry outputs; run: python -m cnnbook.book.nbclean PATH...", file=sys.stderr)
    return 1 if dirty else 0


if __name__ == "__main__":
    sys.exit(main())
