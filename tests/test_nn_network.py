"""Network: training on real digits, agreement with PyTorch, determinism, best-epoch selection,
save/load, ensembles."""

from __future__ import annotations

import os
from pathlib import Path

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
    Tanh,
    ensemble_predict,
    nielsen_two_conv,
)

MNIST_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@pytest.fixture(scope="module")
def mnist_split(tmp_path_factory):
    """Nielsen's split of the real MNIST files under $CNNBOOK_DATA/mnist (never downloaded by tests)."""
    where = os.environ.get("CNNBOOK_DATA")
    if not where or not all((Path(where) / "mnist" / name).is_file() for name in MNIST_NAMES):
        found = f"not in {Path(where) / 'mnist'}" if where else "CNNBOOK_DATA is not set"
        pytest.skip(
            f"needs the MNIST files ({found}): set CNNBOOK_DATA to a folder whose mnist/ holds "
            + ", ".join(MNIST_NAMES)
        )
    from cnnbook.data import nielsen_split

    patch = pytest.MonkeyPatch()
    patch.setenv("CNNBOOK_CACHE", str(tmp_path_factory.mktemp("cache")))  # keep the decoded cache out of ~
    try:
        yield nielsen_split(download=False)
    finally:
        patch.undo()


def blobs(n: int, seed: int = 0, classes: int = 4, features: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters around fixed random centres: a small problem a dense network learns in moments."""
    centres = np.random.default_rng(100).standard_normal((classes, features)) * 2
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    return (centres[labels] + rng.standard_normal((n, features))).astype(np.float32), labels


def small_dense(seed: int = 0, dropout: float = 0.0) -> Network:
    rng = np.random.default_rng(seed)
    layers = [Dense(8, 16, rng=rng), Tanh()] + ([Dropout(dropout)] if dropout else []) + [Dense(16, 4, rng=rng)]
    return Network(layers)


# -- learning ----------------------------------------------------------------------------------------


def test_two_conv_network_learns_real_digits_from_a_few_hundred_images(mnist_split):
    train, validation, _ = mnist_split
    net = nielsen_two_conv(seed=0)
    history = net.fit(
        train.images[:600],
        train.labels[:600],
        epochs=3,
        batch_size=20,
        learning_rate=0.05,
        momentum=0.5,
        validation=(validation.images[:500], validation.labels[:500]),
        progress=False,
    )
    accuracy = net.evaluate(validation.images[:500], validation.labels[:500]).accuracy
    print(f"validation accuracy after 3 epochs on 600 images: {accuracy:.3f} (chance: 0.1)")
    assert accuracy > 0.6
    assert history.train_loss[-1] < history.train_loss[0]
    assert accuracy == max(history.val_accuracy)  # the best epoch's weights were kept


def test_fit_records_history_and_shows_progress(capsys):
    x, y = blobs(300)
    history = small_dense().fit(x, y, epochs=2, batch_size=32, validation=blobs(100, seed=1), progress=True)
    assert len(history.train_loss) == len(history.val_accuracy) == len(history.seconds) == 2
    assert history.learning_rate == [0.1, 0.1]
    assert 0.0 <= history.train_accuracy[-1] <= 1.0 and history.best_epoch in (0, 1)
    bar = capsys.readouterr().err
    assert "epoch 2/2" in bar and "loss=" in bar and "acc=" in bar and "val_acc=" in bar


def test_best_epoch_weights_are_kept_when_later_epochs_get_worse():
    x, y = blobs(400)
    validation = blobs(200, seed=1)
    wreck = lambda epoch, history: 0.1 if epoch < 3 else 40.0  # noqa: E731  a step size that ruins the fit

    with np.errstate(all="ignore"):
        kept = small_dense(seed=1)
        history = kept.fit(x, y, epochs=5, batch_size=20, validation=validation, lr_schedule=wreck, progress=False)
        unkept = small_dense(seed=1)
        unkept.fit(
            x, y, epochs=5, batch_size=20, validation=validation, lr_schedule=wreck, keep_best=False, progress=False
        )
        final = unkept.evaluate(*validation).accuracy
    assert history.learning_rate == [0.1, 0.1, 0.1, 40.0, 40.0]
    assert history.best_epoch < 3 and max(history.val_accuracy) > 0.9
    assert kept.evaluate(*validation).accuracy == history.val_accuracy[history.best_epoch]
    assert final == history.val_accuracy[-1] < max(history.val_accuracy)


def test_patience_stops_training_after_epochs_without_improvement():
    x, y = blobs(200)
    history = small_dense().fit(
        x, y, epochs=20, learning_rate=1e-6, validation=blobs(100, seed=1), patience=2, progress=False
    )
    assert len(history.train_loss) < 20
    assert len(history.train_loss) == history.best_epoch + 3


def test_training_is_deterministic_under_a_seed():
    x, y = blobs(256)

    def train(fit_seed: int) -> dict[str, np.ndarray]:
        net = small_dense(seed=5, dropout=0.3)
        net.fit(x, y, epochs=2, batch_size=16, momentum=0.9, weight_decay=1e-3, seed=fit_seed, progress=False)
        return net.state()

    first, second, other = train(1), train(1), train(2)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    assert any(not np.array_equal(first[key], other[key]) for key in first)


def test_conv_training_step_is_deterministic_and_float32():
    x = np.random.default_rng(0).random((8, 28, 28), dtype=np.float32)
    y = np.arange(8) % 10
    states = []
    for _ in range(2):
        net = nielsen_two_conv(seed=7)
        net.fit(x, y, epochs=1, batch_size=4, progress=False)
        states.append(net.state())
        assert all(value.dtype == np.float32 for value in net.state().values())
        assert net.forward(x.astype(np.float64)).dtype == np.float32
    for key in states[0]:
        np.testing.assert_array_equal(states[0][key], states[1][key])


# -- inference -------------------------------------------------------------------------------------


def test_predict_evaluate_and_input_layouts_agree():
    net = nielsen_two_conv(seed=0)
    x = np.random.default_rng(1).random((30, 28, 28), dtype=np.float32)
    y = np.random.default_rng(2).integers(0, 10, size=30)
    np.testing.assert_array_equal(net.forward(x), net.forward(x[..., None]))  # (N, 28, 28) gets a channel axis
    probabilities = net.predict_proba(x, batch_size=7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(net.predict(x, batch_size=7), probabilities.argmax(axis=1))
    evaluation = net.evaluate(x, y, batch_size=7)
    assert evaluation.accuracy == np.mean(net.predict(x) == y)
    expected_loss = -np.mean(np.log(probabilities[np.arange(30), y]))
    assert evaluation.loss == pytest.approx(expected_loss, rel=1e-5)
    with pytest.raises(ValueError, match="as many labels as images"):
        net.evaluate(x, y[:-1])


def test_dropout_is_off_at_evaluation():
    net = small_dense(dropout=0.5)
    x, _ = blobs(50)
    np.testing.assert_array_equal(net.predict_proba(x), net.predict_proba(x))
    assert not np.array_equal(net.forward(x, training=True), net.forward(x, training=False))


# -- saving ------------------------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    net = Network(
        [
            Conv2D(1, 4, 3, stride=2, padding=1, rng=rng),
            MaxPool2D(2),
            ReLU(),
            Flatten(),
            Dense(4 * 7 * 7, 12, init="glorot", rng=rng),
            Dropout(0.25),
            ReLU(),
            Dense(12, 10, rng=rng),
        ]
    )
    net.layers[0].params["bias"][:] = [0.1, 0.2, -0.3, 0.4]
    path = tmp_path / "net.npz"
    net.save(path)
    loaded = Network.load(path)
    assert repr(loaded) == repr(net)
    x = rng.random((5, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(loaded.forward(x), net.forward(x))
    for key, value in net.state().items():
        np.testing.assert_array_equal(loaded.state()[key], value)
        assert loaded.state()[key].dtype == np.float32
    with pytest.raises(ValueError, match="parameters do not match"):
        small_dense().load_state(net.state())


# -- ensembles ---------------------------------------------------------------------------------------


class FixedProbabilities:
    """Stands in for a trained network that outputs fixed probabilities."""

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities, dtype=np.float32)

    def predict_proba(self, x, batch_size=1000):
        return self.probabilities


def test_ensemble_vote_and_average():
    confident_zero = FixedProbabilities([[0.9, 0.1, 0.0], [0.1, 0.0, 0.9]])
    weak_one = FixedProbabilities([[0.45, 0.55, 0.0], [0.0, 0.6, 0.4]])
    weak_one_again = FixedProbabilities([[0.45, 0.55, 0.0], [0.5, 0.3, 0.2]])
    members = [confident_zero, weak_one, weak_one_again]
    x = np.zeros((2, 1))
    np.testing.assert_array_equal(ensemble_predict(members, x, "vote"), [1, 0])  # second image: a 3-way tie -> 0
    np.testing.assert_array_equal(ensemble_predict(members, x, "average"), [0, 2])
    with pytest.raises(ValueError, match="method must be one of"):
        ensemble_predict(members, x, "median")


def test_ensemble_of_real_networks_votes_per_image():
    nets = [nielsen_two_conv(seed=s) for s in range(3)]
    x = np.random.default_rng(0).random((20, 28, 28), dtype=np.float32)
    votes = np.stack([net.predict(x) for net in nets])
    majority = ensemble_predict(nets, x, "vote")
    for image in range(20):
        counts = np.bincount(votes[:, image], minlength=10)
        assert counts[majority[image]] == counts.max()


# -- PyTorch as an oracle ----------------------------------------------------------------------------


def torch_nielsen(torch, net: Network):
    """PyTorch's version of ``nielsen_two_conv`` (ReLU before pooling, the usual order) with ``net``'s weights."""
    from torch import nn

    model = nn.Sequential(
        nn.Conv2d(1, 20, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(20, 40, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(640, 100),
        nn.ReLU(),
        nn.Linear(100, 10),
    )
    ours = [layer for layer in net.layers if layer.params]
    theirs = [module for module in model if hasattr(module, "weight")]
    with torch.no_grad():
        for layer, module in zip(ours, theirs, strict=True):
            module.weight.copy_(torch.from_numpy(to_torch_layout(layer.params["weight"])))
            module.bias.copy_(torch.from_numpy(layer.params["bias"]))
    return model


def to_torch_layout(weight: np.ndarray) -> np.ndarray:
    """Our weight layouts -> PyTorch's: conv (kh, kw, C, K) -> (K, C, kh, kw); dense (in, out) -> (out, in),
    with the 640 inputs of the first dense layer reordered from our (h, w, c) flattening to PyTorch's (c, h, w)."""
    if weight.ndim == 4:
        return np.ascontiguousarray(weight.transpose(3, 2, 0, 1))
    if weight.shape[0] == 640:
        weight = weight.reshape(4, 4, 40, -1).transpose(2, 0, 1, 3).reshape(640, -1)
    return np.ascontiguousarray(weight.T)


def test_nielsen_network_forward_and_backward_match_pytorch(record_property):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    net = nielsen_two_conv(seed=0)
    for layer in net.layers:
        if layer.params:
            layer.params["bias"][:] = rng.uniform(-0.1, 0.1, size=layer.params["bias"].shape)
    images = rng.random((16, 28, 28), dtype=np.float32)
    images[:, :6, :] = images[:, :, :6] = 0  # blank margins, as in MNIST: windows of tied maxima
    labels = rng.integers(0, 10, size=16)

    logits = net.forward(images, training=True)
    loss = net.loss.forward(logits, labels)
    net.backward(net.loss.backward())

    model = torch_nielsen(torch, net)
    torch_logits = model(torch.from_numpy(images[:, None]))
    torch_loss = torch.nn.functional.cross_entropy(torch_logits, torch.from_numpy(labels))
    torch_loss.backward()

    differences = {
        "logits": np.abs(logits - torch_logits.detach().numpy()).max(),
        "loss": abs(loss - torch_loss.item()),
    }
    ours = [layer for layer in net.layers if layer.params]
    theirs = [module for module in model if hasattr(module, "weight")]
    for index, (layer, module) in enumerate(zip(ours, theirs)):
        grad_w = to_torch_layout(layer.grads["weight"])
        differences[f"layer {index} weight grad"] = np.abs(grad_w - module.weight.grad.numpy()).max()
        differences[f"layer {index} bias grad"] = np.abs(layer.grads["bias"] - module.bias.grad.numpy()).max()
    report = ", ".join(f"{name} {value:.1e}" for name, value in differences.items())
    print(f"max |NumPy - PyTorch|: {report}")
    record_property("max_abs_difference_vs_torch", report)
    assert max(differences.values()) < 1e-5, report
    assert np.abs(logits).max() > 0.1 and np.abs(net.layers[0].grads["weight"]).max() > 1e-4  # not trivially zero


def test_sgd_with_momentum_and_weight_decay_matches_pytorch():
    torch = pytest.importorskip("torch")
    x, y = blobs(64)
    net = Network([Dense(8, 16, rng=0), ReLU(), Dense(16, 4, rng=1)])
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    with torch.no_grad():
        for layer, module in zip(net.layers[::2], model[::2]):
            module.weight.copy_(torch.from_numpy(layer.params["weight"].T.copy()))
            module.bias.copy_(torch.from_numpy(layer.params["bias"]))
    weights = [module.weight for module in model[::2]]
    biases = [module.bias for module in model[::2]]
    optimizer = torch.optim.SGD(  # decay on weights only, as cnnbook.nn.SGD does
        [{"params": weights, "weight_decay": 0.01}, {"params": biases, "weight_decay": 0.0}], lr=0.1, momentum=0.9
    )
    for _ in range(3):  # three full-batch steps, in the same order on both sides
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        optimizer.step()
    net.fit(x, y, epochs=3, batch_size=64, learning_rate=0.1, momentum=0.9, weight_decay=0.01, progress=False)
    for layer, module in zip(net.layers[::2], model[::2]):
        np.testing.assert_allclose(layer.params["weight"], module.weight.detach().numpy().T, atol=1e-6)
        np.testing.assert_allclose(layer.params["bias"], module.bias.detach().numpy(), atol=1e-6)
