"""Convolution as deep-learning libraries compute it (cross-correlation), with output sizes.

Two implementations of the same operation: :func:`conv2d_naive` loops over every output
pixel so a reader can follow it, and :func:`conv2d` slides windows with NumPy and contracts
them in one ``tensordot``. Tests check they agree (and agree with PyTorch when installed).

Shapes (channels first, as in PyTorch):

* ``x`` (H, W) with ``w`` (kh, kw)                    -> (H', W')
* ``x`` (C, H, W) with ``w`` (K, C, kh, kw)          -> (K, H', W')
* ``x`` (N, C, H, W) with ``w`` (K, C, kh, kw)       -> (N, K, H', W')
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnbook.validate import Pair, as_pair, check_int, is_int


def kernel_span(k: int, d: int = 1) -> int:
    """How many input positions a kernel of ``k`` taps with dilation ``d`` spans: ``d (k - 1) + 1``.

    >>> kernel_span(3, d=2)   # a 3x3 kernel with dilation 2 sees a 5x5 patch with 9 weights
    5
    """
    check_int(1, k=k, d=d)
    return d * (k - 1) + 1


def padding_pair(p: Pair) -> tuple[int, int]:
    """Zeros ``(before, after)``: ``p`` on each side, or the pair itself for asymmetric padding."""
    pair = (p, p) if is_int(p) else tuple(p)
    if len(pair) != 2:
        raise ValueError(f"p must be an integer or a pair (before, after), got {p!r}")
    check_int(0, p_before=pair[0], p_after=pair[1])
    return int(pair[0]), int(pair[1])


def output_size(n: int, k: int, s: int = 1, p: Pair = 0, d: int = 1) -> int:
    """Length of a convolution's output along one axis: the book's one output-size formula.

    ``n`` input length, ``k`` kernel length, ``s`` stride, ``p`` zero padding on each side (or a
    pair ``(before, after)``), ``d`` dilation. The dilated kernel spans ``d*(k-1)+1`` inputs, and
    the output is ``floor((n + 2p - d*(k-1) - 1) / s) + 1``.

    >>> output_size(6, 3)            # the 6x6 image and the 3x3 edge filter
    4
    >>> output_size(32, 3, p=1)      # 'same' padding keeps the size
    32
    """
    check_int(1, n=n, k=k, s=s, d=d)
    before, after = padding_pair(p)
    span, padded = kernel_span(k, d), n + before + after
    if span > padded:
        raise ValueError(
            f"the kernel spans {span} inputs (k={k}, d={d}) but the padded input has only {padded} (n={n}, p={p!r})"
        )
    return (padded - span) // s + 1


def _as_batch(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Bring (x, w) to (N, C, H, W) and (K, C, kh, kw); return how many leading axes to drop."""
    x, w = np.asarray(x), np.asarray(w)
    if x.ndim == 2 and w.ndim == 2:
        return x[None, None], w[None, None], 2
    if x.ndim not in (3, 4):
        raise ValueError(f"x must have shape (H, W), (C, H, W) or (N, C, H, W), got {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"w must have shape (K, C, kh, kw) for an input of shape {x.shape}, got {w.shape}")
    channels = x.shape[-3]
    if w.shape[1] != channels:
        raise ValueError(
            f"w must have shape (K, {channels}, kh, kw) to match the {channels} input channels, got {w.shape}"
        )
    return (x[None] if x.ndim == 3 else x), w, (1 if x.ndim == 3 else 0)


def _check_bias(b: np.ndarray | None, filters: int) -> np.ndarray | None:
    if b is None:
        return None
    b = np.asarray(b)
    if b.shape not in ((filters,), ()):
        raise ValueError(f"b must have shape ({filters},), one bias per filter, got {b.shape}")
    return b


def _pad(x: np.ndarray, p: tuple[int, int]) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))


def _output_hw(x: np.ndarray, w: np.ndarray, s, p, d) -> tuple[int, int]:
    return (
        output_size(x.shape[-2], w.shape[-2], s[0], p[0], d[0]),
        output_size(x.shape[-1], w.shape[-1], s[1], p[1], d[1]),
    )


