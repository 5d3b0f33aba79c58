"""conv_transpose2d and cnnbook.transposed: hand-worked cases, the adjoint identity, and PyTorch."""

from pathlib import Path

import numpy as np
import pytest

from cnnbook.conv import conv2d, conv_transpose2d, transposed_output_size
from cnnbook.transposed import (
    alternating_from_ramp,
    bilinear_upsample,
    checkerboard_free,
    conv3d,
    dilated_kernel,
    icnr_weights,
    increment,
    interior,
    interior_spread,
    nearest_upsample,
    overlap_1d,
    overlap_2d,
    pixel_shuffle,
    pixel_unshuffle,
    resize_conv,
    stack_layers,
    subpixel_conv,
    subpixel_weights,
    transposed_pieces,
    transposed_via_conv,
    unevenness,
    zero_insert,
)


def test_stride_one_by_hand():
    # each input value stamps the kernel at its own position; the stamps overlap and add
    x = np.array([[1.0, 2.0]])
    w = np.array([[1.0, 10.0]])
    np.testing.assert_array_equal(conv_transpose2d(x, w), [[1, 12, 20]])


def test_stride_three_example_of_the_source():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    w = np.arange(16, dtype=float).reshape(4, 4)
    out = conv_transpose2d(x, w, stride=3)
    assert out.shape == (7, 7)
    assert out[0, 3] == 1 * w[0, 3] + 2 * w[0, 0]  # red (1,4) + green (1,1), 1-based in the source
    assert out[3, 3] == 1 * w[3, 3] + 2 * w[3, 0] + 3 * w[0, 3] + 4 * w[0, 0]
    np.testing.assert_array_equal(out[:3, :3], w[:3, :3])


def test_padding_crops_and_output_padding_extends():
    x, w = np.ones((2, 2)), np.ones((3, 3))
    full = conv_transpose2d(x, w, stride=2)
    np.testing.assert_array_equal(conv_transpose2d(x, w, stride=2, padding=1), full[1:-1, 1:-1])
    extended = conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)
    assert extended.shape == (4, 4)
    np.testing.assert_array_equal(extended, full[1:, 1:])  # the extra row and column give back what the crop removed
    np.testing.assert_array_equal(extended[3], [1, 2, 1, 1])


@pytest.mark.parametrize(
    "n, k, s, p, op, expected",
    [(2, 3, 2, 0, 0, 5), (2, 4, 3, 0, 0, 7), (3, 3, 2, 1, 0, 5), (4, 3, 2, 1, 1, 8), (5, 1, 1, 0, 0, 5)],
)
def test_output_size(n, k, s, p, op, expected):
    assert transposed_output_size(n, k, s, p, op) == expected


def test_bad_arguments_are_named():
    with pytest.raises(
        ValueError, match=r"output_padding must be smaller than the stride \(2\) or the dilation \(1\), got 2"
    ):
        transposed_output_size(3, 3, 2, 0, 2)
    with pytest.raises(ValueError, match="crops away the whole output"):
        conv_transpose2d(np.ones((1, 1)), np.ones((1, 1)), padding=1)
    with pytest.raises(ValueError, match=r"w must have shape \(3, C_out, kh, kw\)"):
        conv_transpose2d(np.ones((3, 4, 4)), np.ones((2, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"b must have shape \(5,\)"):
        conv_transpose2d(np.ones((3, 4, 4)), np.ones((3, 5, 3, 3)), b=np.ones(3))


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 0), (2, 1), (3, 2), ((2, 3), (1, 0))])
def test_adjoint_of_conv2d(stride, padding):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3, 3, 4))  # conv2d: 3 -> 4 channels; conv_transpose2d: 4 -> 3 channels
    x = rng.normal(size=(2, 3, 11, 10))
    y_shape = conv2d(x, w, stride=stride, padding=padding).shape
    y = rng.normal(size=y_shape)
    s = (stride, stride) if isinstance(stride, int) else stride
    p = (padding, padding) if isinstance(padding, int) else padding
    op = tuple((n + 2 * pp - k) % ss for n, pp, k, ss in zip(x.shape[2:], p, w.shape[2:], s))  # the rows floor dropped
    back = conv_transpose2d(y, w, stride=stride, padding=padding, output_padding=op)
    assert back.shape == x.shape
    assert np.sum(conv2d(x, w, stride=stride, padding=padding) * y) == pytest.approx(np.sum(x * back), rel=1e-12)


