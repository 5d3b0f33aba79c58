"""Counting parameters and operations from shapes: the arithmetic that chapters 1, 2 and 5 share.

Chapter 1 counts a conv layer's and a dense layer's parameters; chapter 2 compares a convolution with
a locally connected layer (no sharing) and a dense one, and prices the edge-detection example of
Goodfellow et al.; chapter 5 builds its block counts on :func:`conv_params`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnbook.conv import output_size
from cnnbook.validate import positive


def conv_params(k: int, c_in: int, c_out: int, bias: bool = True) -> int:
    """Weights (and biases) of a conv layer with shared parameters: ``(k*k*c_in + 1) * c_out``."""
    positive(k=k, c_in=c_in, c_out=c_out)
    return (k * k * c_in + int(bias)) * c_out


def dense_params(n_in: int, n_out: int, bias: bool = True) -> int:
    """Weights (and biases) of a fully connected layer: ``(n_in + 1) * n_out``."""
    positive(n_in=n_in, n_out=n_out)
    return (n_in + int(bias)) * n_out


def _shape3(shape, name: str = "input_shape") -> tuple[int, int, int]:
    if len(tuple(shape)) != 3 or any(not isinstance(v, int) or v < 1 for v in shape):
        raise ValueError(f"{name} must be (height, width, depth) of positive integers, got {shape!r}")
    return tuple(shape)


def locally_connected_params(out_h: int, out_w: int, k: int, c_in: int, c_out: int, bias: bool = True) -> int:
    """A locally connected layer (a convolution *without* sharing): one ``k*k*c_in`` filter and one
    bias for every output unit, ``(k*k*c_in + 1) * out_h * out_w * c_out``."""
    positive(out_h=out_h, out_w=out_w, k=k, c_in=c_in, c_out=c_out)
    return (k * k * c_in + int(bias)) * out_h * out_w * c_out


def conv_output_shape(
    input_shape: tuple[int, int, int], k: int, filters: int, stride: int = 1, padding: int = 0
) -> tuple[int, int, int]:
    """``(H_out, W_out, K)`` of a conv layer on an ``(H, W, D)`` input: ``(W - F + 2P) // S + 1``, depth K."""
    h, w, _ = _shape3(input_shape)
    positive(k=k, filters=filters)
    return output_size(h, k, stride, padding), output_size(w, k, stride, padding), filters


def unshared_conv_params(
    input_shape: tuple[int, int, int], k: int, filters: int, stride: int = 1, padding: int = 0, bias: bool = True
) -> int:
    """Parameters of the conv layer if every output unit had its own weights: units x ``(k*k*D + 1)``."""
    out_h, out_w, _ = conv_output_shape(input_shape, k, filters, stride, padding)
    return locally_connected_params(out_h, out_w, k, input_shape[2], filters, bias)


@dataclass(frozen=True)
class LayerCounts:
    """The sizes of one conv layer's output and three ways to connect it to its input."""

    input_shape: tuple[int, int, int]
    output_shape: tuple[int, int, int]
    units: int  # output values, one "neuron" each
    shared: int  # a convolution: (k*k*D + 1) * K
    unshared: int  # a locally connected layer: (k*k*D + 1) * units
    dense: int  # a fully connected layer from the whole input to every unit: (H*W*D + 1) * units

    @property
    def ratio(self) -> float:
        """How many times more parameters the layer needs without sharing (= output positions)."""
        return self.unshared / self.shared


def layer_counts(
    input_shape: tuple[int, int, int], k: int, filters: int, stride: int = 1, padding: int = 0, bias: bool = True
) -> LayerCounts:
    """Output shape, unit count and parameter counts (shared, unshared, dense) of one conv layer."""
    shape = _shape3(input_shape)
    out = conv_output_shape(shape, k, filters, stride, padding)
    units = out[0] * out[1] * out[2]
    return LayerCounts(
        shape,
        out,
        units,
        conv_params(k, shape[2], filters, bias),
        locally_connected_params(out[0], out[1], k, shape[2], filters, bias),
        dense_params(shape[0] * shape[1] * shape[2], units, bias),
    )


# The sources' worked examples, as data: (input (H, W, D), filter size, filters, stride, padding).
EXAMPLE_32x32 = ((32, 32, 3), 8, 20, 2, 1)  # seeds/000, the exercise
ALEXNET_CONV1 = ((227, 227, 3), 11, 96, 4, 0)  # seeds/001, 003 5.16, 004
LENET_CONV1 = ((28, 28, 1), 5, 6, 1, 0)  # seeds/001


