"""The sources' qualitative statements that are wrong or misleading, each with its evidence.

:data:`STATEMENTS` is the list of :class:`~cnnbook.book.errata.Statement` that ``book/errata.md``
renders; the small functions above it are the computed demonstrations. They live here, beside the
errata, rather than in a chapter module: they compute nothing a chapter teaches anew, only put the
chapters' functions (:mod:`cnnbook.sharing`, :mod:`cnnbook.pooling`, :mod:`cnnbook.transposed`,
:mod:`cnnbook.one_by_one`, :mod:`cnnbook.counts`, :mod:`cnnbook.text`) to the test of a source's sentence.
``tests/test_statements.py`` recomputes every demonstration and checks that it still supports its row,
and that every quote is the source's own text.
"""

from __future__ import annotations

import numpy as np

from cnnbook.book.errata import Statement
from cnnbook.conv import conv2d, conv_transpose2d, output_size, transposed_output_size
from cnnbook.counts import ALEXNET_CONV1, conv_output_shape, layer_counts
from cnnbook.edges import VERTICAL_EDGE, step_image
from cnnbook.one_by_one import ConvSpec, depthwise_separable, params, spatially_separable, standard_conv
from cnnbook.pooling import global_pool, max_pool2d
from cnnbook.sharing import (
    CONV_SPEC,
    LOCAL_SPEC,
    circular_conv2d,
    contraction_flops,
    equivariance_error,
    pooled_unchanged,
    shift,
)
from cnnbook.text import separated, text_cnn
from cnnbook.transposed import dilated_kernel, interior, overlap_1d, overlap_2d, transposed_pieces

# --- invariance and equivariance ---------------------------------------------------------------------


def translation_experiment(size: int = 16, dx: int = 3, seed: int = 0) -> dict[str, float]:
    """A random image shifted ``dx`` pixels (around a torus, so no border interferes), through a shared 3x3
    filter: the share of feature-map values that change (not invariant), the largest difference between
    "shift, then convolve" and "convolve, then shift" (equivariant: 0), and how much a global max over
    positions changes (invariant: 0)."""
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=(size, size)), rng.normal(size=(3, 3))
    before, after = circular_conv2d(image, kernel), circular_conv2d(shift(image, 0, dx, circular=True), kernel)
    return {
        "feature values that change": float(np.mean(~np.isclose(before, after, rtol=0, atol=1e-12))),
        "equivariance error": equivariance_error(image, kernel, 0, dx, circular=True).everywhere,
        "change of the global max": float(abs(global_pool(after, "max") - global_pool(before, "max"))),
    }


def rotation_experiment(size: int = 6, seed: int = 0) -> dict[str, float]:
    """Section 5.2's vertical-edge filter on its bright/dark image, upright and turned 90 degrees: the
    strongest response (what a detector built on it would see), and, on a random image, how far
    "turn, then convolve" is from "convolve, then turn" relative to the output (0 would be equivariance)."""
    image = step_image(size)
    random = np.random.default_rng(seed).normal(size=(12, 12))
    turned_after = np.rot90(conv2d(random, VERTICAL_EDGE))
    turned_before = conv2d(np.rot90(random), VERTICAL_EDGE)
    return {
        "strongest response, upright": float(np.abs(conv2d(image, VERTICAL_EDGE)).max()),
        "strongest response, turned 90 degrees": float(np.abs(conv2d(np.rot90(image), VERTICAL_EDGE)).max()),
        "rotation error (relative)": float(np.linalg.norm(turned_before - turned_after) / np.linalg.norm(turned_after)),
        "translation error": translation_experiment()["equivariance error"],
    }


def pooling_shift_experiment(size: int = 16, seed: int = 0) -> dict[str, float]:
    """2x2 max pooling of a random image: the share of pooled values unchanged by a one-pixel shift
    (section 5.9's claimed invariance), and the largest difference between "shift by 2, then pool" and
    "pool, then shift by 1" (0: local pooling keeps where a feature is, at half the resolution)."""
    image = np.random.default_rng(seed).normal(size=(size, size))
    moved = max_pool2d(shift(image, 2, 2, circular=True), 2)
    return {
        "pooled values unchanged by a 1-pixel shift": pooled_unchanged(image, 0, 1),
        "pooled map after a 2-pixel shift vs pooled map shifted by 1": float(
            np.abs(moved - shift(max_pool2d(image, 2), 1, 1, circular=True)).max()
        ),
    }


