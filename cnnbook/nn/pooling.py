"""Max and average pooling over ``size`` x ``size`` windows of ``(N, H, W, C)`` batches.

Both loop over the few window offsets, never over pixels: the output is ``np.maximum`` (or the
mean) of one strided slice of the input per offset. Max-pooling's common 2x2 case has its own
faster path (a knock-out between pairs, which also records where each maximum came from).
Rows or columns that do not fill a whole window are dropped, as in PyTorch's default
(``ceil_mode=False``). :func:`max_pool2d_reference` and :func:`max_pool2d_backward_reference`
compute max-pooling and its gradient with loops over windows: deliberately naive teaching versions,
for reading and for the tests, which hold :class:`MaxPool2D` to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnbook.conv import output_size
from cnnbook.validate import Pair, as_pair

from .convolution import offset_slices
from .layer import Layer, check_shape

Window = tuple[slice, slice]


class _Pool2D(Layer):
    """Shared window bookkeeping; ``stride`` defaults to the window size (non-overlapping windows)."""

    input_ndim = 4

    def __init__(self, size: Pair = 2, stride: Pair | None = None) -> None:
        super().__init__()
        self.size = as_pair(size, "size", 1)
        self.stride = self.size if stride is None else as_pair(stride, "stride", 1)

    def config(self) -> dict[str, Any]:
        return {"size": self.size, "stride": self.stride}

    def _windows(self, x: np.ndarray) -> list[Window]:
        """Check ``x`` and return (and keep, for backward) per window offset the input slices it covers."""
        check_shape(type(self).__name__, x, ("N", "H", "W", "C"))
        (kh, kw), (sh, sw) = self.size, self.stride
        if x.shape[1] < kh or x.shape[2] < kw:
            raise ValueError(
                f"{type(self).__name__} window {self.size} does not fit an input of {x.shape[1]}x{x.shape[2]} pixels"
            )
        self._out_hw = (output_size(x.shape[1], kh, sh), output_size(x.shape[2], kw, sw))
        self._input_shape = x.shape
        self._slices = [window for _, _, window in offset_slices(self.size, self.stride, self._out_hw)]
        return self._slices

    @staticmethod
    def _fold(x: np.ndarray, windows: list[Window], combine: np.ufunc) -> np.ndarray:
        """``combine`` (np.maximum, np.add) of the strided slices of ``x`` that the window offsets read."""
        out = x[(slice(None), *windows[0])].copy()
        for rows, columns in windows[1:]:
            combine(out, x[:, rows, columns, :], out=out)
        return out

    def backward(self, grad_output: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        return self._input_gradient(grad_output) if input_grad else None  # pooling has no parameters

    def _input_gradient(self, grad_output: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class MaxPool2D(_Pool2D):
    """Largest value in each window. The gradient goes to that value's position only (the first
    one in row-major order when several tie, as in PyTorch).

    Ties are common, not a corner case: where a window sees only blank pixels, every convolution
    output in it equals the bias. Counting the gradient once per tied position would multiply it.
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        windows = self._windows(x)
        self._pairwise = self.size == self.stride == (2, 2)
        if self._pairwise:
            return self._forward_pairwise(x)
        self._global = self._out_hw == (1, 1) and self.size == x.shape[1:3]
        if self._global:  # one window over everything (max over time in chapter 10): one argmax, no offset loop
            flat = x.reshape(x.shape[0], -1, x.shape[3])
            self._argmax = flat.argmax(axis=1)[:, np.newaxis, :]  # the first maximum in row-major order
            return np.take_along_axis(flat, self._argmax, axis=1).reshape(x.shape[0], 1, 1, x.shape[3])
        self._input = x
        self._output = self._fold(x, windows, np.maximum)
        return self._output

    def _input_gradient(self, grad_output: np.ndarray) -> np.ndarray:
        if self._pairwise:
            return self._backward_pairwise(grad_output)
        if self._global:
            n, h, w, c = self._input_shape
            grad_input = np.zeros((n, h * w, c), dtype=grad_output.dtype)
            np.put_along_axis(grad_input, self._argmax, grad_output.reshape(n, 1, c), axis=1)
            return grad_input.reshape(self._input_shape)
        return self._backward_by_offsets(grad_output)

    def _forward_pairwise(self, x: np.ndarray) -> np.ndarray:
        """2x2 windows as a knock-out: left against right in each row, then top row against bottom.

        Ties go to the left and to the top, which is exactly "the first maximum in row-major order".
        The two rounds' results are kept; they are all that backward needs.
        """
        n, _, _, c = x.shape
        oh, ow = self._out_hw
        blocks = x[:, : 2 * oh, : 2 * ow].reshape(n, oh, 2, ow, 2, c)  # a view unless an odd edge is cut
        left, right = blocks[:, :, :, :, 0], blocks[:, :, :, :, 1]  # (N, H', 2, W', C)
        self._left_wins = left >= right
        row_max = np.maximum(left, right)
        self._top_wins = row_max[:, :, 0] >= row_max[:, :, 1]  # (N, H', W', C)
        return np.maximum(row_max[:, :, 0], row_max[:, :, 1])

    def _backward_pairwise(self, grad_output: np.ndarray) -> np.ndarray:
        """Send each gradient to the winning row, then within the row to the winning column."""
        n, h, w, c = self._input_shape
        oh, ow = self._out_hw
        to_rows = np.empty((n, oh, 2, ow, c), dtype=grad_output.dtype)
        np.multiply(grad_output, self._top_wins, out=to_rows[:, :, 0])
        np.subtract(grad_output, to_rows[:, :, 0], out=to_rows[:, :, 1])  # g - g*1 = 0 and g - g*0 = g, exactly
        blocks = np.empty((n, oh, 2, ow, 2, c), dtype=grad_output.dtype)
        np.multiply(to_rows, self._left_wins, out=blocks[:, :, :, :, 0])
        np.subtract(to_rows, blocks[:, :, :, :, 0], out=blocks[:, :, :, :, 1])
        grad_input = blocks.reshape(n, 2 * oh, 2 * ow, c)
        if (2 * oh, 2 * ow) != (h, w):  # an odd last row or column was in no window: its gradient is 0
            grad_input = np.pad(grad_input, ((0, 0), (0, h - 2 * oh), (0, w - 2 * ow), (0, 0)))
        return grad_input

    def _backward_by_offsets(self, grad_output: np.ndarray) -> np.ndarray:
        """Any window size and stride: for each window offset, in row-major order, route the
        gradient of the outputs whose maximum sits at that offset and was not claimed before."""
        x, out = self._input, self._output
        grad_input = np.zeros(self._input_shape, dtype=grad_output.dtype)
        unclaimed = np.ones(out.shape, dtype=bool)
        for rows, columns in self._slices:
            winner = (x[:, rows, columns, :] == out) & unclaimed
            unclaimed &= ~winner
            grad_input[:, rows, columns, :] += np.where(winner, grad_output, 0)
        return grad_input


