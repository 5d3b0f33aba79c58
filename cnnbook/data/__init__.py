"""Data for the book: the original MNIST files, checked and cached, and Nielsen's splits of them.

>>> from cnnbook.data import nielsen_split          # doctest: +SKIP
>>> train, validation, test = nielsen_split()       # doctest: +SKIP
>>> train.images.shape, train.images.dtype          # doctest: +SKIP
((50000, 28, 28), dtype('float32'))

Set ``CNNBOOK_DATA`` to a folder whose ``mnist/`` holds the four ``.gz`` files to use a local copy;
otherwise they are downloaded once into ``~/.cache/cnnbook/mnist``.
"""

from .download import download_verified, md5sum, verify_md5
from .idx import CorruptFileError, read_idx, write_idx
from .mnist import (
    MIRRORS,
    MNIST_FILES,
    Mnist,
    MnistNotFoundError,
    cache_home,
    candidate_folders,
    download_mnist,
    find_mnist,
    load_mnist,
)
from .splits import Dataset, Split, expand_with_shifts, expanded_training_set, nielsen_split

__all__ = [
    "MIRRORS",
    "MNIST_FILES",
    "CorruptFileError",
    "Dataset",
    "Mnist",
    "MnistNotFoundError",
    "Split",
    "cache_home",
    "candidate_folders",
    "download_mnist",
    "download_verified",
    "expand_with_shifts",
    "expanded_training_set",
    "find_mnist",
    "load_mnist",
    "md5sum",
    "nielsen_split",
    "read_idx",
    "verify_md5",
    "write_idx",
]
