"""cnnbook.one_by_one: counts worked by hand, and the operations the counts describe."""

import numpy as np
import pytest

from cnnbook.conv import conv2d
from cnnbook.one_by_one import (
    CONVOLUTION_KINDS,
    GOOGLENET_3A,
    ConvSpec,
    alexnet_params,
    bottleneck,
    channel_reach,
    channel_shuffle,
    conv1x1,
    depthwise_conv2d,
    depthwise_separable,
    depthwise_separable_conv2d,
    googlenet_depth,
    googlenet_params,
    grouped,
    grouped_conv2d,
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


def test_grouped_counts_match_torch():
    torch = pytest.importorskip("torch")
    for c_in, c_out, k, groups in [(256, 256, 3, 32), (96, 256, 5, 2), (64, 64, 3, 64), (8, 12, 1, 4)]:
        layer = torch.nn.Conv2d(c_in, c_out, k, groups=groups)
        assert params(grouped(c_in, c_out, k, groups)) == sum(p.numel() for p in layer.parameters())
        assert params(grouped(c_in, c_out, k, groups), bias=False) * groups == params(
            standard_conv(c_in, c_out, k), bias=False
        )
        assert macs(grouped(c_in, c_out, k, groups), 7) == layer.weight.numel() * 49


def test_grouped_conv2d_matches_torch_and_the_block_diagonal_kernel():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(8, 9, 7)), rng.normal(size=(12, 2, 3, 3))
    expected = torch.nn.functional.conv2d(torch.tensor(x)[None], torch.tensor(w), padding=1, groups=4)[0].numpy()
    np.testing.assert_allclose(grouped_conv2d(x, w, 4, padding=1), expected, atol=1e-12)
    full = np.zeros((12, 8, 3, 3))
    for g in range(4):
        full[3 * g : 3 * g + 3, 2 * g : 2 * g + 2] = w[3 * g : 3 * g + 3]
    np.testing.assert_allclose(grouped_conv2d(x, w, 4), conv2d(x, full), atol=1e-12)
    np.testing.assert_allclose(grouped_conv2d(x, rng.normal(size=(8, 1, 3, 3)), 8).shape, (8, 7, 5))
    with pytest.raises(ValueError, match=r"w must have shape \(12, 2, k, k\)"):
        grouped_conv2d(x, np.ones((12, 3, 3, 3)), 4)


def test_channel_shuffle_lets_information_cross_groups():
    np.testing.assert_array_equal(channel_shuffle(np.arange(6).reshape(6, 1, 1), 2)[:, 0, 0], [0, 3, 1, 4, 2, 5])
    without = channel_reach([("grouped", 2), ("grouped", 2)], 8)
    with_shuffle = channel_reach([("grouped", 2), ("shuffle", 2), ("grouped", 2)], 8)
    assert (without.sum(axis=1) == 4).all() and (with_shuffle.sum(axis=1) == 8).all()
    assert [kind for kind, *_ in CONVOLUTION_KINDS].count("grouped convolution, and the channel shuffle") == 1


def test_sees_both_is_the_receptive_field():
    from cnnbook.one_by_one import sees_both

    for k in (1, 2, 3, 5):
        for n in (1, 2, 3):
            for d in range(1, 12):
                assert (sees_both(k, d, n) > 0) == (d < receptive_field(k, n)), (k, n, d)
    # more layers never see less
    assert sees_both(3, 4, 3) > sees_both(3, 4, 2) > sees_both(3, 4, 1) == 0


def test_layers_needed():
    from cnnbook.one_by_one import layers_needed

    assert [layers_needed(3, d) for d in (1, 2, 3, 4, 10)] == [1, 1, 2, 2, 5]
    assert layers_needed(11, 10) == 1 and layers_needed(5, 10) == 3
    with pytest.raises(ValueError, match="k must be at least 2"):
        layers_needed(1, 3, limit=5)
    with pytest.raises(ValueError, match="distance must be a positive integer"):
        layers_needed(3, 0)