# --- what sharing buys ---------------------------------------------------------------------------------


def training_step_flops(kind: str, input_shape: tuple[int, int, int], k: int, filters: int, stride: int, batch: int):
    """Flops of one SGD step of a conv (``"conv"``) or locally connected (``"local"``) layer on a batch:
    the forward product, the two backward products (to the input and to the weights: the same contraction
    with another output, so the same count), and the update (a multiply and an add per parameter)."""
    h, w, c = input_shape
    oh, ow = output_size(h, k, stride), output_size(w, k, stride)
    windows = (batch, c, oh, ow, k, k)
    weights = (filters, c, k, k) if kind == "conv" else (oh, ow, filters, c, k, k)
    spec = CONV_SPEC if kind == "conv" else LOCAL_SPEC
    counts = layer_counts(input_shape, k, filters, stride)
    parameters = counts.shared if kind == "conv" else counts.unshared
    return 3 * contraction_flops(spec, windows, weights) + 2 * parameters


def sharing_training_cost(batch: int = 128) -> dict[str, float]:
    """AlexNet's first layer (seeds/001's example) with and without sharing: the parameters updated per
    step, and the flops of a whole training step on a batch of ``batch`` images."""
    counts = layer_counts(*ALEXNET_CONV1)
    shape, k, filters, stride, _ = ALEXNET_CONV1
    local = training_step_flops("local", shape, k, filters, stride, batch)
    conv = training_step_flops("conv", shape, k, filters, stride, batch)
    return {
        "parameters updated, unshared / shared": counts.unshared / counts.shared,
        f"flops of a training step (batch {batch}), unshared / shared": local / conv,
    }


def alexnet_first_layer() -> dict[str, object]:
    """The 55x55x96 volume of seeds/004 is the output of AlexNet's first layer (96 filters 11x11x3, stride
    4, on a 227x227x3 image); and the layer's parameters fully connected, locally connected and shared."""
    counts = layer_counts(*ALEXNET_CONV1)
    shape, k, filters, stride, padding = ALEXNET_CONV1
    return {
        "input": shape,
        "output": conv_output_shape(shape, k, filters, stride, padding),
        "fully connected": counts.dense,
        "locally connected (no sharing)": counts.unshared,
        "convolution (shared)": counts.shared,
    }


# --- operations ----------------------------------------------------------------------------------------


def dilation_is_a_setting(seed: int = 0) -> dict[str, float]:
    """A 3x3 kernel with dilation rate 2 is the same layer with a setting changed: it equals the
    convolution with the 5x5 kernel that has zeros between the taps, and it keeps its 9 weights."""
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=(12, 12)), rng.normal(size=(3, 3))
    return {
        "dilated vs zero-stuffed 5x5 (max difference)": float(
            np.abs(conv2d(image, kernel, dilation=2) - conv2d(image, dilated_kernel(kernel, 2))).max()
        ),
        "weights": kernel.size,
    }


def scatter_is_transposed(seed: int = 0) -> dict[str, float]:
    """Section 5.4.3's example: a 5x5 image, a 3x3 kernel, stride 2, no padding gives 2x2. "Nine values
    from every input pixel, placed with stride 2" (summed where they overlap) is exactly the transposed
    convolution; and the 2x2 output cannot give the 5x5 image back: the convolution's matrix has rank 4."""
    rng = np.random.default_rng(seed)
    small, kernel = rng.normal(size=(2, 2)), rng.normal(size=(3, 3))
    scattered = sum(piece for _, piece in transposed_pieces(small, kernel, 2))
    basis = np.eye(25).reshape(25, 5, 5)
    matrix = np.stack([conv2d(b, kernel, stride=2).ravel() for b in basis], axis=1)  # (4, 25)
    return {
        "scatter of 9 values per pixel vs transposed convolution (max difference)": float(
            np.abs(scattered - conv_transpose2d(small, kernel, stride=2)).max()
        ),
        "rank of the 5x5 -> 2x2 convolution": int(np.linalg.matrix_rank(matrix)),
        "pixels to recover": 25,
    }


def asymmetric_factorisation(channels: int = 192, k: int = 7) -> float:
    """Weights of a 1x7 then 7x1 pair (Inception-v3's factorisation) over those of one 7x7 convolution."""
    pair = sum(layer.weights() for layer in spatially_separable(channels, channels, k))
    return pair / sum(layer.weights() for layer in standard_conv(channels, channels, k))