def test_matrix_of_the_transpose_is_the_transposed_matrix():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(3, 3))
    n = 5
    conv_matrix = np.stack([conv2d(e.reshape(n, n), w, stride=2).ravel() for e in np.eye(n * n)], axis=1)  # (4, 25)
    t_matrix = np.stack([conv_transpose2d(e.reshape(2, 2), w, stride=2).ravel() for e in np.eye(4)], axis=1)  # (25, 4)
    np.testing.assert_allclose(t_matrix, conv_matrix.T)


def test_pieces_zero_insertion_and_conv_agree():
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(3, 4)), rng.normal(size=(3, 3))
    for s in (1, 2, 3):
        np.testing.assert_allclose(sum(p for _, p in transposed_pieces(x, w, s)), conv_transpose2d(x, w, stride=s))
        for p in range(3):
            np.testing.assert_allclose(transposed_via_conv(x, w, s, p), conv_transpose2d(x, w, stride=s, padding=p))
    np.testing.assert_array_equal(zero_insert(np.array([[1.0, 2.0]]), 3), [[1, 0, 0, 2]])


def test_overlap_patterns_by_hand():
    np.testing.assert_array_equal(overlap_1d(4, 3, 2), [1, 1, 2, 1, 2, 1, 2, 1, 1])
    np.testing.assert_array_equal(overlap_1d(3, 4, 2), [1, 1, 2, 2, 2, 2, 1, 1])
    np.testing.assert_array_equal(overlap_1d(3, 2, 3), [1, 1, 0, 1, 1, 0, 1, 1])  # k < s leaves holes
    np.testing.assert_array_equal(overlap_2d(4, 3, 2), np.outer(overlap_1d(4, 3, 2), overlap_1d(4, 3, 2)))
    np.testing.assert_array_equal(interior(overlap_1d(4, 3, 2), 3, 2), [2, 1, 2, 1, 2])


@pytest.mark.parametrize("k", range(1, 9))
@pytest.mark.parametrize("s", range(1, 5))
def test_unevenness_formula_and_divisibility(k, s):
    counts = interior(overlap_2d(12, k, s), k, s)
    expected = np.inf if counts.min() == 0 else counts.max() / counts.min()
    assert unevenness(k, s, dims=2) == expected
    assert checkerboard_free(k, s) == (k % s == 0)
    assert checkerboard_free(k, s) == (counts.min() == counts.max())


def test_resize_then_convolve():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(nearest_upsample(x, 2), [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    np.testing.assert_allclose(bilinear_upsample(x, 2)[0], [1, 1.25, 1.75, 2])
    flat = resize_conv(np.ones((3, 3)), np.full((3, 3), 1 / 9), 2, "bilinear")
    np.testing.assert_allclose(flat[1:-1, 1:-1], 1.0)  # a constant image stays constant: no checkerboard
    with pytest.raises(ValueError, match="odd sides"):
        resize_conv(x, np.ones((2, 2)), 2)
    with pytest.raises(ValueError, match="method must be one of"):
        resize_conv(x, np.ones((3, 3)), 2, "cubic")


def test_increment_images():
    x = np.array([[1.0], [2.0], [4.0]])
    np.testing.assert_array_equal(increment(x, "nearest").ravel(), [0, 1, 0, 2, 0, 4])
    np.testing.assert_array_equal(increment(x, "bilinear").ravel(), [0, 1.5, 0, 3, 0, 2.5])


def test_dilation_and_3d():
    np.testing.assert_array_equal(dilated_kernel(np.ones((3, 3)), 2).shape, (5, 5))
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(2, 5, 6, 7)), rng.normal(size=(3, 2, 2, 3, 3))
    out = conv3d(x, w)
    assert out.shape == (3, 4, 4, 5)
    assert out[1, 2, 0, 3] == pytest.approx(np.sum(x[:, 2:4, 0:3, 3:6] * w[1]))
    # a 3-D convolution whose kernel spans the whole depth is a 2-D convolution over depth-as-channels
    deep = rng.normal(size=(4, 2, 5, 3, 3))
    np.testing.assert_allclose(conv3d(x, deep)[:, 0], conv2d(x.reshape(10, 6, 7), deep.reshape(4, 10, 3, 3)))


@pytest.mark.parametrize(
    "stride, padding, output_padding", [(1, 0, 0), (2, 0, 1), (3, 1, 2), ((2, 3), (1, 0), (1, 2)), (2, 2, 0)]
)
def test_matches_torch_conv_transpose2d(stride, padding, output_padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=(2, 3, 5, 4)), rng.normal(size=(3, 4, 3, 4)), rng.normal(size=4)
    expected = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(x),
        torch.from_numpy(w),
        torch.from_numpy(b),
        stride=stride,
        padding=padding,
        output_padding=output_padding,
    )
    np.testing.assert_allclose(conv_transpose2d(x, w, b, stride, padding, output_padding), expected.numpy(), atol=1e-12)


