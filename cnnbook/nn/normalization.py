"""Batch normalisation (Ioffe and Szegedy, 2015), channels-last: each channel standardised over the batch.

In training, every channel ``c`` of a batch is shifted and scaled by the mean and the (biased) variance
of all its values in the batch, over ``(N, H, W)`` for images, then given a learnt scale and shift:

    ``y = weight * (x - mean) / sqrt(var + eps) + bias``

and running averages of the batch statistics are kept, with PyTorch's convention
``running = (1 - momentum) * running + momentum * batch_statistic`` (the running variance is the
unbiased one, ``var * m / (m - 1)`` for ``m`` values per channel, as in PyTorch). At evaluation
(``training=False``) the running statistics take the place of the batch's, so that an image's output
does not depend on the other images of its batch. They are *buffers*, not parameters: saved and
loaded with the network, never trained or weight-decayed. Neither are ``weight`` and ``bias``
weight-decayed, as is usual.

The backward pass in training is the full gradient, through the batch statistics too:
with ``xhat`` the standardised input and ``g`` the output gradient, per channel over its ``m`` values,

    ``dx = weight / sqrt(var + eps) * (g - mean(g) - xhat * mean(g * xhat))``.

Speed: a channels-last batch is seen as rows of ``W * C`` values (a whole image row), and per-channel
vectors are tiled ``W`` times to match, so every element-wise operation runs over long rows rather than
rows of ``C`` values; sums over the batch are BLAS products with a vector of ones.

>>> import numpy as np
>>> bn = BatchNorm2D(2)
>>> x = np.random.default_rng(0).normal(3.0, 2.0, size=(8, 4, 4, 2)).astype(np.float32)
>>> y = bn.forward(x, training=True)
>>> np.abs(y.mean(axis=(0, 1, 2))).max() < 1e-5, np.abs(y.std(axis=(0, 1, 2)) - 1).max() < 1e-3
(np.True_, np.True_)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .layer import Layer, ShapePattern, check_shape


class _BatchNorm(Layer):
    """Shared code: per-channel statistics of a channels-last batch (the channel is the last axis)."""

    decayed = frozenset()  # neither the scale (weight) nor the shift (bias) is weight-decayed
    batch_coupled = True  # the batch's statistics: half a batch would normalize differently

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        if eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.channels, self.momentum, self.eps = int(channels), float(momentum), float(eps)
        self.params["weight"] = np.ones(self.channels, dtype=np.float32)  # gamma
        self.params["bias"] = np.zeros(self.channels, dtype=np.float32)  # beta
        self.buffers["running_mean"] = np.zeros(self.channels, dtype=np.float32)
        self.buffers["running_var"] = np.ones(self.channels, dtype=np.float32)

    def config(self) -> dict[str, Any]:
        return {"channels": self.channels, "momentum": self.momentum, "eps": self.eps}

    def _pattern(self) -> ShapePattern:
        raise NotImplementedError

    def _rows(self, x: np.ndarray) -> tuple[np.ndarray, int]:
        """``x`` as 2-D rows whose length is a multiple of C (a whole image row: W*C), and that multiple."""
        repeat = x.shape[-2] if x.ndim == 4 else 1
        return x.reshape(-1, repeat * self.channels), repeat

    def _channel_sums(self, rows: np.ndarray, repeat: int) -> np.ndarray:
        """Per-channel sum of ``rows``: a BLAS product with ones, then the ``repeat`` copies of each channel added."""
        return (np.ones(rows.shape[0], dtype=rows.dtype) @ rows).reshape(repeat, self.channels).sum(axis=0)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        check_shape(type(self).__name__, x, self._pattern())
        rows, repeat = self._rows(x)
        self._shape, self._training = x.shape, training
        weight, bias = self.params["weight"], self.params["bias"]
        running_mean, running_var = self.buffers["running_mean"], self.buffers["running_var"]
        if not training:  # one affine map with the running statistics; keep x for the (frozen) backward
            self._input, self._xhat = rows, None  # drop a training pass's large array
            self._inv_std = 1 / np.sqrt(running_var + running_var.dtype.type(self.eps))
            scale = weight * self._inv_std
            out = rows * np.tile(scale, repeat)
            out += np.tile(bias - running_mean * scale, repeat)
            return out.reshape(x.shape)
        count = x.size // self.channels
        if count < 2:
            raise ValueError(
                f"{type(self).__name__} in training needs more than one value per channel, got input of shape {x.shape}"
            )
        mean = self._channel_sums(rows, repeat) / count
        centred = rows - np.tile(mean, repeat)  # statistics from centred values: no cancellation in the variance
        var = self._channel_sums(centred * centred, repeat) / count  # biased, as used to normalise
        inv_std = 1 / np.sqrt(var + var.dtype.type(self.eps))
        centred *= np.tile(inv_std, repeat)  # now xhat, in place: centred is not needed any more
        self._xhat, self._inv_std, self._count = centred, inv_std, count
        momentum = running_mean.dtype.type(self.momentum)
        running_mean *= 1 - momentum  # in place: the arrays in buffers are the ones saved and loaded
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * var * (count / (count - 1))  # unbiased, as PyTorch keeps it
        out = centred * np.tile(weight, repeat)
        out += np.tile(bias, repeat)
        return out.reshape(x.shape)

    def backward(self, grad_output: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        g, repeat = self._rows(grad_output)
        weight = self.params["weight"]
        if self._training:
            xhat = self._xhat
        else:  # frozen statistics: xhat from the running mean and variance used in the forward pass
            xhat = (self._input - np.tile(self.buffers["running_mean"], repeat)) * np.tile(self._inv_std, repeat)
        grad_bias = self._channel_sums(g, repeat)
        grad_weight = self._channel_sums(g * xhat, repeat)
        self.grads["weight"], self.grads["bias"] = grad_weight, grad_bias
        if not input_grad:
            return None
        scale = weight * self._inv_std
        if not self._training:  # the statistics are constants: a per-channel scale
            return (g * np.tile(scale, repeat)).reshape(self._shape)
        # dx = scale * (g - mean(g) - xhat * mean(g * xhat)), with the per-channel factors folded in first
        correction = xhat * np.tile(scale * grad_weight / self._count, repeat)
        correction += np.tile(scale * grad_bias / self._count, repeat)
        grad_input = g * np.tile(scale, repeat)
        grad_input -= correction
        return grad_input.reshape(self._shape)


class BatchNorm2D(_BatchNorm):
    """Batch normalisation of ``(N, H, W, channels)`` images: statistics per channel over N, H and W.

    ``momentum`` and ``eps`` as in PyTorch's ``BatchNorm2d`` (whose defaults they are); ``weight``
    starts at 1 and ``bias`` at 0, the running mean at 0 and the running variance at 1.
    """

    input_ndim = 4

    def _pattern(self) -> ShapePattern:
        return ("N", "H", "W", self.channels)


class BatchNorm1D(_BatchNorm):
    """Batch normalisation of ``(N, channels)`` rows (after a Dense layer): statistics per feature over N."""

    input_ndim = 2

    def _pattern(self) -> ShapePattern:
        return ("N", self.channels)
