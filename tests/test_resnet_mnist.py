"""Chapter 9's trained ResNet: the augmentation, the resumable training, and the committed records."""

import json
from dataclasses import asdict, replace

import numpy as np
import pytest

from cnnbook import resnet_mnist
from cnnbook.ablation.records import predictions_array
from cnnbook.data import Dataset, Split
from cnnbook.resnet_mnist import (
    FULL,
    LONG,
    QUICK,
    VARIANTS,
    full_records,
    long_record,
    random_shifts,
    record_name,
    settings,
)

TINY = replace(QUICK, train_size=None, validation_size=None)


@pytest.fixture(scope="module")
def digits_split() -> Split:
    """64/32/32 random images: enough to train two epochs of a few steps and score them."""
    rng = np.random.default_rng(3)
    images, labels = rng.random((128, 28, 28), dtype=np.float32), rng.integers(0, 10, 128)
    return Split(*(Dataset(images[a:b], labels[a:b]) for a, b in ((0, 64), (64, 96), (96, 128))))


def test_random_shifts_move_whole_images_within_the_bound():
    rng = np.random.default_rng(0)
    images = np.zeros((200, 9, 9), dtype=np.float32)
    images[:, 4, 4] = 1  # one lit pixel in the middle: where it lands is the shift
    moved = random_shifts(images, 2, rng)
    rows, columns = np.nonzero(moved.reshape(200, -1))[1] // 9, np.nonzero(moved.reshape(200, -1))[1] % 9
    assert moved.shape == images.shape and moved.sum() == 200  # nothing lost or wrapped
    assert set(rows - 4) == set(columns - 4) == {-2, -1, 0, 1, 2}  # every shift drawn, none beyond 2
    assert random_shifts(images, 0, rng) is images


def test_a_stopped_run_resumes_to_the_same_record(digits_split, tmp_path):
    """Stopped after its first epoch (the checkpoint written), a run started again ends where one that
    never stopped ends: the same curves and predictions, to the bit."""
    variant = VARIANTS[0]
    whole = resnet_mnist.train_variant(variant, TINY, digits_split, tmp_path / "whole", log=lambda line: None)

    def stop_after_first_epoch(line: str) -> None:
        if "epoch 1/" in line:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        resnet_mnist.train_variant(variant, TINY, digits_split, tmp_path / "stopped", log=stop_after_first_epoch)
    heard = []
    resumed = resnet_mnist.train_variant(variant, TINY, digits_split, tmp_path / "stopped", log=heard.append)
    assert heard[0] == f"{variant.name}: resuming after epoch 1"
    timing = {"seconds", "images_per_second", "date"}
    assert {k: v for k, v in resumed.items() if k not in timing} == {k: v for k, v in whole.items() if k not in timing}
    assert len(whole["validation_curve"]) == TINY.epochs and whole["loss_curve"]


def test_a_checkpoint_of_other_settings_is_not_resumed(digits_split, tmp_path):
    variant = VARIANTS[2]
    resnet_mnist.train_variant(variant, TINY, digits_split, tmp_path, log=lambda line: None)
    heard = []
    resnet_mnist.train_variant(variant, replace(TINY, seed=10), digits_split, tmp_path, log=heard.append)
    assert not any("resuming" in line for line in heard)


def test_the_variants_differ_only_in_batch_norm_and_skips():
    layers = {v.name: repr(resnet_mnist.build(v, QUICK)) for v in VARIANTS}
    assert list(layers) == ["resnet", "no-batch-norm", "no-skip"] and len(set(layers.values())) == 3
    assert "BatchNorm" in layers["resnet"] + layers["no-skip"] and "BatchNorm" not in layers["no-batch-norm"]
    assert "Identity" in layers["resnet"] + layers["no-batch-norm"] and "Identity" not in layers["no-skip"]
    convolutions = {
        v.name: [p.value for p in resnet_mnist.build(v, QUICK).named_parameters() if p.value.ndim == 4]
        for v in VARIANTS
    }
    resnet, no_batch_norm, no_skip = convolutions.values()
    assert len(resnet) == len(no_batch_norm) == len(no_skip) + 2  # two projection shortcuts fewer
    assert all(map(np.array_equal, resnet, no_batch_norm))  # batch norm draws nothing: the same weights
    assert all(map(np.array_equal, resnet[:5], no_skip[:5]))  # the same draws up to the first projection


def test_each_budget_has_its_own_record_file():
    assert [record_name(VARIANTS[0], b) for b in (FULL, LONG, QUICK)] == [
        "resnet.json",
        "resnet-long.json",
        "resnet-quick.json",
    ]
    assert LONG.epochs > FULL.epochs and replace(LONG, mode="full", epochs=FULL.epochs) == FULL


RECORDED = full_records()
LONG_RECORD = long_record()


COMMITTED = [(name, FULL, record) for name, record in RECORDED.items()]
COMMITTED += [("resnet", LONG, LONG_RECORD)] if LONG_RECORD is not None else []


def test_every_variant_has_a_committed_record_of_the_current_budget():
    assert list(RECORDED) == [v.name for v in VARIANTS]
    for _, budget, record in COMMITTED:
        assert record["budget"] == json.loads(json.dumps(asdict(budget)))
        assert len(record["validation_curve"]) == budget.epochs
        assert "/work" not in json.dumps(record)
        assert record["command"].startswith(f"python -m cnnbook.resnet_mnist --{budget.mode}")


@pytest.mark.parametrize(("name", "budget", "record"), COMMITTED, ids=[f"{n}-{b.mode}" for n, b, _ in COMMITTED])
def test_committed_records_are_what_their_predictions_score(name, budget, record, mnist_split):
    """Accuracies recomputed from the stored predictions and the real labels; settings as the code has them."""
    variant = next(v for v in VARIANTS if v.name == name)
    assert {k: record[k] for k in settings(variant, budget, mnist_split)} == settings(variant, budget, mnist_split)
    for key, dataset in (("test", mnist_split.test), ("validation", mnist_split.validation)):
        predicted = predictions_array(record[f"{key}_predictions"])
        assert len(predicted) == 10_000
        assert record[f"{key}_accuracy"] == round(100 * float(np.mean(predicted == dataset.labels)), 2)


@pytest.mark.skipif(LONG_RECORD is None, reason="the residual network's --long run is not recorded yet")
def test_the_residual_network_trained_longer_reaches_99_5_percent():
    assert LONG_RECORD["test_accuracy"] >= 99.5
