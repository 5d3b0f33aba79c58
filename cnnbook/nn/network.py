"""A network is a sequence of layers ending in logits, trained with softmax cross-entropy and SGD.

Images go in channels-last, ``(N, H, W, C)``; grey-scale images may also come as ``(N, H, W)``
(MNIST's ``(N, 28, 28)``) and get their channel axis added. Everything runs in float32 unless the
network was converted with ``to(np.float64)``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from .containers import Sequential
from .layer import LAYER_TYPES, Layer, Parameter  # LAYER_TYPES: importable from here, as before
from .loss import SoftmaxCrossEntropy, check_labels, softmax
from .optim import SGD
from .split import HalfBatchStep, splittable

__all__ = ["LAYER_TYPES", "Evaluation", "History", "LearningRateSchedule", "Network"]

#: ``lr_schedule(epoch, history) -> learning rate`` for that epoch (epochs count from 0).
LearningRateSchedule = Callable[[int, "History"], float]


class Evaluation(NamedTuple):
    """Mean loss and the fraction of images classified correctly."""

    loss: float
    accuracy: float


@dataclass
class History:
    """What ``fit`` measured, one entry per epoch (``seconds``: training plus validation).

    ``best_epoch`` indexes these lists: the first epoch with the highest validation accuracy
    (None without a validation set).
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int | None = None