def depthwise_naming() -> dict[str, int]:
    """Section 5.13's example (3 -> 256 channels, 3x3): the depthwise step alone and the whole depthwise
    separable convolution (depthwise, then the 1x1 pointwise step), weights only."""
    return {
        "depthwise step": ConvSpec("depthwise", 3, 3, 3, 3, groups=3).weights(),
        "depthwise separable (+ pointwise)": params(depthwise_separable(3, 256), bias=False),
    }


def checkerboard_counts(n: int = 8) -> dict[str, object]:
    """Stride 2, size 3 transposed convolution: how many inputs reach each interior output, in 1D and 2D
    (Odena et al.'s "twice" and "four times"), and the output length of n = 8 inputs without padding."""
    return {
        "inputs per output, 1D": sorted({int(v) for v in interior(overlap_1d(n, 3, 2), 3, 2).ravel()}),
        "inputs per output, 2D": sorted({int(v) for v in interior(overlap_2d(n, 3, 2), 3, 2).ravel()}),
        f"output length, {n} inputs, no padding": transposed_output_size(n, 3, 2),
    }


def divisible_kernel_still_paints(n: int = 8) -> dict[str, object]:
    """Kernel 4, stride 2 (divisible): every interior output receives the same number of inputs, yet the
    kernel with taps [1, 0, 1, 0] along each axis turns a constant image into a period-2 pattern."""
    taps = np.array([1.0, 0.0, 1.0, 0.0])
    out = conv_transpose2d(np.ones((n, n)), np.outer(taps, taps), stride=2)
    inner = out[4:-4, 4:-4]
    return {
        "spread of the overlap counts (interior)": int(np.ptp(interior(overlap_2d(n, 4, 2), 4, 2))),
        "interior values on a constant image": sorted({int(v) for v in np.rint(inner).ravel()}),
    }


def convolution_dominates() -> dict[str, float]:
    """Nielsen's two conv-pool layers (seeds/003 5.25: 20 then 40 filters 5x5, 2x2 pooling) on one 28x28
    image: the multiply-adds of the convolutions against the sigmoid evaluations and the values the
    pooling reads (one each per conv output)."""
    layers = [(ConvSpec("conv1", 5, 5, 1, 20), 24), (ConvSpec("conv2", 5, 5, 20, 40), 8)]
    conv_macs = sum(spec.macs(side, side) for spec, side in layers)
    outputs = sum(spec.c_out * side * side for spec, side in layers)
    return {
        "convolution multiply-adds": conv_macs,
        "sigmoids (and pooled values)": outputs,
        "ratio": conv_macs / outputs,
    }


def learning_rate_schedule(start: float = 0.1, steps: int = 3) -> dict[str, tuple[float, ...]]:
    """Section 5.24's advice taken literally: start at 0.1 and divide by 0.2 (or 0.5) at each step."""
    return {f"divided by {d}": tuple(float(f"{start / d**i:.6g}") for i in range(steps)) for d in (0.2, 0.5)}


def max_over_time_position_and_order(seed: int = 0) -> dict[str, float]:
    """A random text CNN of width 3 (chapter 10) on two phrases kept apart by padding, in either order,
    and on one phrase forwards and reversed: the largest change of its outputs in each case."""
    net = text_cnn(vocabulary=50, length=30, width=3, filters=16, dim=8, seed=seed)
    a, b = [5, 6, 7, 8], [20, 21, 22]
    moved = net.forward(np.stack([separated([a, b], 30, 3), separated([b, a], 30, 3)]))
    reversed_ = net.forward(np.stack([separated([a], 30, 3), separated([a[::-1]], 30, 3)]))
    return {
        "phrases swapped": float(np.abs(moved[0] - moved[1]).max()),
        "a phrase reversed": float(np.abs(reversed_[0] - reversed_[1]).max()),
    }


# --- the statements ------------------------------------------------------------------------------------


def _increasing(values) -> bool:
    return all(b > a for a, b in zip(values, values[1:]))


