"""Batch normalisation, residual blocks and small_resnet: gradients against finite differences and PyTorch,
running statistics, saving them, weight decay, shape errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnbook.nn import (
    SGD,
    AvgPool2D,
    BatchNorm1D,
    BatchNorm2D,
    Conv2D,
    Dense,
    Layer,
    Network,
    layer_gradient_errors,
    network_gradient_errors,
    numerical_gradient,
    relative_error,
    residual_block,
    small_resnet,
)
from cnnbook.nn.torch_twin import torch_module


def randomise(model, seed: int = 0):
    """Random biases, BatchNorm scales and running statistics: defaults (0, 1) would hide a mix-up."""
    rng = np.random.default_rng(seed)
    for parameter in model.named_parameters():
        value = parameter.value
        if isinstance(parameter.layer, (BatchNorm1D, BatchNorm2D)):
            value[:] = (
                rng.uniform(0.5, 1.5, value.shape) if parameter.key == "weight" else rng.normal(0, 0.3, value.shape)
            )
        elif parameter.key == "bias":
            value[:] = rng.uniform(-0.2, 0.2, size=value.shape)
    layers = model.layers if isinstance(model, Network) else [model]
    for layer in layers:
        for name, value in layer.named_buffers().items():
            value[:] = rng.uniform(0.5, 2.0, value.shape) if name.endswith("var") else rng.normal(0, 0.5, value.shape)
    return model


def cancelled_biases(model) -> set[str]:
    """Paths of the biases of convolutions followed by a BatchNorm (all of them, in these models).

    BatchNorm subtracts the batch mean, so such a bias has no effect and a zero gradient; a relative
    error between two gradients that are both rounding noise means nothing, so those are checked apart.
    """
    return {p.name for p in model.named_parameters() if isinstance(p.layer, Conv2D) and p.key == "bias"}


# -- BatchNorm on its own ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer, shape", [(BatchNorm2D(3), (4, 3, 5, 3)), (BatchNorm2D(2), (1, 3, 3, 2)), (BatchNorm1D(4), (6, 4))]
)
def test_batchnorm_training_gradients_match_finite_differences(layer, shape):
    layer = randomise(layer, seed=1)
    x = np.random.default_rng(2).normal(1.5, 2.0, size=shape)  # off-centre: the mean's gradient matters
    errors = layer_gradient_errors(layer, x)
    assert set(errors) == {"input", "weight", "bias"}
    assert max(errors.values()) < 1e-7, errors


def test_batchnorm_evaluation_gradients_match_finite_differences():
    layer = randomise(BatchNorm2D(3), seed=3).to(np.float64)
    x = np.random.default_rng(4).normal(size=(2, 3, 4, 3))
    upstream = np.random.default_rng(5).normal(size=x.shape)

    def scalar() -> float:
        return float(np.sum(layer.forward(x, training=False) * upstream))

    before = {name: value.copy() for name, value in layer.buffers.items()}
    layer.forward(x, training=False)
    grad_x = layer.backward(upstream)
    assert relative_error(grad_x, numerical_gradient(scalar, x)) < 1e-8
    for key in ("weight", "bias"):
        assert relative_error(layer.grads[key], numerical_gradient(scalar, layer.params[key])) < 1e-8
    for name, value in layer.buffers.items():  # evaluation leaves the running statistics alone
        np.testing.assert_array_equal(value, before[name])


def test_batchnorm_statistics_by_hand():
    """Training output has mean 0 and variance 1 per channel; running statistics follow PyTorch's rule."""
    rng = np.random.default_rng(6)
    layer = BatchNorm2D(3, momentum=0.25)
    batches = [
        rng.normal(rng.normal(size=3), rng.uniform(0.5, 3, 3), size=(5, 4, 6, 3)).astype(np.float32) for _ in "abc"
    ]
    mean, var = np.zeros(3), np.ones(3)
    for x in batches:
        y = layer.forward(x, training=True)
        assert y.dtype == np.float32 and y.shape == x.shape
        np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-5)
        np.testing.assert_allclose(y.var(axis=(0, 1, 2)), 1, rtol=1e-3)
        mean = 0.75 * mean + 0.25 * x.mean(axis=(0, 1, 2), dtype=np.float64)
        var = 0.75 * var + 0.25 * x.var(axis=(0, 1, 2), ddof=1, dtype=np.float64)  # unbiased
    np.testing.assert_allclose(layer.buffers["running_mean"], mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.buffers["running_var"], var, rtol=1e-5)
    x = batches[0]
    expected = (x - mean) / np.sqrt(var + 1e-5)  # evaluation: the running statistics, gamma 1, beta 0
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-4, atol=1e-5)