class AvgPool2D(_Pool2D):
    """Mean of each window; the gradient is shared equally by the window's positions."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        windows = self._windows(x)
        out = self._fold(x, windows, np.add)
        out *= out.dtype.type(1.0 / len(windows))
        return out

    def _input_gradient(self, grad_output: np.ndarray) -> np.ndarray:
        share = grad_output * grad_output.dtype.type(1.0 / len(self._slices))
        grad_input = np.zeros(self._input_shape, dtype=grad_output.dtype)
        for rows, columns in self._slices:
            grad_input[:, rows, columns, :] += share
        return grad_input


def max_pool2d_reference(x: np.ndarray, size: Pair = 2, stride: Pair | None = None) -> np.ndarray:
    """Max-pooling of an ``(N, H, W, C)`` batch by loops over images and windows: slow, obvious, a reference.

    This is the deliberately naive teaching version, written to be read (chapter 7 shows it) and to
    check :class:`MaxPool2D`, the engine's fast one, against it in the tests; it is not used in training.

    ``out[n, i, j, c] = max over (u, v) of x[n, i*s + u, j*s + v, c]``; ``stride`` defaults to ``size``.
    """
    out, _ = _max_pool2d_loops(x, None, size, stride)
    return out


def max_pool2d_backward_reference(
    x: np.ndarray, grad_output: np.ndarray, size: Pair = 2, stride: Pair | None = None
) -> np.ndarray:
    """Gradient of :func:`max_pool2d_reference` with respect to ``x``, by loops over images and windows.

    Like :func:`max_pool2d_reference`, a deliberately naive teaching version that the tests hold
    ``MaxPool2D.backward`` to. Each output's gradient is added at the position of its window's maximum, the first one in
    row-major order on a tie; every other input gets 0.
    """
    _, grad_input = _max_pool2d_loops(x, grad_output, size, stride)
    return grad_input


def _max_pool2d_loops(
    x: np.ndarray, grad_output: np.ndarray | None, size: Pair, stride: Pair | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Shared loops of the two references: the pooled output and (given ``grad_output``) the input gradient."""
    check_shape("max_pool2d_reference", x, ("N", "H", "W", "C"))
    (kh, kw) = as_pair(size, "size", 1)
    (sh, sw) = (kh, kw) if stride is None else as_pair(stride, "stride", 1)
    n, h, w, c = x.shape
    if h < kh or w < kw:
        raise ValueError(f"max_pool2d_reference window {(kh, kw)} does not fit an input of {h}x{w} pixels")
    oh, ow = output_size(h, kh, sh), output_size(w, kw, sw)
    if grad_output is not None and np.shape(grad_output) != (n, oh, ow, c):
        raise ValueError(f"grad_output expected shape {(n, oh, ow, c)}, got {np.shape(grad_output)}")
    out = np.empty((n, oh, ow, c), dtype=x.dtype)
    grad_input = None if grad_output is None else np.zeros(x.shape, dtype=np.result_type(x, grad_output))
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                window = x[b, i * sh : i * sh + kh, j * sw : j * sw + kw, :].reshape(kh * kw, c)
                first = window.argmax(axis=0)  # per channel, the first maximum in row-major order
                out[b, i, j] = window[first, np.arange(c)]
                if grad_input is not None:
                    rows, columns = i * sh + first // kw, j * sw + first % kw
                    grad_input[b, rows, columns, np.arange(c)] += grad_output[b, i, j]
    return out, grad_input
