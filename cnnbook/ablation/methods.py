"""Section 5.25.1's list of ways to generalise better, and where the book shows each one.

The source lists six methods without showing them; :func:`generalisation_methods` pairs each with the
rows of the ladder (:data:`cnnbook.ablation.ROWS`) that use it, found by inspecting the rows and the
networks they build rather than typed, and with the section of chapter 7 that builds the piece.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnbook.ablation.rows import ROWS, Row
from cnnbook.nn import Dropout, SoftmaxCrossEntropy

#: The six methods of seeds/003 section 5.25.1, in the source's order and words, with an English name.
SOURCE_METHODS: tuple[tuple[str, str], ...] = (
    ("正则化", "regularisation (L2)"),
    ("增加神经网络层数", "more layers"),
    ("使用正确的代价函数", "the right cost function (softmax with log-likelihood)"),
    ("使用好的权重初始化技术", "good weight initialisation"),
    ("人为拓展训练集", "an artificially expanded training set"),
    ("弃权技术", "dropout"),
)

#: The section of chapter 7 (notebooks/07) that builds each method's piece of the engine, or "" if none.
CHAPTER7_SECTIONS = {
    "正则化": "",
    "增加神经网络层数": "The whole network",
    "使用正确的代价函数": "Softmax and cross-entropy",
    "使用好的权重初始化技术": "",
    "人为拓展训练集": "",
    "弃权技术": "Dropout and flatten",
}


@dataclass(frozen=True)
class Method:
    """One method of section 5.25.1 and where the book shows it."""

    source: str  # the source's words
    name: str  # in English
    rows: tuple[int, ...]  # the ladder rows that use it (chapter 8)
    chapter7: str  # the chapter-7 section that builds it, or ""
    how: str  # what in those rows makes it so


def _weighted(row: Row) -> list:
    """The layers of ``row``'s network that have weights (convolutions and dense layers)."""
    return [layer for layer in row.build(0).layers if getattr(layer, "init", None) is not None]


def _initialisation_fits(row: Row) -> bool:
    """Whether every weighted layer starts with the initialisation made for the network's activation:
    He for ReLU networks, Glorot for sigmoid ones."""
    names = {type(layer).__name__ for layer in row.build(0).layers}
    wanted = "he" if "ReLU" in names else "glorot"
    return all(layer.init == wanted for layer in _weighted(row))


def generalisation_methods(rows: tuple[Row, ...] = ROWS) -> list[Method]:
    """Section 5.25.1's six methods, each with the ladder rows that use it (computed from ``rows``)."""
    if not rows:
        raise ValueError("rows must hold at least one row of the ladder")
    depth = {row.number: len(_weighted(row)) for row in rows}
    ordered = sorted(depth)
    uses = {
        "正则化": ([r.number for r in rows if r.l2 > 0], "L2 weight decay (lambda > 0)"),
        "增加神经网络层数": (
            [n for prev, n in zip(ordered, ordered[1:]) if depth[n] > depth[prev]],
            "more weighted layers than the row before",
        ),
        "使用正确的代价函数": (
            [r.number for r in rows if isinstance(r.build(0).loss, SoftmaxCrossEntropy)],
            "softmax with cross-entropy (log-likelihood) as the loss",
        ),
        "使用好的权重初始化技术": (
            [r.number for r in rows if _initialisation_fits(r)],
            "He initialisation for ReLU rows, Glorot for sigmoid rows",
        ),
        "人为拓展训练集": ([r.number for r in rows if r.expanded], "trained on the shifted copies of the images"),
        "弃权技术": (
            [r.number for r in rows if any(isinstance(layer, Dropout) for layer in r.build(0).layers)],
            "dropout layers before the dense layers",
        ),
    }
    return [
        Method(source, name, tuple(uses[source][0]), CHAPTER7_SECTIONS[source], uses[source][1])
        for source, name in SOURCE_METHODS
    ]


def row_ranges(numbers: tuple[int, ...]) -> str:
    """Row numbers as the table writes them: ``(4, 5, 6, 8)`` -> ``"4-6, 8"``; ``()`` -> ``"none"``."""
    if any(b <= a for a, b in zip(numbers, numbers[1:])):
        raise ValueError(f"numbers must be increasing row numbers, got {numbers!r}")
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs) or "none"
