"""Ready-made architectures used in the book: Nielsen's convolutional networks, built in one place.

:func:`nielsen_two_conv` builds every two-convolution network of the book: chapter 7's, and rows 3-8
of the MNIST ablation ladder (:mod:`cnnbook.ablation.rows`), which differ only in their arguments.
:func:`small_resnet` builds a small residual network and, by its switches, its ablations without
batch normalisation or without skip connections.
"""

from __future__ import annotations

import numpy as np

from cnnbook.conv import output_size

from .activations import ReLU
from .convolution import Conv2D
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .layer import Layer
from .network import Network
from .pooling import AvgPool2D, MaxPool2D
from .residual import conv_bn, residual_block

#: Where :func:`nielsen_two_conv` puts its dropout layers: before the last dense layer only, or before
#: every dense layer (Nielsen's ``p_dropout`` on the input of each fully connected layer).
DROPOUT_PLACEMENTS = ("last", "every")


def conv_pool(
    in_channels: int,
    out_channels: int,
    activation: type[Layer] = ReLU,
    init: str = "he",
    rng: np.random.Generator | int | None = None,
) -> list[Layer]:
    """5x5 convolution, 2x2 max-pooling, then the activation.

    Pooling comes before the activation: the two commute (the activations here are monotonic),
    and pooling first leaves a quarter of the values to the activation.
    """
    return [Conv2D(in_channels, out_channels, 5, init=init, rng=rng), MaxPool2D(2), activation()]


def nielsen_two_conv(
    seed: int | None = 0,
    hidden: int | tuple[int, ...] = 100,
    dropout: float = 0.0,
    activation: type[Layer] = ReLU,
    dropout_placement: str = "last",
) -> Network:
    """Nielsen's two-convolution MNIST network (chapter 6 of *Neural Networks and Deep Learning*).

    ``(N, 28, 28, 1) -> conv 20@5x5 -> max-pool 2 -> act -> conv 40@5x5 -> max-pool 2 -> act
    -> flatten (640) -> [dense h -> act for each h in hidden] -> dense 10``, with ``act`` the
    ``activation`` (ReLU; weights start by He's rule for ReLU, by Glorot's otherwise).

    With ``dropout`` > 0, a Dropout layer of that rate goes before the last dense layer
    (``dropout_placement="last"``) or before every dense layer (``"every"``, as in Nielsen's code and
    the ablation ladder). ``seed`` fixes the initial weights; they are drawn in layer order from one
    generator, so the same arguments give the same network.
    """
    if dropout_placement not in DROPOUT_PLACEMENTS:
        raise ValueError(f"dropout_placement must be one of {DROPOUT_PLACEMENTS}, got {dropout_placement!r}")
    rng = np.random.default_rng(seed)
    init = "he" if activation is ReLU else "glorot"
    widths = (4 * 4 * 40, *((hidden,) if isinstance(hidden, int) else hidden), 10)
    layers = [*conv_pool(1, 20, activation, init, rng), *conv_pool(20, 40, activation, init, rng), Flatten()]
    for index, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        last = index == len(widths) - 2
        if dropout and (last or dropout_placement == "every"):
            layers.append(Dropout(dropout))
        layers.append(Dense(fan_in, fan_out, init=init, rng=rng))
        if not last:
            layers.append(activation())
    return Network(layers)


def small_resnet(
    channels: tuple[int, ...] = (16, 32, 64),
    blocks_per_stage: int = 1,
    classes: int = 10,
    batch_norm: bool = True,
    skip: bool = True,
    seed: int | None = 0,
    image_size: int = 28,
) -> Network:
    """A small residual network for 28x28 grey images (MNIST), after the CIFAR ResNets of He et al.

    ``(N, 28, 28, 1) -> conv 3x3 (channels[0]) -> BN -> ReLU -> stages -> global average pool -> dense``:
    stage ``i`` is ``blocks_per_stage`` :func:`~cnnbook.nn.residual.residual_block` of ``channels[i]``
    channels, the first of which halves the height and width (stride 2) in every stage but the first
    (28 -> 14 -> 7 with the default three stages). Global average pooling is an :class:`AvgPool2D` over
    the whole last map, so the dense layer sees one value per channel.

    ``batch_norm=False`` leaves out every BatchNorm, ``skip=False`` every shortcut: the ablations, with
    the same convolutions otherwise. ``seed`` fixes the initial weights (drawn in layer order).
    """
    if not channels or blocks_per_stage < 1 or classes < 1:
        raise ValueError(
            f"small_resnet needs channels, blocks_per_stage >= 1 and classes >= 1, got "
            f"channels={channels!r}, blocks_per_stage={blocks_per_stage}, classes={classes}"
        )
    rng = np.random.default_rng(seed)
    layers: list[Layer] = [*conv_bn(1, channels[0], 3, 1, batch_norm, rng), ReLU()]
    size, previous = image_size, channels[0]
    for stage, width in enumerate(channels):
        for block in range(blocks_per_stage):
            stride = 2 if stage > 0 and block == 0 else 1
            layers.append(residual_block(previous, width, stride, rng, batch_norm=batch_norm, skip=skip))
            size, previous = output_size(size, 3, stride, 1), width
    layers += [AvgPool2D(size), Flatten(), Dense(previous, classes, rng=rng)]
    return Network(layers)
