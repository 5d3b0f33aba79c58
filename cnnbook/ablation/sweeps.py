"""Section 5.24 of source 003 ("CNN的参数经验设置", rules of thumb for CNN hyperparameters), measured.

The section advises: a learning rate of 0.1 at first, "then divided by 0.2 or 0.5 each time"; a smaller
rate "converges slower but more accurately"; a batch size that "depends on the data set"; a weight decay
of "usually 0.005"; and epochs "until convergence", since more are not always better (overfitting).

Each piece of advice becomes a *sweep*: one setting varied, everything else fixed, every point one network
trained by ``cnnbook.nn`` and recorded as one JSON file under ``results/sweeps/`` (written and read with the
ladder's helpers in :mod:`cnnbook.ablation.records`, with the same provenance). A point whose record exists
with the same settings is not trained again, so a stopped run resumes.

**The network** is the ladder's row 4 (:func:`cnnbook.ablation.rows.row`): two conv-pool layers of 20 and
40 ReLU filters, a dense layer of 100 and 10 logits, the network the chapter's L2 and ReLU rows are built
on, so the sweeps speak about the ladder's own network rather than a toy (its architecture only: the L2 of
row 4 is not used, weight decay is a setting of the sweeps). **The budget** makes the two dozen networks of the
sweeps fit in well under ten minutes of one CPU core: the first 5,000 of Nielsen's 50,000 training images,
3 epochs (15,000 images seen per network, whatever the batch size; the epochs curve takes 10), the first 1,000
validation images to choose the epoch, all 10,000 test images to score it once. At this budget the accuracies
are a few points below the ladder's; what the sweeps compare is the settings, not the network.

``python -m cnnbook.ablation.sweeps --full`` trains every point (run it as
``OMP_NUM_THREADS=1 nice -n 10 python -m cnnbook.ablation.sweeps --full``: one BLAS thread per process is
faster for these small matrices than several fighting over two cores); ``--quick`` runs the same points on a
few hundred images for one epoch, which is what the book build and the tests do.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from cnnbook.book.errata import Claim
from cnnbook.data import Dataset, Split, nielsen_split

from .records import ROOT, percent_correct, predictions_text, provenance, read_record, recorded_or_trained
from .rows import row

#: Where the full sweeps' records are committed.
SWEEP_RESULTS = ROOT / "results" / "sweeps"
#: The ladder's row whose network every point trains.
NETWORK_ROW = 4
#: One seed for every point, so two points differ only in the setting their sweep varies.
SEED = 524


@dataclass(frozen=True)
class Budget:
    """How much of MNIST each point sees: the first images of Nielsen's split, and at most ``max_epochs``."""

    name: str
    train_size: int
    validation_size: int
    test_size: int
    max_epochs: int | None = None


#: Well under ten minutes of one core's CPU time for all the sweeps (the chapter reports the recorded time).
FULL = Budget("full", train_size=5_000, validation_size=1_000, test_size=10_000)
#: Seconds: the same points on a few hundred images, one epoch each. Shows the machinery, not the answers.
QUICK = Budget("quick", train_size=300, validation_size=200, test_size=500, max_epochs=1)
BUDGETS = {budget.name: budget for budget in (FULL, QUICK)}


@dataclass(frozen=True)
class Point:
    """One network of a sweep: mini-batch SGD with these settings on the row-4 network."""

    learning_rate: float
    batch_size: int = 10
    momentum: float = 0.0
    weight_decay: float = 0.0
    epochs: int = 3
    seed: int = SEED

    @property
    def record_name(self) -> str:
        """The file name of the point's record: its settings, so a point shared by two sweeps is trained once."""
        return (
            f"lr{self.learning_rate:g}-batch{self.batch_size}-momentum{self.momentum:g}"
            f"-decay{self.weight_decay:g}-epochs{self.epochs}-seed{self.seed}.json"
        )


@dataclass(frozen=True)
class Sweep:
    """One setting varied over ``points``; ``varies`` names the :class:`Point` field the table shows."""

    name: str  # a short key
    title: str
    varies: str
    points: tuple[Point, ...]
    advice: str  # what section 5.24 says about it, in English


#: The source's own setting: Nielsen's plain SGD on mini-batches of 10, at the section's starting rate 0.1.
BASE = Point(learning_rate=0.1)
RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
MOMENTUM_RATES = (0.001, 0.003, 0.01, 0.03, 0.1)
BATCHES = (8, 32, 128, 512)
DECAYS = (0.0, 0.0005, 0.005, 0.05)
CURVE_EPOCHS = 10

