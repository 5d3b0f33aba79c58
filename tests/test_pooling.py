"""cnnbook.pooling against hand-worked cases, numerical gradients, and PyTorch when installed."""

import numpy as np
import pytest

from cnnbook.pooling import (
    avg_pool2d,
    avg_pool2d_backward,
    global_pool,
    max_pool2d,
    max_pool2d_backward,
    max_pool2d_with_switches,
    max_unpool2d,
    pool_coverage,
    pool_output_shape,
    spatial_pyramid_pool,
    spp_bins,
    spp_length,
    spp_window_stride,
    uncovered,
)

# The 4x4 example of CS231n's max-pooling figure.
FOUR = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float)


def test_max_and_average_pooling_by_hand():
    np.testing.assert_array_equal(max_pool2d(FOUR, 2), [[6, 8], [3, 4]])
    np.testing.assert_array_equal(avg_pool2d(FOUR, 2), [[13 / 4, 21 / 4], [2, 2]])


def test_overlapping_windows_by_hand():
    x = np.arange(25, dtype=float).reshape(5, 5)
    # 3x3 windows, stride 2: top-left windows start at rows/cols 0 and 2; the max is the bottom-right cell
    np.testing.assert_array_equal(max_pool2d(x, 3, 2), [[12, 14], [22, 24]])
    np.testing.assert_array_equal(avg_pool2d(x, 3, 2), [[6, 8], [16, 18]])


def test_padding_never_wins_a_max_but_counts_in_a_mean():
    x = -np.ones((2, 2))
    np.testing.assert_array_equal(max_pool2d(x, 2, 2, padding=1), -np.ones((2, 2)))
    np.testing.assert_array_equal(avg_pool2d(x, 2, 2, padding=1), -np.full((2, 2), 0.25))


def test_shapes_and_depth():
    x = np.zeros((2, 12, 32, 32))
    assert max_pool2d(x, 2).shape == (2, 12, 16, 16)
    assert max_pool2d(x[0], 3, 2).shape == (12, 15, 15)
    assert pool_output_shape((12, 32, 32), 2) == (12, 16, 16)
    assert pool_output_shape((55, 55), 3, 2) == (27, 27)


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(size=0), "size must be"),
        (dict(size=2, stride=0), "stride must be"),
        (dict(size=2, padding=2), "padding must be at most half"),
        (dict(size=7), "spans 7 inputs"),
    ],
)
def test_bad_arguments_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        max_pool2d(np.zeros((4, 4)), **bad)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"x must have shape \(H, W\), \(C, H, W\) or \(N, C, H, W\), got \(4,\)"):
        avg_pool2d(np.zeros(4), 2)
    with pytest.raises(ValueError, match=r"grad_out must have the pooled shape \(2, 2\), got \(3, 3\)"):
        max_pool2d_backward(FOUR, np.ones((3, 3)), 2)


def test_max_backward_by_hand():
    grad = max_pool2d_backward(FOUR, np.array([[1.0, 2.0], [3.0, 4.0]]), 2)
    expected = np.zeros((4, 4))
    expected[1, 1], expected[1, 3], expected[2, 0], expected[3, 3] = 1, 2, 3, 4
    np.testing.assert_array_equal(grad, expected)


def test_max_backward_adds_up_where_windows_overlap():
    x = np.zeros((1, 5))
    x[0, 2] = 1.0  # the middle cell wins both 1x3 windows (stride 2)
    np.testing.assert_array_equal(max_pool2d_backward(x, np.array([[1.0, 10.0]]), (1, 3), (1, 2)), [[0, 0, 11, 0, 0]])


def test_avg_backward_spreads_the_gradient():
    grad = avg_pool2d_backward(np.array([[4.0, 8.0]]), (2, 4), 2)
    np.testing.assert_array_equal(grad, [[1, 1, 2, 2], [1, 1, 2, 2]])


def _numerical_gradient(f, x, g, eps=1e-6):
    out = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        out[index] = np.sum((f(x + step) - f(x - step)) * g) / (2 * eps)
    return out


@pytest.mark.parametrize("size, stride, padding", [(2, 2, 0), (3, 2, 1), ((2, 3), (1, 2), 0)])
def test_backward_passes_match_finite_differences(size, stride, padding):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 7))  # distinct values: the max is differentiable
    g = rng.normal(size=max_pool2d(x, size, stride, padding).shape)
    np.testing.assert_allclose(
        max_pool2d_backward(x, g, size, stride, padding),
        _numerical_gradient(lambda v: max_pool2d(v, size, stride, padding), x, g),
        atol=1e-6,
    )
    np.testing.assert_allclose(
        avg_pool2d_backward(g, x.shape, size, stride, padding),
        _numerical_gradient(lambda v: avg_pool2d(v, size, stride, padding), x, g),
        atol=1e-6,
    )