@pytest.mark.parametrize("scale", [2, 3])
def test_upsampling_matches_torch(scale):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).normal(size=(5, 7))
    t = torch.from_numpy(x)[None, None]
    interpolate = torch.nn.functional.interpolate
    np.testing.assert_allclose(
        bilinear_upsample(x, scale),
        interpolate(t, scale_factor=scale, mode="bilinear", align_corners=False)[0, 0].numpy(),
        atol=1e-12,
    )
    np.testing.assert_array_equal(
        nearest_upsample(x, scale), interpolate(t, scale_factor=scale, mode="nearest")[0, 0].numpy()
    )


def test_conv3d_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x, w = rng.normal(size=(2, 5, 6, 7)), rng.normal(size=(3, 2, 3, 2, 4))
    expected = torch.nn.functional.conv3d(torch.from_numpy(x)[None], torch.from_numpy(w))[0].numpy()
    np.testing.assert_allclose(conv3d(x, w), expected, atol=1e-12)


def test_stacked_transposed_layers_compound_the_unevenness():
    flat = np.ones((12, 12))

    def transposed(x):
        return conv_transpose2d(x, np.full((3, 3), (2 / 3) ** 2), stride=2, padding=1, output_padding=1)

    def resized(x):
        return resize_conv(x, np.full((3, 3), 1 / 9), 2, "nearest")

    spreads = [interior_spread(y, 2 ** (n + 2)) for n, y in enumerate(stack_layers(flat, transposed, 3))]
    assert spreads[0] == pytest.approx(unevenness(3, 2, dims=2)) and spreads[0] < spreads[1] < spreads[2]
    assert [interior_spread(y, 2 ** (n + 2)) for n, y in enumerate(stack_layers(flat, resized, 3))] == [1, 1, 1]


def test_resize_convolution_can_still_alternate():
    # it has no uneven overlap, but its weights can paint a period-2 pattern: it discourages, not forbids
    row = alternating_from_ramp(8)
    np.testing.assert_array_equal(row[:14], [0, -1] * 7)
    text = (Path(__file__).resolve().parents[1] / "notebooks/06-transposed-convolution.ipynb").read_text()
    assert "cannot paint" not in text and "*discourages*" in text


def test_pixel_shuffle_by_hand():
    x = np.arange(8.0).reshape(4, 1, 2)  # four 1x2 maps become one 2x4 map
    np.testing.assert_array_equal(pixel_shuffle(x, 2), [[[0, 2, 1, 3], [4, 6, 5, 7]]])
    # phase (i, j) of the output is channel i*r + j
    y = pixel_shuffle(np.random.default_rng(0).normal(size=(2, 9, 3, 4)), 3)
    assert y.shape == (2, 1, 9, 12)
    np.testing.assert_array_equal(y[1, 0, 2::3, 1::3], pixel_unshuffle(y, 3)[1, 2 * 3 + 1])


def test_pixel_unshuffle_inverts_shuffle():
    x = np.random.default_rng(1).normal(size=(3, 8, 5, 2))
    np.testing.assert_array_equal(pixel_unshuffle(pixel_shuffle(x, 2), 2), x)
    np.testing.assert_array_equal(pixel_shuffle(x, 1), x)


@pytest.mark.parametrize("r, shape", [(2, (2, 8, 3, 4)), (3, (18, 2, 5)), (1, (3, 4, 4))])
def test_pixel_shuffle_matches_torch(r, shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).normal(size=shape)
    np.testing.assert_array_equal(pixel_shuffle(x, r), torch.nn.functional.pixel_shuffle(torch.tensor(x), r).numpy())
    y = pixel_shuffle(x, r)
    np.testing.assert_array_equal(
        pixel_unshuffle(y, r), torch.nn.functional.pixel_unshuffle(torch.tensor(y), r).numpy()
    )


