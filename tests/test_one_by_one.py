"""cnnbook.one_by_one: counts worked by hand, and the operations the counts describe."""

import numpy as np
import pytest

from cnnbook.conv import conv2d
from cnnbook.one_by_one import (
    GOOGLENET_3A,
    ConvSpec,
    alexnet_params,
    bottleneck,
    conv1x1,
    depthwise_conv2d,
    depthwise_separable,
    depthwise_separable_conv2d,
    googlenet_depth,
    googlenet_params,
    inception,
    inception_channels,
    macs,
    params,
    pointwise,
    receptive_field,
    separable_ratio,
    spatially_separable,
    stacked,
    standard_conv,
)


def test_layer_counts_by_hand():
    assert ConvSpec("a", 3, 3, 4, 5).params() == (3 * 3 * 4 + 1) * 5 == 185
    assert ConvSpec("a", 3, 1, 4, 5).params(bias=False) == 60
    assert ConvSpec("dw", 3, 3, 8, 8, groups=8).params() == 8 * (9 + 1)
    assert ConvSpec("a", 3, 3, 4, 5).macs(10, 7) == 180 * 70
    assert params(conv1x1(192, 64), bias=False) == 192 * 64


def test_googlenet_3a_by_hand():
    naive = inception(192, 64, 128, 32)
    assert params(naive, bias=False) == 12_288 + 221_184 + 153_600
    reduced = inception(**GOOGLENET_3A)
    assert params(reduced, bias=False) == 12_288 + 18_432 + 110_592 + 3_072 + 12_800 + 6_144
    assert params(reduced) == params(reduced, bias=False) + 64 + 96 + 128 + 16 + 32 + 32
    assert macs(naive, 28) == params(naive, bias=False) * 784
    assert inception_channels(192, 64, 128, 32) == 416 and inception_channels(192, 64, 128, 32, 32) == 256


def test_bottleneck_and_separable_by_hand():
    assert params(standard_conv(256, 256), bias=False) == 589_824
    assert params(bottleneck(256, 64), bias=False) == 16_384 + 36_864 + 16_384
    assert params(depthwise_separable(3, 256), bias=False) == 27 + 768
    assert params(stacked(1, 3, 2)) == 20 and params(standard_conv(1, 1, 5)) == 26
    assert params(spatially_separable(1, 1, 3), bias=False) == 6  # Sobel's 6 instead of 9
    assert receptive_field(3, 2) == 5 and receptive_field(3, 3) == 7


@pytest.mark.parametrize("c_in, c_out, k", [(3, 256, 3), (32, 64, 5), (7, 1, 3)])
def test_separable_ratio_formula(c_in, c_out, k):
    ratio = params(depthwise_separable(c_in, c_out, k), bias=False) / params(standard_conv(c_in, c_out, k), bias=False)
    assert ratio == pytest.approx(separable_ratio(c_out, k))


def test_whole_networks():
    assert alexnet_params() == 60_965_224  # the paper's "60 million"
    assert googlenet_depth() == 22
    assert 6_000_000 < googlenet_params() < 7_000_000


def test_bad_specs_are_named():
    with pytest.raises(ValueError, match="groups must divide c_in and c_out"):
        ConvSpec("x", 3, 3, 6, 4, groups=4)
    with pytest.raises(ValueError, match="c_in must be a positive integer, got 0"):
        ConvSpec("x", 3, 3, 0, 4)
    with pytest.raises(ValueError, match=r"w must have shape \(K, 3\)"):
        pointwise(np.zeros((3, 4, 4)), np.zeros((5, 2)))


def test_pointwise_is_a_1x1_convolution():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(6, 5, 4)), rng.normal(size=(3, 6, 1, 1))
    np.testing.assert_allclose(pointwise(x, w), conv2d(x, w))
    # and at every pixel it is a dense layer on that pixel's channel vector
    np.testing.assert_allclose(pointwise(x, w)[:, 2, 3], w[:, :, 0, 0] @ x[:, 2, 3])


def test_depthwise_separable_is_a_conv_with_a_factored_kernel():
    rng = np.random.default_rng(1)
    x, dw, pw = rng.normal(size=(3, 7, 6)), rng.normal(size=(3, 3, 3)), rng.normal(size=(5, 3))
    full = pw[:, :, None, None] * dw[None]  # W[k, c] = P[k, c] * D[c]
    np.testing.assert_allclose(depthwise_separable_conv2d(x, dw, pw, padding=1), conv2d(x, full, padding=1))
    np.testing.assert_allclose(depthwise_conv2d(x, dw)[1], conv2d(x[1], dw[1]))


def test_counts_match_torch_layers():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    assert params(bottleneck(256, 64)) == count(
        nn.Sequential(nn.Conv2d(256, 64, 1), nn.Conv2d(64, 64, 3), nn.Conv2d(64, 256, 1))
    )
    assert params(depthwise_separable(32, 64, 5)) == count(
        nn.Sequential(nn.Conv2d(32, 32, 5, groups=32), nn.Conv2d(32, 64, 1))
    )
    assert params(spatially_separable(4, 8, 3)) == count(
        nn.Sequential(nn.Conv2d(4, 8, (3, 1)), nn.Conv2d(8, 8, (1, 3)))
    )
    assert params(inception(**GOOGLENET_3A)) == count(
        nn.ModuleList(
            [
                nn.Conv2d(192, 64, 1),
                nn.Conv2d(192, 96, 1),
                nn.Conv2d(96, 128, 3),
                nn.Conv2d(192, 16, 1),
                nn.Conv2d(16, 32, 5),
                nn.Conv2d(192, 32, 1),
            ]
        )
    )