# --- The edge-detection efficiency example (seeds/002, Goodfellow et al. figure 9.6) ---------------


def conv_flops(out_h: int, out_w: int, kernel_entries: int) -> int:
    """Floating-point operations of a single-channel convolution: per output value,
    ``kernel_entries`` multiplications and ``kernel_entries - 1`` additions."""
    positive(out_h=out_h, out_w=out_w, kernel_entries=kernel_entries)
    return out_h * out_w * (2 * kernel_entries - 1)


def dense_matrix_entries(n_in: int, n_out: int) -> int:
    """Entries of the dense matrix that maps ``n_in`` inputs to ``n_out`` outputs."""
    positive(n_in=n_in, n_out=n_out)
    return n_in * n_out


def dense_matvec_flops(n_in: int, n_out: int) -> int:
    """Flops of a dense matrix-vector product: ``n_in`` multiplications and ``n_in - 1`` additions per output."""
    positive(n_in=n_in, n_out=n_out)
    return n_out * (2 * n_in - 1)


@dataclass(frozen=True)
class EdgeEfficiency:
    """Convolution vs the equivalent matrix for a ``height x width`` image and a 1 x ``k`` kernel."""

    height: int
    width: int
    kernel_entries: int
    out_shape: tuple[int, int]
    conv_flops: int
    dense_entries: int
    dense_flops: int
    sparse_entries: int  # the nonzero entries of that matrix
    sparse_flops: int  # a matrix-vector product that touches only the nonzeros

    @property
    def storage_ratio(self) -> float:
        """Dense matrix entries per kernel entry."""
        return self.dense_entries / self.kernel_entries

    @property
    def flops_ratio(self) -> float:
        """Dense matrix-vector flops per convolution flop."""
        return self.dense_flops / self.conv_flops


def edge_efficiency(height: int = 280, width: int = 320, kernel_entries: int = 2) -> EdgeEfficiency:
    """The costs of the source's example (a 320-wide, 280-high image; the kernel ``[-1, 1]``)."""
    positive(height=height, width=width, kernel_entries=kernel_entries)
    if kernel_entries > width:
        raise ValueError(f"kernel_entries must be at most the width {width}, got {kernel_entries}")
    out = (height, width - kernel_entries + 1)
    n_in, n_out = height * width, out[0] * out[1]
    nonzeros = kernel_entries * n_out
    return EdgeEfficiency(
        height,
        width,
        kernel_entries,
        out,
        conv_flops(*out, kernel_entries),
        dense_matrix_entries(n_in, n_out),
        dense_matvec_flops(n_in, n_out),
        nonzeros,
        conv_flops(*out, kernel_entries),
    )


