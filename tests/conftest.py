"""pytest configuration for the whole test folder."""

import pytest

from cnnbook.data import MnistNotFoundError, Split, nielsen_split

# The broken and hostile notebooks are graded by tests/test_grade.py; nbval must not run them.
collect_ignore_glob = ["submissions/*"]


@pytest.fixture(scope="session")
def mnist_split() -> Split:
    """Nielsen's split of the real MNIST files (from ``CNNBOOK_DATA``, never downloaded), or a skip."""
    try:
        return nielsen_split(download=False)
    except MnistNotFoundError as error:
        pytest.skip(f"MNIST is not here: {error}")