def test_batchnorm_errors_name_the_expected_shape():
    with pytest.raises(ValueError, match=r"^BatchNorm2D expected input of shape \(N, H, W, 3\), got \(2, 4, 4, 5\)$"):
        BatchNorm2D(3).forward(np.zeros((2, 4, 4, 5), np.float32))
    with pytest.raises(ValueError, match=r"^BatchNorm2D expected input of shape \(N, H, W, 3\), got \(2, 3\)$"):
        BatchNorm2D(3).forward(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"^BatchNorm1D expected input of shape \(N, 4\), got \(2, 5\)$"):
        BatchNorm1D(4).forward(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="more than one value per channel"):
        BatchNorm1D(4).forward(np.zeros((1, 4), np.float32), training=True)
    BatchNorm1D(4).forward(np.zeros((1, 4), np.float32))  # evaluation of one image is fine
    with pytest.raises(ValueError, match="channels must be >= 1"):
        BatchNorm2D(0)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\]"):
        BatchNorm2D(3, momentum=1.5)
    with pytest.raises(ValueError, match="eps must be > 0"):
        BatchNorm2D(3, eps=0)


# -- PyTorch as the oracle --------------------------------------------------------------------------


def as_ours(tensor, like: np.ndarray) -> np.ndarray:
    """A PyTorch parameter or gradient in our layout (conv (K, C, kh, kw) -> (kh, kw, C, K), linear transposed)."""
    array = tensor.detach().numpy()
    if array.ndim == 4:
        return array.transpose(2, 3, 1, 0)
    return array.T if array.shape != like.shape else array


def nchw(torch, x: np.ndarray, grad: bool = False):
    return torch.tensor(np.moveaxis(x, -1, 1), requires_grad=grad)


def nhwc(tensor) -> np.ndarray:
    return np.moveaxis(tensor.detach().numpy(), 1, -1)


