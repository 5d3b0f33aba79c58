"""Interleaved timing of two training steps, shared by the benchmarks (the machine's speed drifts for minutes
at a time, so the engines alternate in blocks and each ratio compares neighbouring blocks)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def time_block(step: Callable[[], None], steps: int) -> float:
    """Seconds per step, over ``steps`` consecutive steps."""
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def interleaved(
    numpy_step: Callable[[], None], torch_step: Callable[[], None], batch: int, rounds: int, steps: int, warm_up: int
) -> dict[str, float]:
    """Median step times (ms), images per second and the NumPy/PyTorch time ratio over ``rounds`` block pairs."""
    engines = {"numpy": numpy_step, "torch": torch_step}
    for step in engines.values():  # warm up: allocations, thread pools, oneDNN kernels
        time_block(step, warm_up)
    seconds: dict[str, list[float]] = {"numpy": [], "torch": []}
    for r in range(rounds):
        for name in ("numpy", "torch") if r % 2 == 0 else ("torch", "numpy"):
            seconds[name].append(time_block(engines[name], steps))
    ratios = [a / b for a, b in zip(seconds["numpy"], seconds["torch"])]
    return {
        "numpy_ms": 1000 * statistics.median(seconds["numpy"]),
        "torch_ms": 1000 * statistics.median(seconds["torch"]),
        "numpy_ips": batch / statistics.median(seconds["numpy"]),
        "torch_ips": batch / statistics.median(seconds["torch"]),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
    }


HEADER = (
    f"{'batch':>5}  {'NumPy img/s':>11}  {'PyTorch img/s':>13}  {'NumPy ms':>8}  {'PyTorch ms':>10}  "
    f"{'ratio (NumPy/PyTorch time)':>26}"
)


def row(batch: int, r: dict[str, float]) -> str:
    """One line of the table under :data:`HEADER`."""
    return (
        f"{batch:>5}  {r['numpy_ips']:>11.0f}  {r['torch_ips']:>13.0f}  {r['numpy_ms']:>8.1f}  "
        f"{r['torch_ms']:>10.1f}  {r['ratio']:>8.2f}  (min {r['ratio_min']:.2f}, max {r['ratio_max']:.2f})"
    )


def arguments(description: str, rounds: int, seconds: float):
    """The options both benchmarks take (a parser; a benchmark may add its own before parsing)."""
    import argparse
    import os

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--rounds", type=int, default=rounds, help="alternating block pairs per batch size")
    parser.add_argument("--seconds", type=float, default=seconds, help="rough length of one timed block")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="PyTorch threads")
    return parser


def use_threads(threads: int) -> str:
    """Set PyTorch's threads; the line that says what runs where."""
    import os

    import numpy as np
    import torch

    torch.set_num_threads(threads)
    return f"NumPy {np.__version__}, PyTorch {torch.__version__} with {torch.get_num_threads()} threads, " + (
        f"{os.cpu_count()} CPU cores"
    )


def torch_sgd_step(model, images, labels, learning_rate: float = 0.01) -> Callable[[], None]:
    """One PyTorch training step of ``model`` (cross-entropy, plain SGD) as a closure: the peer of the
    engine's ``Network.train_step`` in every benchmark."""
    import torch

    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()

    return step
