"""Time one training step of Nielsen's two-conv MNIST network: the NumPy engine against PyTorch CPU.

A step is forward, backward and a plain SGD update, on random 28x28 images in float32. Both engines
run the same architecture (conv 20@5x5, max-pool 2, ReLU, conv 40@5x5, max-pool 2, ReLU, dense 100,
ReLU, dense 10) with the same starting weights; PyTorch in its default channels-first layout. PyTorch
gets as many threads as NumPy's BLAS has (``--threads``, default: the number of CPU cores).

The machine's speed drifts, so the two engines are timed in alternating blocks (NumPy then PyTorch,
then PyTorch then NumPy, ...); each block pair gives one ratio of step times, and the reported
ratio is the median of those. Ratio < 1 means NumPy is faster.

    python benchmarks/train_step.py                    # batch 64 and 256
    python benchmarks/train_step.py --batch-sizes 10 64 --rounds 12
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import HEADER, arguments, interleaved, row, torch_sgd_step, use_threads  # noqa: E402
from cnnbook.nn import SGD, Network, nielsen_two_conv  # noqa: E402


def same_logits(net: Network, model, x: np.ndarray) -> float:
    """Largest difference between the two engines' logits: a check that they compute the same thing."""
    import torch

    with torch.no_grad():
        theirs = model(torch.from_numpy(x[:, None, :, :].copy())).numpy()
    return float(np.abs(net.forward(x) - theirs).max())


def numpy_step(net: Network, x: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    """A training step of the NumPy engine (plain SGD, as on the PyTorch side)."""
    optimizer = SGD(learning_rate=0.01)
    return lambda: net.train_step(x, y, optimizer)


def torch_step(net: Network, x: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    """A PyTorch training step of the same network, starting from ``net``'s weights."""
    import torch
    from torch import nn

    model = nn.Sequential(
        nn.Conv2d(1, 20, 5),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Conv2d(20, 40, 5),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(640, 100),
        nn.ReLU(),
        nn.Linear(100, 10),
    )
    copy_weights_to_torch(net, model)
    difference = same_logits(net, model, x)
    assert difference < 1e-4, f"the two engines disagree (max logit difference {difference:.1e})"
    images = torch.from_numpy(x[:, None, :, :].copy())  # channels-first, as PyTorch expects
    return torch_sgd_step(model, images, torch.from_numpy(y.astype(np.int64)))


def copy_weights_to_torch(net: Network, model) -> None:
    """Give the PyTorch model the NumPy network's weights (converting layouts)."""
    import torch

    ours = [layer for layer in net.layers if layer.params]
    theirs = [module for module in model if hasattr(module, "weight")]
    with torch.no_grad():
        for layer, module in zip(ours, theirs, strict=True):
            weight = layer.params["weight"]
            if weight.ndim == 4:  # (kh, kw, C, K) -> (K, C, kh, kw)
                weight = weight.transpose(3, 2, 0, 1)
            elif module.in_features == 640:  # our flatten is (h, w, c); PyTorch's is (c, h, w)
                weight = weight.reshape(4, 4, 40, -1).transpose(3, 2, 0, 1).reshape(-1, 640)
            else:
                weight = weight.T
            module.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
            module.bias.copy_(torch.from_numpy(layer.params["bias"]))


def compare(batch: int, rounds: int, steps: int, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=batch)
    net = nielsen_two_conv(seed=seed)
    return interleaved(numpy_step(net, x, y), torch_step(net, x, y), batch, rounds, steps, warm_up=3)


def main(argv: list[str] | None = None) -> None:
    parser = arguments(__doc__.splitlines()[0], rounds=20, seconds=0.25)
    args = parser.parse_args(argv)
    print(use_threads(args.threads))
    print(HEADER)
    for batch in args.batch_sizes:
        steps = max(2, round(args.seconds / (batch * 4e-4)))  # about 0.4 ms per image per step
        r = compare(batch, args.rounds, steps)
        print(row(batch, r))


if __name__ == "__main__":
    main()
