"""Chapter 9's trained network: a small ResNet on MNIST, and what batch normalization and skips change.

Three networks share one architecture (:func:`cnnbook.nn.small_resnet`: a 3x3 stem, one residual block
per stage of 16, 32 and 64 channels, global average pooling, a dense layer) and one budget (the same
epochs, batches, learning-rate schedule, shifts and seed): the residual network, the same without batch
normalization, and the same without skip connections. The residual network is also trained on a longer
budget (:data:`LONG`). Each run is trained by the book's engine and kept as one record in
``results/resnet/`` (settings, curves, provenance and the predicted class of every validation and test
image, so its accuracies can be recomputed without the weights).

Training is resumable: after every epoch the network, the optimizer's momentum, the random generator and
the curves so far go to a checkpoint (``results/resnet/checkpoints/``, not committed), and a run that was
stopped starts again from the last one, with the same result as a run that never stopped.

    python -m cnnbook.resnet_mnist --full      # the three records of the comparison (about an hour on two cores)
    python -m cnnbook.resnet_mnist --long      # the residual network, trained longer (about 40 minutes)
    python -m cnnbook.resnet_mnist --quick     # the mechanics in a minute (records under _build/)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from cnnbook.ablation.records import (
    percent_correct,
    predictions_text,
    provenance,
    read_record,
    write_record,
)
from cnnbook.data import Dataset, Split, nielsen_split
from cnnbook.files import atomic_open
from cnnbook.nn import SGD, Network, small_resnet

ROOT = Path(__file__).resolve().parents[1]
#: Where the full run's records are committed.
FULL_RESULTS = ROOT / "results" / "resnet"
#: Training loss is recorded as the mean over this many consecutive steps (one point of the loss curve).
LOSS_POINT_STEPS = 50


@dataclass(frozen=True)
class Variant:
    """One of the four networks: with or without batch normalization, with or without skip connections."""

    name: str
    batch_norm: bool
    skip: bool

    @property
    def label(self) -> str:
        """How the chapter's figures name it."""
        return ("BN" if self.batch_norm else "no BN") + (" + skips" if self.skip else ", no skips")


VARIANTS = (
    Variant("resnet", batch_norm=True, skip=True),
    Variant("no-batch-norm", batch_norm=False, skip=True),
    Variant("no-skip", batch_norm=True, skip=False),
)


@dataclass(frozen=True)
class Budget:
    """What every variant gets: epochs over ``train_size`` images (``None``: all 50,000), SGD with momentum
    and weight decay, the learning rate falling from ``peak_rate`` to 0 along a cosine over all steps, and
    each image moved by up to ``shift`` pixels in each direction, drawn anew every epoch."""

    mode: str
    epochs: int
    batch_size: int = 64
    peak_rate: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    shift: int = 2
    seed: int = 9
    train_size: int | None = None
    validation_size: int | None = None

    def rate(self, step: int, steps: int) -> float:
        """The learning rate of ``step`` (from 0) of ``steps``: a half cosine from ``peak_rate`` down to 0."""
        return self.peak_rate * 0.5 * (1 + math.cos(math.pi * step / steps))


FULL = Budget("full", epochs=6)
#: The residual network alone, trained longer: the book's best small ResNet (the comparison above is at FULL).
LONG = Budget("long", epochs=10)
#: Seconds, not accuracy: the mechanics (and the tests) on a sliver of MNIST.
QUICK = Budget("quick", epochs=2, train_size=512, validation_size=256)


def random_shifts(images: np.ndarray, shift: int, rng: np.random.Generator) -> np.ndarray:
    """Each ``(N, H, W)`` image moved by a random whole number of pixels in ``[-shift, shift]`` down and
    right (independently), the pixels moved in being zero (background): the augmentation of every epoch."""
    if shift == 0:
        return images
    n, h, w = images.shape
    padded = np.zeros((n, h + 2 * shift, w + 2 * shift), dtype=images.dtype)
    padded[:, shift : shift + h, shift : shift + w] = images
    down, right = rng.integers(0, 2 * shift + 1, size=(2, n))
    rows = down[:, None] + np.arange(h)  # a crop of the padded image starting at (down, right)
    columns = right[:, None] + np.arange(w)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], columns[:, None, :]]


