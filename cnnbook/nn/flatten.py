"""Flatten ``(N, H, W, C)`` feature maps (or any ``(N, ...)`` batch) to ``(N, H*W*C)`` rows.

The order is channels-last: the ``(h, w, c)`` value lands at column ``(h*W + w)*C + c``. PyTorch
flattens ``(C, H, W)``, so a dense weight copied from PyTorch must have its rows permuted.
"""

from __future__ import annotations

import numpy as np

from .layer import Layer


class Flatten(Layer):
    """Keep the batch axis, merge all the others."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if np.ndim(x) < 2:
            raise ValueError(f"Flatten expected input of shape (N, ...), got {np.shape(x)}")
        self._input_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_output: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        return grad_output.reshape(self._input_shape) if input_grad else None
