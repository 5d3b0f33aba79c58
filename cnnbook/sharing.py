"""Chapter 2: parameter sharing, equivariance and local (unshared) connectivity.

* Equivariance: :func:`shift` moves an image, and :func:`equivariance_error` measures how far
  "shift, then convolve" is from "convolve, then shift", away from the borders or everywhere;
  :func:`circular_conv2d` (wrap-around padding) makes it exact, a stride breaks it.
* :func:`pooled_unchanged` shows pooling's approximate invariance (with chapter 4's
  :func:`cnnbook.pooling.max_pool2d`).
* :func:`conv_matrix` writes a convolution as the (sparse) matrix it is.
* :func:`locally_connected2d` is a convolution with separate weights at every output position;
  :func:`tile_weights` turns shared weights into that form, so the two agree when the weights do.
* :data:`DEEPFACE` is the stack of seeds/003 section 5.29, traced by :func:`trace_stack`.
* :func:`cs231n_example` is the depth-slice example of CS231n (seeds/004); :func:`depth_column` gathers the
  neurons at one position across the depth, and :func:`input_fibre` the input's ``X[x, y, :]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnbook.conv import conv2d, output_size
from cnnbook.counts import conv_params, dense_params, locally_connected_params
from cnnbook.pooling import max_pool2d
from cnnbook.validate import as_pair

# --- equivariance and invariance ------------------------------------------------------------------


def shift(x: np.ndarray, dy: int, dx: int, circular: bool = False) -> np.ndarray:
    """``x`` moved ``dy`` rows down and ``dx`` columns right (negative: up/left) along its last two axes.

    Pixels moved in from outside are 0, or, with ``circular=True``, those that fell off the other side:
    ``shift(I, 0, l)[..., y, x] == I[..., y, x - l]``.
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 axes (height, width), got shape {x.shape}")
    rolled = np.roll(x, (dy, dx), axis=(-2, -1))
    if circular:
        return rolled
    out = np.zeros_like(rolled)
    h, w = x.shape[-2:]
    rows = slice(max(dy, 0), h + min(dy, 0))
    cols = slice(max(dx, 0), w + min(dx, 0))
    out[..., rows, cols] = rolled[..., rows, cols]
    return out


def circular_conv2d(x: np.ndarray, w: np.ndarray, stride: int = 1) -> np.ndarray:
    """:func:`cnnbook.conv.conv2d` on an image that wraps around (a torus): output the size of the input
    (at stride 1). Padding by wrapping removes the borders, so the convolution commutes with
    circular shifts exactly."""
    x, w = np.asarray(x), np.asarray(w)
    kh, kw = w.shape[-2:]
    pads = [(0, 0)] * (x.ndim - 2) + [(0, kh - 1), (0, kw - 1)]
    return conv2d(np.pad(x, pads, mode="wrap"), w, stride=stride)


@dataclass(frozen=True)
class Equivariance:
    """How far conv(shift(x)) is from shift(conv(x))."""

    everywhere: float  # the largest difference over the whole output
    interior: float  # the largest difference over outputs whose window never meets a border effect
    interior_fraction: float  # the share of outputs counted as interior


