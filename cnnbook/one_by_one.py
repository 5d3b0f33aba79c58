"""Chapter 5: 1x1 convolutions and cheaper convolutions (source: seeds/003, sections 5.5, 5.8 and 5.10-5.13).

A block is a list of :class:`ConvSpec` layers; :func:`params` counts its weights (and biases)
and :func:`macs` its multiply-adds for a given output size, so every comparison of the chapter
(Inception with and without 1x1 reductions, the ResNet bottleneck, depthwise-separable,
two 3x3 against one 5x5, spatially separable) is one call. Square kernels are counted with
:func:`cnnbook.counts.conv_params`.

Every layer here keeps the height and width ("same" padding, stride 1), as in the blocks the
chapter compares, so the multiply-adds of a layer are its weights times the output pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnbook.conv import conv2d
from cnnbook.counts import conv_params, dense_params
from cnnbook.validate import positive


@dataclass(frozen=True)
class ConvSpec:
    """One conv layer: ``kh x kw`` kernels, ``c_in`` -> ``c_out`` channels, split into ``groups``.

    ``groups=c_in=c_out`` is a depthwise convolution: every channel gets its own single kernel.
    """

    name: str
    kh: int
    kw: int
    c_in: int
    c_out: int
    groups: int = 1

    def __post_init__(self) -> None:
        positive(kh=self.kh, kw=self.kw, c_in=self.c_in, c_out=self.c_out, groups=self.groups)
        if self.c_in % self.groups or self.c_out % self.groups:
            raise ValueError(
                f"groups must divide c_in and c_out, got groups={self.groups}, c_in={self.c_in}, c_out={self.c_out}"
            )

    def weights(self) -> int:
        """Weights only: ``kh * kw * (c_in / groups) * c_out``."""
        return self.kh * self.kw * (self.c_in // self.groups) * self.c_out

    def params(self, bias: bool = True) -> int:
        """Weights plus one bias per output channel when ``bias``."""
        if self.kh == self.kw:
            return conv_params(self.kh, self.c_in // self.groups, self.c_out, bias)
        return self.weights() + int(bias) * self.c_out

    def macs(self, h: int, w: int) -> int:
        """Multiply-adds for an ``h x w`` output: one per weight per output pixel."""
        positive(h=h, w=w)
        return self.weights() * h * w


Block = list[ConvSpec]


def params(block: Block, bias: bool = True) -> int:
    """Total parameters of a block's layers."""
    return sum(layer.params(bias) for layer in block)


def macs(block: Block, h: int, w: int | None = None) -> int:
    """Total multiply-adds of a block on an ``h x w`` map (``w = h`` by default)."""
    return sum(layer.macs(h, h if w is None else w) for layer in block)


def standard_conv(c_in: int, c_out: int, k: int = 3) -> Block:
    """One ordinary ``k x k`` convolution."""
    return [ConvSpec(f"{k}x{k} conv", k, k, c_in, c_out)]


def conv1x1(c_in: int, c_out: int) -> Block:
    """A 1x1 convolution: a dense layer from ``c_in`` to ``c_out`` channels applied at every pixel."""
    return [ConvSpec("1x1 conv", 1, 1, c_in, c_out)]


def inception(
    c_in: int,
    n1x1: int,
    n3x3: int,
    n5x5: int,
    reduce3x3: int | None = None,
    reduce5x5: int | None = None,
    pool_proj: int | None = None,
) -> Block:
    """The conv layers of an Inception module (its 3x3 max-pool branch has no parameters).

    Without ``reduce3x3``/``reduce5x5`` the 3x3 and 5x5 convolutions read all ``c_in``
    channels (the naive module); with them, a 1x1 convolution first cuts the channels to that
    width. ``pool_proj`` is the 1x1 convolution after the pooling branch (None: no projection).
    """
    block = [ConvSpec("1x1", 1, 1, c_in, n1x1)]
    if reduce3x3 is not None:
        block.append(ConvSpec("3x3 reduce", 1, 1, c_in, reduce3x3))
    block.append(ConvSpec("3x3", 3, 3, reduce3x3 or c_in, n3x3))
    if reduce5x5 is not None:
        block.append(ConvSpec("5x5 reduce", 1, 1, c_in, reduce5x5))
    block.append(ConvSpec("5x5", 5, 5, reduce5x5 or c_in, n5x5))
    if pool_proj is not None:
        block.append(ConvSpec("pool proj", 1, 1, c_in, pool_proj))
    return block