def test_global_pooling():
    x = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(global_pool(x, "max"), x.max(axis=(2, 3)))
    np.testing.assert_array_equal(global_pool(x[0], "avg"), [9.5, 29.5, 49.5])
    assert global_pool(FOUR, "max") == 8
    with pytest.raises(ValueError, match="mode must be 'avg' or 'max'"):
        global_pool(x, "sum")


def test_coverage_of_general_and_overlapping_pooling():
    np.testing.assert_array_equal(pool_coverage(6, 2, 2), [1] * 6)
    np.testing.assert_array_equal(pool_coverage(7, 3, 2), [1, 1, 2, 1, 2, 1, 1])
    np.testing.assert_array_equal(pool_coverage(7, 2, 2), [1, 1, 1, 1, 1, 1, 0])  # the last column is dropped


def test_spp_rules_by_hand():
    assert (
        spp_window_stride(13, 4) == (4, 3) and spp_window_stride(14, 4) == (4, 3) and spp_window_stride(13, 3) == (5, 4)
    )
    assert spp_bins(14, 4, "sppnet") == [(0, 4), (3, 7), (6, 10), (9, 13)]
    assert spp_bins(14, 4, "adaptive") == [(0, 4), (3, 7), (7, 11), (10, 14)]
    assert spp_bins(5, 2, "adaptive") == [(0, 3), (2, 5)]
    assert uncovered(14, 4, "sppnet") == [13] and uncovered(13, 4, "sppnet") == []
    assert uncovered(10, 6, "sppnet") == [7, 8, 9]
    assert all(uncovered(a, n, "adaptive") == [] for a in range(1, 30) for n in range(1, 8))


def test_spp_rejects_bad_levels():
    with pytest.raises(ValueError, match="needs a >= n"):
        spp_bins(3, 4, "sppnet")
    with pytest.raises(ValueError, match="rule must be one of"):
        spp_bins(13, 2, "ceil")


def test_spp_length_is_fixed_whatever_the_input_size():
    rng = np.random.default_rng(1)
    for h, w in [(13, 13), (14, 14), (9, 20)]:
        assert spatial_pyramid_pool(rng.normal(size=(256, h, w))).shape == (21 * 256,)
    assert spp_length(256) == 5376 and spp_length(3, (1, 2, 3)) == 42
    assert spatial_pyramid_pool(rng.normal(size=(2, 4, 7, 7)), (1, 3), "avg").shape == (2, 40)


def test_spp_first_level_is_global_pooling():
    x = np.random.default_rng(2).normal(size=(5, 9, 11))
    np.testing.assert_array_equal(spatial_pyramid_pool(x, (1,)), global_pool(x, "max"))
    np.testing.assert_allclose(spatial_pyramid_pool(x, (1,), "avg", "sppnet"), global_pool(x, "avg"))


@pytest.mark.parametrize("size, stride, padding", [(2, 2, 0), (3, 2, 1), ((3, 2), (2, 1), (1, 0)), (4, 3, 2)])
def test_matches_torch_pooling_and_gradients(size, stride, padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 11, 9))
    xt = torch.from_numpy(x).requires_grad_()
    out = torch.nn.functional.max_pool2d(xt, size, stride, padding)
    np.testing.assert_allclose(max_pool2d(x, size, stride, padding), out.detach().numpy())
    g = rng.normal(size=tuple(out.shape))
    out.backward(torch.from_numpy(g))
    np.testing.assert_allclose(max_pool2d_backward(x, g, size, stride, padding), xt.grad.numpy())

    xt = torch.from_numpy(x).requires_grad_()
    out = torch.nn.functional.avg_pool2d(xt, size, stride, padding)
    np.testing.assert_allclose(avg_pool2d(x, size, stride, padding), out.detach().numpy(), atol=1e-12)
    out.backward(torch.from_numpy(g))
    np.testing.assert_allclose(avg_pool2d_backward(g, x.shape, size, stride, padding), xt.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 3, 13, 13), (1, 4, 14, 14), (2, 2, 7, 10), (1, 1, 3, 5)])
def test_adaptive_spp_matches_torch(shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).normal(size=shape)
    levels = (1, 2, 4)
    expected = torch.cat(
        [torch.nn.functional.adaptive_max_pool2d(torch.from_numpy(x), n).flatten(1) for n in levels], 1
    )
    np.testing.assert_array_equal(spatial_pyramid_pool(x, levels), expected.numpy())
    expected = torch.cat(
        [torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(x), n).flatten(1) for n in levels], 1
    )
    np.testing.assert_allclose(spatial_pyramid_pool(x, levels, "avg"), expected.numpy(), atol=1e-12)