SWEEPS: tuple[Sweep, ...] = (
    Sweep(
        "rate",
        "learning rate, plain SGD, mini-batches of 10",
        "learning_rate",
        tuple(replace(BASE, learning_rate=r) for r in RATES),
        "start at 0.1; a smaller rate converges more slowly but more accurately",
    ),
    Sweep(
        "rate-momentum",
        "learning rate, SGD with momentum 0.9, mini-batches of 10",
        "learning_rate",
        tuple(replace(BASE, learning_rate=r, momentum=0.9) for r in MOMENTUM_RATES),
        "start at 0.1 (the section does not say with which optimiser)",
    ),
    Sweep(
        "batch",
        "batch size at a fixed rate of 0.1",
        "batch_size",
        tuple(replace(BASE, batch_size=b) for b in BATCHES),
        "the batch size depends on the data set",
    ),
    Sweep(
        "batch-scaled",
        "batch size with the rate scaled with it (0.1 x batch / 32)",
        "batch_size",
        tuple(replace(BASE, batch_size=b, learning_rate=float(f"{0.1 * b / 32:g}")) for b in BATCHES),
        "the batch size depends on the data set",
    ),
    Sweep(
        "decay",
        "weight decay, plain SGD at 0.1, mini-batches of 10",
        "weight_decay",
        tuple(replace(BASE, weight_decay=d) for d in DECAYS),
        "weight decay is usually 0.005",
    ),
    Sweep(
        "epochs",
        f"{CURVE_EPOCHS} epochs, plain SGD at 0.1, mini-batches of 10",
        "epochs",
        (replace(BASE, epochs=CURVE_EPOCHS),),
        "train until convergence; more epochs are not always better (overfitting)",
    ),
    Sweep(
        "seed",
        "the source's setting (rate 0.1, batch 10) from three random starts",
        "seed",
        tuple(replace(BASE, seed=SEED + k) for k in range(3)),
        "(none: how far a result moves with the seed alone)",
    ),
)
SWEEP_NAMES = {sweep.name: sweep for sweep in SWEEPS}


def sweep(name: str) -> Sweep:
    """The sweep called ``name`` (one of :data:`SWEEP_NAMES`)."""
    if name not in SWEEP_NAMES:
        raise ValueError(f"the sweeps are {sorted(SWEEP_NAMES)}, got {name!r}")
    return SWEEP_NAMES[name]


def all_points(sweeps: tuple[Sweep, ...] = SWEEPS) -> list[Point]:
    """Every point of ``sweeps``, each once, in the order the sweeps list them."""
    return list(dict.fromkeys(point for s in sweeps for point in s.points))


class Data:
    """Nielsen's split cut down to ``budget``."""

    def __init__(self, budget: Budget, split: Split | None = None) -> None:
        split = split if split is not None else nielsen_split(download=False)
        self.train = Dataset(*(a[: budget.train_size] for a in split.train))
        self.validation = Dataset(*(a[: budget.validation_size] for a in split.validation))
        self.test = Dataset(*(a[: budget.test_size] for a in split.test))


def settings(point: Point, budget: Budget, data: Data) -> dict:
    """Everything that decides a point's result; a record made with other settings is stale."""
    epochs = point.epochs if budget.max_epochs is None else min(point.epochs, budget.max_epochs)
    return {
        "mode": budget.name,
        "network_row": NETWORK_ROW,
        **asdict(replace(point, epochs=epochs)),
        "train_size": len(data.train.images),
        "validation_size": len(data.validation.images),
        "test_size": len(data.test.images),
    }


def train_point(point: Point, budget: Budget, data: Data, progress: bool = False) -> dict:
    """Train one point's network and return its record (accuracies in percent, epochs counted from 1).

    The test accuracy is that of the epoch with the best validation accuracy (the network keeps its weights).
    A network that diverges is recorded as it ends (at chance), with non-finite losses as None (strict JSON).
    """
    config = settings(point, budget, data)
    network = row(NETWORK_ROW).build(point.seed)
    started = time.perf_counter()
    with np.errstate(all="ignore"):  # a rate that diverges overflows; the record says so, the run goes on
        history = network.fit(
            data.train.images,
            data.train.labels,
            epochs=config["epochs"],
            batch_size=point.batch_size,
            learning_rate=point.learning_rate,
            momentum=point.momentum,
            weight_decay=point.weight_decay,
            validation=tuple(data.validation),
            seed=point.seed,
            progress=progress,
        )
        seconds = time.perf_counter() - started
        validation = network.predict(data.validation.images)
        test = network.predict(data.test.images)
    return {
        **config,
        "network": row(NETWORK_ROW).name,  # the name of the ladder row whose architecture is trained
        "test_accuracy": percent_correct(test, data.test.labels),
        "validation_accuracy": percent_correct(validation, data.validation.labels),
        "best_epoch": history.best_epoch + 1,
        "validation_curve": [round(100 * a, 2) for a in history.val_accuracy],
        "validation_loss": [_finite(v) for v in history.val_loss],
        "train_curve": [round(100 * a, 2) for a in history.train_accuracy],  # averaged over each epoch's batches
        "train_loss": [_finite(v) for v in history.train_loss],
        "seconds": round(seconds, 1),
        "images_per_second": round(len(data.train.images) * config["epochs"] / seconds),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or "default",
        **provenance(),
        "validation_predictions": predictions_text(validation),
        "test_predictions": predictions_text(test),
    }


