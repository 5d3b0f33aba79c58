"""pytest configuration for the whole test folder."""

import numpy as np
import pytest

from cnnbook.data import Dataset, MnistNotFoundError, Split, nielsen_split

# The broken and hostile notebooks are graded by tests/test_grade.py; nbval must not run them.
collect_ignore_glob = ["submissions/*"]


@pytest.fixture(scope="session")
def mnist_split() -> Split:
    """Nielsen's split of the real MNIST files (from ``CNNBOOK_DATA``, never downloaded), or a skip."""
    try:
        return nielsen_split(download=False)
    except MnistNotFoundError as error:
        pytest.skip(f"MNIST is not here: {error}")


@pytest.fixture(scope="module")
def tiny_split() -> Split:
    """A 60/20/20 split of random 28x28 images: enough for a runner to train, score and record quickly."""
    rng = np.random.default_rng(0)
    images = rng.random((100, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, 100)
    return Split(
        Dataset(images[:60], labels[:60]), Dataset(images[60:80], labels[60:80]), Dataset(images[80:], labels[80:])
    )
