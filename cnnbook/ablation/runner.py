"""Train the ladder, row by row and ensemble member by member, resuming where a run stopped.

Every trained network is one *piece* with its own record; a piece whose record exists (made with
the same settings) is not trained again, so a run that was killed picks up at the next piece.
Row 8 trains no network of its own: its first member is row 7's network, its other four are
trained with row 7's definition and other seeds, and the ensemble votes with the recorded
predictions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from cnnbook.data import Dataset, Split, expand_with_shifts, nielsen_split
from cnnbook.nn import majority_vote

from .records import (
    percent_correct,
    predictions_array,
    predictions_text,
    provenance,
    record_name,
    recorded_or_trained,
    write_record,
)
from .rows import ROWS, Row


@dataclass(frozen=True)
class Mode:
    """How much of MNIST a run uses: ``None`` means all of it (the full mode)."""

    name: str
    train_size: int | None = None  # the first images of Nielsen's 50,000 (before expansion)
    validation_size: int | None = None
    max_epochs: int | None = None


FULL = Mode("full")
#: A few minutes on two cores for the whole ladder; its numbers show the mechanics, not the accuracies.
QUICK = Mode("quick", train_size=1000, validation_size=2000, max_epochs=2)
MODES = {mode.name: mode for mode in (FULL, QUICK)}


class Data:
    """Nielsen's split cut down to ``mode``, with the expanded training set made on first use."""

    def __init__(self, mode: Mode, split: Split | None = None) -> None:
        split = split if split is not None else nielsen_split()
        self.train = Dataset(*(a[: mode.train_size] for a in split.train))
        self.validation = Dataset(*(a[: mode.validation_size] for a in split.validation))
        self.test = split.test

    @cached_property
    def expanded(self) -> Dataset:
        return expand_with_shifts(*self.train)

    def training_set(self, row: Row) -> Dataset:
        return self.expanded if row.expanded else self.train


@dataclass(frozen=True)
class Piece:
    """One network to train: ``member`` of ``row`` (row 8's member 1 is row 7's network)."""

    row: Row
    member: int = 1

    @property
    def seed(self) -> int:
        return 100 * self.row.number + self.member

    @property
    def record_name(self) -> str:
        return record_name(self.row.number, self.member)


def pieces(rows: list[Row]) -> list[Piece]:
    """The networks the ``rows`` need, in training order, each once.

    An ensemble's first member is the row before it, so it is trained once for both.
    """
    needed: list[Piece] = []
    for row in rows:
        wanted = (
            [Piece(row)]
            if row.members == 1
            else [Piece(ROWS[row.number - 2])] + [Piece(row, member) for member in range(2, row.members + 1)]
        )
        needed += [piece for piece in wanted if piece not in needed]
    return needed


def settings(piece: Piece, mode: Mode, data: Data) -> dict:
    """Everything that decides a piece's result; a record made with other settings is stale."""
    row = piece.row
    schedule = (
        row.schedule
        if mode.max_epochs is None
        else replace(row.schedule, epochs=min(row.schedule.epochs, mode.max_epochs))
    )
    train_size = len(data.training_set(row).images)
    return {
        "mode": mode.name,
        "row": row.number,
        "member": piece.member,
        "seed": piece.seed,
        "expanded": row.expanded,
        "train_size": train_size,
        "validation_size": len(data.validation.images),
        "test_size": len(data.test.images),
        "schedule": schedule.as_dict(),
        "weight_decay": row.weight_decay(train_size),
    }


