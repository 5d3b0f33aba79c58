"""Layers of cnnbook.nn: backward against central differences (float64), fast paths against
references, shapes, initialisation, and the errors bad input gets."""

from __future__ import annotations

import numpy as np
import pytest

from cnnbook.nn import (
    AvgPool2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    ReLU,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    conv2d_reference,
    glorot_uniform,
    he_normal,
)


def numerical_gradient(loss, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``loss()`` with respect to every entry of ``array`` (edited in place)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = loss()
        array[index] = original - eps
        minus = loss()
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def check_gradients(layer, x: np.ndarray, seed: int = 0) -> None:
    """Compare backward (input and parameter gradients) with central differences, in float64.

    The scalar checked is ``sum(forward(x) * R)`` for a fixed random R, so ``backward(R)`` is its gradient.
    """
    layer.to(np.float64)
    x = x.astype(np.float64)
    upstream = np.random.default_rng(seed).standard_normal(layer.forward(x, training=True).shape)

    def loss() -> float:
        return float(np.sum(layer.forward(x, training=True) * upstream))

    layer.forward(x, training=True)
    analytic = {"input": layer.backward(upstream), **{name: g.copy() for name, g in layer.grads.items()}}
    numeric = {"input": numerical_gradient(loss, x)}
    numeric.update({name: numerical_gradient(loss, value) for name, value in layer.params.items()})
    assert set(analytic) == set(numeric)
    for name in numeric:
        assert analytic[name].shape == numeric[name].shape, name
        scale = np.abs(numeric[name]).max() + 1e-12
        error = np.abs(analytic[name] - numeric[name]).max() / scale
        assert error < 1e-6, f"{type(layer).__name__} gradient of {name}: relative error {error:.2e}"


def distinct_values(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Values 0.01 apart in random order, so that max-pooling has no near-ties within eps."""
    size = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(size) * 0.01 - size * 0.005).reshape(shape)


# -- gradient checks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "in_channels, kernel, stride, padding",
    [(1, 3, 1, 0), (1, 3, 2, 1), (2, 3, 1, 1), (3, (2, 3), 2, 0), (2, 3, 2, (1, 2))],
)
def test_conv2d_gradients(in_channels, kernel, stride, padding):
    layer = Conv2D(in_channels, 3, kernel, stride=stride, padding=padding, rng=0)
    layer.params["bias"] = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    x = np.random.default_rng(1).standard_normal((2, 7, 6, in_channels))
    check_gradients(layer, x)


@pytest.mark.parametrize(
    "size, stride, hw",
    [
        (2, None, (6, 6)),
        (2, None, (7, 5)),
        (3, None, (6, 7)),
        (3, 2, (7, 7)),
        ((2, 3), (1, 2), (5, 7)),
        (2, 3, (8, 8)),
        ((5, 4), None, (5, 4)),
        ((9, 1), None, (9, 1)),
    ],  # one window over the whole input: the global path
)
def test_maxpool_gradients(size, stride, hw):
    check_gradients(MaxPool2D(size, stride), distinct_values((2, *hw, 3)))


@pytest.mark.parametrize("size, stride, hw", [(2, None, (6, 6)), (2, None, (7, 5)), (3, 2, (7, 7)), (2, 3, (8, 8))])
def test_avgpool_gradients(size, stride, hw):
    check_gradients(AvgPool2D(size, stride), np.random.default_rng(2).standard_normal((2, *hw, 3)))


def test_dense_gradients():
    layer = Dense(5, 4, rng=0)
    layer.params["bias"] = np.arange(4, dtype=np.float32) / 10
    check_gradients(layer, np.random.default_rng(3).standard_normal((3, 5)))


@pytest.mark.parametrize("layer", [ReLU(), Sigmoid(), Tanh(), Flatten()], ids=lambda layer: type(layer).__name__)
def test_activation_and_flatten_gradients(layer):
    rng = np.random.default_rng(4)
    x = rng.uniform(0.05, 2.0, size=(2, 3, 4, 2)) * rng.choice([-1, 1], size=(2, 3, 4, 2))  # away from ReLU's kink
    check_gradients(layer, x)


def test_dropout_gradients_with_a_fixed_mask():
    layer = Dropout(0.4)

    class SameNoise:  # the numerical check runs forward many times: every run must drop the same values
        def random(self, shape, dtype):
            return np.random.default_rng(5).random(shape, dtype=dtype)

    layer.set_rng(SameNoise())
    check_gradients(layer, np.random.default_rng(6).standard_normal((4, 10)))


def test_softmax_cross_entropy_gradient():
    loss = SoftmaxCrossEntropy()
    logits = np.random.default_rng(7).standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    loss.forward(logits, labels)
    analytic = loss.backward()
    numeric = numerical_gradient(lambda: loss.forward(logits, labels), logits)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


# -- values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "in_channels, kernel, stride, padding, hw",
    [
        (1, 5, 1, 0, (28, 28)),
        (1, (3, 2), (2, 3), (1, 2), (11, 12)),
        (3, 3, 1, 1, (8, 9)),
        (4, (2, 3), (2, 1), (0, 2), (9, 7)),
        (2, 3, 3, 1, (10, 10)),
    ],
)
def test_conv2d_fast_path_matches_loop_reference(in_channels, kernel, stride, padding, hw):
    layer = Conv2D(in_channels, 6, kernel, stride=stride, padding=padding, rng=0)
    layer.params["bias"] = np.linspace(-1, 1, 6, dtype=np.float32)
    x = np.random.default_rng(0).random((3, *hw, in_channels), dtype=np.float32)
    fast = layer.forward(x)
    reference = layer.forward_reference(x)
    assert fast.dtype == np.float32 and fast.shape == reference.shape
    np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-5)


def test_conv2d_agrees_with_the_chapter_one_channels_first_conv2d():
    from cnnbook.conv import conv2d  # channels-first (N, C, H, W), weight (K, C, kh, kw)

    rng = np.random.default_rng(8)
    x, weight, bias = rng.random((2, 9, 8, 3)), rng.standard_normal((3, 3, 3, 4)), rng.standard_normal(4)
    ours = conv2d_reference(x, weight, bias, stride=2, padding=1)
    chapter_one = conv2d(np.moveaxis(x, -1, 1), weight.transpose(3, 2, 0, 1), bias, stride=2, padding=1)
    np.testing.assert_allclose(ours, np.moveaxis(chapter_one, 1, -1), rtol=1e-10, atol=1e-12)


def test_conv2d_skips_the_input_gradient_on_request_but_not_the_weight_gradients():
    layer = Conv2D(1, 2, 3, rng=0)
    x = np.random.default_rng(0).random((2, 6, 6, 1), dtype=np.float32)
    upstream = np.ones((2, 4, 4, 2), dtype=np.float32)
    layer.forward(x)
    full = layer.backward(upstream)
    weight_grad = layer.grads["weight"].copy()
    layer.forward(x)
    assert layer.backward(upstream, input_grad=False) is None
    np.testing.assert_array_equal(layer.grads["weight"], weight_grad)
    assert full.shape == x.shape


def test_maxpool_ties_send_the_gradient_to_the_first_maximum_only():
    x = np.zeros((1, 4, 4, 1), dtype=np.float32)  # every window is a four-way tie
    x[0, 2, 3, 0] = 1.0  # except the bottom-right one, whose maximum is at its (0, 1) position
    pool = MaxPool2D(2)
    np.testing.assert_array_equal(pool.forward(x)[0, :, :, 0], [[0, 0], [0, 1]])
    grad = pool.backward(np.full((1, 2, 2, 1), 5.0, dtype=np.float32))[0, :, :, 0]
    np.testing.assert_array_equal(grad, [[5, 0, 5, 0], [0, 0, 0, 0], [5, 0, 0, 5], [0, 0, 0, 0]])
    whole = MaxPool2D(4)  # one window over the whole map (its own code path): the same rule
    np.testing.assert_array_equal(whole.forward(np.zeros((1, 4, 4, 1), dtype=np.float32)), [[[[0]]]])
    first = np.zeros((4, 4))
    first[0, 0] = 5
    np.testing.assert_array_equal(whole.backward(np.full((1, 1, 1, 1), 5.0, dtype=np.float32))[0, :, :, 0], first)
    overlapping = MaxPool2D(2, stride=1)  # the general (per-offset) code path follows the same rule
    overlapping.forward(np.zeros((1, 3, 3, 1), dtype=np.float32))
    np.testing.assert_array_equal(
        overlapping.backward(np.ones((1, 2, 2, 1), dtype=np.float32))[0, :, :, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    )


def test_pooling_values_and_dropped_edges():
    x = np.arange(2 * 5 * 5 * 3, dtype=np.float32).reshape(2, 5, 5, 3)
    expected_max = x[:, 1:4:2, 1:4:2, :]  # values grow along H and W: each window's max is its bottom-right
    np.testing.assert_array_equal(MaxPool2D(2).forward(x), expected_max)
    expected_mean = (x[:, 0:4:2, 0:4:2] + x[:, 0:4:2, 1:4:2] + x[:, 1:4:2, 0:4:2] + x[:, 1:4:2, 1:4:2]) / 4
    np.testing.assert_allclose(AvgPool2D(2).forward(x), expected_mean)
    pool = MaxPool2D(2)
    pool.forward(x)
    grad = pool.backward(np.ones((2, 2, 2, 3), dtype=np.float32))
    assert grad.shape == x.shape and grad[:, 4, :, :].sum() == 0 and grad[:, :, 4, :].sum() == 0


def test_activation_values():
    x = np.array([[-1000.0, -1.0, 0.0, 2.0, 1000.0]], dtype=np.float32)
    np.testing.assert_array_equal(ReLU().forward(x), [[0, 0, 0, 2, 1000]])
    with np.errstate(all="raise"):  # no overflow warnings at extreme inputs
        sigmoid = Sigmoid().forward(x)
    np.testing.assert_allclose(sigmoid, [[0, 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-2)), 1]], rtol=1e-6)
    np.testing.assert_allclose(Tanh().forward(x), np.tanh(x.astype(np.float64)), rtol=1e-6)
    for layer in (ReLU(), Sigmoid(), Tanh()):
        assert layer.forward(x).dtype == np.float32


def test_dropout_is_inverted_random_in_training_and_off_at_evaluation():
    x = np.ones((200, 500), dtype=np.float32)
    layer = Dropout(0.3, rng=0)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    y = layer.forward(x, training=True)
    kept = y != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)  # survivors scaled up: E[y] = x
    assert y.dtype == np.float32
    np.testing.assert_array_equal(layer.backward(np.full_like(x, 2.0)), 2 * y)  # the same mask
    again = Dropout(0.3, rng=0).forward(x, training=True)
    np.testing.assert_array_equal(again, y)  # deterministic under a seed
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Dropout(1.0)


def test_softmax_cross_entropy_values_are_stable():
    loss = SoftmaxCrossEntropy()
    assert loss.forward(np.zeros((4, 10), dtype=np.float32), np.arange(4)) == pytest.approx(np.log(10), rel=1e-6)
    huge = np.array([[1000.0, 0.0], [0.0, 1000.0]], dtype=np.float32)
    assert loss.forward(huge, np.array([0, 0])) == pytest.approx(500.0)
    assert np.isfinite(loss.backward()).all()


# -- initialisation --------------------------------------------------------------------------------


def test_initialisations_have_the_intended_scale():
    rng = np.random.default_rng(0)
    he = he_normal((400, 300), fan_in=400, rng=rng)
    assert he.dtype == np.float32 and he.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    glorot = glorot_uniform((400, 300), fan_in=400, fan_out=300, rng=rng)
    limit = np.sqrt(6 / 700)
    assert glorot.min() >= -limit and glorot.max() <= limit and glorot.max() > 0.98 * limit
    conv = Conv2D(20, 40, 5, rng=0)
    assert conv.params["weight"].shape == (5, 5, 20, 40)
    assert conv.params["weight"].std() == pytest.approx(np.sqrt(2 / 500), rel=0.03)
    np.testing.assert_array_equal(Conv2D(20, 40, 5, rng=0).params["weight"], conv.params["weight"])
    assert not np.array_equal(Conv2D(20, 40, 5, rng=1).params["weight"], conv.params["weight"])
    with pytest.raises(ValueError, match="init must be one of"):
        Dense(3, 4, init="zeros")


# -- bad input -------------------------------------------------------------------------------------


def test_shape_errors_name_the_expected_and_the_received_shape():
    x = np.zeros((8, 28, 28), dtype=np.float32)
    with pytest.raises(ValueError, match=r"^Conv2D expected input of shape \(N, H, W, 3\), got \(8, 28, 28\)$"):
        Conv2D(3, 4, 5).forward(x)
    with pytest.raises(ValueError, match=r"^Dense expected input of shape \(N, 784\), got \(8, 28, 28\)$"):
        Dense(784, 10).forward(x)
    with pytest.raises(ValueError, match=r"^MaxPool2D expected input of shape \(N, H, W, C\), got \(8, 28, 28\)$"):
        MaxPool2D(2).forward(x)
    with pytest.raises(ValueError, match="does not fit an input of 4x4"):
        Conv2D(1, 2, 5).forward(np.zeros((1, 4, 4, 1), dtype=np.float32))
    with pytest.raises(ValueError, match="does not fit"):
        AvgPool2D(3).forward(np.zeros((1, 2, 2, 1), dtype=np.float32))
    with pytest.raises(ValueError, match=r"labels expected shape \(3,\), got \(2,\)"):
        SoftmaxCrossEntropy().forward(np.zeros((3, 10)), np.array([1, 2]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 10)), np.array([1, 10]))
    with pytest.raises(ValueError, match="kernel_size must be an integer >= 1"):
        Conv2D(1, 2, 0)
