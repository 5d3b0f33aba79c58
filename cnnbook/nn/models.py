"""Ready-made architectures used in the book."""

from __future__ import annotations

import numpy as np

from .activations import ReLU
from .convolution import Conv2D
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .layer import Layer
from .network import Network
from .pooling import MaxPool2D


def nielsen_two_conv(seed: int | None = 0, hidden: int = 100, dropout: float = 0.0) -> Network:
    """Nielsen's two-convolution MNIST network (chapter 6 of *Neural Networks and Deep Learning*).

    ``(N, 28, 28, 1) -> conv 20@5x5 -> max-pool 2 -> ReLU -> conv 40@5x5 -> max-pool 2 -> ReLU
    -> flatten (640) -> dense hidden -> ReLU [-> dropout] -> dense 10``.

    Pooling comes before ReLU: the two commute (ReLU is monotonic), and pooling first leaves
    a quarter of the values to ReLU. ``seed`` fixes the initial weights.
    """
    rng = np.random.default_rng(seed)
    layers: list[Layer] = [
        Conv2D(1, 20, 5, rng=rng), MaxPool2D(2), ReLU(),
        Conv2D(20, 40, 5, rng=rng), MaxPool2D(2), ReLU(),
        Flatten(),
        Dense(4 * 4 * 40, hidden, rng=rng), ReLU(),
    ]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(hidden, 10, rng=rng))
    return Network(layers)