def equivariance_error(
    x: np.ndarray, w: np.ndarray, dy: int, dx: int, stride: int = 1, circular: bool = False
) -> Equivariance:
    """Compare "shift by (dy, dx), then convolve" with "convolve, then shift the output by (dy, dx) / stride".

    With stride ``s`` the output can only move by whole output pixels, so the shift must be a
    multiple of ``s`` for the two to agree at all; otherwise the output is compared with the
    nearest whole output shift (rounded down), and the error shows how much the stride breaks
    equivariance. ``interior`` ignores the output rows and columns within reach of the zeros
    the shift brings in.
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    if x.ndim != 2 or w.ndim != 2:
        raise ValueError(f"x and w must be 2-D (height, width), got shapes {x.shape} and {w.shape}")

    def conv(image):
        return circular_conv2d(image, w, stride) if circular else conv2d(image, w, stride=stride)

    a = conv(shift(x, dy, dx, circular))
    b = shift(conv(x), dy // stride, dx // stride, circular)
    diff = np.abs(a - b)
    if circular:
        mask = np.ones_like(diff, dtype=bool)
    else:  # interior: the window sees no shifted-in zero, and the shifted output is not zero-filled there
        sees_only_image = conv2d(shift(np.ones_like(x), dy, dx), np.ones_like(w), stride=stride) == w.size
        mask = sees_only_image & (shift(np.ones_like(diff), dy // stride, dx // stride) == 1)
    interior = float(diff[mask].max()) if mask.any() else float("nan")
    return Equivariance(float(diff.max()), interior, float(mask.mean()))


def pooled_unchanged(x: np.ndarray, dy: int, dx: int, size: int = 2, tol: float = 1e-12) -> float:
    """The share of max-pooled values that do not change when ``x`` shifts circularly by ``(dy, dx)``:
    a measure of pooling's (approximate) invariance to small translations."""
    before, after = max_pool2d(x, size), max_pool2d(shift(x, dy, dx, circular=True), size)
    return float(np.mean(np.abs(before - after) <= tol))


# --- a convolution is a sparse matrix ------------------------------------------------------------


def conv_matrix(shape: tuple[int, int], kernel: np.ndarray, sparse: bool = False):
    """The matrix ``M`` with ``M @ x.ravel() == conv2d(x, kernel).ravel()`` for images of ``shape``
    (valid cross-correlation, stride 1).

    Dense (an ``(outputs, inputs)`` array) by default: only for small images. With ``sparse=True``
    returns the nonzero entries as ``(rows, cols, values)`` index arrays, which works at any size.
    """
    kernel = np.asarray(kernel, dtype=float)
    if kernel.ndim != 2 or len(shape) != 2:
        raise ValueError(f"shape must be (height, width) and kernel 2-D, got {shape!r} and {kernel.shape}")
    h, w = shape
    oh, ow = output_size(h, kernel.shape[0]), output_size(w, kernel.shape[1])
    out_index = np.arange(oh * ow).reshape(oh, ow)
    rows, cols, values = [], [], []
    for (u, v), weight in np.ndenumerate(kernel):  # one diagonal band per kernel entry
        if weight == 0:
            continue
        i, j = np.meshgrid(np.arange(oh), np.arange(ow), indexing="ij")
        rows.append(out_index.ravel())
        cols.append(((i + u) * w + (j + v)).ravel())
        values.append(np.full(oh * ow, weight))
    rows, cols, values = (np.concatenate(a) if a else np.array([], dtype=int) for a in (rows, cols, values))
    if sparse:
        return rows, cols, values
    if oh * ow * h * w > 5_000_000:
        raise ValueError(f"a dense matrix for a {h}x{w} image has {oh * ow * h * w:,} entries; use sparse=True")
    matrix = np.zeros((oh * ow, h * w))
    np.add.at(matrix, (rows, cols), values)
    return matrix


# --- locally connected layers -------------------------------------------------------------------

#: The contractions the two layers compute (x windows: n c i j u v; outputs: n k i j).
CONV_SPEC = "ncijuv,kcuv->nkij"  # one filter bank for all positions (i, j)
LOCAL_SPEC = "ncijuv,ijkcuv->nkij"  # a filter bank per position (i, j): what locally_connected2d computes


