"""Softmax followed by cross-entropy, as one layer: together their gradient is just ``p - onehot``.

For logits ``z`` of one image and its label ``y``: ``p = softmax(z)``, ``loss = -log p[y]``, and
``d loss / d z = p - onehot(y)``. The batch loss is the mean over images, so the gradient is
divided by N. Subtracting each row's maximum before ``exp`` changes nothing mathematically and
keeps ``exp`` from overflowing.
"""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """``log(softmax(logits))`` along the last axis, computed stably."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities along the last axis (each row sums to 1)."""
    return np.exp(log_softmax(logits))


def check_labels(labels: np.ndarray, n: int, classes: int) -> np.ndarray:
    """Integer labels of shape ``(n,)`` in ``[0, classes)``, or a ValueError saying what is wrong."""
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"labels expected shape ({n},), got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers (class indices), got dtype {labels.dtype}")
    if n and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"labels must lie in [0, {classes}), got values from {labels.min()} to {labels.max()}")
    return labels


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax probabilities against integer class labels."""

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """Mean loss over the batch; remembers what ``backward`` needs."""
        if np.ndim(logits) != 2:
            raise ValueError(f"SoftmaxCrossEntropy expected logits of shape (N, classes), got {np.shape(logits)}")
        labels = check_labels(labels, logits.shape[0], logits.shape[1])
        log_p = log_softmax(logits)
        self._probabilities, self._labels = np.exp(log_p), labels
        return float(-log_p[np.arange(len(labels)), labels].mean())

    def backward(self) -> np.ndarray:
        """Gradient of the mean loss with respect to the logits: ``(p - onehot) / N``."""
        grad = self._probabilities.copy()
        grad[np.arange(len(self._labels)), self._labels] -= 1
        grad /= len(self._labels)
        return grad