def run_sweeps(
    budget: Budget = QUICK,
    sweeps: tuple[Sweep, ...] = SWEEPS,
    results: Path | None = None,
    split: Split | None = None,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, dict]:
    """Train every point of ``sweeps`` in ``budget``; returns each point's record by its record name.

    With a ``results`` folder each record is written there as soon as it exists, and points already
    recorded there with the same settings are skipped, so an interrupted run resumes. Without one nothing
    is written (the book's quick run).
    """
    data = Data(budget, split)
    plan = all_points(sweeps)
    done: dict[str, dict] = {}
    for index, point in enumerate(plan, 1):
        label = f"[{index}/{len(plan)}] {point.record_name[:-5]}"
        done[point.record_name] = recorded_or_trained(
            results,
            point.record_name,
            settings(point, budget, data),
            lambda point=point: train_point(point, budget, data, progress),
            label,
            log,
        )
    return done


def sweep_records(folder: Path = SWEEP_RESULTS, budget: Budget = FULL) -> dict[str, dict]:
    """The recorded points of ``budget`` in ``folder``, by record name (those of the current definitions only)."""
    records = {}
    for point in all_points():
        record = read_record(folder, point.record_name)
        if record is not None and record.get("mode") == budget.name:
            records[point.record_name] = record
    return records


def sweep_rows(s: Sweep, records: dict[str, dict]) -> list[tuple[Point, dict | None]]:
    """The points of ``s`` with their records (None where a point is not recorded)."""
    return [(point, records.get(point.record_name)) for point in s.points]


def best_point(s: Sweep, records: dict[str, dict]) -> tuple[Point, dict] | None:
    """The point of ``s`` with the best *validation* accuracy (the first on a tie), as one would choose it
    without looking at the test set; None when none is recorded."""
    recorded = [(p, r) for p, r in sweep_rows(s, records) if r is not None]
    if not recorded:
        return None
    return max(recorded, key=lambda pr: pr[1]["validation_accuracy"])  # max keeps the first of equals


def seed_range(records: dict[str, dict]) -> tuple[float, float] | None:
    """The lowest and highest test accuracy of the seed sweep: how far one setting moves with its seed alone."""
    scores = [r["test_accuracy"] for _, r in sweep_rows(sweep("seed"), records) if r is not None]
    return (min(scores), max(scores)) if scores else None


def overfitting(record: dict) -> dict[str, float]:
    """What the epochs curve shows: the best epoch, and validation accuracy and loss at it and at the end."""
    best = record["best_epoch"] - 1
    losses = record["validation_loss"]
    lowest = int(np.argmin([math.inf if v is None else v for v in losses]))
    return {
        "best epoch": best + 1,
        "epochs": len(record["validation_curve"]),
        "best validation accuracy": record["validation_curve"][best],
        "last validation accuracy": record["validation_curve"][-1],
        "lowest validation loss epoch": lowest + 1,
        "last train accuracy": record["train_curve"][-1],
    }


def literal_schedule(start: float = 0.1, divisor: float = 0.2, steps: int = 4) -> tuple[float, ...]:
    """Section 5.24's schedule taken literally: ``start``, then divided by ``divisor`` at each step."""
    return tuple(float(f"{start / divisor**i:.6g}") for i in range(steps))


def _finite(value: float) -> float | None:
    return round(float(value), 4) if math.isfinite(value) else None


# --- what the records say about each piece of advice ------------------------------------------------------

#: Below this test accuracy (percent) a network has not learnt: chance is 10%.
FAILED = 50.0


