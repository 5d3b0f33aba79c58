"""Several input and output channels, and dense layers as convolutions (chapter 2)."""

import numpy as np
import pytest

from cnnbook.channels import (
    D2L_K,
    D2L_X,
    check_layer,
    conv_to_dense,
    dense_layer,
    dense_per_pixel,
    dense_to_conv,
    dense_to_pointwise,
    multi_channel_conv,
    output_shape,
    per_channel_partials,
    window_terms,
)
from cnnbook.conv import conv2d, conv2d_naive
from cnnbook.counts import conv_params

# --- the worked example (d2l.ai) ----------------------------------------------------------------------


def test_the_worked_example_by_hand():
    partials = per_channel_partials(D2L_X, D2L_K[None], 0)
    # channel 0: [[0*0+1*1+3*2+4*3, ...]] = [[19, 25], [37, 43]]; channel 1: [[37, 47], [67, 77]]
    np.testing.assert_array_equal(partials, [[[19, 25], [37, 43]], [[37, 47], [67, 77]]])
    np.testing.assert_array_equal(multi_channel_conv(D2L_X, D2L_K[None]), [[[56, 72], [104, 120]]])


def test_the_worked_example_with_two_output_channels():
    w = np.stack([D2L_K, D2L_K + 1])
    out = multi_channel_conv(D2L_X, w)
    assert out.shape == (2, 2, 2) == output_shape(D2L_X.shape, 2, 2)
    np.testing.assert_array_equal(out, [[[56, 72], [104, 120]], [[76, 100], [148, 172]]])
    # K + 1 adds the sum of each window of both channels: 56 + (0+1+3+4) + (1+2+4+5) = 76
    assert out[1, 0, 0] == out[0, 0, 0] + D2L_X[:, :2, :2].sum()
    with_bias = multi_channel_conv(D2L_X, w, np.array([1.0, -1.0]))
    np.testing.assert_array_equal(with_bias - out, [[[1, 1], [1, 1]], [[-1, -1], [-1, -1]]])


def test_the_constants_are_read_only():
    assert D2L_X.shape == (2, 3, 3) and D2L_K.shape == (2, 2, 2)
    with pytest.raises(ValueError):
        D2L_X[0, 0, 0] = 1


def test_window_terms_take_one_value_apart():
    w = np.stack([D2L_K, D2L_K + 1])
    b = np.array([0.5, -2.0])
    out = multi_channel_conv(D2L_X, w, b)
    for o in range(2):
        for i in range(2):
            for j in range(2):
                t = window_terms(D2L_X, w, o, i, j, b)
                np.testing.assert_array_equal(t.windows, D2L_X[:, i : i + 2, j : j + 2])
                np.testing.assert_array_equal(t.kernels, w[o])
                np.testing.assert_array_equal(t.products.sum(axis=(1, 2)), t.partials)
                np.testing.assert_array_equal(t.partials, per_channel_partials(D2L_X, w, o)[:, i, j])
                assert t.bias == b[o] and t.total == out[o, i, j]
    t = window_terms(D2L_X, D2L_K[None], 0, 0, 0)
    assert t.partials.tolist() == [19, 37] and t.bias == 0 and t.total == 56


# --- against the engine and PyTorch -------------------------------------------------------------------

SHAPES = [(1, 1, 4, 4, 1), (3, 5, 7, 6, 3), (4, 2, 5, 9, 2), (2, 3, 6, 6, 6), (5, 1, 8, 3, 3)]


@pytest.mark.parametrize("c_in, c_out, h, w, k", SHAPES)
def test_random_shapes_against_conv2d(c_in, c_out, h, w, k):
    rng = np.random.default_rng(c_in * 100 + c_out * 10 + k)
    x, weights, b = rng.normal(size=(c_in, h, w)), rng.normal(size=(c_out, c_in, k, k)), rng.normal(size=c_out)
    out = multi_channel_conv(x, weights, b)
    assert out.shape == (c_out, h - k + 1, w - k + 1)
    np.testing.assert_allclose(out, conv2d(x, weights, b), atol=1e-12)
    np.testing.assert_allclose(out, conv2d_naive(x, weights, b), atol=1e-12)
    # each output channel is the sum of the per-channel partials, plus its bias
    for o in range(c_out):
        np.testing.assert_allclose(per_channel_partials(x, weights, o).sum(axis=0) + b[o], out[o], atol=1e-12)


def test_rectangular_kernels():
    rng = np.random.default_rng(7)
    x, w = rng.normal(size=(3, 6, 7)), rng.normal(size=(2, 3, 2, 4))
    np.testing.assert_allclose(multi_channel_conv(x, w), conv2d(x, w), atol=1e-12)


@pytest.mark.parametrize("c_in, c_out, h, w, k", SHAPES)
def test_against_pytorch(c_in, c_out, h, w, k):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(k)
    x, weights, b = rng.normal(size=(c_in, h, w)), rng.normal(size=(c_out, c_in, k, k)), rng.normal(size=c_out)
    expected = torch.nn.functional.conv2d(
        torch.from_numpy(x)[None], torch.from_numpy(weights), torch.from_numpy(b)
    ).numpy()[0]
    np.testing.assert_allclose(multi_channel_conv(x, weights, b), expected, atol=1e-10)


def test_the_worked_example_against_pytorch():
    torch = pytest.importorskip("torch")
    w = np.stack([D2L_K, D2L_K + 1])
    expected = torch.nn.functional.conv2d(torch.from_numpy(D2L_X.copy())[None], torch.from_numpy(w)).numpy()[0]
    np.testing.assert_array_equal(multi_channel_conv(D2L_X, w), expected)


