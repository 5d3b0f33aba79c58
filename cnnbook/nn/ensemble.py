"""Combine several trained networks into one classifier.

* ``"vote"``: each network names a class; the class with most votes wins (ties go to the lowest
  class index). This is how Nielsen combines his five networks.
* ``"average"``: average the networks' softmax probabilities and take the most probable class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .network import Network

METHODS = ("vote", "average")


def ensemble_predict(
    networks: Sequence[Network], x: np.ndarray, method: str = "vote", batch_size: int = 256
) -> np.ndarray:
    """Class predictions ``(N,)`` of the ensemble of ``networks`` on the images ``x``."""
    if not networks:
        raise ValueError("an ensemble needs at least one network")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    probabilities = [net.predict_proba(x, batch_size) for net in networks]  # each (N, classes)
    if method == "average":
        return np.mean(probabilities, axis=0).argmax(axis=1)
    return majority_vote(np.stack([p.argmax(axis=1) for p in probabilities]), probabilities[0].shape[1])


def majority_vote(choices: np.ndarray, classes: int) -> np.ndarray:
    """The most chosen class per column of ``choices`` ``(networks, N)``; ties go to the lowest class."""
    votes = (choices[:, :, np.newaxis] == np.arange(classes)).sum(axis=0)  # (N, classes)
    return votes.argmax(axis=1)
