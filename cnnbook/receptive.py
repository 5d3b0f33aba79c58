"""Receptive fields (chapter 3): how much of the input one output sees, through a stack of layers.

Along one axis a layer is a kernel of ``k`` taps, ``d`` apart, moved ``s`` at a time over an input with
``p`` zeros before it (a pooling window is a kernel with ``d = 1``). Through a stack, with ``j`` the
distance in input pixels between neighbouring outputs of a layer (its *jump*) and ``r`` the size of one
output's field::

    r_out = r_in + (k - 1) * d * j_in        j_out = j_in * s        (r = j = 1 at the input)

(A. Araujo, W. Norris and J. Sim, "Computing receptive fields of convolutional neural networks",
Distill, 2019, eqs. 1-3 of "Single-path networks".) :func:`fields` computes it; :func:`influencing_inputs`
is the brute-force answer (send an impulse from one input pixel at a time through the layers and see
which outputs it reaches), which the
tests and the chapter check the formula against. :func:`effective_field` measures how much each input
pixel actually moves one output of a network of the engine (Luo et al.'s *effective* receptive field).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cnnbook import architectures as arch
from cnnbook.conv import conv2d, kernel_span, output_size
from cnnbook.validate import check_int, positive


@dataclass(frozen=True)
class Stage:
    """One layer along one axis: ``k`` taps ``d`` apart, stride ``s``, ``p`` zeros before the input."""

    k: int
    s: int = 1
    p: int = 0
    d: int = 1
    name: str = ""

    def __post_init__(self) -> None:
        positive(k=self.k, s=self.s, d=self.d)
        check_int(0, p=self.p)

    @property
    def span(self) -> int:
        """Input positions one window spans, ``d (k - 1) + 1``."""
        return kernel_span(self.k, self.d)


@dataclass(frozen=True)
class Residual:
    """A block whose output adds two paths (a residual block: the main path and the shortcut)."""

    main: tuple[Stage, ...]
    shortcut: tuple[Stage, ...] = ()
    name: str = ""


Step = Stage | Residual


@dataclass(frozen=True)
class Field:
    """One output's receptive field after a layer: ``size`` input pixels, outputs ``jump`` pixels apart, and
    ``start`` the input position at the centre of output 0's field (negative where it lies in the padding)."""

    size: int
    jump: int
    start: float

    def extent(self, index: int) -> tuple[float, float]:
        """The first and last input positions in output ``index``'s field (may fall in the padding)."""
        centre = self.start + index * self.jump
        return centre - (self.size - 1) / 2, centre + (self.size - 1) / 2


INPUT = Field(1, 1, 0.0)


def _through(field: Field, step: Step) -> Field:
    if isinstance(step, Residual):
        paths = [_walk(field, step.main), _walk(field, step.shortcut)]
        if paths[0].jump != paths[1].jump:
            raise ValueError(
                f"{step.name or 'residual block'}: its paths have jumps {paths[0].jump} and {paths[1].jump}"
            )
        return max(paths, key=lambda f: f.size)  # the sum sees the union; both paths share the centre here
    size = field.size + (step.span - 1) * field.jump
    start = field.start + ((step.span - 1) / 2 - step.p) * field.jump
    return Field(size, field.jump * step.s, start)


def _walk(field: Field, steps: Sequence[Step]) -> Field:
    for step in steps:
        field = _through(field, step)
    return field


def fields(steps: Sequence[Step]) -> list[Field]:
    """The receptive field after each step of ``steps`` (the recurrence of the module docstring).

    >>> [f.size for f in fields([Stage(3), Stage(3), Stage(2, 2), Stage(3)])]
    [3, 5, 6, 10]
    """
    out, field = [], INPUT
    for step in steps:
        field = _through(field, step)
        out.append(field)
    return out


# --- the brute-force answer ---------------------------------------------------------------------------


def _propagate(x: np.ndarray, steps: Sequence[Step], count: bool = False) -> np.ndarray:
    """``x`` (N, L) through ``steps``, each the real 1-D convolution with every weight one (a residual block
    adds its two paths). With ``count`` the result counts the paths from each input to each output; without,
    each step keeps only reached-or-not, so no contribution is lost to rounding however deep the stack."""
    for step in steps:
        if isinstance(step, Residual):
            x = _propagate(x, step.main, count) + _propagate(x, step.shortcut, count)
        else:
            w = np.ones((1, 1, 1, step.k))
            x = conv2d(x[:, None, None, :], w, stride=(1, step.s), padding=(0, step.p), dilation=(1, step.d))[:, 0, 0]
        if not count:
            x = (x > 0).astype(np.float64)
    return x