@pytest.mark.parametrize("size, stride", [(2, None), (3, 2), (3, 1)])
def test_chapter_pooling_agrees_with_the_engine(size, stride):
    # chapter 4 pools channels-first windows of any shape; the engine pools channels-last batches fast
    from cnnbook.nn import AvgPool2D, MaxPool2D

    x = np.random.default_rng(7).normal(size=(2, 3, 9, 8))
    channels_last = np.moveaxis(x, 1, -1)
    for chapter, engine in ((max_pool2d, MaxPool2D), (avg_pool2d, AvgPool2D)):
        expected = np.moveaxis(chapter(x, size, stride), 1, -1)
        np.testing.assert_allclose(engine(size, stride).forward(channels_last), expected, rtol=1e-12)


def test_switches_and_unpooling_by_hand():
    pooled, switches = max_pool2d_with_switches(FOUR, 2)
    np.testing.assert_array_equal(pooled, [[6, 8], [3, 4]])
    np.testing.assert_array_equal(switches, [[5, 7], [8, 15]])  # row * 4 + col of each maximum
    np.testing.assert_array_equal(
        max_unpool2d(pooled, switches, (4, 4)), [[0, 0, 0, 0], [0, 6, 0, 8], [3, 0, 0, 0], [0, 0, 0, 4]]
    )
    # a tie goes to the first maximum, as in PyTorch
    _, tie = max_pool2d_with_switches(np.ones((2, 2)), 2)
    assert tie.tolist() == [[0]]


def test_unpooling_keeps_the_maxima_and_routes_like_the_gradient():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 3, 8, 6))
    pooled, switches = max_pool2d_with_switches(x, 2)
    np.testing.assert_array_equal(pooled, max_pool2d(x, 2))
    up = max_unpool2d(pooled, switches, (8, 6))
    kept = up != 0
    np.testing.assert_array_equal(up[kept], x[kept])  # the maxima, in place; everything else 0
    assert kept.sum() == pooled.size
    # with windows that do not overlap, unpooling is max pooling's backward pass applied to the gradient
    g = rng.normal(size=pooled.shape)
    np.testing.assert_allclose(max_unpool2d(g, switches, (8, 6)), max_pool2d_backward(x, g, 2))
    # pooling the unpooled map gives the pooled map back when it is non-negative (after a ReLU) ...
    relu = np.maximum(x, 0)
    p_relu, s_relu = max_pool2d_with_switches(relu, 2)
    np.testing.assert_array_equal(max_pool2d(max_unpool2d(p_relu, s_relu, (8, 6)), 2), p_relu)
    # ... but not when a window's maximum is negative: the zeros win
    negative = -np.abs(x) - 1
    p_neg, s_neg = max_pool2d_with_switches(negative, 2)
    assert np.all(max_pool2d(max_unpool2d(p_neg, s_neg, (8, 6)), 2) == 0)


def test_unpooling_bad_input():
    pooled, switches = max_pool2d_with_switches(FOUR, 2)
    with pytest.raises(ValueError, match="switches must have the pooled shape"):
        max_unpool2d(pooled, switches[:1], (4, 4))
    with pytest.raises(ValueError, match="integer indices"):
        max_unpool2d(pooled, switches.astype(float), (4, 4))
    with pytest.raises(ValueError, match=r"index the 3x3 map"):
        max_unpool2d(pooled, switches, (3, 3))
    with pytest.raises(ValueError, match="output_hw"):
        max_unpool2d(pooled, switches, (0, 4))


@pytest.mark.parametrize(
    "size, stride, padding", [(2, None, 0), (3, 2, 1), (3, 2, 0), ((2, 3), (1, 2), (1, 1)), (3, 1, 1)]
)
def test_switches_and_unpooling_match_torch(size, stride, padding):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).normal(size=(2, 3, 7, 6))
    pooled, switches = max_pool2d_with_switches(x, size, stride, padding)
    t_pooled, t_switches = torch.nn.functional.max_pool2d(torch.tensor(x), size, stride, padding, return_indices=True)
    np.testing.assert_allclose(pooled, t_pooled.numpy())
    np.testing.assert_array_equal(switches, t_switches.numpy())
    t_up = torch.nn.functional.max_unpool2d(t_pooled, t_switches, size, stride, padding, output_size=(7, 6))
    np.testing.assert_allclose(max_unpool2d(pooled, switches, (7, 6)), t_up.numpy())
