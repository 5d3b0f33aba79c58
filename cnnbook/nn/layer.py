"""The interface every layer follows, and the shape check that names what went wrong.

A layer maps a batch forward (``forward``) and a gradient backward (``backward``). Layers with
weights keep them in ``params`` and, after ``backward``, their gradients under the same names in
``grads``; the optimiser reads both and updates ``params`` in place.

Layout: images are **channels-last**, ``(N, H, W, C)``. Chapter 1 (:mod:`cnnbook.conv`) and PyTorch
put channels first; the engine does not, because with channels last a convolution's matrix product
already *is* the next layer's input (no transposes) and im2col copies contiguous runs of channels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Pair = int | tuple[int, int]
ShapePattern = tuple[int | str, ...]


def as_pair(value: Pair, name: str, minimum: int) -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(3, 5)`` stays; anything else (or below ``minimum``) is a ValueError."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(not isinstance(v, (int, np.integer)) or v < minimum for v in pair):
        raise ValueError(f"{name} must be an integer >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def format_pattern(pattern: ShapePattern) -> str:
    """``("N", "H", "W", 3) -> "(N, H, W, 3)"``."""
    return "(" + ", ".join(str(p) for p in pattern) + ")"


def check_shape(layer: str, x: np.ndarray, pattern: ShapePattern) -> None:
    """Raise a ValueError unless ``x.shape`` matches ``pattern`` (ints must match; names match anything).

    >>> check_shape("Conv2D", np.zeros((8, 28, 28)), ("N", "H", "W", 3))
    Traceback (most recent call last):
    ...
    ValueError: Conv2D expected input of shape (N, H, W, 3), got (8, 28, 28)
    """
    shape = np.shape(x)
    if len(shape) != len(pattern) or any(
        isinstance(p, int) and size != p for size, p in zip(shape, pattern)
    ):
        raise ValueError(f"{layer} expected input of shape {format_pattern(pattern)}, got {tuple(shape)}")


class Layer:
    """Base class: ``y = forward(x, training)``, then ``grad_x = backward(grad_y)``.

    ``backward`` uses what the last ``forward`` stored, so call them in pairs. Passing
    ``input_grad=False`` lets a first layer skip the gradient with respect to its input, which
    nothing needs (and which is a large part of a convolution's cost); it then returns ``None``.
    """

    #: Number of axes the layer takes (4 for image layers, 2 for Dense; None: any).
    input_ndim: int | None = None

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Output for the batch ``x``; ``training`` switches on training-only behaviour (dropout)."""
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Gradient of the loss with respect to the last input, given the one with respect to the output."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this layer (used by ``Network.save``)."""
        return {}

    def set_rng(self, rng: np.random.Generator) -> None:
        """Give the layer a random generator for training-time noise (only Dropout uses one)."""

    def to(self, dtype: np.dtype | type) -> "Layer":
        """Convert the parameters to ``dtype`` (float64 for gradient checks) and return the layer."""
        self.params = {name: value.astype(dtype) for name, value in self.params.items()}
        self.grads = {}
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"{type(self).__name__}({args})"
