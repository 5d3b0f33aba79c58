"""Layers that hold layers (Sequential, Parallel, Identity): gradients against finite differences and
PyTorch, parameter paths, save/load, weight decay chosen by the owning layer, seeding of nested dropout."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnbook.nn import (
    LAYER_TYPES,
    SGD,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Identity,
    Layer,
    MaxPool2D,
    Network,
    Parallel,
    ReLU,
    Sequential,
    layer_gradient_errors,
    network_gradient_errors,
)


def two_branch(rng: np.random.Generator, channels: int = 2, out: int = 3) -> Parallel:
    """``y = conv(x) + conv(relu(conv(x)))``."""
    return Parallel(
        [
            Conv2D(channels, out, 3, padding=1, rng=rng),
            Sequential([Conv2D(channels, out, 3, padding=1, rng=rng), ReLU(), Conv2D(out, out, 3, padding=1, rng=rng)]),
        ]
    )


def residual(rng: np.random.Generator, channels: int = 3, out: int = 4) -> Parallel:
    """A residual block whose shortcut is a 1x1 projection (the body changes the number of channels)."""
    body = Sequential([Conv2D(channels, out, 3, padding=1, rng=rng), ReLU(), Conv2D(out, out, 3, padding=1, rng=rng)])
    return Parallel([body, Conv2D(channels, out, 1, rng=rng)])


def with_biases(layer_or_network, seed: int = 0):
    """Give every bias small random values (zero biases would hide a bias gradient sent to the wrong place)."""
    rng = np.random.default_rng(seed)
    for parameter in layer_or_network.named_parameters():
        if parameter.key == "bias":
            parameter.value[:] = rng.uniform(-0.2, 0.2, size=parameter.value.shape)
    return layer_or_network


def residual_network(seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    return with_biases(
        Network(
            [
                Conv2D(1, 3, 3, padding=1, rng=rng),
                ReLU(),
                residual(rng),
                ReLU(),
                MaxPool2D(2),
                Flatten(),
                Dense(4 * 3 * 3, 5, rng=rng),
            ]
        ),
        seed,
    )


# -- the walk and its names -------------------------------------------------------------------------


def test_parameters_are_named_by_their_path():
    net = residual_network()
    assert list(net.state()) == [
        "0.weight",
        "0.bias",
        "2.branches.0.0.weight",
        "2.branches.0.0.bias",
        "2.branches.0.2.weight",
        "2.branches.0.2.bias",
        "2.branches.1.weight",
        "2.branches.1.bias",
        "6.weight",
        "6.bias",
    ]
    block = net.layers[2]
    assert [p.name for p in block.named_parameters()][:2] == ["branches.0.0.weight", "branches.0.0.bias"]
    assert all(p.value is p.layer.params[p.key] for p in net.named_parameters())  # the arrays, not copies
    assert net.forward(np.zeros((2, 6, 6), np.float32)).shape == (2, 5)  # (N, H, W) images get a channel axis


def test_to_reaches_nested_layers():
    net = residual_network().to(np.float64)
    assert {value.dtype for value in net.state().values()} == {np.dtype(np.float64)}
    assert net.forward(np.zeros((1, 6, 6))).dtype == np.float64


def test_a_composite_first_layer_skips_its_input_gradient_and_trains():
    rng = np.random.default_rng(1)
    net = Network([residual(rng, channels=1), ReLU(), Flatten(), Dense(4 * 5 * 5, 3, rng=rng)])
    x, y = rng.random((4, 5, 5), dtype=np.float32), np.array([0, 1, 2, 1])
    assert net.layers[0].input_ndim == 4
    net.forward(x, training=True)
    assert net.layers[0].backward(np.ones((4, 5, 5, 4), np.float32), input_grad=False) is None
    before = net.state()
    loss, _ = net.train_step(x, y, SGD(0.1))
    assert np.isfinite(loss)
    assert all(not np.array_equal(before[key], value) for key, value in net.state().items() if key.endswith("weight"))


def test_parallel_refuses_branches_of_different_shapes_and_empty_containers():
    block = Parallel([Conv2D(1, 2, 3, rng=0), Conv2D(1, 2, 1, rng=0)])
    with pytest.raises(ValueError, match="outputs of one shape"):
        block.forward(np.zeros((1, 5, 5, 1), np.float32))
    with pytest.raises(ValueError, match="at least one branch"):
        Parallel([])
    with pytest.raises(ValueError, match="at least one layer"):
        Sequential([])
    with pytest.raises(ValueError, match="Layers, got int"):
        Sequential([ReLU(), 3])


# -- gradients ----------------------------------------------------------------------------------------


def test_two_branch_block_gradients_match_finite_differences():
    block = with_biases(two_branch(np.random.default_rng(2)))
    x = np.random.default_rng(3).standard_normal((2, 5, 4, 2))
    errors = layer_gradient_errors(block, x)
    assert set(errors) == {
        "input",
        "branches.0.weight",
        "branches.0.bias",
        "branches.1.0.weight",
        "branches.1.0.bias",
        "branches.1.2.weight",
        "branches.1.2.bias",
    }
    assert max(errors.values()) < 1e-7, errors
    assert block.branches[0].params["weight"].dtype == np.float32  # checked on a float64 copy


def test_residual_network_gradients_match_finite_differences():
    net = residual_network(seed=4)
    rng = np.random.default_rng(5)
    errors = network_gradient_errors(net, rng.random((3, 6, 6)), np.array([0, 4, 2]), samples=6)
    assert set(errors) == set(net.state())
    assert max(errors.values()) < 1e-6, errors


def to_torch(torch, weight: np.ndarray):
    """Our conv weight (kh, kw, C, K) as PyTorch's (K, C, kh, kw), a leaf tensor that collects a gradient."""
    return torch.tensor(np.ascontiguousarray(weight.transpose(3, 2, 0, 1)), requires_grad=True)


