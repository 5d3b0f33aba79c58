"""Chapter 9: the milestone CNNs from LeNet-5 to ResNet as layer specifications (source: seeds/003, section 5.30).

A network is a list of small layer specifications (:class:`Conv`, :class:`Pool`, :class:`Dense`, ...,
and the composite blocks :class:`Inception`, :class:`BasicBlock` and :class:`Bottleneck`);
:func:`trace` walks an input shape through it and returns, for every layer, its output shape, its
parameters and its multiply-adds. Every number the chapter shows about a network comes from there.

Shapes are channels first, as in PyTorch and :mod:`cnnbook.conv`: ``(C, H, W)`` for a stack of feature maps,
``(F,)`` for a flat vector (after :class:`Flatten`). The batch axis is left out. Nonlinearities (ReLU,
sigmoid, tanh) are left out of the specifications: they change neither a shape nor a count.

**Parameters** are what PyTorch's ``module.parameters()`` returns: weights and biases, and a batch norm
layer's scale and shift (``2 C``); a batch norm's running mean and variance are buffers, not parameters.
LeNet-5's fixed RBF centres are not trainable either (see :class:`RBF`).

**Multiply-adds (MACs).** One MAC is one weight multiplied by one input value and added to a running sum.
A conv layer does one per weight per output position: ``k*k*(C_in/groups)*C_out * H_out*W_out``; a
dense layer one per weight, ``n_in * n_out``. Biases are added, not multiplied, and are not counted.
Pooling, local response normalisation, batch norm, dropout, the residual addition, LeNet-5's
subsampling coefficient and the nonlinearities do a few operations per value, not per weight, and are
not counted (0). LeNet-5's RBF output does one subtraction-and-square per centre coordinate, counted as
one MAC each. Every output size comes from :func:`cnnbook.conv.output_size`; the counts of a conv layer
from :class:`cnnbook.one_by_one.ConvSpec` and of an Inception module from :func:`cnnbook.one_by_one.inception`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cnnbook.conv import output_size
from cnnbook.counts import dense_params
from cnnbook.one_by_one import GOOGLENET_MODULES, ConvSpec, inception, inception_channels
from cnnbook.one_by_one import macs as block_macs
from cnnbook.one_by_one import params as block_params
from cnnbook.validate import check_int, is_int, positive

Shape = tuple[int, ...]  # (C, H, W) or (F,)


def _maps(shape: Shape, who: str) -> tuple[int, int, int]:
    """``shape`` as ``(C, H, W)``, or a ValueError naming the layer and the shape it wanted."""
    if len(shape) != 3:
        raise ValueError(f"{who} wants an input of shape (C, H, W), got {shape}")
    return shape  # type: ignore[return-value]


def _flat(shape: Shape, who: str, n_in: int | None = None) -> int:
    """The length of a flat input, or a ValueError naming the shape the layer wanted."""
    wanted = f"({n_in},)" if n_in is not None else "(features,)"
    if len(shape) != 1 or (n_in is not None and shape[0] != n_in):
        hint = "; put a Flatten before it" if len(shape) == 3 else ""
        raise ValueError(f"{who} wants an input of shape {wanted}{hint}, got {shape}")
    return shape[0]


# --- the layers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conv:
    """``out`` filters of ``k x k`` with stride, zero padding on each side and ``groups`` (AlexNet's two GPUs).

    ``table`` is a partial connection table: ``table[j]`` lists the input maps that output map ``j``
    reads (LeNet-5's C3, the paper's Table I); ``None`` connects every output to every input (in its group).
    """

    out: int
    k: int
    stride: int = 1
    padding: int = 0
    groups: int = 1
    bias: bool = True
    table: tuple[tuple[int, ...], ...] | None = None
    name: str = ""
    depth = 1

    def __post_init__(self) -> None:
        positive(out=self.out, k=self.k, stride=self.stride, groups=self.groups)
        check_int(0, padding=self.padding)
        if self.table is not None and (len(self.table) != self.out or self.groups != 1):
            raise ValueError(f"a connection table needs one row per output map ({self.out}) and groups=1")

    @property
    def kind(self) -> str:
        pad = f" pad {self.padding}" if self.padding else ""
        grp = f", {self.groups} groups" if self.groups > 1 else ""
        tab = ", partial table" if self.table else ""
        return f"conv {self.k}x{self.k}/{self.stride}{pad}, {self.out}{grp}{tab}"

    def _spec(self, c: int) -> ConvSpec:
        if c % self.groups or self.out % self.groups:
            raise ValueError(
                f"{self.name or 'conv'}: groups={self.groups} must divide {c} inputs and {self.out} outputs"
            )
        return ConvSpec(self.name or "conv", self.k, self.k, c, self.out, self.groups)

    def weights(self, shape: Shape) -> int:
        """Weights only (no biases): ``k*k*(C_in/groups)*out``, or ``k*k`` per entry of the connection table."""
        c, _, _ = _maps(shape, self.name or "conv")
        if self.table is not None:
            if any(not 0 <= i < c for row in self.table for i in row):
                raise ValueError(f"{self.name or 'conv'}: the connection table names maps outside 0..{c - 1}")
            return self.k * self.k * sum(len(row) for row in self.table)
        return self._spec(c).weights()

    def output(self, shape: Shape) -> Shape:
        _, h, w = _maps(shape, self.name or "conv")
        k, s, p = self.k, self.stride, self.padding
        return self.out, output_size(h, k, s, p), output_size(w, k, s, p)

    def params(self, shape: Shape) -> int:
        if self.table is None:
            return self._spec(_maps(shape, self.name or "conv")[0]).params(self.bias)
        return self.weights(shape) + int(self.bias) * self.out

    def macs(self, shape: Shape) -> int:
        _, h, w = self.output(shape)
        return self.weights(shape) * h * w


def pool_size(n: int, k: int, s: int, p: int = 0, ceil_mode: bool = False) -> int:
    """Output length of a pooling window along one axis, as PyTorch computes it.

    Floor mode is :func:`cnnbook.conv.output_size`. Ceil mode (Caffe's rounding, ``ceil_mode=True`` in PyTorch)
    is the same formula with ``s - 1`` extra positions after the input, minus the last window if it would start
    past the input and its left padding.

    >>> pool_size(112, 3, 2), pool_size(112, 3, 2, ceil_mode=True)
    (55, 56)
    """
    check_int(1, n=n, k=k, s=s)
    check_int(0, p=p)
    if 2 * p > k:
        raise ValueError(f"pooling padding must be at most half the window (k={k}), got p={p}")
    if not ceil_mode:
        return output_size(n, k, s, p)
    size = output_size(n, k, s, (p, p + s - 1))
    return size - 1 if (size - 1) * s >= n + p else size


@dataclass(frozen=True)
class Pool:
    """Max or average pooling over ``k x k`` windows (``stride`` defaults to ``k``).

    ``affine=True`` is LeNet-5's subsampling: the average times one trainable coefficient plus one trainable
    bias per map (2 parameters per map; the paper's S2 and S4).
    """

    mode: str
    k: int
    stride: int | None = None
    padding: int = 0
    ceil_mode: bool = False
    affine: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        if self.mode not in ("max", "avg"):
            raise ValueError(f"mode must be 'max' or 'avg', got {self.mode!r}")
        positive(k=self.k, stride=self.stride or self.k)
        check_int(0, padding=self.padding)

    @property
    def depth(self) -> int:
        return int(self.affine)

    @property
    def kind(self) -> str:
        extra = " pad 1" if self.padding else ""
        extra += ", ceil" if self.ceil_mode else ""
        extra += ", x coefficient + bias" if self.affine else ""
        return f"{self.mode} pool {self.k}x{self.k}/{self.stride or self.k}{extra}"

    def output(self, shape: Shape) -> Shape:
        c, h, w = _maps(shape, self.name or "pool")
        k, s, p, ceil = self.k, self.stride or self.k, self.padding, self.ceil_mode
        return c, pool_size(h, k, s, p, ceil), pool_size(w, k, s, p, ceil)

    def params(self, shape: Shape) -> int:
        return 2 * _maps(shape, self.name or "pool")[0] if self.affine else 0

    def macs(self, shape: Shape) -> int:
        return 0


class _Shapeless:
    """A layer that keeps the shape and has no parameters and no counted multiply-adds."""

    depth = 0

    def output(self, shape: Shape) -> Shape:
        return shape

    def params(self, shape: Shape) -> int:
        return 0

    def macs(self, shape: Shape) -> int:
        return 0


@dataclass(frozen=True)
class LRN(_Shapeless):
    """Local response normalisation across ``size`` neighbouring maps (AlexNet, GoogLeNet): no parameters."""

    size: int = 5
    name: str = ""

    @property
    def kind(self) -> str:
        return f"local response norm ({self.size} maps)"

    def output(self, shape: Shape) -> Shape:
        return _maps(shape, self.name or "LRN")


@dataclass(frozen=True)
class Dropout(_Shapeless):
    """Dropout with drop probability ``p`` (no parameters; identity at test time)."""

    p: float = 0.5
    name: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.p < 1:
            raise ValueError(f"p must be a probability in [0, 1), got {self.p!r}")

    @property
    def kind(self) -> str:
        return f"dropout {self.p:g}"


@dataclass(frozen=True)
class BatchNorm(_Shapeless):
    """Batch normalisation: a trainable scale and shift per channel, ``2 C`` parameters (PyTorch's ``parameters()``;
    the running mean and variance are buffers, not counted)."""

    name: str = ""
    kind = "batch norm"

    def params(self, shape: Shape) -> int:
        return 2 * shape[0]


@dataclass(frozen=True)
class Flatten(_Shapeless):
    """``(C, H, W)`` to ``(C*H*W,)``."""

    name: str = ""
    kind = "flatten"

    def output(self, shape: Shape) -> Shape:
        c, h, w = _maps(shape, self.name or "flatten")
        return (c * h * w,)


@dataclass(frozen=True)
class GlobalAvgPool(_Shapeless):
    """Average over each whole map (NiN, GoogLeNet's last pooling, ResNet): ``(C, H, W)`` to ``(C, 1, 1)``."""

    name: str = ""
    kind = "global average pool"

    def output(self, shape: Shape) -> Shape:
        return _maps(shape, self.name or "global average pool")[0], 1, 1


@dataclass(frozen=True)
class Dense:
    """A fully connected layer to ``out`` units. ``n_in``, when given, is the input length the paper states:
    any other input is a ValueError naming the shape wanted."""

    out: int
    n_in: int | None = None
    bias: bool = True
    name: str = ""
    depth = 1

    def __post_init__(self) -> None:
        positive(out=self.out)
        if self.n_in is not None:
            positive(n_in=self.n_in)

    @property
    def kind(self) -> str:
        return f"dense {self.out}"

    def output(self, shape: Shape) -> Shape:
        _flat(shape, self.name or "dense", self.n_in)
        return (self.out,)

    def params(self, shape: Shape) -> int:
        return dense_params(_flat(shape, self.name or "dense", self.n_in), self.out, self.bias)

    def macs(self, shape: Shape) -> int:
        return _flat(shape, self.name or "dense", self.n_in) * self.out


@dataclass(frozen=True)
class RBF:
    """LeNet-5's output layer: ``units`` Euclidean radial basis functions, ``y_i = sum_j (x_j - w_ij)^2``.

    LeCun et al. (1998, section II.B) chose the centres ``w_ij`` by hand (stylised 7x12 bitmaps of the
    characters) and kept them fixed, so they are not trainable parameters: ``params`` is 0, ``centres`` counts
    them (the paper's 60,000 trainable parameters leave them out). One MAC per centre coordinate.
    """

    units: int
    name: str = ""
    depth = 1

    @property
    def kind(self) -> str:
        return f"RBF {self.units} (fixed centres)"

    def output(self, shape: Shape) -> Shape:
        _flat(shape, self.name or "RBF")
        return (self.units,)

    def params(self, shape: Shape) -> int:
        _flat(shape, self.name or "RBF")
        return 0

    def centres(self, shape: Shape) -> int:
        """The fixed (not trained) centre coordinates: ``units * n_in``."""
        return self.units * _flat(shape, self.name or "RBF")

    def macs(self, shape: Shape) -> int:
        return self.centres(shape)


@dataclass(frozen=True)
class Inception:
    """GoogLeNet's Inception module (Szegedy et al. 2014, Table 1's columns), counted by :mod:`cnnbook.one_by_one`:
    1x1; 1x1 reduce then 3x3 (pad 1); 1x1 reduce then 5x5 (pad 2); 3x3 max pool (stride 1, pad 1) then 1x1
    projection. Two weight layers deep."""

    n1x1: int
    reduce3x3: int
    n3x3: int
    reduce5x5: int
    n5x5: int
    pool_proj: int
    name: str = ""
    depth = 2

    @property
    def kind(self) -> str:
        return (
            f"inception {self.n1x1}, {self.reduce3x3}>{self.n3x3}, {self.reduce5x5}>{self.n5x5}, pool>{self.pool_proj}"
        )

    def block(self, c_in: int) -> list[ConvSpec]:
        """The module's conv layers on ``c_in`` channels (:func:`cnnbook.one_by_one.inception`)."""
        return inception(c_in, self.n1x1, self.n3x3, self.n5x5, self.reduce3x3, self.reduce5x5, self.pool_proj)

    def output(self, shape: Shape) -> Shape:
        c, h, w = _maps(shape, self.name or "inception")
        sizes = {(output_size(h, k, 1, k // 2), output_size(w, k, 1, k // 2)) for k in (1, 3, 5)}
        (oh, ow), *_ = sizes  # every branch keeps the size
        return inception_channels(c, self.n1x1, self.n3x3, self.n5x5, self.pool_proj), oh, ow

    def params(self, shape: Shape) -> int:
        return block_params(self.block(_maps(shape, self.name or "inception")[0]))

    def macs(self, shape: Shape) -> int:
        c, h, w = _maps(shape, self.name or "inception")
        return block_macs(self.block(c), h, w)


@dataclass(frozen=True)
class _Residual:
    """A residual block: a main path plus a shortcut, added. The shortcut is the identity when the shape is
    kept, and otherwise a projection (1x1 conv with the block's stride, then batch norm: option B of He et al.
    2015, section 3.3, as in torchvision). Convolutions have no bias (each is followed by batch norm)."""

    def paths(self, c_in: int) -> tuple[list, list]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _projection(self, c_in: int, out: int, stride: int) -> list:
        if stride == 1 and c_in == out:
            return []
        return [Conv(out, 1, stride, bias=False, name="projection"), BatchNorm()]

    def _rows(self, shape: Shape) -> tuple[list[LayerRow], list[LayerRow]]:
        c, _, _ = _maps(shape, self.name or "residual block")
        main, shortcut = self.paths(c)
        rows_main, rows_short = trace(main, shape), trace(shortcut, shape)
        end_main = rows_main[-1].output_shape
        end_short = rows_short[-1].output_shape if rows_short else shape
        if end_main != end_short:  # cannot happen for the blocks below; a guard for new ones
            raise ValueError(f"{self.name}: main path gives {end_main} but the shortcut {end_short}")
        return rows_main, rows_short

    def output(self, shape: Shape) -> Shape:
        return self._rows(shape)[0][-1].output_shape

    def params(self, shape: Shape) -> int:
        return sum(r.params for rows in self._rows(shape) for r in rows)

    def macs(self, shape: Shape) -> int:
        return sum(r.macs for rows in self._rows(shape) for r in rows)

    def shortcut_params(self, shape: Shape) -> int:
        """Parameters of the projection shortcut (0 for the identity)."""
        return sum(r.params for r in self._rows(shape)[1])


@dataclass(frozen=True)
class BasicBlock(_Residual):
    """ResNet-18/34's block: 3x3 conv (stride), BN, 3x3 conv, BN; ``out`` channels. Two weight layers deep."""

    out: int = 64
    stride: int = 1
    name: str = ""
    depth = 2

    @property
    def kind(self) -> str:
        return f"basic block 3x3, 3x3, {self.out}" + (f", stride {self.stride}" if self.stride > 1 else "")

    def paths(self, c_in: int) -> tuple[list, list]:
        positive(out=self.out, stride=self.stride)
        main = [Conv(self.out, 3, self.stride, 1, bias=False), BatchNorm(), Conv(self.out, 3, 1, 1, bias=False)]
        return main + [BatchNorm()], self._projection(c_in, self.out, self.stride)


@dataclass(frozen=True)
class Bottleneck(_Residual):
    """ResNet-50's block: 1x1 to ``mid``, 3x3 at ``mid``, 1x1 to ``expansion * mid``, each with BN.
    Three weight layers deep.

    He et al.'s models stride the first 1x1 convolution; torchvision's (ResNet "v1.5") strides the 3x3
    (``stride_in_3x3=True``): the same parameters, more multiply-adds.
    """

    mid: int = 64
    stride: int = 1
    expansion: int = 4
    stride_in_3x3: bool = False
    name: str = ""
    depth = 3

    @property
    def kind(self) -> str:
        out = self.mid * self.expansion
        return f"bottleneck 1x1, 3x3, 1x1, {self.mid}>{out}" + (f", stride {self.stride}" if self.stride > 1 else "")

    def paths(self, c_in: int) -> tuple[list, list]:
        positive(mid=self.mid, stride=self.stride, expansion=self.expansion)
        out = self.mid * self.expansion
        s1, s3 = (1, self.stride) if self.stride_in_3x3 else (self.stride, 1)
        main = [Conv(self.mid, 1, s1, bias=False), BatchNorm(), Conv(self.mid, 3, s3, 1, bias=False), BatchNorm()]
        return main + [Conv(out, 1, bias=False), BatchNorm()], self._projection(c_in, out, self.stride)


Layer = (
    Conv
    | Pool
    | LRN
    | Dropout
    | BatchNorm
    | Flatten
    | GlobalAvgPool
    | Dense
    | RBF
    | Inception
    | BasicBlock
    | Bottleneck
)


# --- walking a shape through a network --------------------------------------------------------------


@dataclass(frozen=True)
class LayerRow:
    """One layer of a traced network: what it is, what it outputs, and what it costs."""

    name: str
    kind: str
    output_shape: Shape
    params: int
    macs: int
    depth: int  # weight layers on the longest path through it (a conv 1, an Inception module 2, ...)


def _check_shape(shape: object) -> Shape:
    if not isinstance(shape, tuple) or len(shape) not in (1, 3) or not all(is_int(v) and v >= 1 for v in shape):
        raise ValueError(f"input_shape must be (C, H, W) or (features,) of positive integers, got {shape!r}")
    return tuple(int(v) for v in shape)


def trace(layers: Sequence[Layer], input_shape: Shape) -> list[LayerRow]:
    """Walk ``input_shape`` through ``layers``: one :class:`LayerRow` per layer (composite blocks are one row).

    >>> [(r.kind, r.output_shape, r.params) for r in trace([Conv(6, 5), Pool("max", 2)], (1, 32, 32))]
    [('conv 5x5/1, 6', (6, 28, 28), 156), ('max pool 2x2/2', (6, 14, 14), 0)]
    """
    shape = _check_shape(input_shape)
    rows = []
    for i, layer in enumerate(layers):
        out = layer.output(shape)
        name = layer.name or f"{i + 1}"
        rows.append(LayerRow(name, layer.kind, out, layer.params(shape), layer.macs(shape), layer.depth))
        shape = out
    return rows


@dataclass(frozen=True)
class Network:
    """A milestone network: its layers, the input they were designed for, and the paper they come from."""

    name: str
    year: int
    paper: str
    input_shape: Shape
    layers: tuple[Layer, ...]
    note: str = ""
    rows: list[LayerRow] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", trace(self.layers, self.input_shape))

    def params(self) -> int:
        """Trainable parameters (PyTorch's ``parameters()``)."""
        return sum(r.params for r in self.rows)

    def macs(self) -> int:
        """Multiply-adds for one image of ``input_shape`` (see the module docstring)."""
        return sum(r.macs for r in self.rows)

    def depth(self) -> int:
        """Weight layers on the longest path from input to output (the depth the papers' names count)."""
        return sum(r.depth for r in self.rows)

    def by_kind(self, what: str = "params") -> dict[str, int]:
        """``params`` or ``macs`` summed by layer family (``conv``, ``dense``, ``inception``, ``block``, ...)."""
        if what not in ("params", "macs"):
            raise ValueError(f"what must be 'params' or 'macs', got {what!r}")
        totals: dict[str, int] = {}
        for row in self.rows:
            family = "block" if "block" in row.kind or row.kind.startswith("bottleneck") else row.kind.split()[0]
            totals[family] = totals.get(family, 0) + getattr(row, what)
        return totals


# --- the milestone networks -------------------------------------------------------------------------

#: LeNet-5's C3 connection table (LeCun et al. 1998, Table I): the S2 maps each C3 map reads.
LENET5_C3_TABLE: tuple[tuple[int, ...], ...] = (
    *((i, (i + 1) % 6, (i + 2) % 6) for i in range(6)),
    *((i, (i + 1) % 6, (i + 2) % 6, (i + 3) % 6) for i in range(6)),
    (0, 1, 3, 4),
    (1, 2, 4, 5),
    (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


def lenet5() -> Network:
    """LeNet-5 as in LeCun et al. (1998), section II.B: 32x32 input, C3 with the partial table, RBF output."""
    layers = (
        Conv(6, 5, name="C1"),
        Pool("avg", 2, affine=True, name="S2"),
        Conv(16, 5, table=LENET5_C3_TABLE, name="C3"),
        Pool("avg", 2, affine=True, name="S4"),
        Conv(120, 5, name="C5"),
        Flatten(name="flatten"),
        Dense(84, n_in=120, name="F6"),
        RBF(10, name="output"),
    )
    return Network(
        "LeNet-5",
        1998,
        "LeCun, Bottou, Bengio and Haffner, Gradient-based learning applied to document recognition, 1998",
        (1, 32, 32),
        layers,
        "subsampling layers S2 and S4 have a trainable coefficient and bias per map; C3 reads 60 of the "
        "96 possible S2 maps (Table I); the RBF centres are fixed, not trained",
    )


def alexnet() -> Network:
    """AlexNet as published (Krizhevsky et al. 2012, sections 3.3-3.5): two GPUs, so conv2, conv4 and conv5
    are split into 2 groups; LRN after conv1 and conv2; overlapping 3x3/2 max pooling; 227x227 input (the
    arithmetic of the first layer needs 227, not the 224 the paper writes)."""
    layers = (
        Conv(96, 11, 4, name="conv1"),
        LRN(name="norm1"),
        Pool("max", 3, 2, name="pool1"),
        Conv(256, 5, 1, 2, groups=2, name="conv2"),
        LRN(name="norm2"),
        Pool("max", 3, 2, name="pool2"),
        Conv(384, 3, 1, 1, name="conv3"),
        Conv(384, 3, 1, 1, groups=2, name="conv4"),
        Conv(256, 3, 1, 1, groups=2, name="conv5"),
        Pool("max", 3, 2, name="pool5"),
        Flatten(name="flatten"),
        Dropout(name="drop6"),
        Dense(4096, n_in=9216, name="fc6"),
        Dropout(name="drop7"),
        Dense(4096, name="fc7"),
        Dense(1000, name="fc8"),
    )
    return Network(
        "AlexNet",
        2012,
        "Krizhevsky, Sutskever and Hinton, ImageNet classification with deep convolutional neural networks, 2012",
        (3, 227, 227),
        layers,
        "the two-GPU network of the paper",
    )


def alexnet_torchvision() -> Network:
    """torchvision's ``alexnet``: one tower with 64, 192, 384, 256, 256 filters (from Krizhevsky's 2014
    "One weird trick" paper, as torchvision's documentation says), no LRN, 224x224 input with padding 2."""
    layers = (
        Conv(64, 11, 4, 2, name="conv1"),
        Pool("max", 3, 2, name="pool1"),
        Conv(192, 5, 1, 2, name="conv2"),
        Pool("max", 3, 2, name="pool2"),
        Conv(384, 3, 1, 1, name="conv3"),
        Conv(256, 3, 1, 1, name="conv4"),
        Conv(256, 3, 1, 1, name="conv5"),
        Pool("max", 3, 2, name="pool5"),
        Flatten(name="flatten"),
        Dropout(name="drop6"),
        Dense(4096, n_in=9216, name="fc6"),
        Dropout(name="drop7"),
        Dense(4096, name="fc7"),
        Dense(1000, name="fc8"),
    )
    return Network(
        "AlexNet (torchvision)",
        2014,
        "Krizhevsky, One weird trick for parallelizing convolutional neural networks, 2014 (torchvision's alexnet)",
        (3, 224, 224),
        layers,
        "one tower; torchvision's adaptive 6x6 average pool is the identity at 224x224 and is left out",
    )


def vgg16() -> Network:
    """VGG-16, configuration D of Simonyan and Zisserman (2014), Table 1: thirteen 3x3 convolutions (pad 1) in
    five stages of 64, 128, 256, 512, 512 channels, each ending in 2x2/2 max pooling; three dense layers."""
    layers: list[Layer] = []
    for stage, (width, convs) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], start=1):
        layers += [Conv(width, 3, 1, 1, name=f"conv{stage}_{i + 1}") for i in range(convs)]
        layers.append(Pool("max", 2, name=f"pool{stage}"))
    layers += [
        Flatten(name="flatten"),
        Dense(4096, n_in=25088, name="fc6"),
        Dropout(name="drop6"),
        Dense(4096, name="fc7"),
        Dropout(name="drop7"),
        Dense(1000, name="fc8"),
    ]
    return Network(
        "VGG-16",
        2014,
        "Simonyan and Zisserman, Very deep convolutional networks for large-scale image recognition, 2014",
        (3, 224, 224),
        tuple(layers),
        "configuration D; torchvision's adaptive 7x7 average pool is the identity at 224x224 and is left out",
    )


def nin_cifar10() -> Network:
    """Network in Network for CIFAR-10 (Lin, Chen and Yan 2014): three mlpconv layers, each a conv and two
    1x1 "cccp" convolutions, then global average pooling over 10 maps; the layer sizes of the authors'
    released configuration (github.com/mavenlin/cuda-convnet, folder NIN), with Caffe's rounded-up pooling."""
    layers = (
        Conv(192, 5, 1, 2, name="conv1"),
        Conv(160, 1, name="cccp1"),
        Conv(96, 1, name="cccp2"),
        Pool("max", 3, 2, ceil_mode=True, name="pool1"),
        Dropout(name="drop1"),
        Conv(192, 5, 1, 2, name="conv2"),
        Conv(192, 1, name="cccp3"),
        Conv(192, 1, name="cccp4"),
        Pool("avg", 3, 2, ceil_mode=True, name="pool2"),
        Dropout(name="drop2"),
        Conv(192, 3, 1, 1, name="conv3"),
        Conv(192, 1, name="cccp5"),
        Conv(10, 1, name="cccp6"),
        GlobalAvgPool(name="gap"),
        Flatten(name="flatten"),
    )
    return Network(
        "NiN (CIFAR-10)",
        2014,
        "Lin, Chen and Yan, Network in network, 2014",
        (3, 32, 32),
        layers,
        "the CIFAR-10 network (the paper reports no ImageNet model); no dense layer at all",
    )


def _inception(name: str) -> Inception:
    """GoogLeNet's module ``name`` from :data:`cnnbook.one_by_one.GOOGLENET_MODULES` (the paper's Table 1)."""
    _, n1, r3, n3, r5, n5, proj = GOOGLENET_MODULES[name]
    return Inception(n1, r3, n3, r5, n5, proj, name=f"inception {name}")


def googlenet() -> Network:
    """GoogLeNet as in Szegedy et al. (2014), Table 1 and Figure 3, without batch norm and without the
    auxiliary classifiers (used only in training): pools round up as in the authors' Caffe-era models."""
    layers: list[Layer] = [
        Conv(64, 7, 2, 3, name="conv1 7x7/2"),
        Pool("max", 3, 2, ceil_mode=True, name="pool1"),
        LRN(name="norm1"),
        Conv(64, 1, name="conv2 reduce"),
        Conv(192, 3, 1, 1, name="conv2 3x3"),
        LRN(name="norm2"),
        Pool("max", 3, 2, ceil_mode=True, name="pool2"),
        _inception("3a"),
        _inception("3b"),
        Pool("max", 3, 2, ceil_mode=True, name="pool3"),
        *(_inception(m) for m in ("4a", "4b", "4c", "4d", "4e")),
        Pool("max", 3, 2, ceil_mode=True, name="pool4"),
        _inception("5a"),
        _inception("5b"),
        Pool("avg", 7, 1, name="avg pool"),
        Dropout(p=0.4, name="dropout"),
        Flatten(name="flatten"),
        Dense(1000, n_in=1024, name="linear"),
    ]
    return Network(
        "GoogLeNet",
        2014,
        "Szegedy et al., Going deeper with convolutions, 2014",
        (3, 224, 224),
        tuple(layers),
        "the paper's network: no batch norm, auxiliary classifiers left out",
    )


def _resnet(name: str, block: Callable[..., Layer], widths: Sequence[int], counts: Sequence[int], **kw) -> Network:
    layers: list[Layer] = [
        Conv(64, 7, 2, 3, bias=False, name="conv1"),
        BatchNorm(name="bn1"),
        Pool("max", 3, 2, 1, name="pool1"),
    ]
    for stage, (width, n) in enumerate(zip(widths, counts), start=2):
        for i in range(n):
            stride = 2 if i == 0 and stage > 2 else 1
            layers.append(block(width, stride, name=f"conv{stage}_{i + 1}", **kw))
    layers += [GlobalAvgPool(name="avg pool"), Flatten(name="flatten"), Dense(1000, name="fc")]
    return Network(
        name,
        2015,
        "He, Zhang, Ren and Sun, Deep residual learning for image recognition, 2015",
        (3, 224, 224),
        tuple(layers),
        "batch norm after every convolution, projection shortcuts where the shape changes (option B)",
    )


def resnet18() -> Network:
    """ResNet-18 (He et al. 2015, Table 1): basic blocks, [2, 2, 2, 2] at 64, 128, 256, 512 channels."""
    return _resnet("ResNet-18", lambda w, s, **kw: BasicBlock(w, s, **kw), (64, 128, 256, 512), (2, 2, 2, 2))


def resnet50(stride_in_3x3: bool = False) -> Network:
    """ResNet-50 (He et al. 2015, Table 1): bottlenecks, [3, 4, 6, 3] at 64, 128, 256, 512 (x4 out).

    ``stride_in_3x3=True`` is torchvision's variant (same parameters, more multiply-adds)."""
    return _resnet(
        "ResNet-50 (torchvision)" if stride_in_3x3 else "ResNet-50",
        lambda w, s, **kw: Bottleneck(w, s, stride_in_3x3=stride_in_3x3, **kw),
        (64, 128, 256, 512),
        (3, 4, 6, 3),
    )


#: The milestones in the order of the chapter's timeline.
MILESTONES: dict[str, Callable[[], Network]] = {
    "LeNet-5": lenet5,
    "AlexNet": alexnet,
    "NiN (CIFAR-10)": nin_cifar10,
    "VGG-16": vgg16,
    "GoogLeNet": googlenet,
    "ResNet-18": resnet18,
    "ResNet-50": resnet50,
}


def network(name: str) -> Network:
    """The milestone called ``name`` (a key of :data:`MILESTONES`, or ``"AlexNet (torchvision)"``)."""
    builders = {**MILESTONES, "AlexNet (torchvision)": alexnet_torchvision}
    if name not in builders:
        raise ValueError(f"name must be one of {sorted(builders)}, got {name!r}")
    return builders[name]()


# --- published numbers the code is checked against (tests/test_architectures.py) --------------------

#: Trainable parameters per layer, LeCun et al. (1998), section II.B; they sum to the paper's 60,000.
LENET5_PAPER_PARAMS = {"C1": 156, "S2": 12, "C3": 1_516, "S4": 32, "C5": 48_120, "F6": 10_164}

#: ``num_params`` of torchvision's ImageNet models (torchvision's model documentation).
TORCHVISION_PARAMS = {
    "AlexNet (torchvision)": 61_100_840,
    "VGG-16": 138_357_544,
    "ResNet-18": 11_689_512,
    "ResNet-50": 25_557_032,
}

#: Simonyan and Zisserman (2014), Table 2: configuration D has 138 million parameters.
VGG16_PAPER_MILLIONS = 138

#: He et al. (2015), Table 1, last row: "FLOPs" (multiply-adds, as section 3.3 says) of the 18- and 50-layer nets.
RESNET_PAPER_FLOPS = {"ResNet-18": 1.8e9, "ResNet-50": 3.8e9}
