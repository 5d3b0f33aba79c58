"""Chapter 6: transposed convolution and checkerboard artifacts (source: seeds/003, sections 5.4, 5.6, 5.19, 5.22).

The transposed convolution itself is :func:`cnnbook.conv.conv_transpose2d`; this module takes it
apart and compares it with the alternatives:

* :func:`transposed_pieces` splits it into one shifted, scaled copy of the kernel per input pixel;
  :func:`zero_insert` and :func:`transposed_via_conv` compute it as "insert zeros, pad, convolve".
* :func:`overlap_1d` and :func:`overlap_2d` count how many kernel copies write each output pixel:
  uneven counts are the checkerboard, and they are even exactly when the stride divides the kernel.
* :func:`nearest_upsample`, :func:`bilinear_upsample` and :func:`resize_conv` are the
  resize-then-convolve alternative.
* :func:`pixel_shuffle` (and :func:`pixel_unshuffle`) and :func:`subpixel_conv` are the sub-pixel convolution
  of Shi et al.; :func:`subpixel_weights` turns a transposed convolution whose kernel size the stride divides
  into the sub-pixel layer that computes it, and :func:`icnr_weights` gives every phase the same kernel.
* :func:`conv3d` shows what a third spatial axis changes (section 5.6).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnbook.conv import conv2d, conv_transpose2d, output_size, transposed_output_size
from cnnbook.validate import positive

METHODS = ("nearest", "bilinear")


def _image(x: np.ndarray, what: str = "x") -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (H, W) array, got shape {x.shape}")
    return x


def transposed_pieces(x: np.ndarray, w: np.ndarray, stride: int) -> list[tuple[tuple[int, int], np.ndarray]]:
    """One output-sized array per input pixel ``(i, j)``: the kernel times ``x[i, j]``, placed at ``(i*s, j*s)``.

    Their sum is ``conv_transpose2d(x, w, stride=stride)`` (no padding): the picture of section 5.19.
    """
    x, w = _image(x), _image(w, "w")
    positive(stride=stride)
    kh, kw = w.shape
    shape = ((x.shape[0] - 1) * stride + kh, (x.shape[1] - 1) * stride + kw)
    pieces = []
    for (i, j), value in np.ndenumerate(x):
        piece = np.zeros(shape)
        piece[i * stride : i * stride + kh, j * stride : j * stride + kw] = value * w
        pieces.append(((i, j), piece))
    return pieces


def zero_insert(x: np.ndarray, stride: int) -> np.ndarray:
    """Put ``stride - 1`` zeros between neighbouring pixels: ``(H, W)`` -> ``((H-1)*s + 1, (W-1)*s + 1)``."""
    x = _image(x)
    positive(stride=stride)
    out = np.zeros(((x.shape[0] - 1) * stride + 1, (x.shape[1] - 1) * stride + 1))
    out[::stride, ::stride] = x
    return out


def transposed_via_conv(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """The transposed convolution as an ordinary one.

    Insert zeros, pad ``k-1-p``, and convolve with the kernel rotated 180 degrees.

    Section 5.19's "upsample 3x3 to 7x7, then a valid 3x3 convolution gives 5x5" is this with
    stride 2 and padding 1. It does the work of :func:`cnnbook.conv.conv_transpose2d` with many
    multiplications by zero, which is why libraries scatter instead.
    """
    x, w = _image(x), _image(w, "w")
    kh, kw = w.shape
    if not 0 <= padding <= min(kh, kw) - 1:
        raise ValueError(f"padding must be between 0 and k-1 = {min(kh, kw) - 1}, got {padding}")
    grown = np.pad(zero_insert(x, stride), ((kh - 1 - padding,) * 2, (kw - 1 - padding,) * 2))
    return conv2d(grown, w[::-1, ::-1])


# --- where the checkerboard comes from ----------------------------------------------------------


def overlap_1d(n: int, k: int, s: int) -> np.ndarray:
    """How many of the ``n`` input pixels write each output pixel of a 1-D transposed convolution.

    ``k`` is the kernel length, ``s`` the stride.
    """
    positive(n=n, k=k, s=s)
    return conv_transpose2d(np.ones((1, n)), np.ones((1, k)), stride=(1, s))[0].astype(int)


def overlap_2d(n: int, k: int, s: int) -> np.ndarray:
    """The 2-D count for an ``n x n`` input and ``k x k`` kernel: the outer product of the 1-D counts."""
    positive(n=n, k=k, s=s)
    return conv_transpose2d(np.ones((n, n)), np.ones((k, k)), stride=s).astype(int)


def interior(counts: np.ndarray, k: int, s: int) -> np.ndarray:
    """The counts away from the borders (where every kernel copy that could reach a pixel exists).

    Along each axis that is positions ``k-1`` to ``len - k``; the border always has fewer writes.
    """
    counts = np.asarray(counts)
    index = tuple(slice(k - 1, n - k + 1) for n in counts.shape)
    return counts[index]


def unevenness(k: int, s: int, dims: int = 1) -> float:
    """Largest over smallest write count inside the output: ``(ceil(k/s) / floor(k/s)) ** dims``.

    1 means no checkerboard; ``inf`` (``k < s``) means some pixels are never written at all.
    """
    positive(k=k, s=s, dims=dims)
    if k < s:
        return math.inf
    return (math.ceil(k / s) / (k // s)) ** dims


def checkerboard_free(k: int, s: int) -> bool:
    """Whether every interior output pixel is written equally often: exactly when ``s`` divides ``k``."""
    positive(k=k, s=s)
    return k % s == 0


# --- resize, then convolve ---------------------------------------------------------------------


def nearest_upsample(x: np.ndarray, scale: int) -> np.ndarray:
    """Repeat every pixel ``scale`` times along both axes."""
    x = _image(x)
    positive(scale=scale)
    return np.repeat(np.repeat(x, scale, axis=0), scale, axis=1)


def _bilinear_axis(n: int, scale: int) -> np.ndarray:
    """The (n*scale, n) matrix of 1-D linear interpolation, half-pixel centres (PyTorch, ``align_corners=False``)."""
    src = np.clip((np.arange(n * scale) + 0.5) / scale - 0.5, 0, None)
    low = np.minimum(np.floor(src).astype(int), n - 1)
    high = np.minimum(low + 1, n - 1)
    frac = src - low
    matrix = np.zeros((n * scale, n))
    np.add.at(matrix, (np.arange(n * scale), low), 1 - frac)
    np.add.at(matrix, (np.arange(n * scale), high), frac)
    return matrix


def bilinear_upsample(x: np.ndarray, scale: int) -> np.ndarray:
    """Bilinear interpolation to ``scale`` times the size, as ``F.interpolate(mode="bilinear")`` does.

    Bilinear is linear along rows, then along columns: two interpolation matrices.
    """
    x = _image(x)
    positive(scale=scale)
    return _bilinear_axis(x.shape[0], scale) @ x @ _bilinear_axis(x.shape[1], scale).T


def upsample(x: np.ndarray, scale: int, method: str = "nearest") -> np.ndarray:
    """:func:`nearest_upsample` or :func:`bilinear_upsample`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return nearest_upsample(x, scale) if method == "nearest" else bilinear_upsample(x, scale)