def settings(variant: Variant, budget: Budget, split: Split) -> dict:
    """Everything that decides a variant's result; a record or checkpoint made with others is stale."""
    train, validation = _cut(split, budget)
    return {
        "variant": variant.name,
        "batch_norm": variant.batch_norm,
        "skip": variant.skip,
        "budget": asdict(budget),
        "train_size": len(train.images),
        "validation_size": len(validation.images),
        "test_size": len(split.test.images),
    }


def _cut(split: Split, budget: Budget) -> tuple[Dataset, Dataset]:
    train = Dataset(*(a[: budget.train_size] for a in split.train))
    validation = Dataset(*(a[: budget.validation_size] for a in split.validation))
    return train, validation


def record_name(variant: Variant, budget: Budget) -> str:
    """The file of a variant's record (and, as ``.npz``, of its checkpoint): ``resnet.json`` for the full
    budget, ``resnet-long.json`` for another."""
    return f"{variant.name}.json" if budget.mode == FULL.mode else f"{variant.name}-{budget.mode}.json"


def build(variant: Variant, budget: Budget) -> Network:
    """The variant's network with its initial weights, drawn in layer order from the budget's seed (so the
    same as another variant's up to the first layer one of them lacks)."""
    return small_resnet(batch_norm=variant.batch_norm, skip=variant.skip, seed=budget.seed)


class Checkpoint:
    """A variant's training state after an epoch, in one ``.npz`` written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, network: Network, optimizer: SGD, rng: np.random.Generator, progress: dict) -> None:
        arrays = {f"state/{key}": value for key, value in network.state().items()}
        arrays |= {f"velocity/{key}": value for key, value in optimizer.velocities().items()}
        meta = {"rng": rng.bit_generator.state, **progress}
        with atomic_open(self.path) as handle:
            np.savez(handle, meta=np.array(json.dumps(meta)), **arrays)

    def load(self, network: Network, optimizer: SGD, rng: np.random.Generator, wanted: dict) -> dict | None:
        """The progress saved with ``wanted`` settings, with network, optimizer and ``rng`` restored; else None."""
        if not self.path.exists():
            return None
        with np.load(self.path, allow_pickle=False) as saved:
            meta = json.loads(str(saved["meta"]))
            if meta.get("settings") != wanted:
                return None
            network.load_state({k[6:]: saved[k] for k in saved.files if k.startswith("state/")})
            optimizer.load_velocities({k[9:]: saved[k] for k in saved.files if k.startswith("velocity/")})
        rng.bit_generator.state = meta.pop("rng")
        return meta


def train_variant(variant: Variant, budget: Budget, split: Split, checkpoints: Path | None = None, log=print) -> dict:
    """Train one variant for the whole budget (resuming from its checkpoint in ``checkpoints``, if any) and
    return its record: accuracies in percent, a loss point per ``LOSS_POINT_STEPS`` steps, the validation
    accuracy after each epoch, and the predictions behind the final accuracies."""
    wanted = settings(variant, budget, split)
    train, validation = _cut(split, budget)
    network, rng = build(variant, budget), np.random.default_rng(budget.seed)
    optimizer = SGD(budget.peak_rate, budget.momentum, budget.weight_decay)
    checkpoint = (
        Checkpoint(checkpoints / Path(record_name(variant, budget)).with_suffix(".npz"))
        if checkpoints is not None
        else None
    )
    progress = checkpoint.load(network, optimizer, rng, wanted) if checkpoint is not None else None
    progress = progress or {"settings": wanted, "epoch": 0, "loss_curve": [], "validation_curve": [], "seconds": 0.0}
    if progress["epoch"]:
        log(f"{variant.name}: resuming after epoch {progress['epoch']}")
    x_val = network.prepare_input(validation.images)
    batches = -(-len(train.images) // budget.batch_size)
    steps = budget.epochs * batches
    validation_predictions = None  # of the last epoch trained, which are also the final ones
    for epoch in range(progress["epoch"], budget.epochs):
        started = time.perf_counter()
        images = network.prepare_input(random_shifts(train.images, budget.shift, rng))
        order = rng.permutation(len(images))
        losses = []
        for batch in range(batches):
            optimizer.learning_rate = budget.rate(epoch * batches + batch, steps)
            chosen = order[batch * budget.batch_size : (batch + 1) * budget.batch_size]
            loss, _ = network.train_step(images[chosen], train.labels[chosen], optimizer)
            losses.append(loss)
        progress["loss_curve"] += [_finite(np.mean(losses[i : i + LOSS_POINT_STEPS])) for i in _points(batches)]
        validation_predictions = network.predict(x_val)
        progress["validation_curve"].append(percent_correct(validation_predictions, validation.labels))
        progress["epoch"], progress["seconds"] = epoch + 1, progress["seconds"] + time.perf_counter() - started
        if checkpoint is not None:
            checkpoint.save(network, optimizer, rng, progress)
        log(f"{variant.name}: epoch {epoch + 1}/{budget.epochs}, validation {progress['validation_curve'][-1]:.2f}%")
    if validation_predictions is None:  # resumed after the last epoch: no epoch scored them here
        validation_predictions = network.predict(x_val)
    test_predictions = network.predict(split.test.images)
    return {
        **wanted,
        "label": variant.label,
        "parameters": int(sum(p.value.size for p in network.named_parameters())),
        "test_accuracy": percent_correct(test_predictions, split.test.labels),
        "validation_accuracy": percent_correct(validation_predictions, validation.labels),
        "loss_curve": progress["loss_curve"],
        "loss_point_steps": LOSS_POINT_STEPS,
        "validation_curve": progress["validation_curve"],
        "seconds": round(progress["seconds"], 1),
        "images_per_second": round(len(train.images) * budget.epochs / progress["seconds"]),
        **provenance(),
        "validation_predictions": predictions_text(validation_predictions),
        "test_predictions": predictions_text(test_predictions),
    }


def _points(batches: int) -> range:
    """Where each loss point's steps start in an epoch: only whole groups of ``LOSS_POINT_STEPS`` steps."""
    return range(0, batches - LOSS_POINT_STEPS + 1, LOSS_POINT_STEPS) if batches >= LOSS_POINT_STEPS else range(1)


