"""Time one training step of ``small_resnet`` (batch norm and skip connections): the NumPy engine against PyTorch CPU.

A step is forward, backward and a plain SGD update, on random 28x28 images in float32, in training mode
(batch statistics, running statistics updated). Both engines run the same network (3x3 conv stem, one
residual block per stage of 16, 32 and 64 channels, global average pooling, dense 10; convolutions with
biases, as the engine's have them) from the same starting weights; PyTorch in its default channels-first
layout, with as many threads as NumPy's BLAS has (``--threads``, default: the number of CPU cores).

As in ``benchmarks/train_step.py``, the two engines are timed in alternating blocks (NumPy then PyTorch,
then PyTorch then NumPy, ...) because the machine's speed drifts; each block pair gives one ratio of step
times, and the reported ratio is the median of those. Ratio < 1 means NumPy is faster.

    python benchmarks/residual_step.py                    # batch 64 and 256
    python benchmarks/residual_step.py --batch-sizes 64 --rounds 6 --no-batch-norm
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import HEADER, arguments, interleaved, row, torch_sgd_step, use_threads  # noqa: E402
from cnnbook.nn import (  # noqa: E402
    SGD,
    Network,
    small_resnet,
)
from cnnbook.nn.torch_twin import torch_module  # noqa: E402


def numpy_step(net: Network, x: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    """A training step of the NumPy engine (plain SGD, as on the PyTorch side)."""
    optimizer = SGD(learning_rate=0.01)
    return lambda: net.train_step(x, y, optimizer)


def torch_step(net: Network, x: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    """A PyTorch training step of the same network, starting from ``net``'s weights and running statistics."""
    import torch
    from torch import nn

    model = nn.Sequential(*map(torch_module, net.layers))
    images = torch.from_numpy(x[:, None, :, :].copy())  # channels-first, as PyTorch expects
    model.eval()
    with torch.no_grad():
        difference = float(np.abs(net.forward(x) - model(images).numpy()).max())
    assert difference < 1e-4, f"the two engines disagree (max logit difference {difference:.1e})"
    model.train()
    labels = torch.from_numpy(y.astype(np.int64))
    return torch_sgd_step(model, images, labels)


def compare(batch: int, rounds: int, steps: int, batch_norm: bool = True, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=batch)
    net = small_resnet(batch_norm=batch_norm, seed=seed)
    return interleaved(numpy_step(net, x, y), torch_step(net, x, y), batch, rounds, steps, warm_up=2)


def main(argv: list[str] | None = None) -> None:
    parser = arguments(__doc__.splitlines()[0], rounds=10, seconds=0.5)
    parser.add_argument("--no-batch-norm", dest="batch_norm", action="store_false", help="time the ablation")
    args = parser.parse_args(argv)
    print(use_threads(args.threads) + f"; small_resnet(batch_norm={args.batch_norm})")
    print(HEADER)
    for batch in args.batch_sizes:
        steps = max(1, round(args.seconds / (batch * 2e-3)))  # about 2 ms per image per step
        r = compare(batch, args.rounds, steps, args.batch_norm)
        print(row(batch, r), flush=True)


if __name__ == "__main__":
    main()