def test_residual_block_forward_and_backward_match_pytorch():
    torch = pytest.importorskip("torch")
    conv2d = torch.nn.functional.conv2d
    block = with_biases(residual(np.random.default_rng(6))).to(np.float64)
    rng = np.random.default_rng(7)
    x, upstream = rng.standard_normal((2, 6, 5, 3)), rng.standard_normal((2, 6, 5, 4))

    out = block.forward(x, training=True)
    grad_x = block.backward(upstream)

    body, shortcut = block.branches
    convs = {"branches.0.0": body.layers[0], "branches.0.2": body.layers[2], "branches.1": shortcut}
    weights = {name: to_torch(torch, conv.params["weight"]) for name, conv in convs.items()}
    biases = {name: torch.tensor(conv.params["bias"], requires_grad=True) for name, conv in convs.items()}
    tx = torch.tensor(np.moveaxis(x, -1, 1), requires_grad=True)
    hidden = torch.relu(conv2d(tx, weights["branches.0.0"], biases["branches.0.0"], padding=1))
    ty = conv2d(hidden, weights["branches.0.2"], biases["branches.0.2"], padding=1)
    ty = ty + conv2d(tx, weights["branches.1"], biases["branches.1"])
    ty.backward(torch.tensor(np.moveaxis(upstream, -1, 1)))

    np.testing.assert_allclose(out, np.moveaxis(ty.detach().numpy(), 1, -1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_x, np.moveaxis(tx.grad.numpy(), 1, -1), rtol=1e-10, atol=1e-12)
    for name, conv in convs.items():
        np.testing.assert_allclose(
            conv.grads["weight"], weights[name].grad.numpy().transpose(2, 3, 1, 0), rtol=1e-10, atol=1e-12, err_msg=name
        )
        np.testing.assert_allclose(conv.grads["bias"], biases[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


# -- saving -------------------------------------------------------------------------------------------


class Scale(Layer):
    """A layer defined outside the engine: registered by its definition, so a saved network can hold it."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def config(self) -> dict:
        return {"factor": self.factor}

    def forward(self, x, training=False):
        return x * self.factor

    def backward(self, grad_output, *, input_grad=True):
        return grad_output * self.factor if input_grad else None


def test_save_and_load_round_trip_a_network_with_composite_layers(tmp_path):
    rng = np.random.default_rng(8)
    net = with_biases(
        Network(
            [
                Conv2D(1, 3, 3, padding=1, rng=rng),
                ReLU(),
                residual(rng),
                Parallel([Sequential([Dropout(0.25), Scale(0.5)]), Identity()]),
                MaxPool2D(2),
                Flatten(),
                Dense(4 * 3 * 3, 5, init="glorot", rng=rng),
            ]
        )
    )
    path = tmp_path / "composite.npz"
    net.save(path)
    loaded = Network.load(path)
    assert repr(loaded) == repr(net)
    assert "Parallel([Sequential([Conv2D(" in repr(net)
    assert list(loaded.state()) == list(net.state())
    for key, value in net.state().items():
        assert loaded.state()[key].dtype == value.dtype == np.float32
        np.testing.assert_array_equal(loaded.state()[key], value)
    x = rng.random((3, 6, 6), dtype=np.float32)
    np.testing.assert_array_equal(loaded.forward(x), net.forward(x))
    with np.load(path) as saved:
        architecture = json.loads(str(saved["architecture"]))
    assert architecture[2]["type"] == "Parallel"
    assert architecture[2]["config"]["branches"][0]["config"]["layers"][1] == {"type": "ReLU", "config": {}}

    net.to(np.float64).save(path)
    assert Network.load(path).dtype == np.float64


def test_files_in_the_earlier_format_still_load(tmp_path):
    """Earlier versions wrote a flat JSON list of {"type", "config"} and arrays named "<layer index>.<name>"."""
    rng = np.random.default_rng(9)
    layers = [Conv2D(1, 2, 3, rng=rng), MaxPool2D(2), ReLU(), Flatten(), Dense(2 * 3 * 3, 4, rng=rng)]
    state = {f"{i}.{name}": value for i, layer in enumerate(layers) for name, value in layer.params.items()}
    architecture = [{"type": type(layer).__name__, "config": layer.config()} for layer in layers]
    np.savez(tmp_path / "old.npz", architecture=np.array(json.dumps(architecture)), **state)
    loaded = Network.load(tmp_path / "old.npz")
    assert repr(loaded) == repr(Network(layers))
    for key, value in state.items():
        np.testing.assert_array_equal(loaded.state()[key], value)


def test_layer_types_register_themselves_and_a_borrowed_name_is_refused(tmp_path):
    assert LAYER_TYPES["Scale"] is Scale and LAYER_TYPES["Parallel"] is Parallel
    assert "_Pool2D" not in LAYER_TYPES  # shared bases are not layer types

    class ReLU(Layer):  # noqa: N801  a student's own ReLU must not replace the engine's when files are loaded
        def forward(self, x, training=False):
            return x

    assert LAYER_TYPES["ReLU"] is not ReLU and LAYER_TYPES["ReLU"].__module__ == "cnnbook.nn.activations"
    with pytest.raises(ValueError, match="give the class another name"):
        Network([ReLU()]).save(tmp_path / "clash.npz")
    with pytest.raises(ValueError, match="unknown layer type 'Nothing'"):
        Layer.from_spec({"type": "Nothing", "config": {}})


# -- the optimiser and the noise -----------------------------------------------------------------------


def test_weight_decay_reaches_nested_weights_and_not_nested_biases():
    rng = np.random.default_rng(10)
    net = with_biases(
        Network(
            [
                Parallel([Sequential([Dense(4, 4, rng=rng), ReLU(), Dense(4, 4, rng=rng)]), Dense(4, 4, rng=rng)]),
                Dense(4, 3, rng=rng),
            ]
        )
    )
    for parameter in net.named_parameters():  # no loss gradient: only the decay moves the parameters
        parameter.layer.grads[parameter.key] = np.zeros_like(parameter.value)
    before = net.state()
    SGD(0.5, weight_decay=0.1).step(net.layers)
    after = net.state()
    assert sorted(key for key in after if key.endswith("weight")) == [
        "0.branches.0.0.weight",
        "0.branches.0.2.weight",
        "0.branches.1.weight",
        "1.weight",
    ]
    for key in after:
        if key.endswith("weight"):
            np.testing.assert_allclose(after[key], before[key] * (1 - 0.5 * 0.1), rtol=1e-6)
        else:
            np.testing.assert_array_equal(after[key], before[key])


def test_the_layer_not_the_name_decides_weight_decay():
    class Gains(Layer):
        decayed = frozenset({"gain"})  # decayed although not called "weight"; its "weight" is not

        def __init__(self) -> None:
            super().__init__()
            self.params = {"gain": np.ones(3, np.float32), "weight": np.ones(3, np.float32)}
            self.grads = {name: np.zeros(3, np.float32) for name in self.params}

    layer = Gains()
    SGD(1.0, weight_decay=0.5).step([Sequential([layer])])
    np.testing.assert_allclose(layer.params["gain"], 0.5)
    np.testing.assert_array_equal(layer.params["weight"], 1.0)


def test_seeding_reaches_a_nested_dropout():
    def build(dropout_seed: int) -> Network:
        rng = np.random.default_rng(11)
        inner = Sequential([Dropout(0.5, rng=dropout_seed), Dense(8, 8, rng=rng)])
        return Network([Dense(6, 8, rng=rng), Parallel([inner, Identity()]), Dense(8, 3, rng=rng)])

    x = np.random.default_rng(12).standard_normal((5, 6)).astype(np.float32)
    a, b = build(dropout_seed=1), build(dropout_seed=2)
    assert not np.array_equal(a.forward(x, training=True), b.forward(x, training=True))  # their own generators
    a.set_rng(np.random.default_rng(0))
    b.set_rng(np.random.default_rng(0))
    np.testing.assert_array_equal(a.forward(x, training=True), b.forward(x, training=True))  # now the network's

    y = np.array([0, 1, 2, 0, 1])
    first, second = build(1), build(2)  # fit seeds the dropout too: the same result from different generators
    for net in (first, second):
        net.fit(x, y, epochs=2, batch_size=5, momentum=0.9, seed=3, progress=False)
    for key, value in first.state().items():
        np.testing.assert_array_equal(second.state()[key], value)