def train_piece(piece: Piece, mode: Mode, data: Data, progress: bool = True) -> dict:
    """Train one network and return its record (accuracies in percent, epochs counted from 1)."""
    config = settings(piece, mode, data)
    schedule = type(piece.row.schedule)(**config["schedule"])
    train = data.training_set(piece.row)
    network = piece.row.build(piece.seed)
    started = time.perf_counter()
    history = network.fit(
        train.images,
        train.labels,
        epochs=schedule.epochs,
        batch_size=schedule.batch_size,
        learning_rate=schedule.learning_rate,
        momentum=schedule.momentum,
        weight_decay=config["weight_decay"],
        validation=tuple(data.validation),
        lr_schedule=lambda epoch, _: schedule.rate(epoch),
        seed=piece.seed,
        progress=progress,
    )
    seconds = time.perf_counter() - started
    validation = network.predict(data.validation.images)
    test = network.predict(data.test.images)
    return {
        **config,
        "name": piece.row.name,
        "source_accuracy": piece.row.source_accuracy,
        "test_accuracy": percent_correct(test, data.test.labels),
        "validation_accuracy": percent_correct(validation, data.validation.labels),
        "best_epoch": history.best_epoch + 1,
        "epochs": len(history.val_accuracy),
        "validation_curve": [round(100 * a, 2) for a in history.val_accuracy],
        "seconds": round(seconds, 1),
        "images_per_second": round(len(train.images) * len(history.val_accuracy) / seconds),
        **provenance(),
        "validation_predictions": predictions_text(validation),
        "test_predictions": predictions_text(test),
    }


def vote(row: Row, members: list[dict], data: Data) -> dict:
    """Row 8's record: the members' recorded predictions, combined by majority vote (ties to the lowest class)."""

    def voted(key: str, labels: np.ndarray) -> tuple[np.ndarray, float]:
        winners = majority_vote(np.stack([predictions_array(m[key]) for m in members]), classes=10)
        return winners, percent_correct(winners, labels)

    validation, validation_accuracy = voted("validation_predictions", data.validation.labels)
    test, test_accuracy = voted("test_predictions", data.test.labels)
    return {
        "mode": members[0]["mode"],
        "row": row.number,
        "member": 1,
        "name": row.name,
        "source_accuracy": row.source_accuracy,
        "members": [m["test_accuracy"] for m in members],
        "test_accuracy": test_accuracy,
        "validation_accuracy": validation_accuracy,
        "best_epoch": None,
        "epochs": sum(m["epochs"] for m in members),
        "seconds": round(sum(m["seconds"] for m in members), 1),
        "images_per_second": round(float(np.mean([m["images_per_second"] for m in members]))),
        "schedule": members[0]["schedule"],
        "train_size": members[0]["train_size"],
        "validation_size": len(data.validation.images),
        "test_size": len(data.test.images),
        **provenance(),
        "validation_predictions": predictions_text(validation),
        "test_predictions": predictions_text(test),
    }


def run_ladder(
    mode: Mode = QUICK,
    rows: list[int] | None = None,
    results: Path | None = None,
    split: Split | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[int, dict]:
    """Train the ``rows`` (default: all eight) in ``mode``; returns each row's record by row number.

    With a ``results`` folder every record is written there as soon as it exists, and pieces already
    recorded there with the same settings are skipped, so an interrupted run resumes. Without one
    nothing is written (the book's quick run).
    """
    chosen = [row for row in ROWS if rows is None or row.number in rows]
    data = Data(mode, split)
    done: dict[str, dict] = {}
    plan = pieces(chosen)
    for index, piece in enumerate(plan, 1):
        label = f"[{index}/{len(plan)}] row {piece.row.number}" + (
            f" member {piece.member}" if piece.member > 1 else ""
        )
        done[piece.record_name] = recorded_or_trained(
            results,
            piece.record_name,
            settings(piece, mode, data),
            lambda piece=piece: train_piece(piece, mode, data, progress),
            label,
            log,
            starting=lambda piece=piece: (
                f"{piece.row.name}, training on {len(data.training_set(piece.row).images):,} images"
            ),
        )
    out = {row.number: done[record_name(row.number)] for row in chosen if row.members == 1}
    for row in chosen:
        if row.members > 1:
            members = [done[p.record_name] for p in pieces([row])]
            out[row.number] = vote(row, members, data)
            if results is not None:
                write_record(results, record_name(row.number), out[row.number])
            log(f"row {row.number}: the ensemble of {row.members} votes {out[row.number]['test_accuracy']:.2f}%")
    return dict(sorted(out.items()))
