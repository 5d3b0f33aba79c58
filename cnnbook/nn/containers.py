"""Layers that hold layers: a chain (:class:`Sequential`), a sum of branches (:class:`Parallel`), and
:class:`Identity`, the branch that passes its input on.

A residual block is a sum of two branches, ``y = body(x) + x``::

    Parallel([Sequential([Conv2D(8, 8, 3, padding=1), ReLU(), Conv2D(8, 8, 3, padding=1)]), Identity()])

and, where the body changes the number of channels, ``Conv2D(c_in, c_out, 1)`` (a 1x1 projection) takes
the place of ``Identity()``. Gradients need no new rule: a chain applies the chain rule layer after
layer, and a sum sends the same output gradient into every branch and adds the branches' input gradients
(the input fanned out to each of them).

>>> import numpy as np
>>> from cnnbook.nn import Conv2D, ReLU
>>> block = Parallel([Sequential([Conv2D(2, 2, 3, padding=1, rng=0), ReLU()]), Identity()])
>>> block.forward(np.ones((1, 5, 5, 2), dtype=np.float32)).shape
(1, 5, 5, 2)
>>> [p.name for p in block.named_parameters()]
['branches.0.0.weight', 'branches.0.0.bias']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .layer import Layer


def _layer_list(layers: Sequence[Layer], owner: str, what: str) -> list[Layer]:
    """``layers`` as a list, or a ValueError if it is empty or holds something that is not a Layer."""
    layers = list(layers)
    if not layers:
        raise ValueError(f"{owner} needs at least one {what}")
    for layer in layers:
        if not isinstance(layer, Layer):
            raise ValueError(f"{owner} expected {what}s that are Layers, got {type(layer).__name__}")
    return layers


class Identity(Layer):
    """``y = x``: the shortcut branch of a residual block."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return x

    def backward(self, grad_output: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        return grad_output if input_grad else None


class Sequential(Layer):
    """Layers applied in order, as one layer; their parameters are named ``"<index>.<name>"``."""

    def __init__(self, layers: Sequence[Layer]) -> None:
        super().__init__()
        self.layers = _layer_list(layers, "a Sequential", "layer")

    @property
    def input_ndim(self) -> int | None:  # type: ignore[override]  # what the first layer takes
        return self.layers[0].input_ndim

    def children(self) -> dict[str, Layer]:
        return {str(index): layer for index, layer in enumerate(self.layers)}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, grad_output: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Back through the layers in reverse; only the first may skip its input gradient."""
        grad, first = grad_output, len(self.layers) - 1
        for depth, layer in enumerate(reversed(self.layers)):
            grad = layer.backward(grad, input_grad=input_grad or depth < first)
        return grad

    def config(self) -> dict[str, Any]:
        return {"layers": [layer.spec() for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        return cls([Layer.from_spec(spec) for spec in config["layers"]])

    def __repr__(self) -> str:
        return f"{type(self).__name__}([{', '.join(map(repr, self.layers))}])"


class Parallel(Layer):
    """The sum of ``branches`` applied to the same input: ``y = branch_0(x) + branch_1(x) + ...``.

    Every branch must give an output of the same shape (no broadcasting). A branch's parameters are
    named ``"branches.<index>.<name>"``.
    """

    def __init__(self, branches: Sequence[Layer]) -> None:
        super().__init__()
        self.branches = _layer_list(branches, "a Parallel", "branch")

    @property
    def input_ndim(self) -> int | None:  # type: ignore[override]  # what the branches take
        return next((b.input_ndim for b in self.branches if b.input_ndim is not None), None)

    def children(self) -> dict[str, Layer]:
        return {f"branches.{index}": branch for index, branch in enumerate(self.branches)}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        outputs = [branch.forward(x, training=training) for branch in self.branches]
        shapes = {np.shape(out) for out in outputs}
        if len(shapes) > 1:
            raise ValueError(f"Parallel branches must give outputs of one shape, got {[np.shape(o) for o in outputs]}")
        return _total(outputs)

    def backward(self, grad_output: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Every branch gets the whole output gradient; the input's gradient is the sum of theirs."""
        grads = [branch.backward(grad_output, input_grad=input_grad) for branch in self.branches]
        return _total(grads) if input_grad else None

    def config(self) -> dict[str, Any]:
        return {"branches": [branch.spec() for branch in self.branches]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Parallel:
        return cls([Layer.from_spec(spec) for spec in config["branches"]])

    def __repr__(self) -> str:
        return f"{type(self).__name__}([{', '.join(map(repr, self.branches))}])"


def _total(arrays: list[np.ndarray]) -> np.ndarray:
    """Sum of ``arrays`` in a new array: never in place, as a branch's output may be the input itself (Identity)."""
    total = arrays[0]
    for array in arrays[1:]:
        total = total + array
    return total
