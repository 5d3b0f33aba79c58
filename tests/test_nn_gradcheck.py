"""The gradient-check helpers of cnnbook.nn and the loop references of max-pooling."""

from __future__ import annotations

import numpy as np
import pytest

from cnnbook.nn import (
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    Network,
    ReLU,
    Sigmoid,
    layer_gradient_errors,
    max_pool2d_backward_reference,
    max_pool2d_reference,
    network_gradient_errors,
    numerical_gradient,
    relative_error,
)

# -- numerical_gradient ----------------------------------------------------------------------------


def test_numerical_gradient_of_known_functions():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(numerical_gradient(lambda: float(np.sum(x**2)), x), 2 * x, rtol=1e-8)
    # x^3 at 2 has derivative 12; the central difference's error is exactly eps^2 (here 1e-6), a
    # forward difference's would be 3 * 2 * eps = 6e-3
    y = np.array([2.0])
    assert numerical_gradient(lambda: float(y[0] ** 3), y, eps=1e-3)[0] == pytest.approx(12 + 1e-6, abs=1e-9)


def test_numerical_gradient_restores_the_array_and_samples_entries():
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    before = x.copy()
    weights = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    picked = numerical_gradient(lambda: float(np.sum(weights * x)), x, indices=[(1, 2), (0, 0)])
    np.testing.assert_allclose(picked, [6.0, 1.0], rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_rejects_bad_input():
    with pytest.raises(ValueError, match="floating-point NumPy array"):
        numerical_gradient(lambda: 0.0, np.arange(3))
    with pytest.raises(ValueError, match="floating-point NumPy array"):
        numerical_gradient(lambda: 0.0, [1.0, 2.0])
    with pytest.raises(ValueError, match="eps must be > 0"):
        numerical_gradient(lambda: 0.0, np.zeros(2), eps=0)


def test_relative_error():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert relative_error([1.0, 4.0], [1.0, 3.0]) == pytest.approx(0.25)  # 1 / max(4, 3)
    assert relative_error([1.0, 3.0], [1.0, 4.0]) == pytest.approx(0.25)  # symmetric
    assert relative_error([2.0], [-2.0]) == pytest.approx(2.0)
    with pytest.raises(ValueError, match=r"same shape, got \(2,\) and \(3,\)"):
        relative_error(np.zeros(2), np.zeros(3))


# -- layer_gradient_errors -------------------------------------------------------------------------


def test_layer_gradient_errors_are_tiny_for_correct_layers_and_leave_the_layer_alone():
    conv = Conv2D(2, 3, 3, stride=2, padding=1, rng=0)
    conv.params["bias"][:] = [0.1, -0.2, 0.3]
    weight = conv.params["weight"].copy()
    errors = layer_gradient_errors(conv, np.random.default_rng(0).standard_normal((2, 7, 6, 2)))
    assert set(errors) == {"input", "weight", "bias"}
    assert max(errors.values()) < 1e-7
    assert conv.params["weight"].dtype == np.float32
    np.testing.assert_array_equal(conv.params["weight"], weight)
    dense_errors = layer_gradient_errors(Dense(5, 4, rng=1), np.random.default_rng(1).standard_normal((3, 5)))
    assert max(dense_errors.values()) < 1e-7


def test_layer_gradient_errors_keep_dropouts_mask_fixed():
    errors = layer_gradient_errors(Dropout(0.5), np.random.default_rng(2).standard_normal((4, 6)))
    assert errors["input"] < 1e-8


def test_layer_gradient_errors_catch_a_wrong_backward():
    class ForgetfulSigmoid(Sigmoid):  # drops the factor (1 - sigma)
        def backward(self, grad_output, *, input_grad=True):
            return grad_output * self._output

    x = np.random.default_rng(3).standard_normal((3, 4))
    assert layer_gradient_errors(Sigmoid(), x)["input"] < 1e-8
    assert layer_gradient_errors(ForgetfulSigmoid(), x)["input"] > 0.1


# -- network_gradient_errors -----------------------------------------------------------------------


def test_network_gradient_errors_on_a_small_cnn():
    rng = np.random.default_rng(4)
    net = Network([Conv2D(1, 3, 3, rng=rng), MaxPool2D(2), ReLU(), Flatten(), Dense(3 * 3 * 3, 4, rng=rng)])
    net.layers[0].params["bias"][:] = [0.05, -0.1, 0.2]  # no value sits exactly on ReLU's kink
    x, y = rng.random((3, 8, 8)), np.array([0, 3, 1])
    errors = network_gradient_errors(net, x, y, samples=5)
    assert set(errors) == {"0.weight", "0.bias", "4.weight", "4.bias"}
    assert max(errors.values()) < 1e-6
    assert net.dtype == np.float32  # the check ran on a copy


def test_network_gradient_errors_catch_a_wrong_layer():
    class DoubledReLU(ReLU):
        def backward(self, grad_output, *, input_grad=True):
            return 2 * grad_output * self._positive

    rng = np.random.default_rng(5)
    net = Network([Dense(6, 5, rng=rng), DoubledReLU(), Dense(5, 3, rng=rng)])
    errors = network_gradient_errors(net, rng.standard_normal((4, 6)), np.array([0, 1, 2, 1]))
    assert errors["0.weight"] > 0.3 and errors["2.weight"] < 1e-6  # only layers below the bug are wrong


# -- max-pooling references ------------------------------------------------------------------------


def test_max_pool_reference_on_a_hand_worked_example():
    x = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 7, 7], [2, 2, 6, 3]], dtype=np.float64)[None, :, :, None]
    np.testing.assert_array_equal(max_pool2d_reference(x)[0, :, :, 0], [[4, 5], [2, 7]])
    grad = max_pool2d_backward_reference(x, np.array([[10.0, 20.0], [30.0, 40.0]])[None, :, :, None])[0, :, :, 0]
    # 2 ties at (3, 0) and (3, 1): the first in row-major order wins; 7 ties at (2, 2) and (2, 3): so does (2, 2)
    np.testing.assert_array_equal(grad, [[0, 0, 0, 0], [10, 0, 0, 20], [0, 0, 40, 0], [30, 0, 0, 0]])