def _prepare(x, w, b, stride: Pair, padding: Pair, dilation: Pair):
    """Check and normalise conv2d's arguments: batched x and w, bias, (s, p, d) pairs, axes to drop."""
    s, p, d = as_pair(stride, "stride", 1), as_pair(padding, "padding", 0), as_pair(dilation, "dilation", 1)
    xb, wb, drop = _as_batch(x, w)
    return xb, wb, _check_bias(b, wb.shape[0]), s, p, d, drop


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: Pair = 1,
    padding: Pair = 0,
    dilation: Pair = 1,
) -> np.ndarray:
    """2-D cross-correlation, vectorised: ``out[n,k,i,j] = sum_{c,u,v} x[n,c,i*s+u*d,j*s+v*d] * w[k,c,u,v] + b[k]``.

    Like every deep-learning library, this does not flip the kernel; :func:`convolve2d`
    is the textbook convolution that does. See the module docstring for accepted shapes.
    """
    xb, wb, bias, s, p, d, drop = _prepare(x, w, b, stride, padding, dilation)
    oh, ow = _output_hw(xb, wb, s, p, d)
    kh, kw = wb.shape[-2:]
    span = (d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1)
    windows = sliding_window_view(_pad(xb, p), span, axis=(2, 3))  # (N, C, H'', W'', span_h, span_w)
    windows = windows[:, :, : (oh - 1) * s[0] + 1 : s[0], : (ow - 1) * s[1] + 1 : s[1], :: d[0], :: d[1]]
    out = np.tensordot(windows, wb, axes=([1, 4, 5], [1, 2, 3]))  # (N, H', W', K)
    out = np.moveaxis(out, -1, 1)
    if bias is not None:
        out = out + bias.reshape(-1, 1, 1)
    return out[(0,) * drop] if drop else out


def conv2d_naive(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: Pair = 1,
    padding: Pair = 0,
    dilation: Pair = 1,
) -> np.ndarray:
    """The same as :func:`conv2d`, written as loops over every output value (for reading, not speed)."""
    xb, wb, bias, s, p, d, drop = _prepare(x, w, b, stride, padding, dilation)
    oh, ow = _output_hw(xb, wb, s, p, d)
    xp = _pad(xb, p)
    kh, kw = wb.shape[-2:]
    out = np.zeros((xb.shape[0], wb.shape[0], oh, ow), dtype=np.result_type(xb, wb, float))
    for n in range(xb.shape[0]):
        for k in range(wb.shape[0]):
            for i in range(oh):
                for j in range(ow):
                    top, left = i * s[0], j * s[1]
                    patch = xp[n, :, top : top + d[0] * (kh - 1) + 1 : d[0], left : left + d[1] * (kw - 1) + 1 : d[1]]
                    out[n, k, i, j] = np.sum(patch * wb[k]) + (0 if bias is None else bias[k])
    return out[(0,) * drop] if drop else out


def convolve2d(x: np.ndarray, w: np.ndarray, **kwargs) -> np.ndarray:
    """True (mathematical) convolution: cross-correlation with the kernel flipped in both spatial axes."""
    return conv2d(x, np.flip(np.asarray(w), axis=(-2, -1)), **kwargs)


def rotate180(w: np.ndarray) -> np.ndarray:
    """The kernel turned by 180 degrees in its two spatial (last) axes: both flips at once."""
    w = np.asarray(w)
    if w.ndim < 2:
        raise ValueError(f"w must have at least two (spatial) axes, got shape {w.shape}")
    return np.rot90(w, 2, axes=(-2, -1))