@dataclass(frozen=True)
class Verdict:
    """One piece of section 5.24's advice, what the sweeps measured, and whether the advice holds."""

    advice: str
    measured: str
    verdict: str


def _test(records: dict[str, dict], point: Point) -> float:
    return records[point.record_name]["test_accuracy"]


def verdicts(records: dict[str, dict]) -> list[Verdict]:
    """The verdict on each piece of section 5.24's advice, computed from the full records (all points needed).

    A difference counts only when it is larger than the seed sweep's spread (the same setting trained from
    other random starts); the verdicts speak of this network and budget, not of every data set.
    """
    missing = [p.record_name for p in all_points() if p.record_name not in records]
    if missing:
        raise ValueError(f"the verdicts need every point recorded; missing {missing}")
    low, high = seed_range(records)
    spread = high - low
    out = []

    rates = sweep_rows(sweep("rate"), records)
    best, best_record = best_point(sweep("rate"), records)
    at_base = _test(records, BASE)
    holds = best.learning_rate == BASE.learning_rate or at_base >= best_record["test_accuracy"] - spread
    out.append(
        Verdict(
            "start the learning rate at 0.1 (plain SGD, mini-batches of 10)",
            f"the best rate of the sweep (chosen on validation) is {best.learning_rate:g}, "
            f"{best_record['test_accuracy']:.2f}% test; 0.1 scores {at_base:.2f}%",
            "holds" if holds else "does not hold at this budget",
        )
    )
    moment, moment_record = best_point(sweep("rate-momentum"), records)
    with_momentum = _test(records, replace(BASE, momentum=0.9))
    out.append(
        Verdict(
            "start at 0.1, whatever the optimiser",
            f"with momentum 0.9 the best rate is {moment.learning_rate:g} ({moment_record['test_accuracy']:.2f}%); "
            f"0.1 scores {with_momentum:.2f}%",
            "holds"
            if with_momentum >= moment_record["test_accuracy"] - spread
            else "does not hold: the right start depends on the optimiser "
            "(momentum 0.9 makes each step ten times larger)",
        )
    )
    literal = literal_schedule(BASE.learning_rate, 0.2, 3)
    larger = [(p.learning_rate, r["test_accuracy"]) for p, r in rates if p.learning_rate > BASE.learning_rate]
    out.append(
        Verdict(
            "then divide the rate by 0.2 or 0.5 at each step",
            "taken literally the rate grows: "
            + ", ".join(f"{r:g}" for r in literal)
            + "; the sweep's rates above 0.1 scored "
            + ", ".join(f"{acc:.2f}% at {r:g}" for r, acc in larger),
            "arithmetic nonsense: dividing by 0.2 or 0.5 multiplies by 5 or 2; multiply by 0.2 or 0.5 instead",
        )
    )
    below = [(p, r) for p, r in rates if p.learning_rate < best.learning_rate]
    first_epoch = [r["validation_curve"][0] for _, r in below] + [best_record["validation_curve"][0]]
    slower = all(b >= a for a, b in zip(first_epoch, first_epoch[1:])) and first_epoch[0] < first_epoch[-1]
    out.append(
        Verdict(
            "a smaller learning rate converges more slowly",
            f"after one epoch, validation accuracy rises from {first_epoch[0]:.2f}% at {below[0][0].learning_rate:g} "
            f"to {first_epoch[-1]:.2f}% at {best.learning_rate:g}"
            if below
            else "no rate of the sweep is below the best",
            "holds (below the best rate)" if below and slower else "not seen at this budget",
        )
    )
    worse = [p for p, r in below if r["test_accuracy"] < best_record["test_accuracy"] - spread]
    out.append(
        Verdict(
            "... but more accurately",
            f"{len(worse)} of the {len(below)} rates below {best.learning_rate:g} score lower after 3 epochs, "
            f"down to {min((r['test_accuracy'] for _, r in below), default=best_record['test_accuracy']):.2f}%; "
            "above it, a smaller rate is more accurate",
            "does not hold at a fixed budget (it holds only for rates above the best)"
            if worse
            else "holds at this budget",
        )
    )
    fixed = sweep_rows(sweep("batch"), records)
    scaled = sweep_rows(sweep("batch-scaled"), records)
    best_fixed = best_point(sweep("batch"), records)[0]
    failed = [p for p, r in scaled if r["test_accuracy"] < FAILED]
    out.append(
        Verdict(
            "choose the batch size by the size of the data set",
            "on one data set, at a fixed rate of 0.1: "
            + ", ".join(f"{r['test_accuracy']:.2f}% at {p.batch_size}" for p, r in fixed)
            + "; with the rate scaled: "
            + ", ".join(f"{r['test_accuracy']:.2f}% at {p.batch_size}" for p, r in scaled),
            f"incomplete: on one data set the best batch was {best_fixed.batch_size} at a fixed number of epochs"
            + (
                f", and scaling the rate with the batch failed from batch {failed[0].batch_size} "
                f"(rate {failed[0].learning_rate:g})"
                if failed
                else ""
            )
            + "; the batch, the rate and the epochs go together",
        )
    )
    decays = sweep_rows(sweep("decay"), records)
    best_decay, best_decay_record = best_point(sweep("decay"), records)
    at_source = _test(records, replace(BASE, weight_decay=0.005))
    out.append(
        Verdict(
            "weight decay is usually 0.005",
            ", ".join(f"{r['test_accuracy']:.2f}% at {p.weight_decay:g}" for p, r in decays)
            + f"; the seed alone moves the base setting by {spread:.2f} points",
            "holds (no worse than the best, within the seed spread)"
            if at_source >= best_decay_record["test_accuracy"] - spread
            else f"does not hold at this budget: 0.005 scores {at_source:.2f}%, below {best_decay.weight_decay:g}'s "
            f"{best_decay_record['test_accuracy']:.2f}% by more than the seed spread",
        )
    )
    curve = overfitting(records[sweep("epochs").points[0].record_name])
    overfit = curve["best epoch"] < curve["epochs"] and curve["lowest validation loss epoch"] < curve["epochs"]
    out.append(
        Verdict(
            "more epochs are not always better (overfitting)",
            f"best validation accuracy {curve['best validation accuracy']:.2f}% at epoch {curve['best epoch']} of "
            f"{curve['epochs']}, {curve['last validation accuracy']:.2f}% at the last; validation loss lowest at "
            f"epoch {curve['lowest validation loss epoch']}; training accuracy {curve['last train accuracy']:.2f}%",
            "holds" if overfit else "not seen at this budget",
        )
    )
    return out