@pytest.mark.parametrize("c_in, c_out, k, r", [(1, 1, 2, 2), (2, 3, 2, 2), (3, 2, 1, 3), (2, 2, 3, 2), (1, 2, 2, 3)])
def test_subpixel_layer_is_a_transposed_convolution_whose_kernel_the_stride_divides(c_in, c_out, k, r):
    rng = np.random.default_rng(3)
    w_t, x = rng.normal(size=(c_in, c_out, k * r, k * r)), rng.normal(size=(c_in, 5, 6))
    expected = conv_transpose2d(x, w_t, stride=r)
    np.testing.assert_allclose(subpixel_conv(x, subpixel_weights(w_t, r), r, padding=k - 1), expected, atol=1e-12)


def test_subpixel_layer_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x, w = rng.normal(size=(3, 6, 5)), rng.normal(size=(8, 3, 3, 3))
    expected = torch.nn.functional.pixel_shuffle(
        torch.nn.functional.conv2d(torch.tensor(x)[None], torch.tensor(w), padding=1), 2
    )
    np.testing.assert_allclose(subpixel_conv(x, w, 2, padding=1), expected[0].numpy(), atol=1e-12)
    w_t = rng.normal(size=(3, 2, 4, 4))
    t_out = torch.nn.functional.conv_transpose2d(torch.tensor(x)[None], torch.tensor(w_t), stride=2)
    np.testing.assert_allclose(subpixel_conv(x, subpixel_weights(w_t, 2), 2, padding=1), t_out[0].numpy(), atol=1e-12)


def test_constant_input_and_the_phases():
    flat = np.ones((12, 12))
    rng = np.random.default_rng(5)
    # different phases paint a period-r pattern on a constant input, however even the overlap is ...
    varied = subpixel_conv(flat, rng.uniform(0.5, 1.5, size=(4, 1, 2, 2)), 2, padding=1)
    assert interior_spread(varied, 2) > 1.1
    np.testing.assert_allclose(varied[2:-2:2, 2:-2:2], varied[2, 2])  # constant within one phase
    # ... and equal phases (ICNR) leave it constant: the layer is a convolution, then a nearest resize
    w = rng.uniform(0.5, 1.5, size=(1, 1, 2, 2))
    assert interior_spread(subpixel_conv(flat, icnr_weights(w, 2), 2, padding=1), 2) == pytest.approx(1.0)
    x = rng.normal(size=(1, 7, 6))
    np.testing.assert_allclose(
        subpixel_conv(x, icnr_weights(w, 3), 3, padding=1), [nearest_upsample(conv2d(x, w, padding=1)[0], 3)]
    )
    # the transposed convolution with equal weights and k = 4, s = 2 is a sub-pixel layer with equal phases
    phases = subpixel_weights(np.ones((4, 4)), 2)
    np.testing.assert_array_equal(phases, icnr_weights(np.ones((1, 1, 2, 2)), 2))


def test_subpixel_bad_input():
    with pytest.raises(ValueError, match="channel count divisible by 4"):
        pixel_shuffle(np.zeros((3, 2, 2)), 2)
    with pytest.raises(ValueError, match="r must be a positive integer"):
        pixel_shuffle(np.zeros((4, 2, 2)), 0)
    with pytest.raises(ValueError, match="height and width divisible by 2"):
        pixel_unshuffle(np.zeros((1, 3, 4)), 2)
    with pytest.raises(ValueError, match="a multiple of r\\^2 = 4 filters"):
        subpixel_conv(np.zeros((1, 4, 4)), np.zeros((3, 1, 2, 2)), 2)
    with pytest.raises(ValueError, match="x must have shape"):
        subpixel_conv(np.zeros(4), np.zeros((4, 1, 2, 2)), 2)
    with pytest.raises(ValueError, match="divisible by the stride r = 2"):
        subpixel_weights(np.zeros((3, 3)), 2)
    with pytest.raises(ValueError, match="w must have shape"):
        icnr_weights(np.zeros((2, 2)), 2)