def rounded_down(value: float, unit: float) -> int:
    """``value`` rounded down to a whole number of ``unit`` (how "over 8 billion" reads)."""
    return int(value // unit * unit)


def rounded(value: float, unit: float) -> int:
    """``value`` rounded to the nearest multiple of ``unit`` (how "about 60,000" reads)."""
    return int(round(value / unit) * unit)


def _claims():
    from cnnbook.book.errata import Claim
    from cnnbook.padding import pad_amounts

    alex = layer_counts(*ALEXNET_CONV1)
    edge = edge_efficiency()
    full = dense_params(1000 * 1000, 10**6, bias=False)
    local = locally_connected_params(1000, 1000, 10, 1, 1, bias=False)
    return [
        Claim(
            "003",
            "5.3.4",
            "a conv layer with I input and O output channels and K values per kernel has I*O*K parameters",
            True,
            lambda: all(
                i * o * k * k == conv_params(k, i, o) for i in range(1, 5) for o in range(1, 5) for k in range(1, 6)
            ),
            "I*O*K counts the weights only; each of the O filters also has a bias, so it is I*O*K + O "
            f"(I = 3, O = 12, a 3x3 kernel: {conv_params(3, 3, 12):,}, not {3 * 12 * 9:,})",
        ),
        # seeds/000: the exercise of the self-driving tutorial
        Claim(
            "000",
            "exercise",
            "32x32x3 input, 20 filters 8x8x3, stride 2, padding 1: output shape",
            (14, 14, 20),
            lambda: layer_counts(*EXAMPLE_32x32).output_shape,
        ),
        Claim(
            "000",
            "exercise",
            "parameters without sharing: (8*8*3 + 1) * (14*14*20)",
            756_560,
            lambda: layer_counts(*EXAMPLE_32x32).unshared,
        ),
        Claim(
            "000",
            "exercise",
            "parameters with sharing: (8*8*3 + 1) * 20 = 3840 + 20",
            3_860,
            lambda: layer_counts(*EXAMPLE_32x32).shared,
        ),
        Claim(
            "000",
            "exercise",
            "of which weights: 8*8*3 * 20 = 3840 (the other 20 are biases)",
            3_840,
            lambda: conv_params(8, 3, 20, bias=False),
        ),
        Claim(
            "000",
            "exercise",
            "the output depth equals the number of filters (D_out = K)",
            20,
            lambda: layer_counts(*EXAMPLE_32x32).output_shape[2],
        ),
        # seeds/001: AlexNet and LeNet, first layer
        Claim(
            "001",
            "AlexNet",
            "AlexNet conv1 output width: ((227 - 11) / 4) + 1",
            55,
            lambda: layer_counts(*ALEXNET_CONV1).output_shape[1],
        ),
        Claim("001", "AlexNet", "AlexNet conv1 units: 55x55x96", 290_400, lambda: layer_counts(*ALEXNET_CONV1).units),
        Claim(
            "001",
            "AlexNet",
            "AlexNet conv1 parameters without sharing: 290400 * (11*11*3 + 1)",
            105_415_600,
            lambda: layer_counts(*ALEXNET_CONV1).unshared,
            f"arithmetic slip: 290,400 x 364 = {alex.unshared:,}, not 105,415,600 "
            "(seeds/003 5.16 and seeds/004 have the right product)",
        ),
        Claim(
            "001",
            "AlexNet",
            "AlexNet conv1 parameters with sharing: 96 * (11*11*3 + 1)",
            34_944,
            lambda: layer_counts(*ALEXNET_CONV1).shared,
        ),
        Claim(
            "001",
            "LeNet",
            "LeNet conv1 output width: ((28 - 5) / 1) + 1",
            24,
            lambda: layer_counts(*LENET_CONV1).output_shape[1],
        ),
        Claim("001", "LeNet", "LeNet conv1 units: 24x24x6", 3_456, lambda: layer_counts(*LENET_CONV1).units),
        Claim(
            "001",
            "LeNet",
            "LeNet conv1 parameters without sharing: 3456 * (5*5*1 + 1)",
            89_856,
            lambda: layer_counts(*LENET_CONV1).unshared,
            "holds for the 28x28 input the article assumes; LeNet-5's paper feeds a 32x32 image to C1, "
            f"so C1 is 28x28x6 and the unshared count is {layer_counts((32, 32, 1), 5, 6).unshared:,} "
            "(the paper's number of connections)",
        ),
        Claim(
            "001",
            "LeNet",
            "LeNet conv1 parameters with sharing: 6 * (5*5*1 + 1)",
            156,
            lambda: layer_counts(*LENET_CONV1).shared,
        ),
        # seeds/002: Goodfellow et al., figure 9.6
        Claim(
            "002",
            "2.12",
            "edge detection: the 320-pixel-wide input gives an output 319 pixels wide",
            319,
            lambda: edge_efficiency().out_shape[1],
        ),
        Claim(
            "002",
            "2.12",
            "the convolution costs 319 x 280 x 3 flops (2 multiplications + 1 addition each)",
            267_960,
            lambda: edge_efficiency().conv_flops,
        ),
        Claim(
            "002",
            "2.12",
            "the equivalent matrix has 320x280x319x280, 'over 8 billion', entries (in billions, rounded down)",
            8 * 10**9,
            lambda: rounded_down(edge_efficiency().dense_entries, 1e9),
            f"exactly {edge.dense_entries:,}",
        ),
        Claim(
            "002",
            "2.12",
            "so convolution is '4 billion times' more efficient to represent (matrix entries per "
            "kernel entry, to the nearest billion)",
            4 * 10**9,
            lambda: rounded(edge_efficiency().storage_ratio, 1e9),
            f"exactly {edge.storage_ratio:,.0f}",
        ),
        Claim(
            "002",
            "2.12",
            "the dense matrix-vector product takes 'over 16 billion' flops (in billions, rounded down)",
            16 * 10**9,
            lambda: rounded_down(edge_efficiency().dense_flops, 1e9),
            f"exactly {edge.dense_flops:,} (89,600 multiplications and 89,599 additions per output)",
        ),
        Claim(
            "002",
            "2.12",
            "so convolution is 'about 60,000 times' cheaper to compute (to the nearest 10,000)",
            60_000,
            lambda: rounded(edge_efficiency().flops_ratio, 1e4),
            f"exactly {edge.flops_ratio:,.0f}",
        ),
        Claim(
            "002",
            "2.12",
            "the sparse matrix still has 2 x 319 x 280 nonzero entries",
            178_640,
            lambda: edge_efficiency().sparse_entries,
        ),
        Claim(
            "002",
            "2.12",
            "stored sparse, the matrix product costs the same flops as the convolution (ratio)",
            1.0,
            lambda: edge_efficiency().sparse_flops / edge_efficiency().conv_flops,
        ),
        # seeds/003 5.16 (from CS231n) and seeds/004 (the same text)
        Claim(
            "003",
            "5.16",
            "AlexNet's first conv layer has 55x55x96 neurons",
            290_400,
            lambda: layer_counts(*ALEXNET_CONV1).units,
        ),
        Claim(
            "003",
            "5.16",
            "each has 11x11x3 = 364 weights, and 1 bias",
            364,
            lambda: 11 * 11 * 3,
            "11 x 11 x 3 = 363; 364 is weights plus the bias (seeds/004 has it right)",
        ),
        Claim(
            "003",
            "5.16",
            "290400 x 364 parameters without sharing",
            105_705_600,
            lambda: layer_counts(*ALEXNET_CONV1).unshared,
        ),
        Claim(
            "003",
            "5.16",
            "a 55x55x96 volume has 96 depth slices",
            96,
            lambda: layer_counts(*ALEXNET_CONV1).output_shape[2],
        ),
        Claim(
            "003",
            "5.16",
            "with sharing: 96x11x11x3 distinct weights",
            34_848,
            lambda: conv_params(11, 3, 96, bias=False),
        ),
        Claim("003", "5.16", "or 34,944 parameters (+96 biases)", 34_944, lambda: layer_counts(*ALEXNET_CONV1).shared),
        Claim(
            "004",
            "sharing",
            "the 55x55x96 volume ('input image' in the translation) of the first layer",
            (55, 55, 96),
            lambda: layer_counts(*ALEXNET_CONV1).output_shape,
            "the numbers hold, but the translation calls 55x55x96 the input image: it is the output of "
            "AlexNet's first layer (96 filters 11x11x3, stride 4, on a 227x227x3 image)",
        ),
        Claim("004", "sharing", "55x55x96 neurons", 290_400, lambda: layer_counts(*ALEXNET_CONV1).units),
        Claim("004", "sharing", "each with 11x11x3 weights (and 1 bias)", 363, lambda: 11 * 11 * 3),
        Claim(
            "004",
            "sharing",
            "290400 x 364 parameters in the first layer without sharing",
            105_705_600,
            lambda: layer_counts(*ALEXNET_CONV1).unshared,
        ),
        Claim(
            "004",
            "sharing",
            "with sharing: 96x11x11x3 unique weights",
            34_848,
            lambda: conv_params(11, 3, 96, bias=False),
        ),
        Claim(
            "004", "sharing", "or 34,944 parameters (+96 biases)", 34_944, lambda: layer_counts(*ALEXNET_CONV1).shared
        ),
        Claim(
            "004",
            "sharing",
            "each depth slice of 55x55 neurons uses one set of parameters: neurons per slice",
            55 * 55,
            lambda: layer_counts(*ALEXNET_CONV1).units // layer_counts(*ALEXNET_CONV1).output_shape[2],
        ),
        # seeds/003 5.27: local connectivity and weight sharing on a 1000x1000 image
        Claim(
            "003",
            "5.27.1",
            "1000x1000 image, 10^6 hidden units, fully connected: 10^12 weights",
            10**12,
            lambda: dense_params(1000 * 1000, 10**6, bias=False),
        ),
        Claim(
            "003",
            "5.27.1",
            "locally connected, each unit sees 10x10 pixels: 10^8 weights",
            10**8,
            lambda: locally_connected_params(1000, 1000, 10, 1, 1, bias=False),
            "10^6 units on a 1000x1000 grid need 'same' padding: {} zeros before and {} after for the even "
            "kernel 10 (chapter 3)".format(*pad_amounts("same", 1000, 10)),
        ),
        Claim(
            "003",
            "5.27.1",
            "local connections cut the count by 4 orders of magnitude (factor)",
            10**4,
            lambda: full // local,
        ),
        Claim(
            "003",
            "5.27.2",
            "sharing the 10x10 weights across all 10^6 units: parameters",
            100,
            lambda: conv_params(10, 1, 1, bias=False),
            "weights only; with the shared bias it is 101",
        ),
        Claim(
            "003",
            "5.27.2",
            "100 such filters: 100 x 100 = 10^4 parameters",
            10**4,
            lambda: conv_params(10, 1, 100, bias=False),
            "weights only; the source adds that biases are shared too (one per filter): 10,100 in all",
        ),
    ]


CLAIMS = _claims()
