"""Gradient checks: a layer's ``backward`` against central finite differences of its ``forward``.

For a scalar function ``f`` of an array ``a``, the central difference

    ``(f(a + eps * e_i) - f(a - eps * e_i)) / (2 * eps)``

approximates ``df/da_i`` with an error of order ``eps**2`` (a one-sided difference only reaches
``eps``). In float64 with ``eps = 1e-6`` that leaves a relative error around 1e-9 for a correct
gradient, and an error of order 1 for a wrong one, so a check separates the two by many orders of
magnitude. In float32 the rounding error of ``f`` (about 1e-7 relative) divided by ``2 * eps``
swamps the difference: check in float64.

A layer's output is not a scalar, so :func:`layer_gradient_errors` checks the scalar
``sum(forward(x) * R)`` for a fixed random ``R``: its gradient with respect to the output is ``R``,
so ``backward(R)`` must return its gradient with respect to ``x`` and fill ``grads`` with those
with respect to the parameters.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import numpy as np

from .layer import Layer
from .network import Network


def numerical_gradient(
    f: Callable[[], float], array: np.ndarray, eps: float = 1e-6, indices: Iterable[tuple[int, ...]] | None = None
) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to the entries of ``array``.

    ``f`` takes no argument: it must read ``array``, which is changed in place one entry at a time
    and restored afterwards. Returns an array of ``array``'s shape, or, when ``indices`` names some
    entries, a 1-D array of the partial derivatives at those entries (in that order).

    >>> x = np.array([1.0, 2.0, 3.0])
    >>> numerical_gradient(lambda: float(np.sum(x ** 2)), x).round(6)   # d/dx sum(x^2) = 2x
    array([2., 4., 6.])
    """
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
        raise ValueError(
            f"array must be a floating-point NumPy array (changed in place), got {type(array).__name__}"
            + (f" of dtype {array.dtype}" if isinstance(array, np.ndarray) else "")
        )
    if eps <= 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    wanted = list(np.ndindex(array.shape)) if indices is None else [tuple(np.atleast_1d(i)) for i in indices]
    partials = np.empty(len(wanted), dtype=np.float64)
    for position, index in enumerate(wanted):
        original = array[index]
        array[index] = original + eps
        plus = f()
        array[index] = original - eps
        minus = f()
        array[index] = original  # restore exactly: the next entry's difference must start from the same point
        partials[position] = (plus - minus) / (2 * eps)
    return partials.reshape(array.shape) if indices is None else partials


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """``max |analytic - numeric| / max(max |analytic|, max |numeric|)``: 0 for equal arrays, ~1 for unrelated ones.

    Dividing by the larger of the two scales makes the error symmetric and independent of the
    gradient's size; two all-zero arrays have error 0.
    """
    analytic, numeric = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(
            f"relative_error expected two arrays of the same shape, got {analytic.shape} and {numeric.shape}"
        )
    scale = max(float(np.abs(analytic).max(initial=0.0)), float(np.abs(numeric).max(initial=0.0)))
    difference = float(np.abs(analytic - numeric).max(initial=0.0))
    return 0.0 if scale == 0.0 else difference / scale


def layer_gradient_errors(layer: Layer, x: np.ndarray, seed: int = 0, eps: float = 1e-6) -> dict[str, float]:
    """Relative error (see :func:`relative_error`) of ``layer.backward`` against central differences.

    Checks the gradient with respect to the input (key ``"input"``) and every parameter, keyed by its
    path in the layer (``"weight"``; in a layer holding layers e.g. ``"branches.1.0.bias"``). Works on a
    float64 copy of the layer, so ``layer`` itself is left as it was.
    Training-time noise (Dropout's mask) is re-seeded with ``seed`` before every forward pass, so
    that all of them use the same mask.
    """
    layer = copy.deepcopy(layer).to(np.float64)
    x = np.array(x, dtype=np.float64)  # a copy: the differences edit it in place

    def forward() -> np.ndarray:
        layer.set_rng(np.random.default_rng(seed))
        return layer.forward(x, training=True)

    upstream = np.random.default_rng(seed).standard_normal(forward().shape)

    def scalar() -> float:
        return float(np.sum(forward() * upstream))

    forward()
    analytic = {"input": layer.backward(upstream)}
    parameters = layer.named_parameters()
    analytic.update({p.name: p.grad.copy() for p in parameters})
    numeric = {"input": numerical_gradient(scalar, x, eps)}
    numeric.update({p.name: numerical_gradient(scalar, p.value, eps) for p in parameters})
    return {name: relative_error(analytic[name], numeric[name]) for name in numeric}


def network_gradient_errors(
    network: Network, x: np.ndarray, y: np.ndarray, samples: int = 10, seed: int = 0, eps: float = 1e-6
) -> dict[str, float]:
    """Relative error of backpropagation through a whole network, at ``samples`` random entries per parameter.

    The scalar is the network's mean loss on ``(x, y)``; the gradients come from ``network.backward``,
    the numbers compared from central differences (in float64, on a copy of the network). Keys are
    the parameters' paths, as in ``Network.state()`` (``"0.weight"``). Checking a sample, not every
    entry, keeps it fast: each entry costs two forward passes of the whole network.
    """
    network = copy.deepcopy(network).to(np.float64)
    x, rng = network.prepare_input(x), np.random.default_rng(seed)

    def loss() -> float:
        network.set_rng(np.random.default_rng(seed))  # the same dropout masks in every pass
        return network.loss.forward(network.forward(x, training=True), y)

    loss()
    network.backward(network.loss.backward())
    errors = {}
    for parameter in network.named_parameters():
        value, grad = parameter.value, parameter.grad
        flat = rng.choice(value.size, size=min(samples, value.size), replace=False)
        picked = [np.unravel_index(f, value.shape) for f in flat]
        analytic = np.array([grad[index] for index in picked])
        errors[parameter.name] = relative_error(analytic, numerical_gradient(loss, value, eps, picked))
    return errors
