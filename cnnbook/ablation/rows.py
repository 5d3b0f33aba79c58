"""The eight rows of the MNIST ablation ladder (source 003, section 5.25, after Nielsen's chapter 6).

Each row is one definition: the network it builds, whether it trains on the expanded data, its L2
strength, the schedule it is trained with here, and the test accuracy the source reports.

Nielsen trains every row with plain SGD on mini-batches of 10 for 60 epochs (40 with dropout). That
is hours per row on two CPU cores, so rows 2-8 use fewer epochs here, with a learning rate that
follows a half cosine from its starting value to zero. The sigmoid networks (rows 2 and 3) keep
Nielsen's mini-batches of 10 and plain SGD: with larger batches and momentum they sat at chance for
thousands of steps in trials here. The ReLU networks (rows 4-8) use mini-batches of 64 with
momentum 0.9. Row 1 is cheap enough to keep Nielsen's own schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from cnnbook.nn import Dense, Flatten, Layer, Network, ReLU, Sigmoid
from cnnbook.nn.models import conv_pool, nielsen_two_conv


@dataclass(frozen=True)
class Schedule:
    """How a row is trained: SGD with ``momentum`` on mini-batches, for ``epochs`` passes.

    ``cosine``: the learning rate falls from ``learning_rate`` to zero along a half cosine over the
    epochs; otherwise it stays constant (Nielsen's choice).
    """

    epochs: int
    batch_size: int
    learning_rate: float
    momentum: float = 0.0
    cosine: bool = False

    def rate(self, epoch: int) -> float:
        """The learning rate of ``epoch`` (counting from 0)."""
        if not self.cosine:
            return self.learning_rate
        return self.learning_rate * 0.5 * (1 + np.cos(np.pi * epoch / self.epochs))

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Row:
    """One step of the ladder."""

    number: int
    name: str  # what the step adds
    build: Callable[[int], Network]  # seed -> a fresh network
    schedule: Schedule
    source_accuracy: float  # test accuracy in percent, as the source states it
    expanded: bool = False  # train on the 250,000 shifted images
    l2: float = 0.0  # Nielsen's lmbda, as network3.py uses it (see weight_decay)
    members: int = 1  # more than one: an ensemble of that many networks voting

    def weight_decay(self, train_size: int) -> float:
        """Nielsen's ``lmbda`` as SGD weight decay on the mean mini-batch loss: ``lmbda * m / n``.

        The ladder's code is network3.py, whose cost is the mini-batch *mean* of the loss plus
        ``0.5*lmbda*l2_norm_squared/num_training_batches`` (src/network3.py, lines 114 and 120-121, with
        ``num_training_batches = size(training_data)/mini_batch_size``). Its gradient adds
        ``lmbda / (n / m) * w = (lmbda * m / n) * w`` to the mean loss's, with ``m = 10``, Nielsen's
        mini-batch size. This book trains with other batch sizes but keeps that objective: the
        regularised cost decides what is learnt, the batch size only how noisily each step follows it.
        (``lmbda / n``, from his chapter-3 network2.py, whose cost sums the loss over the batch, would be
        ten times weaker.)
        """
        return self.l2 * NIELSEN_BATCH_SIZE / train_size


def dense_only(seed: int) -> Network:
    """Row 1: 784 inputs -> 100 sigmoid units -> 10 logits."""
    rng = np.random.default_rng(seed)
    return Network(
        [Flatten(), Dense(784, 100, init="glorot", rng=rng), Sigmoid(), Dense(100, 10, init="glorot", rng=rng)]
    )


def one_conv(seed: int) -> Network:
    """Row 2: conv 20@5x5 + pool 2 (12x12x20 = 2880) -> 100 sigmoid units -> 10, all sigmoid."""
    rng = np.random.default_rng(seed)
    return Network(
        [
            *conv_pool(1, 20, Sigmoid, "glorot", rng),
            Flatten(),
            Dense(20 * 12 * 12, 100, init="glorot", rng=rng),
            Sigmoid(),
            Dense(100, 10, init="glorot", rng=rng),
        ]
    )


def two_conv(
    seed: int, activation: type[Layer] = Sigmoid, hidden: tuple[int, ...] = (100,), dropout: float = 0.0
) -> Network:
    """Rows 3-8: two conv-pool layers (20 then 40 filters, 4x4x40 = 640 values), dense ``hidden`` layers, 10 logits.

    The engine's :func:`~cnnbook.nn.models.nielsen_two_conv` with the ladder's defaults (sigmoid), and
    ``dropout`` (Nielsen's ``p_dropout``) on the input of every dense layer, as in his code.
    """
    return nielsen_two_conv(seed, hidden, dropout, activation, dropout_placement="every")


def _relu_two_conv(seed: int) -> Network:
    return two_conv(seed, ReLU)


def _extra_dense(seed: int) -> Network:
    return two_conv(seed, ReLU, hidden=(100, 100))


def _dropout(seed: int) -> Network:
    return two_conv(seed, ReLU, hidden=(1000, 1000), dropout=0.5)


NIELSEN = Schedule(epochs=60, batch_size=10, learning_rate=0.1)
NIELSEN_BATCH_SIZE = NIELSEN.batch_size  # the m of network3.py's L2 term, whatever batch size a row uses
SIGMOID_FAST = Schedule(epochs=25, batch_size=10, learning_rate=0.1, cosine=True)
RELU_FAST = Schedule(epochs=20, batch_size=64, learning_rate=0.02, momentum=0.9, cosine=True)
EXPANDED_FAST = Schedule(epochs=10, batch_size=64, learning_rate=0.02, momentum=0.9, cosine=True)
DROPOUT_FAST = Schedule(epochs=11, batch_size=64, learning_rate=0.02, momentum=0.9, cosine=True)

ROWS: tuple[Row, ...] = (
    Row(1, "one dense layer of 100 sigmoid units", dense_only, NIELSEN, 97.80),
    Row(2, "one conv-pool layer (20 filters 5x5)", one_conv, SIGMOID_FAST, 98.78),
    Row(3, "two conv-pool layers (20, 40 filters)", two_conv, SIGMOID_FAST, 99.06),
    Row(4, "ReLU and L2 (lambda 0.1)", _relu_two_conv, RELU_FAST, 99.23, l2=0.1),
    Row(5, "expanded training data (5 x 50,000)", _relu_two_conv, EXPANDED_FAST, 99.37, expanded=True, l2=0.1),
    Row(6, "an extra dense layer of 100", _extra_dense, EXPANDED_FAST, 99.43, expanded=True, l2=0.1),
    Row(7, "two dense layers of 1000, dropout 0.5", _dropout, DROPOUT_FAST, 99.60, expanded=True),
    Row(8, "an ensemble of five row-7 networks voting", _dropout, DROPOUT_FAST, 99.67, expanded=True, members=5),
)


def row(number: int) -> Row:
    """The row numbered ``number`` (1 to 8)."""
    for candidate in ROWS:
        if candidate.number == number:
            return candidate
    raise ValueError(f"the ladder has rows 1 to {len(ROWS)}, got {number!r}")
