"""Fully connected layer: ``y = x @ W + b`` for a batch ``x`` of shape ``(N, in_features)``.

The weight is ``(in_features, out_features)`` (PyTorch stores its transpose), so a batch times
the weight is directly the output with no transpose.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .init import initial_weights
from .layer import Layer, check_shape


class Dense(Layer):
    """Every output is a weighted sum of every input plus a bias; weights by ``init``, biases zero."""

    input_ndim = 2
    decayed = frozenset({"weight"})  # weight decay: the weights, not the biases

    def __init__(
        self, in_features: int, out_features: int, init: str = "he", rng: np.random.Generator | int | None = None
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"features must be >= 1, got in_features={in_features}, out_features={out_features}")
        self.in_features, self.out_features, self.init = int(in_features), int(out_features), init
        shape = (self.in_features, self.out_features)
        self.params["weight"] = initial_weights(shape, self.in_features, self.out_features, init, rng)
        self.params["bias"] = np.zeros(self.out_features, dtype=np.float32)

    def config(self) -> dict[str, Any]:
        return {"in_features": self.in_features, "out_features": self.out_features, "init": self.init}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        check_shape("Dense", x, ("N", self.in_features))
        self._input = x
        return x @ self.params["weight"] + self.params["bias"]

    def backward(self, grad_output: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        self.grads["weight"] = self._input.T @ grad_output
        self.grads["bias"] = np.ones(grad_output.shape[0], dtype=grad_output.dtype) @ grad_output
        return grad_output @ self.params["weight"].T if input_grad else None