STATEMENTS: list[Statement] = [
    Statement(
        "000",
        "sharing",
        "sharing parameters helps us achieve translation invariance",
        "共享参数不仅有助于我们实现平移不变性",
        "misleading",
        "Sharing makes a conv layer translation-equivariant: shift the input and the feature map shifts with "
        "it, its values change place. Invariance (an unchanged output) comes from pooling over positions.",
        translation_experiment,
        "a 3-pixel shift changes most feature values, yet shifting the feature map reproduces them exactly "
        "(equivariance); only the max over all positions stays the same",
        lambda v: (
            v["feature values that change"] > 0.5
            and v["equivariance error"] < 1e-12
            and v["change of the global max"] < 1e-12
        ),
    ),
    Statement(
        "001",
        "opening",
        "CNNs are invariant to affine transformations of the image, which lets them recognise shifted, "
        "tilted or slightly distorted patterns; local receptive fields, shared weights and subsampling "
        "bring this affine invariance",
        "具有能够对通过网络馈送的图像的仿射变换保持不变的特性",
        "wrong",
        "Convolution commutes with translations only (equivariance, not invariance); nothing in a conv layer "
        "makes it invariant or equivariant to rotation, shear or scaling. Subsampling gives at most a partial "
        "invariance to small shifts; tolerance to tilts and distortions has to be learned (e.g. from expanded "
        "training data, as 5.25 does).",
        rotation_experiment,
        "the vertical-edge filter's strongest response on the bright/dark image vanishes when the image is "
        "turned 90 degrees: not invariant to rotation",
        lambda v: v["strongest response, upright"] > 0 and v["strongest response, turned 90 degrees"] == 0,
    ),
    Statement(
        "001",
        "introduction",
        "a conv layer's feature maps reflect any affine transformation of the input: shifted, tilted or "
        "turned input gives feature maps shifted, tilted or turned by as much",
        "其特征图能够反映对通过输入层输入的输入图像进行的任何仿射变换",
        "wrong",
        "Feature maps follow translations only (and, with a stride s, only shifts that are multiples of s). "
        "Turning the input does not turn the feature map: a filter responds to the orientation it was "
        "learned for.",
        rotation_experiment,
        "convolving a turned random image is far from turning the convolved image (relative error of order "
        "1), while for a shift the two agree exactly",
        lambda v: v["rotation error (relative)"] > 0.5 and v["translation error"] < 1e-12,
    ),
    Statement(
        "001",
        "summary",
        "parameter sharing reduces training time, a direct advantage of the fewer weight updates in backpropagation",
        "参数共享减少了训练时间；这是减少反向传播期间必须发生的权重更新次数的直接优点",
        "misleading",
        "Sharing cuts the number of parameters, not the work of a training step: every position still "
        "contributes to the gradient (seeds/004: the gradients are summed over each depth slice), so the "
        "forward and backward products cost the same; only the update, a small part of the step, shrinks. "
        "What sharing buys is memory and statistical efficiency (Goodfellow et al., section 9.2).",
        sharing_training_cost,
        "on AlexNet's first layer, sharing divides the parameters to update by the number of output positions, "
        "but a training step on a batch of 128 images costs almost the same flops either way",
        lambda v: next(iter(v.values())) > 1000 and list(v.values())[1] < 1.01,
    ),
    Statement(
        "002",
        "2.12",
        "a cat should be recognised wherever it appears, that is, the network's output should be equivariant "
        "to translation",
        "也就是说神经网络的输出对于平移变换来说应当是等变的",
        "wrong",
        "Recognition needs invariance: the answer 'cat' must not change when the cat moves. The conv layers "
        "are equivariant (their maps move with the cat), and pooling over positions turns that into the "
        "invariant output.",
        translation_experiment,
        "a shift moves the feature map (equivariance, error 0) and changes most of its values, while the "
        "max over all positions, what a classifier can read, does not change",
        lambda v: v["feature values that change"] > 0.5 and v["change of the global max"] < 1e-12,
        "I. Goodfellow, Y. Bengio and A. Courville, Deep Learning, MIT Press, 2016, sections 9.2 (convolution "
        "is equivariant to translation) and 9.3 (pooling makes the representation approximately invariant)",
    ),
    Statement(
        "003",
        "5.4.2",
        "dilated convolution introduces another convolution layer, called the dilation rate",
        "扩张的卷积引入了另一个被称为扩张率（dilation rate）的卷积层",
        "wrong",
        "The dilation rate is another parameter (a setting) of the convolution layer, not a layer: the same "
        "layer, with gaps between its taps.",
        dilation_is_a_setting,
        "a 3x3 convolution with dilation 2 equals the convolution with the zero-stuffed 5x5 kernel and keeps "
        "its 9 weights: one layer, one more setting",
        lambda v: v["dilated vs zero-stuffed 5x5 (max difference)"] < 1e-12 and v["weights"] == 9,
        "P.-L. Pröve, An Introduction to different Types of Convolutions in Deep Learning, Towards Data "
        "Science, 2017, section 'Dilated Convolutions' (the English original that 5.4 translates)",
    ),
    Statement(
        "003",
        "5.4.3",
        "a transposed convolution is a deconvolution; generating 9 values from every input pixel and "
        "traversing the output with stride 2 would be a deconvolution, which a transposed convolution does "
        "not do",
        "一个转置的卷积并不会这样做",
        "wrong",
        "Nine values per input pixel, placed 2 apart and summed, is exactly what a transposed convolution "
        "computes (section 5.19.2 describes it so). It is not a deconvolution: no operation can recover the "
        "5x5 image from the 2x2 output.",
        scatter_is_transposed,
        "the scatter equals the transposed convolution (difference 0), and the convolution it reverses has "
        "rank 4 for 25 pixels, so nothing inverts it",
        lambda v: list(v.values())[0] < 1e-12 and v["rank of the 5x5 -> 2x2 convolution"] < v["pixels to recover"],
    ),
    Statement(
        "003",
        "5.4.4",
        "spatially separable convolution is, as far as the author knows, not used in deep learning",
        "据我所知，这并不是在深度学习中使用的",
        "wrong",
        "Inception-v3 replaces n x n convolutions by a 1 x n then an n x 1 convolution (e.g. 7x7 by 1x7 and "
        "7x1), which cuts the weights of those layers to 2/n.",
        asymmetric_factorisation,
        "a 1x7 then 7x1 pair has this fraction of a 7x7 convolution's weights",
        lambda v: v < 0.3,
        "C. Szegedy, V. Vanhoucke, S. Ioffe, J. Shlens and Z. Wojna, Rethinking the Inception Architecture for "
        "Computer Vision, CVPR 2016, section 3.2 'Spatial Factorization into Asymmetric Convolutions'",
    ),
    Statement(
        "003",
        "5.9",
        "when pixels shift slightly within a neighbourhood, the pooling layer's output does not change",
        "当其中像素在邻域发生微小位移时，池化层的输出是不变的",
        "misleading",
        "Max pooling is unchanged only when the maximum stays inside its window; in general a one-pixel shift "
        "changes many pooled values. Pooling gives a partial, approximate invariance to small shifts.",
        pooling_shift_experiment,
        "on a random image, a one-pixel shift leaves only this share of the 2x2 max-pooled values unchanged",
        lambda v: v["pooled values unchanged by a 1-pixel shift"] < 0.5,
        "I. Goodfellow, Y. Bengio and A. Courville, Deep Learning, MIT Press, 2016, section 9.3 ('approximately "
        "invariant to small translations')",
    ),
    Statement(
        "003",
        "5.10",
        "VGG was the first to use stacks of 3x3 kernels",
        "于是在VGG（最早使用）",
        "misleading",
        "Small filters in deep stacks were used before VGG; VGG's paper credits Ciresan et al. (2011) and "
        "claims depth, not the first use.",
        citation="K. Simonyan and A. Zisserman, Very Deep Convolutional Networks for Large-Scale Image "
        "Recognition, ICLR 2015, section 2.3 ('small-size convolution filters have been previously used by "
        "Ciresan et al. (2011)')",
    ),
    Statement(
        "003",
        "5.13",
        "the per-channel convolution followed by a 1x1 convolution is called a 'DepthWise convolution'",
        "这种操作被称为 “DepthWise convolution”",
        "misleading",
        "The two steps together are a depthwise separable convolution; 'depthwise convolution' names the "
        "first step alone (one filter per channel), which mixes no channels.",
        depthwise_naming,
        "in the section's example the depthwise step has a small part of the weights; the 1x1 pointwise step "
        "holds the rest",
        lambda v: v["depthwise step"] < v["depthwise separable (+ pointwise)"],
        "A. G. Howard et al., MobileNets: Efficient Convolutional Neural Networks for Mobile Vision "
        "Applications, arXiv:1704.04861, 2017, section 3.1",
    ),
    Statement(
        "003",
        "5.13",
        "Xception beats Inception V3 on ImageNet and also cuts a great many parameters",
        "而且也同时减少了大量的参数",
        "wrong",
        "Xception has about the same number of parameters as Inception V3; its author attributes the gain to "
        "a more efficient use of parameters, not to fewer of them.",
        citation="F. Chollet, Xception: Deep Learning with Depthwise Separable Convolutions, CVPR 2017, abstract "
        "('the Xception architecture has the same number of parameters as Inception V3') and table 3",
    ),
    Statement(
        "003",
        "5.18",
        "average pooling is hardly used any more",
        "Avy pooling现在不怎么用了",
        "wrong",
        "Global average pooling ends most modern classification networks (Network in Network, GoogLeNet, "
        "ResNet) in place of large fully connected layers; only average pooling inside the network, between "
        "conv layers, has given way to max pooling and strides.",
        citation="K. He, X. Zhang, S. Ren and J. Sun, Deep Residual Learning for Image Recognition, CVPR 2016, "
        "section 3.3 ('the network ends with a global average pooling layer'); C. Szegedy et al., Going Deeper "
        "with Convolutions, CVPR 2015, section 5",
    ),
    Statement(
        "003",
        "5.22.1",
        "in one dimension a stride-2, size-3 deconvolution's output is twice its input, and in two "
        "dimensions four times",
        "一个步长为2，大小为3的反卷积的输出是其输入的两倍",
        "wrong",
        "A mistranslation: the original says that some outputs receive twice as many inputs as others (the "
        "uneven overlap), four times in 2D. The output's size is beside the point (and without padding it is "
        "2n + 1, not 2n).",
        checkerboard_counts,
        "inside the output, each value receives 1 or 2 inputs in 1D, 1, 2 or 4 in 2D; the length without "
        "padding is 2n + 1",
        lambda v: v["inputs per output, 1D"] == [1, 2] and v["inputs per output, 2D"] == [1, 2, 4],
        "A. Odena, V. Dumoulin and C. Olah, Deconvolution and Checkerboard Artifacts, Distill, 2016, section "
        "'Deconvolution & Overlap'",
    ),
    Statement(
        "003",
        "5.22.2",
        "making the kernel size divisible by the stride avoids the overlap effect (and so the checkerboard)",
        "反卷积核的大小可被步长整除，从而避免重叠效应",
        "misleading",
        "It evens out the overlap, but a learned kernel can still paint a checkerboard; the original adds that "
        "'it is still easy for deconvolution to fall into creating artifacts'. Resize-convolution discourages "
        "them.",
        divisible_kernel_still_paints,
        "with kernel 4 and stride 2 the overlap is even (spread 0), yet a kernel can turn a constant image "
        "into a period-2 pattern",
        lambda v: (
            v["spread of the overlap counts (interior)"] == 0 and len(v["interior values on a constant image"]) > 1
        ),
        "A. Odena, V. Dumoulin and C. Olah, Deconvolution and Checkerboard Artifacts, Distill, 2016, section "
        "'Deconvolution & Overlap'",
    ),
    Statement(
        "003",
        "5.23",
        "the main computational bottlenecks of CNN training are down- and upsampling the maps and applying "
        "and differentiating the sigmoid",
        "3）sigmoid的运用和求导",
        "misleading",
        "These are one operation per value; the convolutions cost one multiply-add per weight per output "
        "value, and dominate. (The advice is about a 2006 Matlab implementation; sigmoid has since given way "
        "to ReLU, as the source's own 5.25 shows.)",
        convolution_dominates,
        "in Nielsen's network the convolutions take this many times more multiply-adds than there are sigmoids "
        "to evaluate",
        lambda v: v["ratio"] > 10,
    ),
    Statement(
        "003",
        "5.24",
        "the learning rate is usually set to 0.1 at first, then divided by 0.2 or 0.5 at each step",
        "然后每次除以0.2或者0.5来改进",
        "wrong",
        "Dividing by 0.2 or 0.5 multiplies the rate by 5 or 2: it grows. To lower it, multiply by 0.2 or 0.5 "
        "(divide by 5 or 2).",
        learning_rate_schedule,
        "taken literally, the advice makes the learning rate grow at every step",
        lambda v: all(_increasing(s) for s in v.values()),
    ),
    Statement(
        "003",
        "5.24",
        "weight decay is used to update the weights and biases in backpropagation, and is usually set to 0.005",
        "一般设置为0.005",
        "misleading",
        "Weight decay is the L2 penalty that shrinks the weights at each update; the usual value in the "
        "networks the chapter discusses is 0.0005, ten times smaller (AlexNet, VGG).",
        citation="A. Krizhevsky, I. Sutskever and G. E. Hinton, ImageNet Classification with Deep Convolutional "
        "Neural Networks, NIPS 2012, section 5 ('weight decay of 0.0005'); K. Simonyan and A. Zisserman, ICLR "
        "2015, section 3.1",
    ),
    Statement(
        "003",
        "5.26.2",
        "pooling combines local features and loses the position of every feature",
        "失去了每个特征的位置信息",
        "misleading",
        "Local pooling keeps where a feature is, at a coarser resolution (a 2x2 pool knows it to within 2 "
        "pixels); only pooling over the whole map discards position.",
        pooling_shift_experiment,
        "shifting the image by 2 pixels shifts its 2x2 max-pooled map by exactly 1: the position survives pooling",
        lambda v: v["pooled map after a 2-pixel shift vs pooled map shifted by 1"] < 1e-12,
    ),
    Statement(
        "003",
        "5.28",
        "a convolution that uses the same filter at every point is a 'full convolution' (全卷积)",
        "如果每一个点的处理使用相同的Filter，则为全卷积",
        "misleading",
        "That is an ordinary (shared) convolution. '全卷积' is the usual name of a fully convolutional "
        "network (no dense layers, FCN, which 5.19.2 cites), and 'full' convolution (5.20) is the padding mode; "
        "the distinction drawn here is sharing against local connectivity.",
        citation="J. Long, E. Shelhamer and T. Darrell, Fully Convolutional Networks for Semantic Segmentation, "
        "CVPR 2015, section 3",
    ),
    Statement(
        "003",
        "5.29",
        "the role of the locally connected layers is to align the face with a 3D model",
        "这一步的作用就是使用3D模型来将人脸对齐",
        "wrong",
        "DeepFace aligns (frontalises) the face with a 3D model before the network; the locally connected "
        "layers come after, because in an aligned face each region has its own statistics.",
        citation="Y. Taigman, M. Yang, M. Ranzato and L. Wolf, DeepFace: Closing the Gap to Human-Level "
        "Performance in Face Verification, CVPR 2014, sections 2 (face alignment) and 3 (the locally "
        "connected layers L4-L6)",
    ),
    Statement(
        "003",
        "5.26.2",
        "in NLP the position and order of words are important information, which pooling loses (so CNNs "
        "suit images better than language)",
        "但是在NLP里，词语在句子或是段落里出现的位置，顺序，都是很重要的信息",
        "misleading",
        "Two things are run together. A max over all positions loses where a phrase occurs, but the filters "
        "still read the order of the words inside their window, so a text CNN is not blind to order; and how "
        "much order matters depends on the task (chapter 10 measures it on the SpamAssassin corpus: a bag of "
        "words does about as well as wider filters there).",
        max_over_time_position_and_order,
        "swapping two phrases kept apart by padding leaves a random text CNN's output as it was (float32 "
        "rounding); reversing one phrase changes it",
        lambda v: v["phrases swapped"] < 1e-5 and v["a phrase reversed"] > 1e-3,
        "Y. Kim, Convolutional neural networks for sentence classification, EMNLP 2014, section 2",
    ),
    Statement(
        "004",
        "sharing",
        "suppose the input image is 55x55x96 and the kernel 11x11x3",
        "假设输入图像大小为55×55×96",
        "wrong",
        "55x55x96 is the output of AlexNet's first layer (96 filters 11x11x3, stride 4, on a 227x227x3 image); "
        "an 11x11x3 kernel could not even span a 96-deep input. CS231n's notes speak of the first conv layer's "
        "neurons.",
        alexnet_first_layer,
        "AlexNet's first layer maps a 227x227x3 input to a 55x55x96 output",
        lambda v: v["output"] == (55, 55, 96) and v["input"][2] == 3,
    ),
    Statement(
        "004",
        "sharing",
        "for the fully connected algorithm there are 290,400 neurons, each with 363 weights and a bias",
        "对于神经网络的全连接算法",
        "wrong",
        "290,400 x 364 counts a locally connected layer (a convolution without sharing: each neuron sees an "
        "11x11x3 window). A fully connected layer would connect each neuron to the whole 227x227x3 image.",
        alexnet_first_layer,
        "the fully connected layer would have hundreds of times the parameters of the unshared one the source counts",
        lambda v: (
            v["locally connected (no sharing)"] == 290_400 * 364
            and v["fully connected"] > 100 * v["locally connected (no sharing)"]
        ),
    ),
]
