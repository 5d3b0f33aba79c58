"""Layer specifications and the shape each layer produces (chapter 1, source 003 section 5.1).

A network is described as a list of small specs; :func:`trace` walks an input shape
(height, width, channels) through them and reports each layer's output shape and number
of trainable parameters, so no shape in the book is typed by hand.

These four specs are deliberately small, for chapter 1's first network; :mod:`cnnbook.architectures`
(chapter 9) is the full language (strides, groups, blocks, multiply-adds), and a test checks that the two
agree on what both can express.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cnnbook.conv import output_size
from cnnbook.counts import conv_params, dense_params

Shape = tuple[int, int, int]


@dataclass(frozen=True)
class ConvLayer:
    """``filters`` kernels of ``size`` x ``size``; ``padding="same"`` keeps height and width (odd sizes)."""

    label: ClassVar[str] = "CONV"

    filters: int
    size: int
    stride: int = 1
    padding: int | str = 0

    def output(self, shape: Shape) -> Shape:
        h, w, _ = shape
        p = self.size // 2 if self.padding == "same" else int(self.padding)
        return output_size(h, self.size, self.stride, p), output_size(w, self.size, self.stride, p), self.filters

    def params(self, shape: Shape) -> int:
        return conv_params(self.size, shape[2], self.filters)


@dataclass(frozen=True)
class ReLULayer:
    """max(0, x) element by element: no parameters, no hyperparameters, same shape."""

    label: ClassVar[str] = "RELU"

    def output(self, shape: Shape) -> Shape:
        return shape

    def params(self, shape: Shape) -> int:
        return 0


@dataclass(frozen=True)
class PoolLayer:
    """Max (or average) pooling over ``size`` x ``size`` windows; depth is unchanged."""

    label: ClassVar[str] = "POOL"

    size: int = 2
    stride: int | None = None

    def output(self, shape: Shape) -> Shape:
        h, w, c = shape
        s = self.stride or self.size
        return output_size(h, self.size, s), output_size(w, self.size, s), c

    def params(self, shape: Shape) -> int:
        return 0


@dataclass(frozen=True)
class FCLayer:
    """Fully connected: every output unit sees every input value; output shape (1, 1, units)."""

    label: ClassVar[str] = "FC"

    units: int

    def output(self, shape: Shape) -> Shape:
        return 1, 1, self.units

    def params(self, shape: Shape) -> int:
        h, w, c = shape
        return dense_params(h * w * c, self.units)


LayerSpec = ConvLayer | ReLULayer | PoolLayer | FCLayer


@dataclass(frozen=True)
class ShapeRow:
    """One line of a shape trace."""

    layer: str
    shape: Shape
    params: int


def trace(input_shape: Shape, layers: list[LayerSpec]) -> list[ShapeRow]:
    """The output shape and parameter count of every layer, starting with the input itself."""
    if len(input_shape) != 3 or any(int(v) < 1 for v in input_shape):
        raise ValueError(f"input_shape must be (height, width, channels) of positive sizes, got {input_shape!r}")
    shape: Shape = tuple(int(v) for v in input_shape)
    rows = [ShapeRow("INPUT", shape, 0)]
    for layer in layers:
        rows.append(ShapeRow(layer.label, layer.output(shape), layer.params(shape)))
        shape = rows[-1].shape
    return rows


#: The CIFAR-10 example of the source: [INPUT - CONV - RELU - POOL - FC] on 32x32x3, 12 filters.
CIFAR10_EXAMPLE: tuple[Shape, list[LayerSpec]] = (
    (32, 32, 3),
    [ConvLayer(filters=12, size=3, padding="same"), ReLULayer(), PoolLayer(2), FCLayer(10)],
)


def _claims():
    from cnnbook.book.errata import Claim

    shape_of = lambda layer: next(r.shape for r in trace(*CIFAR10_EXAMPLE) if r.layer == layer)  # noqa: E731
    note = "with 12 filters and 'same' padding, which the source implies but does not state"
    return [
        Claim("003", "5.1", "CONV output on the 32x32x3 CIFAR-10 input", (32, 32, 12), lambda: shape_of("CONV"), note),
        Claim("003", "5.1", "RELU output", (32, 32, 12), lambda: shape_of("RELU")),
        Claim("003", "5.1", "POOL output", (16, 16, 12), lambda: shape_of("POOL"), "2x2 pooling with stride 2"),
        Claim("003", "5.1", "FC output (10 class scores)", (1, 1, 10), lambda: shape_of("FC")),
    ]


CLAIMS = _claims()
