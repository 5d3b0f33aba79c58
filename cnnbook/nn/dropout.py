"""Inverted dropout: in training, zero each value with probability ``rate`` and scale the survivors
by ``1 / (1 - rate)``, so that the expected output is unchanged and evaluation needs no rescaling.
At evaluation (``training=False``) the layer passes its input through untouched.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .layer import Layer


class Dropout(Layer):
    """Randomly silence a fraction ``rate`` (in [0, 1)) of the values during training."""

    def __init__(self, rate: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.rng = np.random.default_rng(rng)

    def config(self) -> dict[str, Any]:
        return {"rate": self.rate}

    def set_rng(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0.0:
            self._scale = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        self._scale = keep * x.dtype.type(1.0 / (1.0 - self.rate))  # 0 or 1/(1-rate), in x's dtype
        return x * self._scale

    def backward(self, grad_output: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        if not input_grad:
            return None
        return grad_output if self._scale is None else grad_output * self._scale