@pytest.mark.parametrize(
    "size, stride, hw", [(2, None, (6, 6)), (2, None, (7, 5)), (3, 2, (7, 7)), ((2, 3), (1, 2), (5, 7))]
)
def test_max_pool_layer_matches_the_loop_references(size, stride, hw):
    rng = np.random.default_rng(6)
    x = rng.integers(0, 4, size=(2, *hw, 3)).astype(np.float32)  # small integers: many ties
    pool = MaxPool2D(size, stride)
    out = pool.forward(x)
    np.testing.assert_array_equal(out, max_pool2d_reference(x, size, stride))
    grad = rng.standard_normal(out.shape).astype(np.float32)
    np.testing.assert_allclose(pool.backward(grad), max_pool2d_backward_reference(x, grad, size, stride), rtol=1e-6)


def test_max_pool_reference_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x, grad = rng.standard_normal((2, 7, 8, 3)), rng.standard_normal((2, 3, 3, 3))
    tx = torch.tensor(np.moveaxis(x, -1, 1), requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, 3, stride=2)
    ty.backward(torch.tensor(np.moveaxis(grad, -1, 1)))
    np.testing.assert_allclose(max_pool2d_reference(x, 3, 2), np.moveaxis(ty.detach().numpy(), 1, -1))
    np.testing.assert_allclose(max_pool2d_backward_reference(x, grad, 3, 2), np.moveaxis(tx.grad.numpy(), 1, -1))


def test_max_pool_reference_errors():
    with pytest.raises(ValueError, match=r"expected input of shape \(N, H, W, C\), got \(4, 4\)"):
        max_pool2d_reference(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="does not fit an input of 2x2"):
        max_pool2d_reference(np.zeros((1, 2, 2, 1)), 3)
    with pytest.raises(ValueError, match=r"grad_output expected shape \(1, 2, 2, 1\), got \(1, 2, 2\)"):
        max_pool2d_backward_reference(np.zeros((1, 4, 4, 1)), np.zeros((1, 2, 2)))