def influencing_inputs(steps: Sequence[Step], n: int, index: int) -> list[int]:
    """The input positions (of ``n``) that output ``index`` of ``steps`` depends on, found without the
    formula: an impulse at each input position in turn is run through the layers, and we look where it
    arrives.

    >>> influencing_inputs([Stage(3, d=2)], n=9, index=0)   # a dilated kernel skips the pixels between taps
    [0, 2, 4]
    """
    positive(n=n)
    check_int(0, index=index)
    out = _propagate(np.eye(n), steps)  # row i: where an impulse at input i arrives
    if index >= out.shape[1]:
        raise ValueError(f"index must be below the output length {out.shape[1]} for n={n}, got {index}")
    return np.flatnonzero(out[:, index]).tolist()


def path_counts(steps: Sequence[Step], n: int, index: int) -> np.ndarray:
    """For each of the ``n`` input positions, how many paths through ``steps`` (one per chain of kernel taps)
    lead from it to output ``index``: why the centre of a field weighs more than its edge.

    >>> path_counts([Stage(3), Stage(3)], n=5, index=0).astype(int).tolist()
    [1, 2, 3, 2, 1]
    """
    positive(n=n)
    check_int(0, index=index)
    out = _propagate(np.eye(n), steps, count=True)
    if index >= out.shape[1]:
        raise ValueError(f"index must be below the output length {out.shape[1]} for n={n}, got {index}")
    return out[:, index]


# --- the networks of chapter 9 --------------------------------------------------------------------------


def stages_of(layers: Sequence[arch.Layer]) -> list[tuple[str, Step]]:
    """The layers of a network specification (:mod:`cnnbook.architectures`) that move or widen the field,
    as ``(name, step)`` pairs along one axis, up to its first dense layer; layers that keep every position
    (batch norm, dropout, LRN) are left out. Inception modules are not covered (a ValueError says so)."""
    out: list[tuple[str, Step]] = []
    for layer in layers:
        if isinstance(layer, arch.Conv):
            out.append((layer.name, Stage(layer.k, layer.stride, layer.padding)))
        elif isinstance(layer, arch.Pool):
            out.append((layer.name, Stage(layer.k, layer.stride or layer.k, layer.padding)))
        elif isinstance(layer, (arch.BasicBlock, arch.Bottleneck)):
            main, shortcut = layer.paths(1)  # the channel count does not move the field
            steps = [tuple(s for _, s in stages_of(path)) for path in (main, shortcut)]
            out.append((layer.name, Residual(steps[0], steps[1], layer.name)))
        elif isinstance(layer, (arch.Dense, arch.Flatten, arch.GlobalAvgPool, arch.RBF)):
            break  # from here every output sees the whole input
        elif isinstance(layer, arch.Inception):
            raise ValueError("receptive fields through Inception modules are not computed here")
    return out


def network_field(net: arch.Network) -> tuple[str, Field]:
    """The name of ``net``'s last layer before its dense head, and one output's receptive field there."""
    named = stages_of(net.layers)
    return named[-1][0], fields([step for _, step in named])[-1]


# --- the effective receptive field ----------------------------------------------------------------------


