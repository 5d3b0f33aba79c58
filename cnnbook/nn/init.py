"""Weight initialisation that keeps activations at a steady scale from layer to layer.

* **He** (Kaiming) normal, for ReLU networks: ``std = sqrt(2 / fan_in)``. ReLU zeroes half of its
  inputs, so the factor 2 makes up for the lost variance.
* **Glorot** (Xavier) uniform, for sigmoid and tanh: ``U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))``,
  a compromise between keeping the forward and the backward signal at unit variance.

``fan_in`` is the number of inputs that feed one output: ``in_features`` for a dense layer and
``kh * kw * in_channels`` for a convolution.
"""

from __future__ import annotations

import numpy as np

INITIALISERS = ("he", "glorot")


def he_normal(shape: tuple[int, ...], fan_in: int, rng: np.random.Generator) -> np.ndarray:
    """Normal weights with standard deviation ``sqrt(2 / fan_in)``, as float32."""
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def glorot_uniform(shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform weights in ``±sqrt(6 / (fan_in + fan_out))``, as float32."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def initial_weights(
    shape: tuple[int, ...], fan_in: int, fan_out: int, init: str, rng: np.random.Generator | int | None
) -> np.ndarray:
    """Weights of ``shape`` drawn by the scheme named ``init`` ("he" or "glorot")."""
    rng = np.random.default_rng(rng)
    if init == "he":
        return he_normal(shape, fan_in, rng)
    if init == "glorot":
        return glorot_uniform(shape, fan_in, fan_out, rng)
    raise ValueError(f"init must be one of {INITIALISERS}, got {init!r}")
