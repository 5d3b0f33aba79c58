"""Embedding: each token id picks a row of a learned table, so a text becomes an image one pixel wide.

A batch of ids ``(N, L)`` becomes ``(N, L, 1, dim)``: L positions, width 1, ``dim`` channels. A
:class:`~cnnbook.nn.Conv2D` with kernel ``(h, 1)`` then slides along the text only: the 1-D
convolution over word vectors of chapter 10. Looking up row ``i`` is the one-hot vector of ``i``
times the table, which is what a sentence of one-hot vectors (``seeds/003`` 5.26.2) becomes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .layer import Layer, check_shape


class Embedding(Layer):
    """A ``(vocabulary, dim)`` table of word vectors, looked up by integer token ids."""

    input_ndim = 2
    decayed = frozenset({"weight"})

    def __init__(self, vocabulary: int, dim: int, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        if vocabulary < 1 or dim < 1:
            raise ValueError(f"vocabulary and dim must be >= 1, got vocabulary={vocabulary}, dim={dim}")
        self.vocabulary, self.dim = int(vocabulary), int(dim)
        # Standard normal rows, as PyTorch's nn.Embedding: the convolution after it sees unit-scale inputs.
        self.params["weight"] = np.random.default_rng(rng).standard_normal((self.vocabulary, self.dim), np.float32)

    def config(self) -> dict[str, Any]:
        return {"vocabulary": self.vocabulary, "dim": self.dim}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        check_shape("Embedding", x, ("N", "L"))
        ids = np.asarray(x)
        if not np.all(ids == np.round(ids)) or ids.min(initial=0) < 0 or ids.max(initial=0) >= self.vocabulary:
            raise ValueError(f"Embedding expected integer token ids in [0, {self.vocabulary}), got {ids.dtype} values")
        self._ids = ids.astype(np.intp)
        return self.params["weight"][self._ids][:, :, np.newaxis, :]

    def backward(self, grad_output: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Rows used several times add their gradients; ids have no gradient (returns zeros if asked)."""
        ids, upstream = self._ids.ravel(), grad_output.reshape(-1, self.dim)
        # One bincount per vector entry: many times faster than np.add.at's scatter, and exact in float64.
        columns = [np.bincount(ids, weights=upstream[:, j], minlength=self.vocabulary) for j in range(self.dim)]
        self.grads["weight"] = np.stack(columns, axis=1).astype(self.params["weight"].dtype)
        return np.zeros(self._ids.shape, dtype=grad_output.dtype) if input_grad else None