def effective_field(features, images: np.ndarray) -> np.ndarray:
    """How strongly each input pixel moves the centre output of ``features`` (a layer of :mod:`cnnbook.nn`,
    such as a ``Sequential`` of its convolutions): the mean over ``images`` (N, H, W) of the absolute
    gradient of the centre position's outputs (summed over channels) with respect to the input, as an
    (H, W) map that sums to 1 (W. Luo, Y. Li, R. Urtasun and R. Zemel, "Understanding the effective
    receptive field in deep convolutional neural networks", NeurIPS 2016, section 2)."""
    if images.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W), got {images.shape}")
    x = images[..., None].astype(np.float32)
    out = features.forward(x, training=False)
    grad = np.zeros_like(out)
    grad[:, out.shape[1] // 2, out.shape[2] // 2, :] = 1.0
    saliency = np.abs(features.backward(grad, input_grad=True)[..., 0]).mean(axis=0)
    return saliency / saliency.sum()


def spread(field: np.ndarray, centre: tuple[float, float]) -> float:
    """The root-mean-square distance, in pixels, of a map's mass (it sums to 1) from ``centre`` (row, column)."""
    rows, cols = np.indices(field.shape)
    return float(np.sqrt((field * ((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2)).sum()))


def uniform_field(shape: tuple[int, int], first: float, last: float) -> np.ndarray:
    """A map that spreads its mass evenly over the square of input positions ``first..last`` on both axes (a
    theoretical receptive field in which every pixel counts the same), clipped to ``shape``."""
    field = np.zeros(shape)
    lo, hi = max(int(np.ceil(first)), 0), int(np.floor(last)) + 1
    field[lo:hi, lo:hi] = 1.0
    return field / field.sum()


def mass_side(field: np.ndarray, fraction: float = 0.5) -> int:
    """The side of the smallest square, centred on the map's centre, that holds ``fraction`` of its mass."""
    h, w = field.shape
    cy, cx = h // 2, w // 2
    for half in range(max(h, w)):
        if field[max(cy - half, 0) : cy + half + 1, max(cx - half, 0) : cx + half + 1].sum() >= fraction:
            return 2 * half + 1
    return max(h, w)


ERF_TRAINING = {"images": 6000, "epochs": 1, "batch_size": 32, "learning_rate": 0.05}
"""The short training of :func:`erf_network` in chapter 3: a sixth of MNIST's training images, once."""


def erf_network(seed: int = 0):
    """A small MNIST network whose convolutional part (``features``, four 3x3 convolutions with a 2x2
    max-pooling in the middle) is the one chapter 3 measures; returns ``(network, features, stages)``,
    ``stages`` being the features' layers along one axis for :func:`fields`."""
    from cnnbook.nn import Conv2D, Dense, Flatten, MaxPool2D, Network, ReLU, Sequential

    rng = np.random.default_rng(seed)
    features = Sequential(
        [
            Conv2D(1, 8, 3, padding=1, rng=rng),
            ReLU(),
            Conv2D(8, 8, 3, padding=1, rng=rng),
            ReLU(),
            MaxPool2D(2),
            Conv2D(8, 16, 3, padding=1, rng=rng),
            ReLU(),
            Conv2D(16, 16, 3, padding=1, rng=rng),
            ReLU(),
        ]
    )
    network = Network([features, MaxPool2D(2), Flatten(), Dense(7 * 7 * 16, 10, rng=rng)])
    stages = [Stage(3, p=1), Stage(3, p=1), Stage(2, 2), Stage(3, p=1), Stage(3, p=1)]
    return network, features, stages


# --- the picture --------------------------------------------------------------------------------------------


def draw_stack(k: int = 3, s: int = 1, d: int = 1, layers: int = 3):
    """Draw ``layers`` identical layers (kernel ``k``, stride ``s``, dilation ``d``, no padding) along one
    axis, the input at the bottom: at every level the positions the top output depends on (found by the brute
    force, :func:`influencing_inputs`), with the size and jump the recurrence gives. Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    positive(layers=layers)
    stack = [Stage(k, s, 0, d) for _ in range(layers)]
    top = fields(stack)[-1]
    n = top.size + 2 * top.jump  # three outputs at the top: draw the field of the middle one
    lengths = [n]
    for stage in stack:
        lengths.append(output_size(lengths[-1], stage.k, stage.s, stage.p, stage.d))
    # at every level, the units the top output depends on (the top output itself: unit 1 of 3)
    used_at = [set(influencing_inputs(stack[level:], lengths[level], 1)) for level in range(layers)] + [{1}]
    fig, ax = plt.subplots(figsize=(max(8.0, 0.28 * n + 2.5), 0.75 * (layers + 1) + 1.4))
    for level, (length, used) in enumerate(zip(lengths, used_at)):
        where = fields(stack[:level])[-1] if level else INPUT  # each unit drawn at the centre of its field
        for i in range(length):
            colour = "#d9534f" if i in used else "#dde6ee"
            x = where.start + i * where.jump - 0.45
            ax.add_patch(Rectangle((x, level * 1.2), 0.9, 0.9, facecolor=colour, edgecolor="#4a6f8f", lw=0.6))
        label = "input" if level == 0 else f"layer {level}"
        ax.text(-0.8, level * 1.2 + 0.45, f"{label}: {len(used)} used", ha="right", va="center", fontsize=9)
    ax.set_xlim(-9, n + 0.5)
    ax.set_ylim(-0.4, (layers + 1) * 1.2)
    ax.axis("off")
    ax.set_title(
        f"{layers} layer(s) of k={k}, s={s}, d={d}: the recurrence says size {top.size}, jump {top.jump}\n"
        f"the brute force: the top output reads {len(used_at[0])} input positions",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
