"""Stochastic gradient descent with optional momentum and L2 weight decay.

Update for each parameter ``w`` with gradient ``g`` (PyTorch's convention, so that results and
hyper-parameters carry over):

* weight decay (weights only, not biases): ``g <- g + weight_decay * w``. Nielsen's regularised
  cost ``C0 + (lmbda / 2n) * sum(w^2)`` corresponds to ``weight_decay = lmbda / n``.
* momentum: ``v <- momentum * v + g``, then ``w <- w - learning_rate * v`` (plain SGD when 0).

Parameters are updated in place, so a layer's arrays keep their identity.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .layer import Layer


class SGD:
    """Mini-batch gradient descent over the ``params``/``grads`` of a sequence of layers."""

    def __init__(self, learning_rate: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        if learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self._velocity: dict[tuple[int, str], np.ndarray] = {}

    def step(self, layers: Sequence[Layer]) -> None:
        """Move every parameter against its gradient (computed by the last ``backward``)."""
        for index, layer in enumerate(layers):
            for name, param in layer.params.items():
                grad = layer.grads[name]
                if self.weight_decay and name == "weight":
                    grad = grad + param.dtype.type(self.weight_decay) * param
                if self.momentum:
                    velocity = self._velocity.get((index, name))
                    if velocity is None:
                        velocity = self._velocity[(index, name)] = grad.copy()
                    else:
                        velocity *= param.dtype.type(self.momentum)
                        velocity += grad
                    grad = velocity
                param -= param.dtype.type(self.learning_rate) * grad