def test_the_weight_count():
    for c_in, c_out, k in [(2, 2, 2), (3, 64, 3), (192, 64, 1)]:
        w = np.zeros((c_out, c_in, k, k))
        assert w.size + c_out == c_out * c_in * k * k + c_out == conv_params(k, c_in, c_out)


# --- dense layers as convolutions ---------------------------------------------------------------------


def test_a_dense_layer_is_a_convolution_with_map_sized_filters():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5, 4))
    weight, bias = rng.normal(size=(7, x.size)), rng.normal(size=7)
    w = dense_to_conv(weight, x.shape)
    assert w.shape == (7, 3, 5, 4)
    as_conv = conv2d(x, w, bias)
    assert as_conv.shape == (7, 1, 1)
    np.testing.assert_allclose(as_conv[:, 0, 0], dense_layer(x, weight, bias), atol=1e-12)
    np.testing.assert_allclose(multi_channel_conv(x, w, bias)[:, 0, 0], weight @ x.ravel() + bias, atol=1e-12)
    np.testing.assert_array_equal(conv_to_dense(w), weight)


def test_dense_to_conv_keeps_the_flattening_order():
    # unit 0 reads only x[c=1, h=2, w=0]: the flat index of (1, 2, 0) in a (2, 3, 4) map is 1*12 + 2*4 + 0 = 20
    weight = np.zeros((1, 24))
    weight[0, 20] = 1
    assert np.argwhere(dense_to_conv(weight, (2, 3, 4))[0]).tolist() == [[1, 2, 0]]


def test_a_1x1_convolution_is_a_dense_layer_at_every_pixel():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 5, 6))
    weight, bias = rng.normal(size=(3, 4)), rng.normal(size=3)
    w = dense_to_pointwise(weight)
    assert w.shape == (3, 4, 1, 1)
    per_pixel = dense_per_pixel(x, weight, bias)
    np.testing.assert_allclose(conv2d(x, w, bias), per_pixel, atol=1e-12)
    np.testing.assert_allclose(multi_channel_conv(x, w, bias), per_pixel, atol=1e-12)
    np.testing.assert_array_equal(conv_to_dense(w), weight)
    np.testing.assert_allclose(per_pixel[:, 2, 3], weight @ x[:, 2, 3] + bias, atol=1e-12)


# --- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x_shape, w_shape, b_shape, wanted",
    [
        ((3, 3), (1, 1, 2, 2), None, r"x must have shape \(C_in, H, W\), got \(3, 3\)"),
        ((2, 3, 3), (2, 2, 2), None, r"w must have shape \(C_out, 2, kh, kw\)"),
        ((2, 3, 3), (1, 3, 2, 2), None, r"w must have shape \(C_out, 2, kh, kw\).*got \(1, 3, 2, 2\)"),
        ((2, 3, 3), (1, 2, 4, 2), None, r"kernel 4x2 must fit in the 3x3 input"),
        ((2, 3, 3), (2, 2, 2, 2), (3,), r"b must have shape \(2,\), one bias per output channel, got \(3,\)"),
        ((0, 3, 3), (1, 0, 2, 2), None, r"must not be empty"),
    ],
)
def test_bad_shapes_name_the_shape_wanted(x_shape, w_shape, b_shape, wanted):
    b = None if b_shape is None else np.zeros(b_shape)
    with pytest.raises(ValueError, match=wanted):
        multi_channel_conv(np.zeros(x_shape), np.zeros(w_shape), b)
    with pytest.raises(ValueError, match=wanted):
        check_layer(np.zeros(x_shape), np.zeros(w_shape), b)


def test_bad_positions_and_channels():
    w = D2L_K[None]
    with pytest.raises(ValueError, match="out_channel must be below the 1 output channels"):
        per_channel_partials(D2L_X, w, 1)
    with pytest.raises(ValueError, match="out_channel must be an integer >= 0"):
        per_channel_partials(D2L_X, w, -1)
    with pytest.raises(ValueError, match=r"position of the 2x2 output, got \(2, 0\)"):
        window_terms(D2L_X, w, 0, 2, 0)
    with pytest.raises(ValueError, match=r"input_shape must be \(C_in, H, W\)"):
        output_shape((3, 3), 1, 2)


def test_bad_dense_shapes():
    x = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"weight must have shape \(units, 24\), got \(5, 23\)"):
        dense_layer(x, np.zeros((5, 23)))
    with pytest.raises(ValueError, match=r"weight must have shape \(units, 24\), got \(5, 23\)"):
        dense_to_conv(np.zeros((5, 23)), x.shape)
    with pytest.raises(ValueError, match=r"shape must be the map's \(C, H, W\)"):
        dense_to_conv(np.zeros((5, 12)), (3, 4))
    with pytest.raises(ValueError, match=r"bias must have shape \(5,\), one per unit"):
        dense_layer(x, np.zeros((5, 24)), np.zeros(4))
    with pytest.raises(ValueError, match=r"weight must have shape \(units, 2\), got \(3, 4\)"):
        dense_per_pixel(x, np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"weight must have shape \(units, n_in\)"):
        dense_to_pointwise(np.zeros(3))
    with pytest.raises(ValueError, match=r"w must have shape \(units, C, kh, kw\)"):
        conv_to_dense(np.zeros((3, 4)))