def resize_conv(x: np.ndarray, w: np.ndarray, scale: int, method: str = "nearest") -> np.ndarray:
    """Resize-convolution: upsample by ``scale``, then a 'same' convolution with the odd-sized kernel ``w``.

    Every output pixel is computed from the same number of (interpolated) inputs, so the layer has no
    uneven overlap: with equal weights a constant image stays constant. Its weights can still make a
    period-2 pattern (:func:`alternating_from_ramp`); the structure discourages checkerboards, it does not
    forbid them.
    """
    w = _image(w, "w")
    if w.shape[0] % 2 == 0 or w.shape[1] % 2 == 0:
        raise ValueError(f"w must have odd sides so that 'same' padding is symmetric, got shape {w.shape}")
    return conv2d(upsample(x, scale, method), w, padding=(w.shape[0] // 2, w.shape[1] // 2))


# --- sub-pixel convolution (pixel shuffle) ------------------------------------------------------


def pixel_shuffle(x: np.ndarray, r: int) -> np.ndarray:
    """Depth to space: ``(..., C r^2, H, W)`` -> ``(..., C, H r, W r)`` (Shi et al., 2016).

    Channel ``c r^2 + i r + j`` becomes the pixels ``(h r + i, w r + j)`` of output channel ``c``: each
    group of ``r^2`` low-resolution maps fills the ``r x r`` phases of one high-resolution map. This is
    PyTorch's ``pixel_shuffle``.
    """
    x = np.asarray(x)
    positive(r=r)
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ValueError(
            f"x must have shape (..., C*r^2, H, W) with a channel count divisible by {r * r}, got {x.shape}"
        )
    *lead, crr, h, w = x.shape
    c = crr // (r * r)
    y = x.reshape(*lead, c, r, r, h, w)
    y = np.moveaxis(y, (-4, -3), (-3, -1))  # (..., c, h, i, w, j)
    return y.reshape(*lead, c, h * r, w * r)


def pixel_unshuffle(y: np.ndarray, r: int) -> np.ndarray:
    """Space to depth, the inverse of :func:`pixel_shuffle`: ``(..., C, H r, W r)`` -> ``(..., C r^2, H, W)``."""
    y = np.asarray(y)
    positive(r=r)
    if y.ndim < 3 or y.shape[-2] % r or y.shape[-1] % r:
        raise ValueError(f"y must have shape (..., C, H*r, W*r) with height and width divisible by {r}, got {y.shape}")
    *lead, c, hr, wr = y.shape
    x = y.reshape(*lead, c, hr // r, r, wr // r, r)
    x = np.moveaxis(x, (-3, -1), (-4, -3))  # (..., c, i, j, h, w)
    return x.reshape(*lead, c * r * r, hr // r, wr // r)


def subpixel_conv(x: np.ndarray, w: np.ndarray, r: int, padding: int = 0) -> np.ndarray:
    """A sub-pixel convolution layer: an ordinary convolution to ``C r^2`` channels, then :func:`pixel_shuffle`.

    ``x`` is ``(C_in, H, W)`` (or ``(H, W)`` for one channel) and ``w`` is ``(C r^2, C_in, k, k)``; the
    result is ``(C, (H + 2p - k + 1) r, ...)``, or 2-D when ``x`` is 2-D and ``C = 1``. All the work
    is done at the low resolution; the shuffle only moves values.
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    positive(r=r)
    flat = x.ndim == 2
    if flat:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"x must have shape (H, W) or (C_in, H, W), got {x.shape}")
    if w.ndim != 4 or w.shape[1] != x.shape[0] or w.shape[0] % (r * r):
        raise ValueError(
            f"w must have shape (C*{r * r}, {x.shape[0]}, k, k): a multiple of r^2 = {r * r} filters, got {w.shape}"
        )
    out = pixel_shuffle(conv2d(x, w, padding=padding), r)
    return out[0] if flat and out.shape[0] == 1 else out


def subpixel_weights(w_t: np.ndarray, r: int) -> np.ndarray:
    """The sub-pixel weights that compute a transposed convolution of stride ``r`` and kernel ``k r``.

    ``w_t`` is a transposed convolution's ``(C_in, C_out, k r, k r)`` weight (as in
    :func:`cnnbook.conv.conv_transpose2d`); the result ``w`` of shape ``(C_out r^2, C_in, k, k)`` makes
    ``subpixel_conv(x, w, r, padding=k - 1) == conv_transpose2d(x, w_t, stride=r)``. Phase ``(i, j)``
    of the output reads every ``r``-th tap of the big kernel, starting at ``(i, j)``, rotated by 180
    degrees: ``w[c r^2 + i r + j, c_in, u, v] = w_t[c_in, c, (k-1-u) r + i, (k-1-v) r + j]``. This only
    exists when ``r`` divides the kernel size, the checkerboard-free case.
    """
    w_t = np.asarray(w_t, dtype=float)
    positive(r=r)
    if w_t.ndim == 2:
        w_t = w_t[None, None]
    if w_t.ndim != 4 or w_t.shape[2] != w_t.shape[3]:
        raise ValueError(f"w_t must have shape (C_in, C_out, K, K) or (K, K), got {w_t.shape}")
    big = w_t.shape[2]
    if big % r:
        raise ValueError(f"the kernel size must be divisible by the stride r = {r} for a sub-pixel layer, got {big}")
    c_in, c_out, k = w_t.shape[0], w_t.shape[1], big // r
    phases = w_t.reshape(c_in, c_out, k, r, k, r)[:, :, ::-1, :, ::-1, :]  # (c_in, c_out, u, i, v, j)
    return np.ascontiguousarray(phases.transpose(1, 3, 5, 0, 2, 4).reshape(c_out * r * r, c_in, k, k))


def icnr_weights(w: np.ndarray, r: int) -> np.ndarray:
    """Sub-pixel weights whose ``r^2`` phases are all copies of ``w`` (``(C, C_in, k, k)`` -> ``(C r^2, C_in, k, k)``).

    With them the sub-pixel layer computes ``conv2d`` at the low resolution and then repeats every pixel
    ``r x r`` times (a nearest-neighbour resize after the convolution): no phase differs from another,
    so a constant input stays constant. Aitken et al. (2017) initialise sub-pixel layers this way
    ("ICNR") to start them free of checkerboards.
    """
    w = np.asarray(w, dtype=float)
    positive(r=r)
    if w.ndim != 4:
        raise ValueError(f"w must have shape (C, C_in, k, k), got {w.shape}")
    return np.repeat(w, r * r, axis=0)


def stack_layers(x: np.ndarray, layer, times: int) -> list[np.ndarray]:
    """``x`` passed through ``layer`` (a function of one image) ``times`` times: every output, first to last."""
    positive(times=times)
    outputs = [layer(_image(x))]
    for _ in range(times - 1):
        outputs.append(layer(outputs[-1]))
    return outputs


def interior_spread(y: np.ndarray, margin: int) -> float:
    """Largest over smallest value of ``y`` away from a ``margin``-pixel border: 1 for an even output."""
    inner = _image(y)[margin:-margin, margin:-margin] if margin else _image(y)
    if inner.size == 0:
        raise ValueError(f"a margin of {margin} leaves nothing of an image of shape {np.shape(y)}")
    return float(inner.max() / inner.min())


def alternating_from_ramp(n: int = 8, kernel: tuple[float, ...] = (0.0, 1.0, -1.0)) -> np.ndarray:
    """One row of a nearest-neighbour resize-convolution of a horizontal ramp ``0, 1, ..., n-1``.

    The resize repeats every value (``0, 0, 1, 1, 2, 2, ...``); the kernel ``(0, 1, -1)`` takes each pixel
    minus its right neighbour, so the row alternates ``0, -1, 0, -1, ...``: a period-2 pattern that the
    weights, not the overlaps, make.
    """
    positive(n=n)
    ramp = np.tile(np.arange(n, dtype=float), (3, 1))
    return resize_conv(ramp, np.asarray([kernel], dtype=float), 2, "nearest")[1]


def increment(x: np.ndarray, method: str = "nearest") -> np.ndarray:
    """What 2x interpolation adds along the rows, on top of the zero-inserted image: ``resize(x) - zeros(x)``.

    The source (5.22.2) splits resize-convolution into the convolution of the zero-inserted image
    and of this increment. Here ``zeros(x)`` has ``x`` at the even rows of a ``2H``-row image and
    ``resize(x)`` repeats (``"nearest"``) or averages neighbours, wrapping around at the end
    (``"bilinear"``, the source's ring-buffer view), into the odd rows.
    """
    x = _image(x)
    zeros = np.zeros((2 * x.shape[0], x.shape[1]))
    zeros[::2] = x
    resized = zeros.copy()
    if method == "nearest":
        resized[1::2] = x
    elif method == "bilinear":
        resized[1::2] = (x + np.roll(x, -1, axis=0)) / 2
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return resized - zeros


# --- dilation and a third axis (sections 5.4.2 and 5.6) ----------------------------------------


def dilated_kernel(w: np.ndarray, d: int) -> np.ndarray:
    """The ``k x k`` kernel with ``d - 1`` zeros between taps: the ``d*(k-1)+1`` window a dilated conv sees."""
    return zero_insert(w, d)


def conv3d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """3-D cross-correlation without padding, stride 1: ``x`` (C, D, H, W), ``w`` (K, C, kd, kh, kw) -> (K, D', H', W').

    The kernel slides along depth (length) too, so each filter yields a 3-D map, where a 2-D
    convolution's filter spans all of the input's depth and yields a 2-D one.
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    if x.ndim != 4 or w.ndim != 5 or w.shape[1] != x.shape[0]:
        raise ValueError(
            f"x must be (C, D, H, W) and w (K, C, kd, kh, kw) with the same C, got {x.shape} and {w.shape}"
        )
    for axis in range(3):
        output_size(x.shape[1 + axis], w.shape[2 + axis])  # raises a clear error when a kernel is too big
    windows = sliding_window_view(x, w.shape[2:], axis=(1, 2, 3))  # (C, D', H', W', kd, kh, kw)
    return np.moveaxis(np.tensordot(windows, w, axes=([0, 4, 5, 6], [1, 2, 3, 4])), -1, 0)


# --- the source's numbers ---------------------------------------------------------------------


def _claims():
    from cnnbook.book.errata import Claim
    from cnnbook.conv import convolve2d

    rng = np.random.default_rng(5)
    x2, w4 = rng.normal(size=(2, 2)), rng.normal(size=(4, 4))
    x3, w3 = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    column = rng.normal(size=(6, 1))
    zeros_of = lambda x: np.pad(x[:, None, :], ((0, 0), (0, 1), (0, 0))).reshape(-1, x.shape[1])  # noqa: E731
    return [
        Claim(
            "003",
            "5.4.2",
            "a 3x3 kernel with dilation rate 2 sees as far as a 5x5",
            5,
            lambda: dilated_kernel(w3, 2).shape[0],
        ),
        Claim(
            "003",
            "5.4.2",
            "a 3x3 kernel with dilation rate 2 uses only this many parameters",
            9,
            lambda: int(np.count_nonzero(dilated_kernel(np.ones((3, 3)), 2))),
        ),
        Claim(
            "003",
            "5.4.3",
            "a 5x5 image, 3x3 kernel, stride 2, no padding: the output is 2x2",
            (2, 2),
            lambda: conv2d(rng.normal(size=(5, 5)), w3, stride=2).shape,
        ),
        Claim(
            "003",
            "5.4.3",
            "going back, each input pixel produces this many values",
            9,
            lambda: int(np.count_nonzero(transposed_pieces(np.ones((2, 2)), np.ones((3, 3)), 2)[0][1])),
        ),
        Claim(
            "003",
            "5.4.3",
            "the transposed convolution restores a 5x5 image",
            (5, 5),
            lambda: conv_transpose2d(rng.normal(size=(2, 2)), w3, stride=2).shape,
        ),
        Claim(
            "003",
            "5.6",
            "a multi-channel 2D convolution with 1 filter outputs this many channels",
            1,
            lambda: conv2d(rng.normal(size=(3, 6, 6)), rng.normal(size=(1, 3, 3, 3))).shape[0],
        ),
        Claim(
            "003",
            "5.6",
            "a 3D convolution of 3 channels with 1 filter outputs one channel",
            1,
            lambda: conv3d(rng.normal(size=(3, 6, 6, 6)), rng.normal(size=(1, 3, 3, 3, 3))).shape[0],
        ),
        Claim(
            "003",
            "5.6",
            "... and that channel is a 3D image (its axes)",
            3,
            lambda: conv3d(rng.normal(size=(3, 6, 6, 6)), rng.normal(size=(1, 3, 3, 3, 3))).ndim - 1,
        ),
        Claim(
            "003",
            "5.19.1",
            "convolution rotates the kernel by 180 degrees before sliding it",
            True,
            lambda: bool(np.allclose(convolve2d(x3, w3, padding=1), conv2d(x3, np.rot90(w3, 2), padding=1))),
        ),
        Claim(
            "003",
            "5.19.2",
            "a pooling layer halves the image (2x2, stride 2; 224 -> 112)",
            0.5,
            lambda: output_size(224, 2, 2) / 224,
        ),
        Claim(
            "003",
            "5.19.2",
            "FCN's coarse output is 1/32 of the image: five halvings, 224 -> 7",
            32,
            lambda: 224 // _halve(224, 5),
        ),
        Claim(
            "003",
            "5.19.2",
            "3x3 image upsampled (zeros inserted, padded) to 7x7",
            (7, 7),
            lambda: np.pad(zero_insert(x3, 2), 1).shape,
        ),
        Claim(
            "003",
            "5.19.2",
            "the 7x7 upsampled image, valid 3x3 convolution with stride 1: 5x5",
            (5, 5),
            lambda: conv2d(np.pad(zero_insert(x3, 2), 1), w3).shape,
        ),
        Claim(
            "003",
            "5.19.2",
            "upsample-then-convolve is a transposed convolution (stride 2, padding 1, kernel rotated)",
            True,
            lambda: bool(np.allclose(transposed_via_conv(x3, w3, 2, 1), conv_transpose2d(x3, w3, stride=2, padding=1))),
        ),
        Claim(
            "003",
            "5.19.2",
            "input 2x2, kernel 4x4, stride 3: output 7x7",
            (7, 7),
            lambda: conv_transpose2d(x2, w4, stride=3).shape,
        ),
        Claim(
            "003",
            "5.19.2",
            "each pixel's full convolution is 1+4-1 = 4 wide",
            4,
            lambda: int(np.count_nonzero(np.any(transposed_pieces(np.ones((2, 2)), np.ones((4, 4)), 3)[0][1], axis=0))),
        ),
        Claim("003", "5.19.2", "4 input pixels give 4 such 4x4 maps", 4, lambda: len(transposed_pieces(x2, w4, 3))),
        Claim(
            "003",
            "5.19.2",
            "output row 1, column 4 = red map (1,4) + green map (1,1)",
            True,
            lambda: bool(
                np.isclose(conv_transpose2d(x2, w4, stride=3)[0, 3], x2[0, 0] * w4[0, 3] + x2[0, 1] * w4[0, 0])
            ),
        ),
        Claim("003", "5.19.2", "out = (in - 1) * s + k: (2 - 1) * 3 + 4", 7, lambda: transposed_output_size(2, 4, 3)),
        Claim(
            "003",
            "5.22.1",
            "stride 2, size 3, 1D: some outputs get twice as many inputs as others",
            2.0,
            lambda: float(interior(overlap_1d(8, 3, 2), 3, 2).max() / interior(overlap_1d(8, 3, 2), 3, 2).min()),
            "the number is Odena et al.'s (distill.pub), computed here; the source's translation attaches it to "
            "the output's size, a mistranslation flagged among the statements below",
        ),
        Claim(
            "003",
            "5.22.1",
            "stride 2, size 3, 2D: the unevenness is squared, a factor of four",
            4.0,
            lambda: float(interior(overlap_2d(8, 3, 2), 3, 2).max() / interior(overlap_2d(8, 3, 2), 3, 2).min()),
        ),
        Claim(
            "003",
            "5.22.2",
            "a kernel size divisible by the stride avoids uneven overlap (size 4, stride 2)",
            True,
            lambda: bool(np.ptp(interior(overlap_2d(8, 4, 2), 4, 2)) == 0),
        ),
        Claim(
            "003",
            "5.22.2",
            "nearest-neighbour resize: the increment image is the original shifted down 1 row",
            True,
            lambda: bool(np.array_equal(increment(column, "nearest"), np.roll(zeros_of(column), 1, axis=0))),
        ),
        Claim(
            "003",
            "5.22.2",
            "bilinear resize: the increment is 1/2 the original shifted down 1 row + 1/2 shifted up 1 row",
            True,
            lambda: bool(
                np.allclose(
                    increment(column, "bilinear"),
                    0.5 * np.roll(zeros_of(column), 1, axis=0) + 0.5 * np.roll(zeros_of(column), -1, axis=0),
                )
            ),
            "with the rows read as a ring, as the source says for the nearest case; at the last row, true "
            "bilinear resizing repeats the edge instead",
        ),
    ]


def _halve(n: int, times: int) -> int:
    for _ in range(times):
        n = output_size(n, 2, 2)
    return n


CLAIMS = _claims()