def locally_connected2d(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: int = 1, padding: int = 0
) -> np.ndarray:
    """A convolution whose weights differ at every output position ("Local-Conv", unshared).

    ``x`` has shape ``(C, H, W)`` or ``(N, C, H, W)``; ``w`` has shape ``(OH, OW, K, C, kh, kw)``, one
    bank of ``K`` filters per output position; ``b`` has shape ``(OH, OW, K)``. The output is
    ``(K, OH, OW)`` (or ``(N, K, OH, OW)``):
    ``out[k, i, j] = sum_{c,u,v} x[c, i*s+u, j*s+v] * w[i, j, k, c, u, v] + b[i, j, k]``.
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    single = x.ndim == 3
    if x.ndim not in (3, 4):
        raise ValueError(f"x must have shape (C, H, W) or (N, C, H, W), got {x.shape}")
    xb = x[None] if single else x
    if w.ndim != 6:
        raise ValueError(f"w must have shape (OH, OW, K, C, kh, kw), got {w.shape}")
    s, p = as_pair(stride, "stride", 1), as_pair(padding, "padding", 0)
    oh_w, ow_w, filters, channels, kh, kw = w.shape
    oh, ow = output_size(xb.shape[2], kh, s[0], p[0]), output_size(xb.shape[3], kw, s[1], p[1])
    if (oh_w, ow_w, channels) != (oh, ow, xb.shape[1]):
        raise ValueError(
            f"w must have shape ({oh}, {ow}, K, {xb.shape[1]}, {kh}, {kw}) for an input of shape "
            f"{x.shape} (one filter bank per output position), got {w.shape}"
        )
    xp = np.pad(xb, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, :: s[0], :: s[1]][:, :, :oh, :ow]
    out = np.einsum(LOCAL_SPEC, windows, w)
    if b is not None:
        b = np.asarray(b, dtype=float)
        if b.shape != (oh, ow, filters):
            raise ValueError(f"b must have shape ({oh}, {ow}, {filters}), one bias per output unit, got {b.shape}")
        out = out + np.moveaxis(b, -1, 0)[None]
    return out[0] if single else out


def tile_weights(w: np.ndarray, out_h: int, out_w: int, b: np.ndarray | None = None):
    """Shared conv weights ``(K, C, kh, kw)`` (and biases ``(K,)``) copied to every one of ``out_h x out_w``
    positions: the locally connected layer that computes exactly the convolution."""
    w = np.asarray(w, dtype=float)
    if w.ndim != 4:
        raise ValueError(f"w must have shape (K, C, kh, kw), got {w.shape}")
    local_w = np.broadcast_to(w, (out_h, out_w) + w.shape).copy()
    if b is None:
        return local_w
    return local_w, np.broadcast_to(np.asarray(b, dtype=float), (out_h, out_w, w.shape[0])).copy()


def _windows(xs: np.ndarray, k: int) -> np.ndarray:
    xs = np.asarray(xs, dtype=float)
    if xs.ndim != 3:
        raise ValueError(f"xs must be a stack of images (N, H, W), got shape {xs.shape}")
    return sliding_window_view(xs, (k, k), axis=(1, 2))  # (N, OH, OW, k, k)


def fit_shared(xs: np.ndarray, ys: np.ndarray, k: int) -> np.ndarray:
    """The single ``k x k`` filter whose (valid, stride 1) convolution best fits ``ys`` from ``xs`` in
    least squares, over every position of every image: ``k*k`` unknowns."""
    windows = _windows(xs, k)
    ys = np.asarray(ys, dtype=float)
    if ys.shape != windows.shape[:3]:
        raise ValueError(f"ys must have shape {windows.shape[:3]} (N, OH, OW), got {ys.shape}")
    solution = np.linalg.lstsq(windows.reshape(-1, k * k), ys.ravel(), rcond=None)[0]
    return solution.reshape(k, k)


def fit_local(xs: np.ndarray, ys: np.ndarray, k: int) -> np.ndarray:
    """A separate ``k x k`` filter for each output position, fitted by least squares (the smallest
    one when the images are too few to pin it down): ``OH*OW*k*k`` unknowns. Shape ``(OH, OW, k, k)``."""
    windows = _windows(xs, k)
    ys = np.asarray(ys, dtype=float)
    n, oh, ow = windows.shape[:3]
    if ys.shape != (n, oh, ow):
        raise ValueError(f"ys must have shape {(n, oh, ow)} (N, OH, OW), got {ys.shape}")
    filters = np.empty((oh, ow, k, k))
    for i in range(oh):
        for j in range(ow):
            filters[i, j] = np.linalg.lstsq(windows[:, i, j].reshape(n, -1), ys[:, i, j], rcond=None)[0].reshape(k, k)
    return filters


def apply_shared(xs: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Valid, stride-1 correlation of each image in ``xs`` (N, H, W) with one filter ``w`` (k, k)."""
    return np.einsum("nijuv,uv->nij", _windows(xs, w.shape[-1]), w)