def _centred(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    if x.ndim != 2 or w.ndim != 2:
        raise ValueError(f"x and w must be 2-D (H, W) arrays, got shapes {x.shape} and {w.shape}")
    if w.shape[0] % 2 == 0 or w.shape[1] % 2 == 0:
        raise ValueError(f"w must have odd sides, so that it has a centre pixel, got shape {w.shape}")
    return x, w, w.shape[0] // 2, w.shape[1] // 2


def centred_convolution(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Section 5.19.1's recipe: rotate the kernel by 180 degrees, put its centre on each pixel (zeros outside
    the image), and write the sum of products at that pixel. The output has the image's size; it equals
    :func:`convolve2d` with ``padding`` of half the kernel."""
    x, w, ph, pw = _centred(x, w)
    return conv2d(x, rotate180(w), padding=(ph, pw))


def convolution_terms(x: np.ndarray, w: np.ndarray, i: int, j: int, rotate: bool = True) -> list[tuple[float, float]]:
    """The products that make pixel ``(i, j)`` of :func:`centred_convolution`: ``(pixel, weight)`` pairs, row by
    row over the window centred on ``(i, j)`` (pixels outside the image are 0). ``rotate=False`` gives the
    cross-correlation's pairs, with the kernel as written."""
    x, w, ph, pw = _centred(x, w)
    if not (0 <= i < x.shape[0] and 0 <= j < x.shape[1]):
        raise ValueError(f"(i, j) must be a pixel of the {x.shape[0]}x{x.shape[1]} image, got {(i, j)!r}")
    padded = np.pad(x, ((ph, ph), (pw, pw)))
    window = padded[i : i + w.shape[0], j : j + w.shape[1]]
    kernel = rotate180(w) if rotate else w
    return [(float(a), float(b)) for a, b in zip(window.ravel(), kernel.ravel())]


def transposed_output_size(n: int, k: int, s: int = 1, p: int = 0, output_padding: int = 0, d: int = 1) -> int:
    """Length of a transposed convolution's output along one axis: ``(n - 1) s - 2p + d (k - 1) + output_padding + 1``.

    With ``d = 1`` and no output padding this is the source's ``(in - 1) * s + k - 2p``. It maps back
    to the *input* length of the convolution with the same ``(k, s, p, d)``; since a strided
    convolution maps several lengths to one (``floor``), ``output_padding`` (less than ``s`` or
    ``d``, as in PyTorch) picks which.

    >>> transposed_output_size(2, 3, 2)    # 5x5 -> 2x2 with a 3x3 kernel and stride 2, and back
    5
    >>> transposed_output_size(2, 4, 3)    # the 2x2 input, 4x4 kernel, stride 3 example
    7
    """
    check_int(1, n=n, k=k, s=s, d=d)
    check_int(0, p=p, output_padding=output_padding)
    if output_padding >= max(s, d):
        raise ValueError(
            f"output_padding must be smaller than the stride ({s}) or the dilation ({d}), got {output_padding}"
        )
    size = (n - 1) * s - 2 * p + d * (k - 1) + output_padding + 1
    if size < 1:
        raise ValueError(f"padding p={p} crops away the whole output (n={n}, k={k}, s={s}, d={d})")
    return size


def conv_transpose2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: Pair = 1,
    padding: Pair = 0,
    output_padding: Pair = 0,
) -> np.ndarray:
    """Transposed convolution: every input value stamps a scaled copy of the kernel, ``stride`` apart.

    ``out[n, d, i*s + u - p, j*s + v - p] += x[n, c, i, j] * w[c, d, u, v]``, summed where the
    copies overlap; ``padding`` crops ``p`` rows and columns from each border and
    ``output_padding`` adds rows and columns at the bottom and right. It is the adjoint of
    :func:`conv2d` with the same weights (``<conv2d(x, w), y> == <x, conv_transpose2d(y, w)>``),
    which is how a conv layer sends gradients back to its input.

    Shapes (PyTorch's layout: the weight is ``(C_in, C_out, kh, kw)``, input channels first):

    * ``x`` (H, W) with ``w`` (kh, kw)                        -> (H', W')
    * ``x`` (C_in, H, W) with ``w`` (C_in, C_out, kh, kw)     -> (C_out, H', W')
    * ``x`` (N, C_in, H, W) with ``w`` (C_in, C_out, kh, kw)  -> (N, C_out, H', W')

    with ``H' = (H - 1)*s - 2p + kh + output_padding`` (see :func:`transposed_output_size`).
    """
    s, p = as_pair(stride, "stride", 1), as_pair(padding, "padding", 0)
    op = as_pair(output_padding, "output_padding", 0)
    x, w = np.asarray(x), np.asarray(w)
    if x.ndim == 2 and w.ndim == 2:
        xb, wb, drop = x[None, None], w[None, None], 2
    else:
        if x.ndim not in (3, 4):
            raise ValueError(f"x must have shape (H, W), (C_in, H, W) or (N, C_in, H, W), got {x.shape}")
        channels = x.shape[-3]
        if w.ndim != 4 or w.shape[0] != channels:
            raise ValueError(
                f"w must have shape ({channels}, C_out, kh, kw) to match the {channels} input channels, got {w.shape}"
            )
        xb, wb, drop = (x[None] if x.ndim == 3 else x), w, (1 if x.ndim == 3 else 0)
    bias = _check_bias(b, wb.shape[1])
    h, wd = xb.shape[-2:]
    kh, kw = wb.shape[-2:]
    oh = transposed_output_size(h, kh, s[0], p[0], op[0])
    ow = transposed_output_size(wd, kw, s[1], p[1], op[1])
    full = np.zeros(
        (xb.shape[0], wb.shape[1], (h - 1) * s[0] + kh + op[0], (wd - 1) * s[1] + kw + op[1]),
        dtype=np.result_type(xb, wb, float),
    )
    for u in range(kh):  # one strided slice per kernel offset: kh*kw adds instead of a loop over inputs
        for v in range(kw):
            stamp = np.tensordot(xb, wb[:, :, u, v], axes=([1], [0]))  # (N, H, W, C_out)
            full[:, :, u : u + (h - 1) * s[0] + 1 : s[0], v : v + (wd - 1) * s[1] + 1 : s[1]] += np.moveaxis(
                stamp, -1, 1
            )
    out = full[:, :, p[0] : p[0] + oh, p[1] : p[1] + ow]
    if bias is not None:
        out = out + bias.reshape(-1, 1, 1)
    return out[(0,) * drop] if drop else out
