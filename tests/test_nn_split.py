"""The split training step (cnnbook.nn.split): two halves of a batch side by side give the whole batch's step."""

from __future__ import annotations

import numpy as np
import pytest

import cnnbook.nn.split as split
from cnnbook.nn import (
    SGD,
    BatchNorm2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    Network,
    nielsen_two_conv,
    residual_block,
)


def batch(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


def small_residual(batch_norm: bool) -> Network:
    """Containers (Sequential, Parallel, Identity) inside: the twin must mirror the nesting."""
    return Network(
        [
            Conv2D(1, 4, 3, padding=1, rng=0),
            residual_block(4, 4, rng=1, batch_norm=batch_norm),
            residual_block(4, 8, stride=2, rng=2, batch_norm=batch_norm),
            MaxPool2D(2),
            Flatten(),
            Dense(7 * 7 * 8, 10, rng=3),
        ]
    )


@pytest.mark.parametrize("size", [48, 64, 200])  # 200: each half in two pieces
@pytest.mark.parametrize("make", [lambda: nielsen_two_conv(0), lambda: small_residual(batch_norm=False)])
def test_a_split_step_is_the_whole_batchs_step(size, make):
    x, y = batch(size)
    whole, halves = make().to(np.float64), make().to(np.float64)
    whole.split_batches = False
    for _ in range(2):
        expected = whole.train_step(x, y, SGD(0.05, momentum=0.9))
        assert whole._half_step is None
        got = halves.train_step(x, y, SGD(0.05, momentum=0.9))
        assert halves._half_step is not None  # it really was split
        assert got[1] == expected[1] and got[0] == pytest.approx(expected[0], abs=1e-12)
        for mine, theirs in zip(halves.named_parameters(), whole.named_parameters(), strict=True):
            np.testing.assert_allclose(mine.grad, theirs.grad, rtol=0, atol=1e-12, err_msg=mine.name)
            np.testing.assert_allclose(mine.value, theirs.value, rtol=0, atol=1e-12, err_msg=mine.name)


def test_the_numbers_do_not_depend_on_the_cores(monkeypatch):
    """Two threads or one: the same halves in the same pieces, so bit for bit the same weights."""
    x, y = batch(130)
    nets = []
    for helper in (split._helper(), None):
        with monkeypatch.context() as patch:
            patch.setattr(split, "_helper", lambda helper=helper: helper)
            net = nielsen_two_conv(0, dropout=0.5)
            net.set_rng(np.random.default_rng(7))
            optimizer = SGD(0.05, momentum=0.9)
            for _ in range(3):
                net.train_step(x, y, optimizer)
            nets.append(net)
    for mine, theirs in zip(*(net.named_parameters() for net in nets), strict=True):
        np.testing.assert_array_equal(mine.value, theirs.value, err_msg=mine.name)


def test_the_pieces_cover_the_batch_evenly_and_depend_on_its_size_only():
    for size in (48, 64, 128, 129, 256, 1000):
        parts = split.pieces(size)
        assert len(parts) % 2 == 0 and all(0 < p.stop - p.start <= split.PIECE for p in parts)
        assert parts[0].start == 0 and parts[-1].stop == size
        assert all(a.stop == b.start for a, b in zip(parts, parts[1:]))
    assert len(split.pieces(128)) == 2 and len(split.pieces(129)) == 4


def test_batch_norm_and_small_batches_train_unsplit():
    x, y = batch(64)
    net = small_residual(batch_norm=True)
    assert any(isinstance(layer, BatchNorm2D) for layer in split.walk(net._body))
    assert not split.splittable(net._body, 64)
    net.train_step(x, y, SGD(0.05))
    assert net._half_step is None
    assert not split.splittable(nielsen_two_conv(0)._body, split.SPLIT_FROM - 1)


def test_each_half_draws_its_own_dropout_noise_and_a_seed_repeats_a_run():
    x, y = batch(64)
    net = Network([Flatten(), Dropout(0.5), Dense(784, 10, rng=0)])
    net.set_rng(np.random.default_rng(3))
    net.train_step(x, y, SGD(0.01))
    twin_dropout = net._half_step.twin.layers[1]
    mine, theirs = net.layers[1]._scale, twin_dropout._scale
    assert mine.shape == theirs.shape == (32, 784) and not np.array_equal(mine, theirs)

    start = net.state()

    def trained() -> np.ndarray:
        net.load_state(start)
        net.fit(x, y, epochs=2, batch_size=64, seed=5, progress=False)
        return net.layers[2].params["weight"].copy()

    np.testing.assert_array_equal(trained(), trained())


def test_replaced_parameters_get_a_new_twin_and_bad_labels_name_the_whole_batch():
    x, y = batch(64)
    net = nielsen_two_conv(0)
    net.train_step(x, y, SGD(0.01))
    first = net._half_step.twin
    net.to(np.float64)  # every parameter array replaced: the old twin would train stale copies
    net.train_step(x, y, SGD(0.01))
    assert net._half_step.twin is not first
    assert all(p.value.dtype == np.float64 for p in net._half_step.twin.named_parameters())
    with pytest.raises(ValueError, match=r"labels expected shape \(64,\), got \(63,\)"):
        net.train_step(x, y[:63], SGD(0.01))
    with pytest.raises(ValueError, match=r"Conv2D expected input of shape \(N, H, W, 1\)"):
        net.train_step(np.zeros((64, 28, 28, 3)), y, SGD(0.01))