# --- the claims of section 5.24 that the full records decide --------------------------------------------


def _best_recorded(name: str, field: str):
    def compute():
        found = best_point(sweep(name), sweep_records())
        return None if found is None else getattr(found[0], field)

    return compute


#: The advice the sweeps measure wrong. (Its starting rate, 0.1, is the best of the plain-SGD sweep: see
#: :func:`verdicts`.)
CLAIMS: list[Claim] = [
    Claim(
        "003",
        "5.24",
        "weight decay is usually set to (measured: the best decay of the sweep, plain SGD at rate 0.1)",
        0.005,
        _best_recorded("decay", "weight_decay"),
        "on the ladder's row-4 network (5,000 MNIST images, 3 epochs) a decay of 0.005 scores below the best of the "
        "sweep by more than the seed spread (chapter 8, 'Rules of thumb, measured'); the usual value in the papers "
        "the section echoes (AlexNet, VGG) is 0.0005",
    ),
]


# --- the command line ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m cnnbook.ablation.sweeps (--full | --quick) [--sweeps NAME ...] [--results DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m cnnbook.ablation.sweeps", description="Section 5.24, measured.")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--full",
        action="store_true",
        help=f"{FULL.train_size:,} training images, each point's own epochs (about ten minutes on one core)",
    )
    which.add_argument(
        "--quick", action="store_true", help=f"{QUICK.train_size:,} training images, one epoch per point (seconds)"
    )
    parser.add_argument("--sweeps", nargs="+", choices=sorted(SWEEP_NAMES), help="only these sweeps")
    parser.add_argument(
        "--results",
        type=Path,
        help=f"where records go (default: {SWEEP_RESULTS.relative_to(ROOT)} for --full, "
        "_build/sweeps-quick for --quick)",
    )
    args = parser.parse_args(argv)
    budget = FULL if args.full else QUICK
    chosen = tuple(sweep(name) for name in args.sweeps) if args.sweeps else SWEEPS
    results = args.results or (SWEEP_RESULTS if args.full else ROOT / "_build" / "sweeps-quick")
    started = time.perf_counter()
    records = run_sweeps(budget, chosen, results=results)
    for s in chosen:
        print(f"\n{s.title}")
        for point, record in sweep_rows(s, records):
            print(
                f"  {s.varies} {getattr(point, s.varies):<8g} {record['test_accuracy']:6.2f}% test  "
                f"{record['validation_accuracy']:6.2f}% validation  {record['seconds']:6.1f} s"
            )
    print(f"\n{len(records)} records in {results}; {time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