def _finite(value: float) -> float | None:
    """A loss for JSON: rounded, and None once training has diverged (JSON has no NaN)."""
    return round(float(value), 5) if math.isfinite(value) else None


def run(
    budget: Budget, results: Path, variants: tuple[Variant, ...] = VARIANTS, split: Split | None = None, log=print
) -> dict[str, dict]:
    """Every variant's record in ``results``: read when one was made with the same settings, else trained
    (resuming from ``results/checkpoints``) and written there at once."""
    split = split if split is not None else nielsen_split()
    records = {}
    for variant in variants:
        record = read_record(results, record_name(variant, budget))
        wanted = settings(variant, budget, split)
        if record is None or any(record.get(key) != value for key, value in wanted.items()):
            record = train_variant(variant, budget, split, results / "checkpoints", log)
            write_record(results, record_name(variant, budget), record)
        log(f"{variant.name}: {record['test_accuracy']:.2f}% test ({variant.label})")
        records[variant.name] = record
    return records


def full_records(folder: Path = FULL_RESULTS) -> dict[str, dict]:
    """The committed records of the full budget, by variant name, in :data:`VARIANTS` order."""
    records = {v.name: read_record(folder, record_name(v, FULL)) for v in VARIANTS}
    return {
        name: record for name, record in records.items() if record is not None and record["budget"]["mode"] == "full"
    }


def long_record(folder: Path = FULL_RESULTS) -> dict | None:
    """The committed record of the residual network trained on the :data:`LONG` budget, if there is one."""
    return read_record(folder, record_name(VARIANTS[0], LONG))


def main(argv: list[str] | None = None) -> int:
    """Train (or read) the records from the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m cnnbook.resnet_mnist", description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--full", action="store_true", help=f"all of MNIST, {FULL.epochs} epochs per network")
    which.add_argument("--long", action="store_true", help=f"the residual network alone, {LONG.epochs} epochs")
    which.add_argument("--quick", action="store_true", help=f"{QUICK.train_size} images, {QUICK.epochs} epochs")
    parser.add_argument("--variants", nargs="+", choices=[v.name for v in VARIANTS], help="only these networks")
    parser.add_argument(
        "--results", type=Path, help="where records go (default: results/resnet or _build/resnet-quick)"
    )
    args = parser.parse_args(argv)
    budget = FULL if args.full else LONG if args.long else QUICK
    results = args.results or (FULL_RESULTS if budget is not QUICK else ROOT / "_build" / "resnet-quick")
    chosen = tuple(v for v in VARIANTS[: 1 if args.long else None] if args.variants is None or v.name in args.variants)
    run(budget, results, chosen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
