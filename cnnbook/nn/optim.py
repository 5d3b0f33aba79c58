"""Stochastic gradient descent with optional momentum and L2 weight decay.

Update for each parameter ``w`` with gradient ``g`` (PyTorch's convention, so that results and
hyper-parameters carry over):

* weight decay, on the parameters their layer lists in ``decayed`` (weights, not biases):
  ``g <- g + weight_decay * w``: the gradient of ``(weight_decay / 2) * sum(w^2)`` added to the
  loss. Nielsen's network3.py (the MNIST ladder) adds ``0.5 * lmbda * sum(w^2) / (n / m)`` to the
  mini-batch mean of the loss, so ``weight_decay = lmbda * m / n`` (:meth:`cnnbook.ablation.Row.weight_decay`).
* momentum: ``v <- momentum * v + g``, then ``w <- w - learning_rate * v`` (plain SGD when 0).

Parameters are updated in place, so a layer's arrays keep their identity. They are found by the walk
of :func:`~cnnbook.nn.layer.named_parameters`, so layers inside layers are updated too.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

from .layer import Layer, named_parameters


class SGD:
    """Mini-batch gradient descent over the ``params``/``grads`` of a sequence of layers (and the layers in them)."""

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
        self._velocity: dict[str, np.ndarray] = {}  # by parameter path, e.g. "0.weight"
        self._walked: tuple[list[Layer], list[tuple[str, Layer, str]]] = ([], [])  # layers -> their parameters

    def velocities(self) -> dict[str, np.ndarray]:
        """A copy of the momentum of every parameter that has one, by parameter path (for a checkpoint)."""
        return {name: velocity.copy() for name, velocity in self._velocity.items()}

    def load_velocities(self, velocities: dict[str, np.ndarray]) -> None:
        """Restore momentum saved by :meth:`velocities`, so that training resumes exactly where it stopped."""
        self._velocity = {name: np.array(velocity) for name, velocity in velocities.items()}

    def step(self, layers: Sequence[Layer]) -> None:
        """Move every parameter against its gradient (computed by the last ``backward``).

        The parameters are found once per list of layers and remembered: a walk at every step would
        cost a small network's step several percent. Like the momentum, this binds the optimiser to one
        network: after changing a layer's insides (a container's layers, a new key in ``params``), use a
        new SGD. Replacing a parameter's array under the same key is fine.
        """
        walked_layers, parameters = self._walked
        if len(walked_layers) != len(layers) or not all(map(operator.is_, walked_layers, layers)):
            parameters = [(p.name, p.layer, p.key) for p in named_parameters(layers)]
            self._walked = (list(layers), parameters)
        for name, layer, key in parameters:
            param, grad = layer.params[key], layer.grads[key]
            if self.weight_decay and key in layer.decayed:  # the layer says which of its parameters decay
                grad = grad + param.dtype.type(self.weight_decay) * param
            if self.momentum:
                velocity = self._velocity.get(name)
                if velocity is None:
                    velocity = self._velocity[name] = grad.copy()
                else:
                    velocity *= param.dtype.type(self.momentum)
                    velocity += grad
                grad = velocity
            param -= param.dtype.type(self.learning_rate) * grad