def apply_local(xs: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Each output position of each image with its own filter: ``w`` has shape (OH, OW, k, k)."""
    return np.einsum("nijuv,ijuv->nij", _windows(xs, w.shape[-1]), w)


@dataclass(frozen=True)
class FitResult:
    """One row of :func:`sharing_experiment`."""

    task: str
    model: str
    params: int
    train_rms: float
    test_rms: float


def sharing_experiment(n_train: int, n_test: int = 200, size: int = 12, seed: int = 0) -> list[FitResult]:
    """Fit a shared filter and a locally connected layer (3x3, least squares) to two targets made from
    random ``size x size`` images:

    * "same everywhere": the vertical-edge filter at every position (what sharing assumes);
    * "aligned face": the vertical-edge filter in the top half of the output, the horizontal one in
      the bottom half (a feature that depends on *where* it is, as in aligned faces).

    Returns train and test root-mean-square errors on ``n_train`` and ``n_test`` fresh images.
    """
    from cnnbook.edges import HORIZONTAL_EDGE, VERTICAL_EDGE

    if n_train < 1 or n_test < 1 or size < 4:
        raise ValueError(f"need n_train, n_test >= 1 and size >= 4, got {n_train}, {n_test}, {size}")
    rng = np.random.default_rng(seed)

    def targets(xs):
        same = apply_shared(xs, VERTICAL_EDGE)
        face = same.copy()
        half = same.shape[1] // 2
        face[:, half:] = apply_shared(xs, HORIZONTAL_EDGE)[:, half:]
        return {"same everywhere": same, "aligned face": face}

    train_x, test_x = rng.normal(size=(n_train, size, size)), rng.normal(size=(n_test, size, size))
    train_y, test_y = targets(train_x), targets(test_x)
    rms = lambda a, b: float(np.sqrt(np.mean((a - b) ** 2)))  # noqa: E731
    rows = []
    for task in train_y:
        shared = fit_shared(train_x, train_y[task], 3)
        local = fit_local(train_x, train_y[task], 3)
        for label, weights, apply in (
            ("shared (convolution)", shared, apply_shared),
            ("unshared (locally connected)", local, apply_local),
        ):
            train_error, test_error = (
                rms(apply(xs, weights), ys[task]) for xs, ys in ((train_x, train_y), (test_x, test_y))
            )
            rows.append(FitResult(task, label, weights.size, train_error, test_error))
    return rows


# --- the DeepFace-style stack of seeds/003 section 5.29 ---------------------------------------


@dataclass(frozen=True)
class StackLayer:
    """One layer of a stack: ``kind`` is "conv", "local", "pool" or "fc"."""

    name: str
    kind: str
    size: int = 0  # kernel or window size (conv, local, pool); units (fc)
    filters: int = 0  # conv and local
    stride: int = 1
    padding: int = 0  # zeros on each side (pool: a border that never wins the max)


@dataclass(frozen=True)
class StackRow:
    """A layer's output shape, its parameters, and what it would have if it shared (or did not)."""

    name: str
    kind: str
    shape: tuple[int, int, int]
    params: int
    params_shared: int  # the same layer as a convolution (conv, local), else the same as params
    params_unshared: int  # the same layer locally connected (conv, local), else the same as params


#: The network of seeds/003 section 5.29 (DeepFace, Taigman et al. 2014), with the layer sizes of the paper's
#: figure 2: C1 32 11x11 filters (142x142), M2 3x3 max pooling stride 2 (71x71), C3 16 9x9 filters (63x63),
#: three locally connected layers L4 16 9x9 (55x55), L5 16 7x7 (25x25) and L6 16 5x5 (21x21), F7 4096 units,
#: F8 4030 classes. The source lists the kernels but no strides; the paper's sizes need stride 2 at L5, and
#: 71 after M2 needs one row of padding (Caffe's rounding up of the pooled size does the same).
DEEPFACE_INPUT = (152, 152, 3)
DEEPFACE = [
    StackLayer("C1", "conv", 11, 32),
    StackLayer("M2", "pool", 3, stride=2, padding=1),
    StackLayer("C3", "conv", 9, 16),
    StackLayer("L4", "local", 9, 16),
    StackLayer("L5", "local", 7, 16, stride=2),
    StackLayer("L6", "local", 5, 16),
    StackLayer("F7", "fc", 4096),
    StackLayer("F8", "fc", 4030),
]

#: The paper's output sizes (height = width) of the layers before F7, for the test that the stack matches them.
DEEPFACE_PAPER_SIZES = {"C1": 142, "M2": 71, "C3": 63, "L4": 55, "L5": 25, "L6": 21}

#: The source's list read literally: every stride 1 and no padding except what it states (M2's stride 2).
DEEPFACE_STRIDE_1 = [
    StackLayer(layer.name, layer.kind, layer.size, layer.filters, 2 if layer.kind == "pool" else 1)
    for layer in DEEPFACE
]


def trace_stack(input_shape: tuple[int, int, int], layers: list[StackLayer]) -> list[StackRow]:
    """Walk ``input_shape`` (height, width, depth) through a stack, counting every layer's parameters."""
    if len(input_shape) != 3 or any(int(v) < 1 for v in input_shape):
        raise ValueError(f"input_shape must be (height, width, depth) of positive sizes, got {input_shape!r}")
    shape = tuple(int(v) for v in input_shape)
    rows = []
    for layer in layers:
        h, w, c = shape
        if layer.kind in ("conv", "local"):
            oh, ow = (output_size(n, layer.size, layer.stride, layer.padding) for n in (h, w))
            shared = conv_params(layer.size, c, layer.filters)
            unshared = locally_connected_params(oh, ow, layer.size, c, layer.filters)
            shape = (oh, ow, layer.filters)
            params = shared if layer.kind == "conv" else unshared
        elif layer.kind == "pool":
            shape = (*(output_size(n, layer.size, layer.stride, layer.padding) for n in (h, w)), c)
            params = shared = unshared = 0
        elif layer.kind == "fc":
            params = shared = unshared = dense_params(h * w * c, layer.size)
            shape = (1, 1, layer.size)
        else:
            raise ValueError(f"layer kind must be 'conv', 'local', 'pool' or 'fc', got {layer.kind!r}")
        rows.append(StackRow(layer.name, layer.kind, shape, params, shared, unshared))
    return rows


def contraction_flops(spec: str, *shapes: tuple[int, ...]) -> int:
    """Multiplications plus additions of an einsum contraction done term by term: 2 x the product of
    the sizes of all its indices (NumPy's "naive FLOP count")."""
    inputs = spec.split("->")[0].split(",")
    if len(inputs) != len(shapes) or any(len(ix) != len(shape) for ix, shape in zip(inputs, shapes)):
        raise ValueError(f"spec {spec!r} needs operands of {len(inputs)} shapes matching {inputs}, got {shapes}")
    sizes: dict[str, int] = {}
    for ix, shape in zip(inputs, shapes):
        for letter, size in zip(ix, shape):
            if sizes.setdefault(letter, size) != size:
                raise ValueError(f"index {letter!r} has sizes {sizes[letter]} and {size} in {spec!r}")
    return 2 * int(np.prod(list(sizes.values()), dtype=object))


def forward_flops(kind: str, input_shape: tuple[int, int, int], k: int, filters: int, stride: int = 1) -> int:
    """Flops of one forward pass (one image, no bias) of a ``"conv"`` or ``"local"`` layer on an
    ``(H, W, C)`` input, counted on the contraction each one computes."""
    h, w, c = input_shape
    oh, ow = output_size(h, k, stride), output_size(w, k, stride)
    windows = (1, c, oh, ow, k, k)
    if kind == "conv":
        return contraction_flops(CONV_SPEC, windows, (filters, c, k, k))
    if kind == "local":
        return contraction_flops(LOCAL_SPEC, windows, (oh, ow, filters, c, k, k))
    raise ValueError(f"kind must be 'conv' or 'local', got {kind!r}")


# --- the CS231n depth-slice example (seeds/004) ----------------------------------------------

#: The entries the source writes out: V index (x, y, depth slice) -> the window of X it sums over.
CS231N_ENTRIES = {
    (0, 0, 0): "X[:5,:5,:]",
    (1, 0, 0): "X[2:7,:5,:]",
    (2, 0, 0): "X[4:9,:5,:]",
    (3, 0, 0): "X[6:11,:5,:]",
    (0, 0, 1): "X[:5,:5,:]",
    (1, 0, 1): "X[2:7,:5,:]",
    (2, 0, 1): "X[4:9,:5,:]",
    (3, 0, 1): "X[6:11,:5,:]",
    (0, 1, 1): "X[:5,2:7,:]",
    (2, 3, 1): "X[4:9,6:11,:]",
}


@dataclass(frozen=True)
class DepthSliceExample:
    """CS231n's example: X (11, 11, 4), two 5x5x4 filters W0, W1 with biases, stride 2, no padding."""

    X: np.ndarray  # (x, y, depth), as the source indexes it
    W: np.ndarray  # (2, 5, 5, 4): W0 and W1
    b: np.ndarray  # (2,): b0 and b1
    V: np.ndarray  # (4, 4, 2): the output volume computed by cnnbook.conv.conv2d
    stride: int = 2


def cs231n_example(seed: int = 0) -> DepthSliceExample:
    """Random X, W0, W1, b0, b1 of the source's shapes, and V from :func:`cnnbook.conv.conv2d`."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(11, 11, 4))
    W = rng.normal(size=(2, 5, 5, 4))
    b = rng.normal(size=2)
    # cnnbook.conv is channels first: (C, H, W) and (K, C, kh, kw); V comes back as (x, y, depth)
    V = conv2d(np.moveaxis(X, -1, 0), np.moveaxis(W, -1, 1), b, stride=2)
    return DepthSliceExample(X, W, b, np.moveaxis(V, 0, -1))


def explicit_entry(example: DepthSliceExample, window: str, depth: int) -> float:
    """``np.sum(X[window] * W_depth) + b_depth``, with ``window`` written as in the source (``"X[2:7,:5,:]"``)."""
    if not (window.startswith("X[") and window.endswith("]")):
        raise ValueError(f"window must look like 'X[2:7,:5,:]', got {window!r}")
    parts = window[2:-1].split(",")
    index = tuple(slice(*[int(v) if v else None for v in part.split(":")]) for part in parts)
    return float(np.sum(example.X[index] * example.W[depth]) + example.b[depth])


def window_of(example: DepthSliceExample, x: int, y: int, depth: int) -> str:
    """The window of X whose explicit sum reproduces ``V[x, y, depth]``, found by trying all of them
    (so it checks the source's slices against the convolution instead of assuming them)."""
    f = example.W.shape[1]
    target = example.V[x, y, depth]
    for top in range(example.X.shape[0] - f + 1):
        for left in range(example.X.shape[1] - f + 1):
            text = f"X[{top or ''}:{top + f},{left or ''}:{left + f},:]"
            if np.isclose(explicit_entry(example, text, depth), target, rtol=1e-12, atol=1e-12):
                return text
    raise ValueError(f"no 5x5 window of X gives V[{x}, {y}, {depth}]")


@dataclass(frozen=True)
class DepthColumn:
    """The neurons of the output at one spatial position ``(x, y)``, one per depth slice (seeds/004's
    "depth column", or fibre, ``V[x, y, :]``), and the window of the input each one looks at."""

    x: int
    y: int
    values: np.ndarray  # V[x, y, :]: one value per filter
    windows: tuple[str, ...]  # the window of X each neuron sums over, found by :func:`window_of`

    @property
    def shared_window(self) -> str | None:
        """The one window every neuron of the column looks at, or None if they differ."""
        return self.windows[0] if len(set(self.windows)) == 1 else None


def depth_column(example: DepthSliceExample, x: int, y: int) -> DepthColumn:
    """The depth column ``V[x, y, :]`` of the CS231n example: its values, and for each depth slice the
    window of ``X`` whose explicit sum gives that neuron (searched, not assumed, by :func:`window_of`)."""
    height, width, depth = example.V.shape
    for name, value, size in (("x", x, height), ("y", y, width)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < size:
            raise ValueError(f"{name} must be an integer position in 0..{size - 1} of the output, got {value!r}")
    windows = tuple(window_of(example, int(x), int(y), d) for d in range(depth))
    return DepthColumn(int(x), int(y), example.V[x, y, :].copy(), windows)


def input_fibre(example: DepthSliceExample, x: int, y: int) -> np.ndarray:
    """The source's ``X[x, y, :]``: the input's depth column at ``(x, y)``, one value per input channel."""
    height, width, _ = example.X.shape
    if not (0 <= x < height and 0 <= y < width):
        raise ValueError(f"(x, y) must be a position of the {height}x{width} input, got {(x, y)!r}")
    return example.X[x, y, :].copy()


def _claims():
    from cnnbook.book.errata import Claim

    image = np.random.default_rng(2).normal(size=(12, 12))
    kernel = np.random.default_rng(3).normal(size=(3, 3))
    deepface = {row.name: row for row in trace_stack(DEEPFACE_INPUT, DEEPFACE)}
    example = cs231n_example()
    claims = [
        Claim(
            "002",
            "2.12",
            "shifting the image right by l pixels and convolving equals convolving and then "
            "shifting (largest difference away from the borders, l = 3)",
            0.0,
            lambda: equivariance_error(image, kernel, 0, 3).interior,
            "holds; the source writes the shifted image as I'(x, y) = I(x-1, y), a typo for I(x-l, y)",
        ),
        Claim(
            "003",
            "5.16",
            "output depth = number of filters: weight_variable([5,5,1,32]) gives a depth of",
            32,
            lambda: conv2d(np.zeros((1, 28, 28)), np.zeros((32, 1, 5, 5))).shape[0],
            "the 28x28 one-channel input is the book's choice; any input size gives the same depth",
        ),
        Claim("004", "sharing", "output width and height: (11 - 5)/2 + 1", 4, lambda: cs231n_example().V.shape[0]),
        Claim(
            "004",
            "sharing",
            "W0 has shape (5, 5, 4): filter size 5, input depth 4",
            (5, 5, 4),
            lambda: cs231n_example().W[0].shape,
        ),
    ]
    for (x, y, depth), window in CS231N_ENTRIES.items():
        claims.append(
            Claim(
                "004",
                "sharing",
                f"V[{x},{y},{depth}] = np.sum({window} * W{depth}) + b{depth}: the window",
                window,
                lambda x=x, y=y, depth=depth: window_of(example, x, y, depth),
            )
        )
    l4_input = next(row.shape for row in trace_stack(DEEPFACE_INPUT, DEEPFACE[:3]) if row.name == "C3")
    claims += [
        Claim(
            "003",
            "5.29",
            "unshared kernels add no computation to the forward pass: L4's flops relative to a "
            "shared convolution of the same shape",
            1.0,
            lambda: forward_flops("local", l4_input, 9, 16) / forward_flops("conv", l4_input, 9, 16),
            "holds: the forward cost depends on the shapes only; what grows is the number of parameters "
            f"({deepface['L4'].params_unshared:,} instead of {deepface['L4'].params_shared:,} for L4)",
        ),
    ]
    return claims


CLAIMS = _claims()