def assert_same_layers(pairs, rtol: float, atol: float, grads: bool = True) -> None:
    """Parameters, running statistics and (``grads``) parameter gradients equal in both engines."""
    for ours, theirs in pairs:
        for key, value in ours.params.items():
            their_param = getattr(theirs, key)
            np.testing.assert_allclose(
                value, as_ours(their_param, value), rtol=rtol, atol=atol, err_msg=f"{ours} {key}"
            )
            if grads:
                their_grad = as_ours(their_param.grad, value)
                np.testing.assert_allclose(ours.grads[key], their_grad, rtol=rtol, atol=atol, err_msg=f"{ours} d{key}")
        for key, value in ours.buffers.items():
            their_buffer = getattr(theirs, key).numpy()
            np.testing.assert_allclose(value, their_buffer, rtol=rtol, atol=atol, err_msg=f"{ours} {key}")


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-10), (np.float32, 2e-4)])
def test_batchnorm_matches_pytorch_in_training_and_evaluation(dtype, tolerance):
    torch = pytest.importorskip("torch")
    layer = randomise(BatchNorm2D(4, momentum=0.2), seed=7).to(dtype)
    pairs: list = []
    module = torch_module(layer, pairs)
    rng = np.random.default_rng(8)
    for step in range(3):  # three training batches: outputs, gradients and running statistics after each
        x = rng.normal(2.0, 3.0, size=(3, 5, 6, 4)).astype(dtype)
        upstream = rng.normal(size=x.shape).astype(dtype)
        module.train()
        module.zero_grad()
        tx = nchw(torch, x, grad=True)
        ty = module(tx)
        ty.backward(nchw(torch, upstream))
        out = layer.forward(x, training=True)
        grad_x = layer.backward(upstream)
        assert out.dtype == grad_x.dtype == dtype
        np.testing.assert_allclose(out, nhwc(ty), rtol=tolerance, atol=tolerance, err_msg=f"step {step}")
        np.testing.assert_allclose(grad_x, nhwc(tx.grad), rtol=tolerance, atol=tolerance, err_msg=f"step {step}")
        assert_same_layers(pairs, tolerance, tolerance)

    module.eval()
    module.zero_grad()
    tx = nchw(torch, x, grad=True)
    ty = module(tx)
    ty.backward(nchw(torch, upstream))
    out = layer.forward(x, training=False)
    grad_x = layer.backward(upstream)
    np.testing.assert_allclose(out, nhwc(ty), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(grad_x, nhwc(tx.grad), rtol=tolerance, atol=tolerance)
    assert_same_layers(pairs, tolerance, tolerance)  # the running statistics did not move


@pytest.mark.parametrize("in_channels, out_channels, stride", [(3, 3, 1), (3, 5, 2), (4, 4, 2)])
def test_residual_block_matches_pytorch_in_training_and_evaluation(in_channels, out_channels, stride):
    torch = pytest.importorskip("torch")
    block = randomise(residual_block(in_channels, out_channels, stride, rng=9), seed=10).to(np.float64)
    pairs: list = []
    module = torch_module(block, pairs)
    rng = np.random.default_rng(11)
    x = rng.normal(size=(3, 7, 6, in_channels))
    for training in (True, True, False):
        module.train(training)
        module.zero_grad()
        tx = nchw(torch, x, grad=True)
        ty = module(tx)
        upstream = rng.normal(size=nhwc(ty).shape)
        ty.backward(nchw(torch, upstream))
        out = block.forward(x, training=training)
        grad_x = block.backward(upstream)
        np.testing.assert_allclose(out, nhwc(ty), rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(grad_x, nhwc(tx.grad), rtol=1e-9, atol=1e-10)
        assert_same_layers(pairs, 1e-9, 1e-10)


def test_small_resnet_trains_like_pytorch_with_momentum_and_weight_decay():
    """A few SGD steps in both engines: the same weights, running statistics and evaluation logits after them.

    PyTorch decays every parameter it is given; it gets ours' choice (conv and dense weights only) as two groups.
    """
    torch = pytest.importorskip("torch")
    net = randomise(small_resnet(channels=(3, 4), classes=5, seed=12, image_size=8), seed=13).to(np.float64)
    pairs: list = []
    model = torch.nn.Sequential(*[torch_module(layer, pairs) for layer in net.layers])
    decayed = [getattr(m, key) for layer, m in pairs for key in layer.params if key in layer.decayed]
    others = [getattr(m, key) for layer, m in pairs for key in layer.params if key not in layer.decayed]
    assert len(decayed) == sum(isinstance(layer, (Conv2D, Dense)) for layer, _ in pairs)
    optimizer = torch.optim.SGD(
        [{"params": decayed, "weight_decay": 0.01}, {"params": others, "weight_decay": 0.0}], lr=0.1, momentum=0.9
    )
    ours = SGD(0.1, momentum=0.9, weight_decay=0.01)
    rng = np.random.default_rng(14)
    for _ in range(4):
        x, y = rng.random((6, 8, 8)), rng.integers(0, 5, 6)
        loss, _ = net.train_step(x, y, ours)
        model.train()
        optimizer.zero_grad()
        their_loss = torch.nn.functional.cross_entropy(model(torch.tensor(x[:, None])), torch.tensor(y))
        their_loss.backward()
        optimizer.step()
        assert loss == pytest.approx(their_loss.item(), rel=1e-10)
    assert_same_layers(pairs, 1e-8, 1e-10, grads=False)
    model.eval()
    with torch.no_grad():
        np.testing.assert_allclose(net.forward(x), model(torch.tensor(x[:, None])).numpy(), rtol=1e-8, atol=1e-10)


# -- residual blocks and small_resnet: gradients ------------------------------------------------------


@pytest.mark.parametrize("in_channels, out_channels, stride", [(2, 2, 1), (2, 3, 2)])
@pytest.mark.parametrize("batch_norm", [True, False])
def test_residual_block_gradients_match_finite_differences(in_channels, out_channels, stride, batch_norm):
    block = randomise(residual_block(in_channels, out_channels, stride, rng=15, batch_norm=batch_norm), seed=16)
    x = np.random.default_rng(17).normal(size=(3, 5, 4, in_channels))
    errors = layer_gradient_errors(block, x)
    assert set(errors) == {"input", *(p.name for p in block.named_parameters())}
    cancelled = cancelled_biases(block) if batch_norm else set()
    assert max(error for name, error in errors.items() if name not in cancelled) < 1e-6, errors
    if cancelled:  # a bias before a BatchNorm gets a zero gradient (up to float32 rounding)
        out = block.forward(x.astype(np.float32), training=True)
        block.backward(np.random.default_rng(0).normal(size=out.shape).astype(np.float32))
        for p in block.named_parameters():
            if p.name in cancelled:
                assert np.abs(p.grad).max() < 1e-5, p.name


@pytest.mark.parametrize("batch_norm, skip", [(True, True), (False, True), (True, False)])
def test_small_resnet_gradients_match_finite_differences(batch_norm, skip):
    net = randomise(small_resnet((2, 3), classes=4, batch_norm=batch_norm, skip=skip, seed=18, image_size=6), seed=19)
    rng = np.random.default_rng(20)
    errors = network_gradient_errors(net, rng.random((4, 6, 6)), rng.integers(0, 4, 4), samples=5)
    parameters = {p.name for p in net.named_parameters()}
    assert set(errors) == parameters
    cancelled = cancelled_biases(net) if batch_norm else set()
    assert max(error for name, error in errors.items() if name not in cancelled) < 1e-6, errors


# -- small_resnet and its ablations -------------------------------------------------------------------


def kinds(layer: Layer) -> list[str]:
    """Type names of every layer inside ``layer``, depth first."""
    names = [type(layer).__name__]
    for child in layer.children().values():
        names += kinds(child)
    return names


def test_small_resnet_shapes_and_ablations():
    x = np.random.default_rng(21).random((3, 28, 28), dtype=np.float32)
    nets = {
        (bn, skip): small_resnet(batch_norm=bn, skip=skip, blocks_per_stage=2)
        for bn in (True, False)
        for skip in (True, False)
    }
    for (bn, skip), net in nets.items():
        assert net.forward(x, training=True).shape == net.forward(x).shape == (3, 10)
        assert net.forward(x).dtype == np.float32
        found = [kind for layer in net.layers for kind in kinds(layer)]
        assert ("BatchNorm2D" in found) == bn and ("Parallel" in found) == ("Identity" in found) == skip
        convs = [p.value.shape for p in net.named_parameters() if isinstance(p.layer, Conv2D) and p.key == "weight"]
        assert len(convs) == 1 + 2 * 3 * 2 + (2 if skip else 0)  # stem, two per block, projections when skipping
    assert type(nets[True, True].layers[-3]) is AvgPool2D and nets[True, True].layers[-3].size == (7, 7)
    assert nets[True, True].layers[-1].in_features == 64
    same = {p.name: p.value for p in small_resnet(blocks_per_stage=2).named_parameters()}
    for p in nets[True, True].named_parameters():  # seeded (the running statistics have moved: compare weights)
        np.testing.assert_array_equal(p.value, same[p.name])
    with pytest.raises(ValueError, match="blocks_per_stage >= 1"):
        small_resnet(blocks_per_stage=0)


def test_fit_trains_a_small_resnet_and_evaluates_with_running_statistics():
    rng = np.random.default_rng(22)
    x, y = rng.random((32, 12, 12), dtype=np.float32), rng.integers(0, 3, 32)
    net = small_resnet((4, 8), classes=3, seed=23, image_size=12)
    before = net.state()
    history = net.fit(x, y, epochs=2, batch_size=8, learning_rate=0.05, momentum=0.9, validation=(x, y), progress=False)
    assert np.isfinite(history.train_loss).all()
    after = net.state()
    moved = [key for key in after if not np.array_equal(after[key], before[key])]
    assert any(key.endswith("running_mean") for key in moved) and any(key.endswith("weight") for key in moved)
    a, b = net.forward(x[:4]), net.forward(x)[:4]  # evaluation: each image's output ignores the rest of the batch
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- saving, dtype, weight decay ----------------------------------------------------------------------


def test_save_and_load_keep_the_running_statistics(tmp_path):
    rng = np.random.default_rng(24)
    net = small_resnet((3, 4), classes=5, seed=25, image_size=8)
    optimizer = SGD(0.1, momentum=0.9)
    for _ in range(3):
        net.train_step(rng.random((6, 8, 8), dtype=np.float32), rng.integers(0, 5, 6), optimizer)
    state = net.state()
    buffers = [key for key in state if key.endswith(("running_mean", "running_var"))]
    assert len(buffers) == 2 * sum(kind == "BatchNorm2D" for layer in net.layers for kind in kinds(layer))
    assert "1.running_mean" in buffers and "3.0.branches.0.1.running_var" in buffers  # paths, like parameters
    assert all(not np.array_equal(state[key], 0 if key.endswith("mean") else 1) for key in buffers)  # trained

    path = tmp_path / "resnet.npz"
    net.save(path)
    with np.load(path) as saved:
        assert set(buffers) <= set(saved.files)
        assert json.loads(str(saved["architecture"]))[1] == {
            "type": "BatchNorm2D",
            "config": {"channels": 3, "momentum": 0.1, "eps": 1e-5},
        }
    loaded = Network.load(path)
    assert repr(loaded) == repr(net)
    for key, value in state.items():
        np.testing.assert_array_equal(loaded.state()[key], value, err_msg=key)
    x = rng.random((4, 8, 8), dtype=np.float32)
    np.testing.assert_array_equal(loaded.forward(x), net.forward(x))

    fresh = small_resnet((3, 4), classes=5, seed=25, image_size=8)
    fresh.load_state(state)
    np.testing.assert_array_equal(fresh.forward(x), net.forward(x))
    with pytest.raises(ValueError, match="running_mean"):  # a state without the statistics does not load
        fresh.load_state({key: value for key, value in state.items() if key not in buffers})


def test_to_converts_the_running_statistics():
    net = small_resnet((2, 3), classes=3, seed=26, image_size=6).to(np.float64)
    assert {value.dtype for value in net.state().values()} == {np.dtype(np.float64)}
    assert net.forward(np.zeros((2, 6, 6)), training=True).dtype == np.float64


def test_weight_decay_and_sgd_leave_batchnorm_alone():
    net = randomise(small_resnet((2, 3), classes=3, seed=27, image_size=6), seed=28)
    for parameter in net.named_parameters():  # no loss gradient: only the decay moves the parameters
        parameter.layer.grads[parameter.key] = np.zeros_like(parameter.value)
    before = net.state()
    SGD(0.5, weight_decay=0.1).step(net.layers)
    after = net.state()
    decayed = {p.name for p in net.named_parameters() if p.decayed}
    assert decayed == {
        p.name for p in net.named_parameters() if p.key == "weight" and isinstance(p.layer, (Conv2D, Dense))
    }
    for key in after:
        if key in decayed:
            np.testing.assert_allclose(after[key], before[key] * (1 - 0.5 * 0.1), rtol=1e-6)
        else:  # BatchNorm's weight and bias, every bias, and the running statistics
            np.testing.assert_array_equal(after[key], before[key], err_msg=key)
    assert not any(key.endswith("running_mean") for key in (p.name for p in net.named_parameters()))
