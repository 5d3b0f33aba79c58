"""The table of chapters: the one list that the table of contents, the chapter map, the README and the
errata are made from or checked against (``tests/test_chapters.py``).

A chapter is a notebook ``notebooks/NN-slug.ipynb`` with its exercises ``solutions/NN-slug.ipynb`` (and the
generated ``exercises/NN-slug.ipynb``); it teaches from the ``cnnbook`` modules it names, whose ``CLAIMS``
lists (the numbers the sources state) make up the errata page.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Chapter:
    """One chapter: its number, file slug, title (the notebook's heading) and the modules it teaches from."""

    number: int
    slug: str
    title: str
    modules: tuple[str, ...]  # names under cnnbook, the chapter's own first

    @property
    def name(self) -> str:
        """``"03-padding-stride-dilation"``: the file name of the chapter, its solutions and its exercises."""
        return f"{self.number:02d}-{self.slug}"

    @property
    def notebook(self) -> str:
        """The chapter's path from the repository root, without the suffix (as ``_toc.yml`` writes it)."""
        return f"notebooks/{self.name}"


CHAPTERS: tuple[Chapter, ...] = (
    Chapter(1, "convolution-and-edges", "Convolution and edge detection", ("conv", "edges", "shapes", "counts")),
    Chapter(2, "parameter-sharing", "Parameter sharing and local connectivity", ("sharing", "channels", "counts")),
    Chapter(
        3, "padding-stride-dilation", "Padding, stride, dilation and output size", ("padding", "receptive", "conv")
    ),
    Chapter(4, "pooling", "Pooling and spatial pyramid pooling", ("pooling",)),
    Chapter(
        5,
        "one-by-one-convolutions",
        "1x1 convolutions, bottlenecks, Inception and depthwise-separable convolutions",
        ("one_by_one", "counts"),
    ),
    Chapter(6, "transposed-convolution", "Transposed convolution and checkerboard artifacts", ("transposed", "conv")),
    Chapter(7, "cnn-from-scratch", "Building a CNN from scratch", ("nn", "data")),
    Chapter(8, "mnist-ablation", "The MNIST ablation ladder", ("ablation",)),
    Chapter(9, "lenet-to-resnet", "From LeNet to ResNet", ("architectures", "resnet_mnist")),
    Chapter(10, "convolution-over-text", "Convolution over text", ("text",)),
)

#: Modules of the package that no chapter teaches from: shared checks and files, the book's build, the grader.
SUPPORT_MODULES = ("validate", "files", "book", "homework")


def chapter_modules() -> list[str]:
    """Every module some chapter teaches from, once each, in reading order."""
    return list(dict.fromkeys(module for chapter in CHAPTERS for module in chapter.modules))


def load(module: str) -> ModuleType:
    """Import ``cnnbook.<module>``."""
    return importlib.import_module(f"cnnbook.{module}")
