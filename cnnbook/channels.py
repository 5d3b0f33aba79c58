"""Chapter 2: convolution with several input and output channels, and dense layers as convolutions.

A filter spans every input channel: output channel ``o`` is the sum over the input channels ``c`` of the
2-D cross-correlation of channel ``c`` with the filter's slice ``w[o, c]``, plus one bias ``b[o]``.

* :func:`per_channel_partials` gives those 2-D cross-correlations one by one, and
  :func:`multi_channel_conv` adds them up: a deliberately naive teaching version of
  :func:`cnnbook.conv.conv2d` (the tests check that the two agree, and agree with PyTorch).
* :func:`window_terms` takes one output value apart: the window of each input channel, its products
  with the kernel slice, each channel's partial sum, the bias and the total.
* A fully connected layer is a convolution: on a flattened ``(C, H, W)`` map, a dense layer with ``U``
  units is a convolution with ``U`` filters of size ``H x W`` (:func:`dense_to_conv`, :func:`conv_to_dense`);
  and a 1x1 convolution is one dense layer on the ``C`` channel values, applied at every pixel
  (:func:`dense_to_pointwise`, :func:`dense_per_pixel`).
* :data:`D2L_X` and :data:`D2L_K` are the worked example of d2l.ai ("Multiple Input and Multiple Output
  Channels"): two 3x3 input channels and a 2x2 kernel per channel.

Shapes are channels first, as in :mod:`cnnbook.conv` and PyTorch: an input ``(C_in, H, W)``, weights
``(C_out, C_in, kh, kw)``, biases ``(C_out,)`` and an output ``(C_out, H', W')``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnbook.conv import conv2d, output_size
from cnnbook.validate import check_int, positive


def _constant(values: list) -> np.ndarray:
    array = np.array(values, dtype=float)
    array.flags.writeable = False
    return array


#: d2l.ai's input: two channels of 3x3, shape (2, 3, 3).
D2L_X = _constant([[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]])
#: d2l.ai's kernel: one 2x2 slice per input channel, shape (2, 2, 2); as conv2d weights ``D2L_K[None]``.
D2L_K = _constant([[[0, 1], [2, 3]], [[1, 2], [3, 4]]])


# --- checks -----------------------------------------------------------------------------------------


def check_layer(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(x, w, b)`` as float arrays, or a ValueError naming the shape wanted.

    ``x`` must be ``(C_in, H, W)``, ``w`` ``(C_out, C_in, kh, kw)`` with the same ``C_in`` and a kernel no
    larger than the input, ``b`` ``(C_out,)`` or None.
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (C_in, H, W), got {x.shape}")
    if w.ndim != 4 or w.shape[1] != x.shape[0]:
        raise ValueError(
            f"w must have shape (C_out, {x.shape[0]}, kh, kw), one kernel slice per input channel, got {w.shape}"
        )
    if min(x.shape + w.shape) < 1:
        raise ValueError(f"x and w must not be empty, got shapes {x.shape} and {w.shape}")
    if w.shape[2] > x.shape[1] or w.shape[3] > x.shape[2]:
        raise ValueError(f"w's kernel {w.shape[2]}x{w.shape[3]} must fit in the {x.shape[1]}x{x.shape[2]} input")
    return x, w, _check_bias(b, w.shape[0], "b", "bias per output channel")


def _check_out_channel(w: np.ndarray, out_channel: int) -> int:
    check_int(0, out_channel=out_channel)
    if out_channel >= w.shape[0]:
        raise ValueError(f"out_channel must be below the {w.shape[0]} output channels of w, got {out_channel}")
    return int(out_channel)


# --- the operation ----------------------------------------------------------------------------------


def output_shape(input_shape: tuple[int, int, int], c_out: int, k: int) -> tuple[int, int, int]:
    """``(C_out, H', W')`` of a stride-1, unpadded convolution with ``c_out`` filters of ``k x k`` on a
    ``(C_in, H, W)`` input: the number of input channels does not appear in it.

    >>> output_shape((2, 3, 3), 2, 2)
    (2, 2, 2)
    """
    if len(tuple(input_shape)) != 3:
        raise ValueError(f"input_shape must be (C_in, H, W), got {input_shape!r}")
    positive(c_in=input_shape[0], c_out=c_out, k=k)
    return c_out, output_size(input_shape[1], k), output_size(input_shape[2], k)


def per_channel_partials(x: np.ndarray, w: np.ndarray, out_channel: int = 0) -> np.ndarray:
    """The 2-D cross-correlations that output channel ``out_channel`` adds up: ``(C_in, H', W')``, where
    ``partials[c] = conv2d(x[c], w[out_channel, c])`` (one input channel with its own kernel slice)."""
    x, w, _ = check_layer(x, w)
    o = _check_out_channel(w, out_channel)
    return np.stack([conv2d(x[c], w[o, c]) for c in range(x.shape[0])])


def multi_channel_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """A convolution layer from ``C_in`` to ``C_out`` channels, written as the definition reads: for each
    output channel, the sum over input channels of :func:`per_channel_partials`, plus its bias.

    A deliberately naive teaching version (stride 1, no padding) of :func:`cnnbook.conv.conv2d`, which
    contracts all channels at once; the tests check that the two agree. ``x`` ``(C_in, H, W)``, ``w``
    ``(C_out, C_in, kh, kw)``, ``b`` ``(C_out,)`` -> ``(C_out, H', W')``.
    """
    x, w, b = check_layer(x, w, b)
    out = np.stack([per_channel_partials(x, w, o).sum(axis=0) for o in range(w.shape[0])])
    return out if b is None else out + b[:, None, None]


@dataclass(frozen=True)
class WindowTerms:
    """One output value ``out[out_channel, i, j]`` taken apart channel by channel."""

    out_channel: int
    i: int
    j: int
    windows: np.ndarray  # (C_in, kh, kw): the window of each input channel
    kernels: np.ndarray  # (C_in, kh, kw): the filter's slice for each input channel
    products: np.ndarray  # (C_in, kh, kw): windows * kernels
    partials: np.ndarray  # (C_in,): each channel's sum of products
    bias: float
    total: float  # partials.sum() + bias


def window_terms(
    x: np.ndarray, w: np.ndarray, out_channel: int, i: int, j: int, b: np.ndarray | None = None
) -> WindowTerms:
    """Every term of output value ``(out_channel, i, j)`` (stride 1, no padding): the windows, products and
    per-channel sums whose total (plus the bias) is that value of :func:`multi_channel_conv`."""
    x, w, b = check_layer(x, w, b)
    o = _check_out_channel(w, out_channel)
    kh, kw = w.shape[2:]
    oh, ow = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    check_int(0, i=i, j=j)
    if i >= oh or j >= ow:
        raise ValueError(f"(i, j) must be a position of the {oh}x{ow} output, got {(i, j)!r}")
    windows = x[:, i : i + kh, j : j + kw]
    products = windows * w[o]
    partials = products.sum(axis=(1, 2))
    bias = 0.0 if b is None else float(b[o])
    return WindowTerms(o, int(i), int(j), windows, w[o], products, partials, bias, float(partials.sum() + bias))


# --- dense layers as convolutions ---------------------------------------------------------------------


def _check_matrix(weight: np.ndarray, columns: int | None, name: str = "weight") -> np.ndarray:
    weight = np.asarray(weight, dtype=float)
    if weight.ndim != 2 or (columns is not None and weight.shape[1] != columns):
        wanted = "n_in" if columns is None else columns
        raise ValueError(f"{name} must have shape (units, {wanted}), got {weight.shape}")
    return weight


def _check_bias(bias: np.ndarray | None, units: int, name: str = "bias", each: str = "per unit") -> np.ndarray | None:
    """``bias`` as a float vector of ``units`` values (None stays None), or a ValueError naming the shape."""
    if bias is None:
        return None
    bias = np.asarray(bias, dtype=float)
    if bias.shape != (units,):
        raise ValueError(f"{name} must have shape ({units},), one {each}, got {bias.shape}")
    return bias


def dense_layer(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """A fully connected layer on the flattened map: ``weight @ x.ravel() + bias``, shape ``(units,)``.

    ``x`` is any array (a ``(C, H, W)`` map is flattened in C order: channel, then row, then column);
    ``weight`` is ``(units, x.size)``.
    """
    x = np.asarray(x, dtype=float)
    weight = _check_matrix(weight, x.size)
    bias = _check_bias(bias, weight.shape[0])
    out = weight @ x.ravel()
    return out if bias is None else out + bias


def dense_to_conv(weight: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """The weights ``(units, C*H*W)`` of a dense layer on a flattened ``(C, H, W)`` map, as the weights
    ``(units, C, H, W)`` of a convolution with ``units`` filters of size ``H x W``: on that map each filter
    fits in one position only, so the output is ``(units, 1, 1)`` and equals the dense layer's."""
    shape = tuple(shape)
    if len(shape) != 3:
        raise ValueError(f"shape must be the map's (C, H, W), got {shape!r}")
    positive(C=shape[0], H=shape[1], W=shape[2])
    weight = _check_matrix(weight, shape[0] * shape[1] * shape[2])
    return weight.reshape(weight.shape[0], *shape)


