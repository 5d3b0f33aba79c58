"""A training step that splits its batch in two halves and runs them side by side, one thread each.

On a CPU most of a training step goes to NumPy's element-wise work (im2col copies, pooling, masks), which
runs on one core; only the matrix products use more. Two threads, each with half the batch, its own copy of
the layers' working state and a one-thread BLAS, keep both cores busy in every operation (NumPy releases
the GIL while it works). The halves share the parameters; each half's loss gradient is scaled by its share
of the batch, so their gradients add up to the whole batch's.

The batch is always split in two halves, whatever the machine, so a step computes the same numbers
everywhere: with one core the halves run one after the other. A network with a layer that couples the
images of a batch (batch normalization's statistics, ``Layer.batch_coupled``) trains unsplit.
"""

from __future__ import annotations

import copy
import os
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache

import numpy as np
from numpy.random import Generator

from .layer import Layer
from .loss import SoftmaxCrossEntropy

#: Batches smaller than this train unsplit: for a few images a thread costs more than it saves.
SPLIT_FROM = 48


def splittable(body: Layer, batch: int) -> bool:
    """Whether a training step of ``body`` on ``batch`` images is split in halves."""
    return batch >= SPLIT_FROM and not any(layer.batch_coupled for layer in walk(body))


def walk(layer: Layer):
    """``layer`` and every layer inside it, depth first."""
    yield layer
    for child in layer.children().values():
        yield from walk(child)


@cache
def _helper() -> ThreadPoolExecutor | None:
    """The thread that runs the second half, where there is a second core to run it on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return ThreadPoolExecutor(1, thread_name_prefix="cnnbook-half") if cores > 1 else None


os.register_at_fork(after_in_child=_helper.cache_clear)  # a forked process has no copy of the thread


@cache
def _blas():
    """threadpoolctl's view of the BLAS libraries NumPy loaded (finding them takes a while: once)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class HalfBatchStep:
    """Forward and backward of a network's layers (``body``) on the two halves of a batch; ``run`` leaves
    in ``body``'s layers the gradients of the whole batch's mean loss."""

    def __init__(self, body: Layer, loss: SoftmaxCrossEntropy) -> None:
        self.body, self.loss = body, loss
        self._build()

    def _build(self) -> None:
        """A twin of the layers that shares their parameter arrays (a deep copy, but for those)."""
        self._params = [p.value for p in self.body.named_parameters()]
        self.twin = copy.deepcopy(self.body, memo={id(array): array for array in self._params})
        self.twin_loss = copy.deepcopy(self.loss)
        pairs = list(zip(walk(self.body), walk(self.twin), strict=True))
        self._noisy = [(mine, theirs) for mine, theirs in pairs if isinstance(getattr(mine, "rng", None), Generator)]

    def serves(self, body: Layer, loss: SoftmaxCrossEntropy) -> bool:
        """Whether this step was made for these layers and this loss (a network's may be replaced)."""
        return self.body is body and self.loss is loss

    def run(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """The batch's mean loss and number of images classified correctly; the gradients are in ``body``."""
        params = [p.value for p in self.body.named_parameters()]
        if len(params) != len(self._params) or any(a is not b for a, b in zip(params, self._params)):
            self._build()  # the network's parameters were replaced (``to``, new layers): a new twin
        for mine, theirs in self._noisy:  # the twin's noise: drawn from the network's own generators
            theirs.rng = np.random.default_rng(mine.rng.integers(2**63))
        parts = pieces(len(x))
        helper = _helper()
        start = helper.submit if helper else _now
        with _blas().limit(limits=1, user_api="blas"):  # one BLAS thread per half, on one core too: the same sums
            second = start(_passes, self.twin, self.twin_loss, x, y, parts[len(parts) // 2 :])
            first = _passes(self.body, self.loss, x, y, parts[: len(parts) // 2])
            second = second.result()
        for (layer, key, mine), (_, _, theirs) in zip(first[2], second[2]):
            layer.grads[key] = mine + theirs
        return (first[0] + second[0]) / len(x), first[1] + second[1]


#: A half of more than this many images is taken in pieces of at most this many: they stay in the caches.
PIECE = 64


def pieces(batch: int) -> list[slice]:
    """The batch cut in an even number of near-equal pieces of at most :data:`PIECE` images; each thread
    takes half of them. The cut depends on the batch size only, never on the machine."""
    parts = 2 * -(-batch // (2 * PIECE))
    edges = [batch * i // parts for i in range(parts + 1)]
    return [slice(a, b) for a, b in zip(edges, edges[1:])]


def _passes(body: Layer, loss: SoftmaxCrossEntropy, x: np.ndarray, y: np.ndarray, parts: list[slice]):
    """Forward and backward of ``body`` on each piece of the batch in turn, each piece's loss gradient scaled
    by its share of the batch; returns the pieces' summed loss, their number correct and, per parameter,
    ``(layer, key, summed gradient)``."""
    total_loss, correct, grads = 0.0, 0, None
    for part in parts:
        logits = body.forward(x[part], training=True)
        total_loss += loss.forward(logits, y[part]) * len(logits)
        correct += int(np.count_nonzero(logits.argmax(axis=1) == y[part]))
        grad = loss.backward()
        grad *= grad.dtype.type(len(logits) / len(x))
        body.backward(grad, input_grad=False)
        found = [(p.layer, p.key, p.grad) for p in body.named_parameters()]  # the same order in twin and body
        if grads is None:
            grads = [(layer, key, grad.copy()) for layer, key, grad in found]
        else:
            for (_, _, total), (_, _, grad) in zip(grads, found):
                total += grad
    return total_loss, correct, grads


def _now(function, *args) -> Future:
    """``function(*args)`` run at once, as a finished future (one core: no second thread)."""
    future: Future = Future()
    future.set_result(function(*args))
    return future