def inception_channels(c_in: int, n1x1: int, n3x3: int, n5x5: int, pool_proj: int | None = None) -> int:
    """Output depth of an Inception module: the branches are concatenated; an unprojected pool keeps ``c_in``."""
    positive(c_in=c_in, n1x1=n1x1, n3x3=n3x3, n5x5=n5x5)
    return n1x1 + n3x3 + n5x5 + (c_in if pool_proj is None else pool_proj)


#: GoogLeNet's module 3a (on its 28x28x192 input), as in the paper's Table 1.
GOOGLENET_3A = dict(c_in=192, n1x1=64, reduce3x3=96, n3x3=128, reduce5x5=16, n5x5=32, pool_proj=32)

#: All nine Inception modules of GoogLeNet: (c_in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj).
GOOGLENET_MODULES = {
    "3a": (192, 64, 96, 128, 16, 32, 32),
    "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64),
    "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64),
    "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128),
    "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}


def googlenet_params() -> int:
    """GoogLeNet's weights and biases at test time (no auxiliary classifiers), from its layer table."""
    stem = conv_params(7, 3, 64) + conv_params(1, 64, 64) + conv_params(3, 64, 192)
    modules = sum(params(inception(c, a, b3, b5, r3, r5, p)) for c, a, r3, b3, r5, b5, p in GOOGLENET_MODULES.values())
    return stem + modules + dense_params(1024, 1000)


def googlenet_depth() -> int:
    """Layers with parameters along GoogLeNet's deepest path: 3 stem convs, 2 per module, the classifier."""
    return 3 + 2 * len(GOOGLENET_MODULES) + 1


#: AlexNet as published (Krizhevsky et al. 2012): two GPUs, so conv2, conv4 and conv5 see half the channels.
ALEXNET_CONVS = [(11, 3, 96), (5, 48, 256), (3, 256, 384), (3, 192, 384), (3, 192, 256)]
ALEXNET_DENSE = [(6 * 6 * 256, 4096), (4096, 4096), (4096, 1000)]


def alexnet_params() -> int:
    """AlexNet's weights and biases: five conv layers and three dense layers."""
    return sum(conv_params(*layer) for layer in ALEXNET_CONVS) + sum(dense_params(*layer) for layer in ALEXNET_DENSE)


def bottleneck(c: int, mid: int, k: int = 3) -> Block:
    """ResNet's bottleneck: 1x1 down to ``mid`` channels, ``k x k`` at ``mid``, 1x1 back up to ``c``."""
    return [
        ConvSpec("1x1 reduce", 1, 1, c, mid),
        ConvSpec(f"{k}x{k}", k, k, mid, mid),
        ConvSpec("1x1 expand", 1, 1, mid, c),
    ]


def depthwise_separable(c_in: int, c_out: int, k: int = 3) -> Block:
    """A ``k x k`` depthwise convolution (one kernel per input channel), then a 1x1 pointwise one."""
    return [ConvSpec(f"{k}x{k} depthwise", k, k, c_in, c_in, groups=c_in), ConvSpec("1x1 pointwise", 1, 1, c_in, c_out)]


def grouped(c_in: int, c_out: int, k: int = 3, groups: int = 2) -> Block:
    """A grouped ``k x k`` convolution: the channels split into ``groups`` independent convolutions.

    Each group maps ``c_in / groups`` input channels to ``c_out / groups`` output channels, so weights and
    multiply-adds are a ``groups``-th of the standard layer's (AlexNet split its layers into 2 groups,
    ResNeXt into 32; ``groups = c_in = c_out`` is the depthwise convolution).
    """
    return [ConvSpec(f"{k}x{k} conv, {groups} groups", k, k, c_in, c_out, groups=groups)]


def stacked(c: int, k: int = 3, n: int = 2) -> Block:
    """``n`` stacked ``k x k`` convolutions at ``c`` channels (VGG's replacement for one large kernel)."""
    positive(n=n)
    return [ConvSpec(f"{k}x{k} #{i + 1}", k, k, c, c) for i in range(n)]


def receptive_field(k: int, n: int = 1) -> int:
    """Side of the input patch that ``n`` stacked ``k x k`` stride-1 convolutions see: ``n*(k-1) + 1``."""
    positive(k=k, n=n)
    return n * (k - 1) + 1


def sees_both(k: int, distance: int, layers: int = 1) -> int:
    """How many outputs of ``layers`` stacked ``k x k`` stride-1 convolutions see two pixels ``distance`` apart.

    Computed, not derived: two single bright pixels on one row of an otherwise empty image (sparse data)
    are each pushed through the stack of all-ones kernels ('full' padding), and an output sees a pixel when
    that pixel reaches it. 0 means no unit of the stack can relate the two pixels, however it is trained.
    """
    positive(k=k, distance=distance, layers=layers)
    side = distance + 1
    reach = []
    for col in (0, distance):
        image = np.zeros((1, side))
        image[0, col] = 1.0
        for _ in range(layers):
            image = conv2d(image, np.ones((k, k)), padding=k - 1)
        reach.append(image > 0)
    return int(np.count_nonzero(reach[0] & reach[1]))


def layers_needed(k: int, distance: int, limit: int = 1000) -> int:
    """The fewest stacked ``k x k`` layers of which some output sees two pixels ``distance`` apart
    (:func:`sees_both`); a ValueError past ``limit`` layers (``k = 1`` never gets there)."""
    positive(k=k, distance=distance, limit=limit)
    for n in range(1, limit + 1):
        if sees_both(k, distance, n):
            return n
    raise ValueError(f"k must be at least 2 to see pixels {distance} apart within {limit} layers, got k={k}")


def spatially_separable(c_in: int, c_out: int, k: int = 3) -> Block:
    """A ``k x 1`` then a ``1 x k`` convolution in place of one ``k x k`` (Sobel's trick, and Inception v3's)."""
    return [ConvSpec(f"{k}x1", k, 1, c_in, c_out), ConvSpec(f"1x{k}", 1, k, c_out, c_out)]


def reduced_conv(c_in: int, c_out: int, width: int, k: int = 3) -> Block:
    """An Inception branch: a 1x1 convolution down to ``width`` channels, then the ``k x k`` one."""
    return [ConvSpec("1x1 reduce", 1, 1, c_in, width), ConvSpec(f"{k}x{k}", k, k, width, c_out)]


def alternatives(c_in: int, c_out: int, k: int = 3, width: int | None = None) -> dict[str, Block]:
    """Ways to map ``c_in`` to ``c_out`` channels with a ``k x k`` view, by name (the chapter's bar chart).

    ``width`` is the reduction width of the 1x1-reduced and bottleneck versions (default ``c_in // 4``).
    """
    positive(c_in=c_in, c_out=c_out, k=k)
    width = max(1, c_in // 4) if width is None else width
    bottle = [
        ConvSpec("1x1 reduce", 1, 1, c_in, width),
        ConvSpec(f"{k}x{k}", k, k, width, width),
        ConvSpec("1x1 expand", 1, 1, width, c_out),
    ]
    blocks = {
        f"{k}x{k}": standard_conv(c_in, c_out, k),
        f"1x1 ({width}) + {k}x{k}": reduced_conv(c_in, c_out, width, k),
        f"bottleneck ({width})": bottle,
        "depthwise-separable": depthwise_separable(c_in, c_out, k),
        f"{k}x1 + 1x{k}": spatially_separable(c_in, c_out, k),
    }
    if k % 2 == 1 and k > 3:  # the same view from stacked 3x3 layers: (k-1)/2 of them
        blocks[f"{(k - 1) // 2} x 3x3"] = [ConvSpec("3x3 #1", 3, 3, c_in, c_out)] + stacked(c_out, 3, (k - 1) // 2)[1:]
    return blocks


def separable_ratio(c_out: int, k: int) -> float:
    """Depthwise-separable weights over standard weights: ``1/c_out + 1/k**2`` (any ``c_in``)."""
    positive(c_out=c_out, k=k)
    return 1 / c_out + 1 / k**2


# --- the operations themselves, so the chapter can check that the counts describe real layers ----------


def pointwise(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """A 1x1 convolution as a matrix product over the channel axis: ``(K, C) @ (C, H*W)``.

    ``x`` is ``(C, H, W)``; ``w`` is ``(K, C)`` or the conv layout ``(K, C, 1, 1)``. The result
    equals :func:`cnnbook.conv.conv2d` with the 1x1 kernels.
    """
    x, w = np.asarray(x), np.asarray(w)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (C, H, W), got {x.shape}")
    if w.ndim == 4 and w.shape[2:] == (1, 1):
        w = w[:, :, 0, 0]
    if w.ndim != 2 or w.shape[1] != x.shape[0]:
        raise ValueError(f"w must have shape (K, {x.shape[0]}) or (K, {x.shape[0]}, 1, 1), got {w.shape}")
    c, h, width = x.shape
    return (w @ x.reshape(c, h * width)).reshape(w.shape[0], h, width)


def depthwise_conv2d(x: np.ndarray, w: np.ndarray, padding: int = 0) -> np.ndarray:
    """Each channel of ``x`` ``(C, H, W)`` cross-correlated with its own kernel ``w[c]`` of shape ``(C, k, k)``."""
    x, w = np.asarray(x), np.asarray(w)
    if x.ndim != 3 or w.ndim != 3 or w.shape[0] != x.shape[0]:
        raise ValueError(f"x must be (C, H, W) and w (C, k, k) with the same C, got {x.shape} and {w.shape}")
    return np.stack([conv2d(x[c], w[c], padding=padding) for c in range(x.shape[0])])


def depthwise_separable_conv2d(
    x: np.ndarray, depthwise: np.ndarray, pointwise_w: np.ndarray, padding: int = 0
) -> np.ndarray:
    """Depthwise ``(C, k, k)`` kernels, then pointwise ``(K, C)`` mixing: what :func:`depthwise_separable` counts."""
    return pointwise(depthwise_conv2d(x, depthwise, padding), pointwise_w)


def grouped_conv2d(x: np.ndarray, w: np.ndarray, groups: int, padding: int = 0) -> np.ndarray:
    """A grouped convolution: group ``g`` convolves input channels ``g*C/G .. (g+1)*C/G`` with its own filters.

    ``x`` is ``(C, H, W)``; ``w`` is ``(K, C / groups, k, k)``, PyTorch's layout for ``Conv2d(groups=...)``,
    whose first ``K / groups`` filters belong to group 0, and so on.
    """
    x, w = np.asarray(x), np.asarray(w)
    positive(groups=groups)
    if x.ndim != 3 or w.ndim != 4:
        raise ValueError(f"x must be (C, H, W) and w (K, C / groups, k, k), got {x.shape} and {w.shape}")
    c, k_out = x.shape[0], w.shape[0]
    if c % groups or k_out % groups or w.shape[1] != c // groups:
        raise ValueError(
            f"with {groups} groups, {c} input channels and {k_out} filters, w must have shape "
            f"({k_out}, {c // groups if c % groups == 0 else 'C / groups'}, k, k) and groups must divide C and K, "
            f"got {w.shape}"
        )
    cin, kout = c // groups, k_out // groups
    return np.concatenate(
        [conv2d(x[g * cin : (g + 1) * cin], w[g * kout : (g + 1) * kout], padding=padding) for g in range(groups)]
    )


def channel_shuffle(x: np.ndarray, groups: int) -> np.ndarray:
    """ShuffleNet's channel shuffle of ``(C, H, W)``: channel ``g*n + i`` (group ``g``, ``C = groups*n``) goes to
    place ``i*groups + g``, so the next grouped layer sees one channel from every group."""
    x = np.asarray(x)
    positive(groups=groups)
    if x.ndim != 3 or x.shape[0] % groups:
        raise ValueError(f"x must be (C, H, W) with C divisible by groups={groups}, got {x.shape}")
    c, h, w = x.shape
    return x.reshape(groups, c // groups, h, w).transpose(1, 0, 2, 3).reshape(c, h, w)


def channel_reach(layers: list, channels: int) -> np.ndarray:
    """Which input channels each output channel depends on, after ``layers`` (a list of ``("grouped", G)``
    1x1 grouped convolutions and ``("shuffle", G)`` shuffles): a ``(channels, channels)`` 0/1 matrix,
    computed by pushing each input channel's unit image through the real operations."""
    positive(channels=channels)
    reach = np.zeros((channels, channels), dtype=int)
    for source in range(channels):
        x = np.zeros((channels, 1, 1))
        x[source] = 1.0
        for kind, groups in layers:
            if kind == "grouped":
                x = grouped_conv2d(x, np.ones((channels, channels // groups, 1, 1)), groups)
            elif kind == "shuffle":
                x = channel_shuffle(x, groups)
            else:
                raise ValueError(f"layer kinds are 'grouped' and 'shuffle', got {kind!r}")
        reach[:, source] = x[:, 0, 0] != 0
    return reach


#: The kinds of convolution the book teaches, and where (section 5.5 of the source is only a title and a link).
CONVOLUTION_KINDS = (
    ("standard (cross-correlation) 2D convolution", "chapter 1", "5.1-5.3, 5.4.1"),
    ("true convolution (flipped kernel)", "chapter 1", "5.19.1"),
    ("convolution over several channels", "chapters 1 and 5", "5.3.4, 5.13"),
    ("padded (same, full) and strided convolution", "chapter 3", "5.3.2, 5.3.3, 5.14, 5.20, 5.21"),
    ("dilated (atrous) convolution", "chapters 3 and 6", "5.4.2"),
    ("transposed convolution", "chapter 6", "5.4.3, 5.19.2, 5.22"),
    ("1x1 (pointwise) convolution", "chapter 5", "5.8"),
    ("spatially separable convolution", "chapters 1 and 5", "5.4.4, 5.11"),
    ("depthwise-separable convolution", "chapter 5", "5.4.4, 5.12, 5.13"),
    ("grouped convolution, and the channel shuffle", "chapter 5", "5.5"),
    ("3D convolution", "chapter 6", "5.6"),
    ("locally connected (unshared) convolution", "chapter 2", "5.27-5.29"),
)


# --- the source's numbers ---------------------------------------------------------------------


def _claims():
    from cnnbook.book.errata import Claim

    naive = lambda: inception(192, 64, 128, 32)  # noqa: E731 -- 3a without reductions or projection
    reduced = lambda: inception(192, 64, 128, 32, reduce3x3=96, reduce5x5=16)  # noqa: E731 -- the source's sum
    std, bott = lambda: standard_conv(256, 256, 3), lambda: bottleneck(256, 64)  # noqa: E731
    dw_std, dw = lambda: standard_conv(3, 256, 3), lambda: depthwise_separable(3, 256, 3)  # noqa: E731
    two, one = lambda: stacked(1, 3, 2), lambda: standard_conv(1, 1, 5)  # noqa: E731 -- one channel, as the source's sums
    # the notes quote computed values too, so no number in them is typed by hand
    n_w, r_w = params(naive(), bias=False), params(reduced(), bias=False)
    p_w = params(inception(**GOOGLENET_3A), bias=False)
    g, a = googlenet_params(), alexnet_params()
    s_w, b_w = params(std(), bias=False), params(bott(), bias=False)
    ds_w, d_w = params(dw_std(), bias=False), params(dw(), bias=False)
    return [
        Claim(
            "003",
            "5.8",
            "GoogLeNet 3a without 1x1 reductions: 1x1x192x64 + 3x3x192x128 + 5x5x192x32 weights",
            1 * 1 * 192 * 64 + 3 * 3 * 192 * 128 + 5 * 5 * 192 * 32,
            lambda: params(naive(), bias=False),
        ),
        Claim(
            "003",
            "5.8",
            "GoogLeNet 3a with 96 and 16 1x1 reductions: 1x1x192x64 + (1x1x192x96 + 3x3x96x128) "
            "+ (1x1x192x16 + 5x5x16x32) weights",
            1 * 1 * 192 * 64 + (1 * 1 * 192 * 96 + 3 * 3 * 96 * 128) + (1 * 1 * 192 * 16 + 5 * 5 * 16 * 32),
            lambda: params(reduced(), bias=False),
        ),
        Claim(
            "003",
            "5.8",
            "the reductions cut 3a's weights to about a third",
            1 / 3,
            lambda: params(reduced(), bias=False) / params(naive(), bias=False),
            f"{r_w:,} / {n_w:,} = {r_w / n_w:.3f}: about two fifths ({n_w / r_w:.1f} times fewer), not a third; "
            f"with the 32-channel pool projection counted too, {p_w / n_w:.3f}",
        ),
        Claim(
            "003",
            "5.8",
            "without a pool projection, 3a's output grows to this many feature maps",
            416,
            lambda: inception_channels(192, 64, 128, 32),
        ),
        Claim(
            "003",
            "5.8",
            "with a 32-channel 1x1 after the pooling, 3a outputs this many",
            256,
            lambda: inception_channels(192, 64, 128, 32, pool_proj=32),
        ),
        Claim(
            "003", "5.8", "GoogLeNet has 22 layers", 22, googlenet_depth, "layers with parameters on the deepest path"
        ),
        Claim("003", "5.8", "AlexNet has 8 layers", 8, lambda: len(ALEXNET_CONVS) + len(ALEXNET_DENSE)),
        Claim(
            "003",
            "5.8",
            "GoogLeNet has one twelfth of AlexNet's parameters",
            1 / 12,
            lambda: googlenet_params() / alexnet_params(),
            "summing both layer tables (weights and biases, GoogLeNet without its training-only auxiliary "
            f"classifiers): {g:,} against {a:,}, about one ninth (1/{a / g:.1f}); the factor 12 is the "
            "GoogLeNet paper's own claim, repeated by the source",
        ),
        Claim(
            "003",
            "5.10",
            "two stacked 3x3 kernels (one channel) have 3x3x2+1 parameters",
            3 * 3 * 2 + 1,
            lambda: params(two()),
            "each of the two layers has its own bias: 2 x (3x3 + 1) = 20, not 19",
        ),
        Claim(
            "003", "5.10", "one 5x5 kernel (one channel) has 5x5x1+1 parameters", 5 * 5 * 1 + 1, lambda: params(one())
        ),
        Claim(
            "003",
            "5.10",
            "two stacked 3x3 convolutions see as far as one 5x5 (connectivity unchanged)",
            5,
            lambda: receptive_field(3, 2),
        ),
        Claim(
            "003",
            "5.12",
            "256 -> 256 channels with one 3x3 conv: 256x3x3x256 weights",
            589_824,
            lambda: params(std(), bias=False),
        ),
        Claim(
            "003",
            "5.12",
            "256 -> 64 (1x1) -> 64 (3x3) -> 256 (1x1) bottleneck weights",
            69_632,
            lambda: params(bott(), bias=False),
        ),
        Claim(
            "003",
            "5.12",
            "the bottleneck cuts the weights to a ninth",
            1 / 9,
            lambda: params(bott(), bias=False) / params(std(), bias=False),
            f"{b_w:,} / {s_w:,} = {b_w / s_w:.3f} (1/{s_w / b_w:.1f}): close to a ninth but not a ninth",
        ),
        Claim(
            "003",
            "5.13",
            "3 -> 256 channels with a standard 3x3 conv: 3x3x3x256 weights",
            6_912,
            lambda: params(dw_std(), bias=False),
        ),
        Claim("003", "5.13", "depthwise 3x3x3 then pointwise 3x1x1x256 weights", 795, lambda: params(dw(), bias=False)),
        Claim(
            "003",
            "5.13",
            "depthwise-separable cuts the weights to a ninth",
            1 / 9,
            lambda: params(dw(), bias=False) / params(dw_std(), bias=False),
            f"{d_w:,} / {ds_w:,} = {d_w / ds_w:.3f} (1/{ds_w / d_w:.1f}); in general the ratio is "
            "1/c_out + 1/k^2 = 1/256 + 1/9, a little more than a ninth",
        ),
    ]


CLAIMS = _claims()
