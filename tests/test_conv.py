"""cnnbook.conv against hand-worked cases, its own loop version, and PyTorch when installed."""

import numpy as np
import pytest

from cnnbook.conv import conv2d, conv2d_naive, convolve2d, output_size


@pytest.mark.parametrize(
    "n, k, s, p, d, expected",
    [
        (6, 3, 1, 0, 1, 4),
        (32, 3, 1, 1, 1, 32),
        (32, 8, 2, 1, 1, 14),
        (227, 11, 4, 0, 1, 55),
        (7, 3, 1, 0, 2, 3),
        (5, 3, 2, 0, 1, 2),
        (8, 3, 2, 0, 1, 3),
        (1, 1, 1, 0, 1, 1),
    ],
)
def test_output_size_hand_worked(n, k, s, p, d, expected):
    assert output_size(n, k, s, p, d) == expected


def test_output_size_rejects_a_kernel_larger_than_the_padded_input():
    with pytest.raises(ValueError, match="spans 5 inputs.*padded input has only 4"):
        output_size(4, 3, d=2)


@pytest.mark.parametrize("bad", [dict(n=0, k=1), dict(n=5, k=3, s=0), dict(n=5, k=3, p=-1), dict(n=5.0, k=3)])
def test_output_size_rejects_bad_arguments(bad):
    with pytest.raises(ValueError):
        output_size(**bad)


def test_single_channel_hand_worked():
    x = np.arange(16, dtype=float).reshape(4, 4)
    w = np.array([[1.0, 0.0], [0.0, -1.0]])
    np.testing.assert_array_equal(conv2d(x, w), np.full((3, 3), -5.0))


def test_stride_padding_dilation_by_hand():
    x = np.arange(25, dtype=float).reshape(5, 5)
    w = np.ones((2, 2))
    # padding 1 and stride 2 -> 3x3; the corner window sees only x[0, 0]
    out = conv2d(x, w, padding=1, stride=2)
    assert out.shape == (3, 3) and out[0, 0] == 0.0 and out[1, 1] == x[1:3, 1:3].sum()
    # dilation 2: the 2x2 kernel touches x[0,0], x[0,2], x[2,0], x[2,2]
    assert conv2d(x, w, dilation=2)[0, 0] == x[0, 0] + x[0, 2] + x[2, 0] + x[2, 2]


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 1, 1), ((2, 1), (0, 2), (2, 1)), (3, 2, 2)])
def test_vectorised_equals_naive(stride, padding, dilation):
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 3, 11, 9)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    np.testing.assert_allclose(
        conv2d(x, w, b, stride, padding, dilation), conv2d_naive(x, w, b, stride, padding, dilation), atol=1e-12
    )


def test_shapes_follow_the_input():
    rng = np.random.default_rng(1)
    assert conv2d(rng.normal(size=(6, 6)), rng.normal(size=(3, 3))).shape == (4, 4)
    assert conv2d(rng.normal(size=(3, 6, 6)), rng.normal(size=(5, 3, 3, 3))).shape == (5, 4, 4)
    assert conv2d(rng.normal(size=(2, 3, 6, 6)), rng.normal(size=(5, 3, 3, 3))).shape == (2, 5, 4, 4)


@pytest.mark.parametrize(
    "x_shape, w_shape, message",
    [
        ((3, 6, 6), (5, 2, 3, 3), r"w must have shape \(K, 3, kh, kw\).*got \(5, 2, 3, 3\)"),
        ((6,), (3, 3), r"x must have shape \(H, W\), \(C, H, W\) or \(N, C, H, W\), got \(6,\)"),
        ((3, 6, 6), (3, 3), r"w must have shape \(K, C, kh, kw\)"),
        ((4, 4), (5, 5), "spans 5 inputs"),
    ],
)
def test_bad_shapes_name_the_expected_shape(x_shape, w_shape, message):
    with pytest.raises(ValueError, match=message):
        conv2d(np.zeros(x_shape), np.zeros(w_shape))


def test_bias_shape_is_checked():
    with pytest.raises(ValueError, match=r"b must have shape \(2,\)"):
        conv2d(np.zeros((1, 5, 5)), np.zeros((2, 1, 3, 3)), b=np.zeros(3))


def test_true_convolution_flips_the_kernel():
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(7, 7)), rng.normal(size=(3, 3))
    np.testing.assert_allclose(convolve2d(x, w), conv2d(x, w[::-1, ::-1]))
    # by definition: y[i, j] = sum_{u,v} x[i + 2 - u, j + 2 - v] w[u, v]
    expected = sum(x[2 - u : 7 - u, 2 - v : 7 - v] * w[u, v] for u in range(3) for v in range(3))
    np.testing.assert_allclose(convolve2d(x, w), expected)


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 1, 1), ((1, 2), (2, 0), (1, 3)), (2, 3, 2)])
def test_matches_torch(stride, padding, dilation):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(2, 3, 12, 10)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    expected = torch.nn.functional.conv2d(
        torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=stride, padding=padding, dilation=dilation
    ).numpy()
    np.testing.assert_allclose(conv2d(x, w, b, stride, padding, dilation), expected, atol=1e-10)


def test_section_5_19_1_recipe_is_true_convolution():
    from cnnbook.conv import centred_convolution, convolution_terms, convolve2d, rotate180

    x = np.arange(1.0, 10.0).reshape(3, 3)
    w = np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])
    y = centred_convolution(x, w)
    np.testing.assert_array_equal(y, [[-13, -20, -17], [-18, -24, -18], [13, 20, 17]])  # worked by hand
    np.testing.assert_array_equal(rotate180(w), w[::-1, ::-1])
    # the top-left pixel: the rotated kernel's bottom-right 2x2 over the image's top-left 2x2
    terms = convolution_terms(x, w, 0, 0)
    assert sum(a * b for a, b in terms) == y[0, 0] == 4 * -2 + 5 * -1
    # every pixel is its terms' sum; without the rotation the terms give the cross-correlation
    rng = np.random.default_rng(0)
    image, kernel = rng.normal(size=(5, 6)), rng.normal(size=(3, 5))
    out, corr = centred_convolution(image, kernel), conv2d(image, kernel, padding=(1, 2))
    np.testing.assert_allclose(out, convolve2d(image, kernel, padding=(1, 2)))
    for i in range(5):
        for j in range(6):
            assert np.isclose(sum(a * b for a, b in convolution_terms(image, kernel, i, j)), out[i, j])
            assert np.isclose(sum(a * b for a, b in convolution_terms(image, kernel, i, j, rotate=False)), corr[i, j])
    # a kernel symmetric under the rotation gives the same either way
    sym = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]])
    np.testing.assert_allclose(centred_convolution(image, sym), conv2d(image, sym, padding=1))


def test_section_5_19_1_recipe_bad_input():
    from cnnbook.conv import centred_convolution, convolution_terms, rotate180

    with pytest.raises(ValueError, match="odd sides"):
        centred_convolution(np.ones((4, 4)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="2-D"):
        centred_convolution(np.ones((2, 4, 4)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="pixel of the 4x4 image"):
        convolution_terms(np.ones((4, 4)), np.ones((3, 3)), 4, 0)
    with pytest.raises(ValueError, match="two"):
        rotate180(np.ones(3))
