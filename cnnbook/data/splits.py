"""Nielsen's split of MNIST and his expanded training set.

*Neural Networks and Deep Learning* trains on the first 50,000 of the 60,000 official training
images, keeps the last 10,000 for validation (choosing hyper-parameters and the best epoch), and
reports accuracy on the official 10,000 test images. Its best networks train on an expanded set:
each training image plus four copies shifted by one pixel up, down, left and right (250,000 images).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .mnist import Mnist, load_mnist

TRAIN_SIZE = 50_000


class Dataset(NamedTuple):
    """Images ``(N, 28, 28)`` float32 in [0, 1] and their labels ``(N,)`` int64."""

    images: np.ndarray
    labels: np.ndarray


class Split(NamedTuple):
    """Training (50,000), validation (10,000) and test (10,000) sets."""

    train: Dataset
    validation: Dataset
    test: Dataset


def nielsen_split(mnist: Mnist | None = None, download: bool = True) -> Split:
    """Nielsen's split: first 50,000 training images / last 10,000 training images / the test set.

    ``mnist`` defaults to :func:`~cnnbook.data.load_mnist` (``download`` is passed to it).
    """
    mnist = mnist if mnist is not None else load_mnist(download=download)
    return Split(
        train=Dataset(mnist.train_images[:TRAIN_SIZE], mnist.train_labels[:TRAIN_SIZE]),
        validation=Dataset(mnist.train_images[TRAIN_SIZE:], mnist.train_labels[TRAIN_SIZE:]),
        test=Dataset(mnist.test_images, mnist.test_labels),
    )


def expand_with_shifts(images: np.ndarray, labels: np.ndarray) -> Dataset:
    """Each image followed by its four one-pixel shifts (down, up, right, left), as in Nielsen's
    ``expand_mnist.py``: ``(N, H, W)`` becomes ``(5N, H, W)``, labels repeated five times.

    The pixels shifted in at the edge are zero (background), not wrapped around. Images stay
    grouped by source image (5i to 5i+4 come from image i); training shuffles anyway.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or labels.shape != images.shape[:1]:
        raise ValueError(f"expected images (N, H, W) and labels (N,), got {images.shape} and {labels.shape}")
    shifted = np.zeros((len(images), 5, *images.shape[1:]), dtype=images.dtype)
    shifted[:, 0] = images
    shifted[:, 1, 1:, :] = images[:, :-1, :]  # down
    shifted[:, 2, :-1, :] = images[:, 1:, :]  # up
    shifted[:, 3, :, 1:] = images[:, :, :-1]  # right
    shifted[:, 4, :, :-1] = images[:, :, 1:]  # left
    return Dataset(shifted.reshape(-1, *images.shape[1:]), np.repeat(labels, 5))


def expanded_training_set(split: Split | None = None, download: bool = True) -> Dataset:
    """Nielsen's expanded training set: the 50,000 training images and their shifts, 250,000 in all.

    Takes about 0.8 GB as float32. ``split`` defaults to :func:`nielsen_split`.
    """
    split = split if split is not None else nielsen_split(download=download)
    return expand_with_shifts(*split.train)
