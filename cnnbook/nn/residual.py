"""Residual blocks (He et al., 2016) built from the engine's containers, with the ablations of chapter 8.

A basic block computes ``relu(body(x) + shortcut(x))`` with

* ``body``: 3x3 conv (stride ``s``) -> BatchNorm -> ReLU -> 3x3 conv -> BatchNorm;
* ``shortcut``: ``Identity()`` when the shapes match, else a strided 1x1 conv -> BatchNorm (the
  "projection" shortcut, option B of the ResNet paper),

that is ``Sequential([Parallel([body, shortcut]), ReLU()])``. ``batch_norm=False`` leaves out every
BatchNorm; ``skip=False`` leaves out the shortcut (a plain two-convolution block), so that the three
networks compared in the chapter differ in that one respect only.

>>> import numpy as np
>>> block = residual_block(4, 8, stride=2, rng=0)
>>> block.forward(np.ones((2, 6, 6, 4), dtype=np.float32), training=True).shape
(2, 3, 3, 8)
"""

from __future__ import annotations

import numpy as np

from .activations import ReLU
from .containers import Identity, Parallel, Sequential
from .convolution import Conv2D
from .layer import Layer
from .normalization import BatchNorm2D


def conv_bn(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    batch_norm: bool = True,
    rng: np.random.Generator | int | None = None,
) -> list[Layer]:
    """A convolution padded to keep the size (for stride 1), followed by a BatchNorm when ``batch_norm``.

    The convolution keeps its bias even before a BatchNorm (which cancels it: its gradient is zero),
    because the engine's Conv2D always has one; it costs nothing measurable.
    """
    conv = Conv2D(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2, rng=rng)
    return [conv, BatchNorm2D(out_channels)] if batch_norm else [conv]


def residual_block(
    in_channels: int,
    out_channels: int,
    stride: int = 1,
    rng: np.random.Generator | int | None = None,
    batch_norm: bool = True,
    skip: bool = True,
) -> Sequential:
    """A basic residual block ``relu(body(x) + shortcut(x))`` as one layer (see the module's docstring).

    ``stride`` 2 halves the height and width (in the body's first convolution and in the shortcut).
    ``rng`` draws the convolutions' weights in order: body, then the shortcut's projection, if any.
    """
    rng = np.random.default_rng(rng)
    body = [
        *conv_bn(in_channels, out_channels, 3, stride, batch_norm, rng),
        ReLU(),
        *conv_bn(out_channels, out_channels, 3, 1, batch_norm, rng),
    ]
    if not skip:
        return Sequential([*body, ReLU()])
    if stride == 1 and in_channels == out_channels:
        shortcut: Layer = Identity()
    else:
        shortcut = Sequential(conv_bn(in_channels, out_channels, 1, stride, batch_norm, rng))
    return Sequential([Parallel([Sequential(body), shortcut]), ReLU()])
