"""The numbers of source 003, section 5.25, that can be recomputed without training.

The accuracies themselves are measured by the ladder and shown beside the source's in the chapter.
"""

from __future__ import annotations

import numpy as np

from cnnbook.book.errata import Claim
from cnnbook.data import expand_with_shifts
from cnnbook.nn import Flatten, Network

from .rows import ROWS, row


def flattened_size(network: Network) -> int:
    """How many values reach the first dense layer: the length of one image's output of the ``Flatten``."""
    x = np.zeros((1, 28, 28, 1), dtype=np.float32)
    for layer in network.layers:
        x = layer.forward(x)
        if isinstance(layer, Flatten):
            return int(x.shape[1])
    raise ValueError("the network has no Flatten layer")


def error_reduction(before: float, after: float) -> float:
    """The fraction of the errors that disappear when accuracy (percent) rises from ``before`` to ``after``."""
    return ((100 - before) - (100 - after)) / (100 - before)


CLAIMS = [
    Claim(
        "003",
        "5.25",
        "one conv-pool layer (20 filters 5x5, pool 2) feeds the dense layer 20*12*12 values",
        2880,
        lambda: flattened_size(row(2).build(0)),
    ),
    Claim(
        "003",
        "5.25",
        "two conv-pool layers (20 then 40 filters) feed it 40*4*4 values",
        640,
        lambda: flattened_size(row(3).build(0)),
    ),
    Claim(
        "003",
        "5.25",
        "one-pixel shifts turn 50,000 training images into",
        250_000,
        lambda: 50_000 * len(expand_with_shifts(np.zeros((1, 28, 28)), np.zeros(1)).images),
    ),
    Claim(
        "003",
        "5.25",
        "97.80% -> 98.78% (one conv-pool layer) cuts the error rate by a third",
        1 / 3,
        lambda: round(error_reduction(ROWS[0].source_accuracy, ROWS[1].source_accuracy), 3),
        "the error rate falls from 2.20% to 1.22%, by 45%, nearly half; Nielsen wrote 'better than a third'",
    ),
]