def conv_to_dense(w: np.ndarray) -> np.ndarray:
    """The inverse of :func:`dense_to_conv`: convolution weights ``(units, C, kh, kw)`` as the matrix
    ``(units, C*kh*kw)`` of the dense layer they compute on a ``(C, kh, kw)`` input."""
    w = np.asarray(w, dtype=float)
    if w.ndim != 4:
        raise ValueError(f"w must have shape (units, C, kh, kw), got {w.shape}")
    return w.reshape(w.shape[0], -1)


def dense_to_pointwise(weight: np.ndarray) -> np.ndarray:
    """The weights ``(units, C)`` of a dense layer on one pixel's ``C`` channel values, as the weights
    ``(units, C, 1, 1)`` of a 1x1 convolution, which applies that layer at every pixel."""
    weight = _check_matrix(weight, None)
    return weight[:, :, None, None]


def dense_per_pixel(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """The same dense layer ``(units, C)`` applied to the channel values of every pixel of ``x``
    ``(C, H, W)``, one pixel at a time: ``(units, H, W)``. A 1x1 convolution computes the same
    (see :func:`dense_to_pointwise`)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (C, H, W), got {x.shape}")
    weight = _check_matrix(weight, x.shape[0])
    bias = _check_bias(bias, weight.shape[0])
    out = np.empty((weight.shape[0], *x.shape[1:]))
    for i in range(x.shape[1]):
        for j in range(x.shape[2]):
            out[:, i, j] = dense_layer(x[:, i, j], weight, bias)
    return out