class Network:
    """Layers applied in order; the last one produces one logit per class.

    ``layers`` is a plain list (``net.layers[0]`` is the first layer); a layer in it may hold layers
    (:class:`~cnnbook.nn.containers.Parallel`, :class:`~cnnbook.nn.containers.Sequential`). Parameters
    are named by their path, ``"<index in layers>.<path in the layer>"``, in ``state()`` and saved files.

    >>> from cnnbook.nn import Dense, ReLU
    >>> net = Network([Dense(784, 30, rng=0), ReLU(), Dense(30, 10, rng=1)])
    >>> net.predict(np.zeros((2, 784), dtype=np.float32)).shape
    (2,)
    """

    def __init__(self, layers: Sequence[Layer], loss: SoftmaxCrossEntropy | None = None) -> None:
        if not layers:
            raise ValueError("a Network needs at least one layer")
        self._body = Sequential(layers)  # one chain: forward, backward, the walk, set_rng and to() are its
        self.loss = loss if loss is not None else SoftmaxCrossEntropy()
        #: Whether ``train_step`` may cut a batch in two halves run side by side (:mod:`cnnbook.nn.split`).
        self.split_batches = True
        self._half_step: HalfBatchStep | None = None

    @property
    def layers(self) -> list[Layer]:
        """The layers, in order (the list itself: changing it changes the network)."""
        return self._body.layers

    @layers.setter
    def layers(self, layers: Sequence[Layer]) -> None:
        self._body = Sequential(layers)

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Network([\n{inner}\n])"

    @property
    def dtype(self) -> np.dtype:
        """The floating-point type of the parameters (float32 unless converted)."""
        for layer in self.layers:  # this runs at every forward pass: stop at the first parameter found
            for value in layer.params.values():
                return value.dtype
            if layer.children():
                for parameter in layer.named_parameters():
                    return parameter.value.dtype
        return np.dtype(np.float32)

    def to(self, dtype: np.dtype | type) -> Network:
        """Convert every parameter to ``dtype`` (e.g. float64 for gradient checks); returns the network."""
        self._body.to(dtype)
        return self

    def named_parameters(self) -> list[Parameter]:
        """Every parameter, depth first, named by its path (``"0.weight"``, ``"3.branches.1.0.bias"``)."""
        return self._body.named_parameters()

    def set_rng(self, rng: np.random.Generator) -> None:
        """Give every layer (nested ones included) its own generator drawn from ``rng``, for dropout."""
        self._body.set_rng(rng)

    def prepare_input(self, x: np.ndarray) -> np.ndarray:
        """``x`` as an array of the network's dtype, with a channel axis added to ``(N, H, W)`` images."""
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim == 3 and self.layers[0].input_ndim == 4:
            x = x[..., np.newaxis]
        return x

    # -- one pass -------------------------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Logits ``(N, classes)`` for the batch ``x``."""
        return self._body.forward(self.prepare_input(x), training=training)

    def backward(self, grad_logits: np.ndarray) -> None:
        """Fill every layer's ``grads`` from the gradient of the loss with respect to the logits.

        The first layer is told not to compute the gradient with respect to the images: nothing uses it.
        """
        self._body.backward(grad_logits, input_grad=False)

    def train_step(self, x: np.ndarray, y: np.ndarray, optimizer: SGD) -> tuple[float, int]:
        """Forward, backward and update on one mini-batch; returns (mean loss, number correct)."""
        x = self.prepare_input(x)
        if self.split_batches and splittable(self._body, len(x)):  # two halves side by side: cnnbook.nn.split
            if self._half_step is None or not self._half_step.serves(self._body, self.loss):
                self._half_step = HalfBatchStep(self._body, self.loss)
            y = check_labels(y, len(x), classes=np.iinfo(np.int64).max)  # the whole batch's, before it is cut
            loss, correct = self._half_step.run(x, y)
        else:
            logits = self.forward(x, training=True)
            loss = self.loss.forward(logits, y)
            self.backward(self.loss.backward())
            correct = int(np.count_nonzero(logits.argmax(axis=1) == y))
        optimizer.step(self.layers)
        return loss, correct

    # -- training ------------------------------------------------------------------------------

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        epochs: int = 1,
        batch_size: int = 64,
        learning_rate: float = 0.1,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
        keep_best: bool = True,
        lr_schedule: LearningRateSchedule | None = None,
        patience: int | None = None,
        seed: int | None = 0,
        progress: bool = True,
    ) -> History:
        """Train by mini-batch SGD for ``epochs`` passes over ``(x, y)`` in a fresh random order each.

        ``momentum`` and ``weight_decay`` are as in :class:`~cnnbook.nn.optim.SGD`. With a
        ``validation`` pair ``(x_val, y_val)`` the network is scored after every epoch and, if
        ``keep_best``, ends with the weights of the epoch with the best validation accuracy
        (``history.best_epoch``); ``patience`` stops training after that many epochs without
        improvement. ``lr_schedule(epoch, history)``, when given, sets each epoch's learning rate
        (overriding ``learning_rate``). ``seed`` fixes the shuffling and the dropout noise, so two
        runs from the same weights give the same result. ``progress`` shows a tqdm bar per epoch.
        """
        x = self.prepare_input(x)
        y = check_labels(y, len(x), classes=np.iinfo(np.int64).max)  # the loss checks the upper bound
        if epochs < 1 or batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got epochs={epochs}, batch_size={batch_size}")
        rng = np.random.default_rng(seed)
        self.set_rng(rng)
        optimizer = SGD(learning_rate, momentum, weight_decay)
        history, best_state = History(), None
        for epoch in range(epochs):
            if lr_schedule is not None:
                optimizer.learning_rate = float(lr_schedule(epoch, history))
            started = time.perf_counter()
            batches = -(-len(x) // batch_size)
            with tqdm(total=batches, desc=f"epoch {epoch + 1}/{epochs}", unit="batch", disable=not progress) as bar:
                loss, accuracy = self._train_epoch(x, y, batch_size, optimizer, rng, bar)
                history.train_loss.append(loss)
                history.train_accuracy.append(accuracy)
                history.learning_rate.append(optimizer.learning_rate)
                if validation is not None:
                    scored = self.evaluate(*validation)
                    history.val_loss.append(scored.loss)
                    history.val_accuracy.append(scored.accuracy)
                    bar.set_postfix(loss=f"{loss:.4f}", acc=f"{accuracy:.4f}", val_acc=f"{scored.accuracy:.4f}")
                    if history.best_epoch is None or scored.accuracy > history.val_accuracy[history.best_epoch]:
                        history.best_epoch = epoch
                        best_state = self.state() if keep_best else None
            history.seconds.append(time.perf_counter() - started)
            if patience is not None and history.best_epoch is not None and epoch - history.best_epoch >= patience:
                break
        if best_state is not None:
            self.load_state(best_state)
        return history

    def _train_epoch(
        self, x: np.ndarray, y: np.ndarray, batch_size: int, optimizer: SGD, rng: np.random.Generator, bar: tqdm
    ) -> tuple[float, float]:
        """One pass over ``(x, y)`` in random order; returns the mean training loss and accuracy."""
        order = rng.permutation(len(x))
        total_loss, correct, seen = 0.0, 0, 0
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            loss, hits = self.train_step(x[batch], y[batch], optimizer)
            total_loss, correct, seen = total_loss + loss * len(batch), correct + hits, seen + len(batch)
            bar.update()
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}", refresh=False)
        return total_loss / seen, correct / seen

    # -- inference -----------------------------------------------------------------------------

    def _logits_in_batches(self, x: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
        x = self.prepare_input(x)
        for start in range(0, len(x), batch_size):
            yield self.forward(x[start : start + batch_size])

    def predict_proba(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Softmax class probabilities ``(N, classes)``, computed ``batch_size`` images at a time."""
        return np.concatenate([softmax(z) for z in self._logits_in_batches(x, batch_size)])

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Most probable class of each image, ``(N,)``."""
        return np.concatenate([z.argmax(axis=1) for z in self._logits_in_batches(x, batch_size)])

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> Evaluation:
        """Mean loss and accuracy on ``(x, y)`` with training-only behaviour (dropout) off."""
        x, y = self.prepare_input(x), np.asarray(y)
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"evaluate expected as many labels as images (at least one), got {len(y)} for {len(x)}")
        total_loss, correct, start = 0.0, 0, 0
        for logits in self._logits_in_batches(x, batch_size):
            labels = y[start : start + len(logits)]
            total_loss += self.loss.forward(logits, labels) * len(logits)
            correct += int(np.count_nonzero(logits.argmax(axis=1) == labels))
            start += len(logits)
        return Evaluation(total_loss / start, correct / start)

    # -- weights -------------------------------------------------------------------------------

    def _parameters(self) -> dict[str, np.ndarray]:
        """Every parameter array, then every buffer (BatchNorm's running statistics; not copies), keyed by path."""
        return {**{p.name: p.value for p in self.named_parameters()}, **self._body.named_buffers()}

    def state(self) -> dict[str, np.ndarray]:
        """A copy of every parameter and buffer, keyed by its path (e.g. ``"0.weight"``, ``"3.running_mean"``)."""
        return {key: value.copy() for key, value in self._parameters().items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Copy parameters from ``state`` (as made by ``state()``) into this network, checking names and shapes."""
        expected = self._parameters()
        if set(state) != set(expected):
            raise ValueError(f"parameters do not match this network: expected {sorted(expected)}, got {sorted(state)}")
        for key, target in expected.items():
            if np.shape(state[key]) != target.shape:
                raise ValueError(f"parameter {key} expected shape {target.shape}, got {np.shape(state[key])}")
            target[...] = state[key]

    def save(self, path: str | PathLike) -> None:
        """Write the architecture and all parameters to one ``.npz`` file.

        The architecture is a JSON list with one ``{"type": ..., "config": ...}`` per layer (a layer
        holding layers lists theirs in its config); each parameter is an array named by its path. For
        networks of plain layers this is the format of earlier versions, which therefore still load.
        """
        architecture = [layer.spec() for layer in self.layers]
        np.savez(path, architecture=np.array(json.dumps(architecture)), **self.state())

    @classmethod
    def load(cls, path: str | PathLike) -> Network:
        """Rebuild a network written by ``save``."""
        with np.load(path, allow_pickle=False) as saved:
            architecture = json.loads(str(saved["architecture"]))
            state = {key: saved[key] for key in saved.files if key != "architecture"}
        try:
            layers = [Layer.from_spec(spec) for spec in architecture]
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        network = cls(layers)
        network.to(next(iter(state.values())).dtype if state else np.float32)
        network.load_state(state)
        return network
