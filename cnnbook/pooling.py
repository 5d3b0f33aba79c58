"""Chapter 4: pooling and spatial pyramid pooling (source: seeds/003, sections 5.7, 5.9, 5.18, 5.27.3).

Max and average pooling with any window and stride (overlapping when the window is larger than
the stride), their backward passes, max pooling's switches and unpooling with them
(:func:`max_pool2d_with_switches`, :func:`max_unpool2d`), global pooling, and spatial pyramid pooling (SPP) with the
two ways of cutting an ``a x a`` map into ``n x n`` bins:

* ``rule="sppnet"``: SPP-net's window ``ceil(a/n)`` and stride ``floor(a/n)`` (what the source
  describes); it can leave the last rows and columns out.
* ``rule="adaptive"``: bin ``i`` runs from ``floor(i*a/n)`` to ``ceil((i+1)*a/n)``, which covers
  every cell (PyTorch's ``adaptive_max_pool2d``).

Shapes follow :mod:`cnnbook.conv`: ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``, channels first;
every channel is pooled on its own, so the depth never changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnbook.conv import output_size
from cnnbook.validate import Pair, as_pair

RULES = ("sppnet", "adaptive")


def _as_nchw(x: np.ndarray, what: str = "x") -> tuple[np.ndarray, int]:
    """Bring ``x`` to (N, C, H, W); return how many leading axes to drop afterwards."""
    x = np.asarray(x)
    if x.ndim == 2:
        return x[None, None], 2
    if x.ndim == 3:
        return x[None], 1
    if x.ndim == 4:
        return x, 0
    raise ValueError(f"{what} must have shape (H, W), (C, H, W) or (N, C, H, W), got {x.shape}")


def _drop(out: np.ndarray, drop: int) -> np.ndarray:
    return out[(0,) * drop] if drop else out


def _geometry(x: np.ndarray, size: Pair, stride: Pair | None, padding: Pair):
    k = as_pair(size, "size", 1)
    s = k if stride is None else as_pair(stride, "stride", 1)
    p = as_pair(padding, "padding", 0)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        # as in PyTorch: more padding would let a window see nothing but padding
        raise ValueError(f"padding must be at most half the window, size {k} allows {(k[0] // 2, k[1] // 2)}, got {p}")
    oh = output_size(x.shape[-2], k[0], s[0], p[0])
    ow = output_size(x.shape[-1], k[1], s[1], p[1])
    return k, s, p, (oh, ow)


def _windows(xb: np.ndarray, k, s, p, out_hw, fill: float) -> np.ndarray:
    """All pooling windows, shape (N, C, H', W', kh, kw)."""
    padded = np.pad(xb.astype(float), ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=fill)
    windows = sliding_window_view(padded, k, axis=(2, 3))
    return windows[:, :, : (out_hw[0] - 1) * s[0] + 1 : s[0], : (out_hw[1] - 1) * s[1] + 1 : s[1]]


def pool_output_shape(
    shape: Sequence[int], size: Pair, stride: Pair | None = None, padding: Pair = 0
) -> tuple[int, ...]:
    """The shape pooling gives an input of ``shape``: height and width shrink, every other axis stays."""
    dummy = np.empty(tuple(shape[-2:]))
    _, _, _, (oh, ow) = _geometry(dummy, size, stride, padding)
    return tuple(shape[:-2]) + (oh, ow)


def max_pool2d(x: np.ndarray, size: Pair, stride: Pair | None = None, padding: Pair = 0) -> np.ndarray:
    """The largest value of every ``size`` window, windows ``stride`` apart (default: ``stride = size``).

    Padding is filled with ``-inf`` so it never wins, as in PyTorch. A window larger than the
    stride overlaps its neighbours (AlexNet pools 3x3 windows with stride 2).
    """
    xb, drop = _as_nchw(x)
    k, s, p, out_hw = _geometry(xb, size, stride, padding)
    return _drop(_windows(xb, k, s, p, out_hw, -np.inf).max(axis=(-2, -1)), drop)


def avg_pool2d(x: np.ndarray, size: Pair, stride: Pair | None = None, padding: Pair = 0) -> np.ndarray:
    """The mean of every ``size`` window; padded zeros count in the mean (PyTorch's default)."""
    xb, drop = _as_nchw(x)
    k, s, p, out_hw = _geometry(xb, size, stride, padding)
    return _drop(_windows(xb, k, s, p, out_hw, 0.0).mean(axis=(-2, -1)), drop)


def _check_grad(grad_out: np.ndarray, expected: tuple[int, ...]) -> np.ndarray:
    grad_out = np.asarray(grad_out, dtype=float)
    if grad_out.shape != expected:
        raise ValueError(f"grad_out must have the pooled shape {expected}, got {grad_out.shape}")
    return grad_out


def max_pool2d_backward(
    x: np.ndarray, grad_out: np.ndarray, size: Pair, stride: Pair | None = None, padding: Pair = 0
) -> np.ndarray:
    """Gradient of :func:`max_pool2d` with respect to ``x``.

    Each output's gradient goes to the position of its window's maximum (the first one on a
    tie, as PyTorch does); where windows overlap, one input can win several windows and
    collects the sum of their gradients. Every other input gets 0.
    """
    xb, drop = _as_nchw(x)
    k, s, p, out_hw = _geometry(xb, size, stride, padding)
    g = _check_grad(grad_out, _drop(np.empty(xb.shape[:2] + out_hw), drop).shape).reshape(xb.shape[:2] + out_hw)
    windows = _windows(xb, k, s, p, out_hw, -np.inf)
    winner = windows.reshape(windows.shape[:4] + (-1,)).argmax(axis=-1)  # flat index inside each window
    n, c, i, j = np.indices(winner.shape)
    rows, cols = i * s[0] + winner // k[1], j * s[1] + winner % k[1]
    grad = np.zeros((xb.shape[0], xb.shape[1], xb.shape[2] + 2 * p[0], xb.shape[3] + 2 * p[1]))
    np.add.at(grad, (n, c, rows, cols), g)  # add.at, not +=: overlapping windows may pick the same input
    return _drop(grad[:, :, p[0] : p[0] + xb.shape[2], p[1] : p[1] + xb.shape[3]], drop)


def avg_pool2d_backward(
    grad_out: np.ndarray, input_shape: Sequence[int], size: Pair, stride: Pair | None = None, padding: Pair = 0
) -> np.ndarray:
    """Gradient of :func:`avg_pool2d`: each output's gradient, divided by the window area, to every cell of it."""
    input_shape = tuple(int(v) for v in input_shape)
    xb, drop = _as_nchw(np.empty(input_shape), "input_shape")
    k, s, p, out_hw = _geometry(xb, size, stride, padding)
    g = _check_grad(grad_out, _drop(np.empty(xb.shape[:2] + out_hw), drop).shape).reshape(xb.shape[:2] + out_hw)
    grad = np.zeros((xb.shape[0], xb.shape[1], xb.shape[2] + 2 * p[0], xb.shape[3] + 2 * p[1]))
    share = g / (k[0] * k[1])
    for u in range(k[0]):  # one strided slice per window offset: k*k adds instead of a loop over windows
        for v in range(k[1]):
            grad[:, :, u : u + (out_hw[0] - 1) * s[0] + 1 : s[0], v : v + (out_hw[1] - 1) * s[1] + 1 : s[1]] += share
    return _drop(grad[:, :, p[0] : p[0] + xb.shape[2], p[1] : p[1] + xb.shape[3]], drop).reshape(input_shape)


def max_pool2d_with_switches(
    x: np.ndarray, size: Pair, stride: Pair | None = None, padding: Pair = 0
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`max_pool2d` and its *switches*: where each window's maximum was.

    A switch is the flat index ``row * W + col`` of the maximum in its channel's (unpadded) ``H x W``
    map, the first one on a tie: what PyTorch's ``max_pool2d(..., return_indices=True)`` returns, and
    what Zeiler and Fergus's deconvnet records to undo a pooling (:func:`max_unpool2d`).
    """
    xb, drop = _as_nchw(x)
    k, s, p, out_hw = _geometry(xb, size, stride, padding)
    windows = _windows(xb, k, s, p, out_hw, -np.inf)
    flat = windows.reshape(windows.shape[:4] + (-1,))
    winner = flat.argmax(axis=-1)
    _, _, i, j = np.indices(winner.shape)
    rows = i * s[0] + winner // k[1] - p[0]
    cols = j * s[1] + winner % k[1] - p[1]
    pooled = np.take_along_axis(flat, winner[..., None], axis=-1)[..., 0]
    return _drop(pooled, drop), _drop(rows * xb.shape[3] + cols, drop)


def max_unpool2d(pooled: np.ndarray, switches: np.ndarray, output_hw: Pair) -> np.ndarray:
    """Unpooling with switches: a map of ``output_hw`` zeros with each pooled value put back at its switch.

    ``switches`` come from :func:`max_pool2d_with_switches` (flat indices into the ``H x W`` map, one per
    pooled value); ``output_hw`` is the size of the map before pooling. Where overlapping windows share a
    switch they carry the same maximum, so the order of writing does not matter. This is PyTorch's
    ``max_unpool2d`` and the unpooling of Zeiler and Fergus (2014).
    """
    pooled, switches = np.asarray(pooled, dtype=float), np.asarray(switches)
    if switches.shape != pooled.shape:
        raise ValueError(f"switches must have the pooled shape {pooled.shape}, one per value, got {switches.shape}")
    if switches.size and not np.issubdtype(switches.dtype, np.integer):
        raise ValueError(f"switches must be integer indices, got dtype {switches.dtype}")
    h, w = as_pair(output_hw, "output_hw", 1)
    pb, drop = _as_nchw(pooled, "pooled")
    sb = switches.reshape(pb.shape)
    if sb.size and (sb.min() < 0 or sb.max() >= h * w):
        raise ValueError(f"switches must index the {h}x{w} map, in 0..{h * w - 1}, got {sb.min()}..{sb.max()}")
    out = np.zeros(pb.shape[:2] + (h * w,))
    n, c = np.indices(pb.shape[:2])
    out[n[..., None], c[..., None], sb.reshape(pb.shape[:2] + (-1,))] = pb.reshape(pb.shape[:2] + (-1,))
    return _drop(out.reshape(pb.shape[:2] + (h, w)), drop)


def global_pool(x: np.ndarray, mode: str = "avg") -> np.ndarray:
    """One number per channel: the mean (``"avg"``) or maximum (``"max"``) over the whole map.

    ``(C, H, W)`` gives ``(C,)`` and ``(N, C, H, W)`` gives ``(N, C)``; a lone ``(H, W)`` map gives a scalar.
    """
    if mode not in ("avg", "max"):
        raise ValueError(f"mode must be 'avg' or 'max', got {mode!r}")
    xb, drop = _as_nchw(x)
    out = xb.mean(axis=(-2, -1)) if mode == "avg" else xb.max(axis=(-2, -1))
    return _drop(out, drop)


def pool_coverage(n: int, size: int, stride: int) -> np.ndarray:
    """How many pooling windows read each of ``n`` positions along one axis (0 means never read)."""
    count = np.zeros(n, dtype=int)
    for start in range(0, output_size(n, size, stride) * stride, stride):
        count[start : start + size] += 1
    return count


# --- spatial pyramid pooling ------------------------------------------------------------------


def _check_level(a: int, n: int, rule: str) -> None:
    for name, value in (("a", a), ("n", n)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if rule == "sppnet" and n > a:
        raise ValueError(f"the sppnet rule needs a >= n (its stride floor(a/n) would be 0), got a={a}, n={n}")


def spp_window_stride(a: int, n: int) -> tuple[int, int]:
    """SPP-net's window ``ceil(a/n)`` and stride ``floor(a/n)`` for an ``n x n`` level on an ``a x a`` map."""
    _check_level(a, n, "sppnet")
    return math.ceil(a / n), a // n


def spp_bins(a: int, n: int, rule: str = "adaptive") -> list[tuple[int, int]]:
    """The ``n`` bins of one level along one axis of length ``a``, as half-open ``(start, stop)`` ranges."""
    _check_level(a, n, rule)
    if rule == "sppnet":
        window, stride = spp_window_stride(a, n)
        return [(i * stride, i * stride + window) for i in range(n)]
    return [((i * a) // n, -((-(i + 1) * a) // n)) for i in range(n)]  # floor and ceil in integers


def uncovered(a: int, n: int, rule: str = "adaptive") -> list[int]:
    """The rows (equally, columns) of an ``a x a`` map that no bin of an ``n x n`` level ever pools."""
    seen = np.zeros(a, dtype=bool)
    for start, stop in spp_bins(a, n, rule):
        seen[start:stop] = True
    return [int(i) for i in np.flatnonzero(~seen)]


def bin_coverage(a: int, n: int, rule: str = "adaptive") -> np.ndarray:
    """An ``a x a`` map of how many bins of an ``n x n`` level pool each cell (0: never pooled)."""
    counts = np.zeros(a, dtype=int)
    for start, stop in spp_bins(a, n, rule):
        counts[start:stop] += 1
    return np.outer(counts, counts)


def draw_spp_level(ax, a: int, n: int, rule: str = "adaptive", title: str | None = None) -> None:
    """Draw the bins of one SPP level over an ``a x a`` map; cells no bin pools are red.

    Grey shades count how many bins pool a cell (overlapping bins make it darker); each bin is
    outlined, slightly inset so that overlapping outlines stay visible.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle

    coverage = bin_coverage(a, n, rule)
    colours = ListedColormap(["#d62728", "#f2f2f2", "#bdbdbd", "#969696", "#737373"])
    ax.imshow(np.minimum(coverage, 4), cmap=colours, vmin=-0.5, vmax=4.5)
    edges = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"]
    bins = spp_bins(a, n, rule)
    for bi, (r0, r1) in enumerate(bins):
        for bj, (c0, c1) in enumerate(bins):
            inset = 0.08 + 0.06 * ((bi + bj) % 2)
            ax.add_patch(
                Rectangle(
                    (c0 - 0.5 + inset, r0 - 0.5 + inset),
                    c1 - c0 - 2 * inset,
                    r1 - r0 - 2 * inset,
                    fill=False,
                    edgecolor=edges[(bi + 2 * bj) % 4],
                    linewidth=1.6,
                )
            )
    ax.set_xticks(range(a))
    ax.set_yticks(range(a))
    ax.tick_params(labelsize=6)
    ax.set_title(title if title is not None else f"{a}x{a} map, {n}x{n} bins ({rule})", fontsize=10)


def spp_length(channels: int, levels: Sequence[int] = (1, 2, 4)) -> int:
    """Length of the SPP vector: ``channels`` numbers for each of the ``sum(n*n)`` bins, whatever the map size."""
    if not isinstance(channels, (int, np.integer)) or channels < 1:
        raise ValueError(f"channels must be a positive integer, got {channels!r}")
    return int(channels) * sum(int(n) * int(n) for n in levels)


def spatial_pyramid_pool(
    x: np.ndarray, levels: Sequence[int] = (1, 2, 4), mode: str = "max", rule: str = "adaptive"
) -> np.ndarray:
    """Pool a map of any size into a fixed-length vector: for each level ``n``, an ``n x n`` grid of bins.

    ``(C, H, W)`` gives a vector of ``C * sum(n*n)`` numbers, ``(N, C, H, W)`` a matrix with one
    such row per image. Level by level, each level is its ``(C, n, n)`` result flattened
    channel by channel, the order of ``torch.cat([adaptive_max_pool2d(x, n).flatten(1) ...])``.
    """
    if mode not in ("avg", "max"):
        raise ValueError(f"mode must be 'avg' or 'max', got {mode!r}")
    x = np.asarray(x, dtype=float)
    if x.ndim not in (3, 4):
        raise ValueError(f"x must have shape (C, H, W) or (N, C, H, W), got {x.shape}")
    if len(levels) == 0:
        raise ValueError("levels must name at least one level, got an empty list")
    xb = x[None] if x.ndim == 3 else x
    reduce = np.max if mode == "max" else np.mean
    parts = []
    for n in levels:
        rows, cols = spp_bins(xb.shape[2], n, rule), spp_bins(xb.shape[3], n, rule)
        level = np.stack(
            [np.stack([reduce(xb[:, :, r0:r1, c0:c1], axis=(-2, -1)) for c0, c1 in cols], axis=-1) for r0, r1 in rows],
            axis=-2,
        )  # (N, C, n, n)
        parts.append(level.reshape(xb.shape[0], -1))
    out = np.concatenate(parts, axis=1)
    return out[0] if x.ndim == 3 else out


# --- the source's numbers ---------------------------------------------------------------------


def _claims():
    from cnnbook.book.errata import Claim
    from cnnbook.conv import conv2d

    conv5 = np.random.default_rng(0).normal(size=(256, 13, 13))  # AlexNet/ZF conv5: 256 maps of 13x13
    rng = np.random.default_rng(1)
    one_hot = np.zeros((20, 20))
    one_hot[3, 7] = 1.0  # a lone 1 among zeros pools to 1/(window area)
    shrink = lambda n, k, s: output_size(n, k, s) ** 2 / n**2  # noqa: E731 -- area kept by pooling
    return [
        Claim(
            "003",
            "5.7.1",
            "general pooling, sizeX = stride: windows do not overlap (sizes 1 to 4, maps up to 16)",
            True,
            lambda: all(pool_coverage(n, k, k).max() == 1 for k in range(1, 5) for n in range(k, 17)),
        ),
        Claim(
            "003",
            "5.7.2",
            "overlapping pooling, sizeX > stride: neighbouring windows overlap (sizes up to 4, maps up to 16)",
            True,
            lambda: all(
                pool_coverage(n, k, s).max() > 1 for k in range(2, 5) for s in range(1, k) for n in range(k + s, 17)
            ),
        ),
        Claim(
            "003",
            "5.7.3",
            "SPP levels 1x1, 2x2 and 4x4 give this many bins",
            21,
            lambda: spatial_pyramid_pool(conv5).size // 256,
        ),
        Claim(
            "003",
            "5.7.3",
            "with conv5's 256 filters, each bin is a feature of this many dimensions",
            256,
            lambda: spatial_pyramid_pool(conv5, levels=(1,)).size,
        ),
        Claim(
            "003",
            "5.7.3",
            "the 13x13 conv5 map (the source's figure): the window/stride rule pools every cell at levels 1, 2 and 4",
            True,
            lambda: not any(uncovered(13, n, "sppnet") for n in (1, 2, 4)),
            "implied: the source raises the problem only for 14x14",
        ),
        Claim("003", "5.7.3", "14x14 map, [pool1x1]: sizeX = stride", (14, 14), lambda: spp_window_stride(14, 1)),
        Claim("003", "5.7.3", "14x14 map, [pool2x2]: sizeX = stride", (7, 7), lambda: spp_window_stride(14, 2)),
        Claim(
            "003",
            "5.7.3",
            "14x14 map, [pool4x4]: sizeX = 5, stride = 4",
            (5, 4),
            lambda: spp_window_stride(14, 4),
            "the source's own rule gives ceil(14/4) = 4 and floor(14/4) = 3; 5 and 4 are ceil(14/3) and "
            "floor(14/3), the numbers of a 3x3 level (SPP-net's own pyramid has one); with window 5 and stride 4 "
            "only 3 windows fit in 14, not 4",
        ),
        Claim(
            "003",
            "5.7.3",
            "14x14 map, [pool4x4]: the last row and column (index 13) are never pooled",
            [13],
            lambda: uncovered(14, 4, "sppnet"),
            "holds with the rule's window 4 and stride 3 (and with the 3x3 level's 5 and 4 as well)",
            derived="the source says 'the last column and the last row' (最后一列和最后一行): index 13 of 14",
        ),
        Claim("003", "5.9", "8x8 patches of a 96x96 image: positions (1,1) to (89,89)", 89, lambda: output_size(96, 8)),
        Claim(
            "003",
            "5.9",
            "100 hidden units give 100 sets of 89x89 convolved features",
            (100, 89, 89),
            lambda: conv2d(rng.normal(size=(1, 96, 96)), rng.normal(size=(100, 1, 8, 8))).shape,
        ),
        Claim(
            "003",
            "5.9",
            "20x20 matrix, 10x10 mean pooling: each output averages this many values",
            100,
            lambda: int(round(1 / avg_pool2d(one_hot, 10)[0, 0])),
        ),
        Claim(
            "003",
            "5.9",
            "20x20 matrix, 10x10 pooling: the pooled matrix (in the source's figure)",
            (2, 2),
            lambda: avg_pool2d(np.ones((20, 20)), 10).shape,
        ),
        Claim(
            "003",
            "5.9",
            "pooling keeps the depth: 256 maps in, 256 out",
            True,
            lambda: max_pool2d(conv5, 2).shape[0] == conv5.shape[0],
        ),
        Claim(
            "003",
            "5.18",
            "2x2 average pooling = sum of each 2x2 region divided by",
            4,
            lambda: int(round(np.sum(conv5[0, :2, :2]) / avg_pool2d(conv5[0], 2)[0, 0])),
        ),
        Claim(
            "003",
            "5.18",
            "2x2 window, stride 2: the map shrinks to 1/4 (of its area, 224x224 -> 112x112)",
            0.25,
            lambda: shrink(224, 2, 2),
        ),
        Claim(
            "003",
            "5.18",
            "3x3 window, stride 2: also 1/4 (AlexNet's pooling, 55x55 -> 27x27)",
            0.25,
            lambda: shrink(55, 3, 2),
            "only roughly: without padding a 3x3 window with stride 2 leaves floor((n-3)/2)+1 positions, "
            f"{output_size(55, 3, 2)} of 55 ({shrink(55, 3, 2):.3f} of the area); exactly 1/4 needs an even n and "
            "1 pixel of padding",
        ),
    ]


CLAIMS = _claims()
