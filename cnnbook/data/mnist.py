"""The MNIST handwritten digits: where the four original files are found, checked, decoded and cached.

Where the files come from, in order:

1. ``$CNNBOOK_DATA/mnist/`` when the ``CNNBOOK_DATA`` environment variable is set (may be read-only);
2. ``~/.cache/cnnbook/mnist/`` (the cache folder; ``$CNNBOOK_CACHE`` moves it);
3. a download from the public mirrors in :data:`MIRRORS` into the cache folder, each file MD5-checked.

Every file's MD5 is verified before use. The decoded arrays are cached as an ``.npz`` in the cache
folder (decoding the gzip files takes far longer than loading that); if the cache folder cannot be
written, the files are simply decoded each time.
"""

from __future__ import annotations

import functools
import os
import zipfile
from os import PathLike
from pathlib import Path
from typing import NamedTuple

import numpy as np

from cnnbook.files import atomic_open

from .download import Opener, download_verified, verify_md5
from .idx import CorruptFileError, read_idx

IMAGE_SHAPE = (28, 28)


class MnistFile(NamedTuple):
    """One of the four original files: its name, MD5, and how many items it holds."""

    name: str
    md5: str
    count: int


#: The original files (LeCun, Cortes and Burges), byte-identical to the canonical distribution.
MNIST_FILES: dict[str, MnistFile] = {
    "train_images": MnistFile("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 60_000),
    "train_labels": MnistFile("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", 60_000),
    "test_images": MnistFile("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 10_000),
    "test_labels": MnistFile("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 10_000),
}

#: Public mirrors of the original files, tried in order (each URL is ``mirror + file name``).
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


class MnistNotFoundError(FileNotFoundError):
    """The MNIST files are neither on disk nor downloadable."""


class Mnist(NamedTuple):
    """The official split: 60,000 training and 10,000 test images, float32 in [0, 1], labels int64."""

    train_images: np.ndarray  # (60000, 28, 28)
    train_labels: np.ndarray  # (60000,)
    test_images: np.ndarray  # (10000, 28, 28)
    test_labels: np.ndarray  # (10000,)


def cache_home() -> Path:
    """The folder for downloads and decoded caches: ``$CNNBOOK_CACHE``, else ``~/.cache/cnnbook``."""
    return Path(os.environ.get("CNNBOOK_CACHE") or Path.home() / ".cache" / "cnnbook")


def candidate_folders() -> list[Path]:
    """Folders searched for the four files, in order: ``$CNNBOOK_DATA/mnist``, then the cache's ``mnist``."""
    folders = []
    if os.environ.get("CNNBOOK_DATA"):
        folders.append(Path(os.environ["CNNBOOK_DATA"]) / "mnist")
    folders.append(cache_home() / "mnist")
    return folders


def _missing(folder: Path) -> list[str]:
    return [spec.name for spec in MNIST_FILES.values() if not (folder / spec.name).is_file()]


def _not_found_message(reason: str) -> str:
    names = "\n".join(f"  {spec.name}  (md5 {spec.md5})" for spec in MNIST_FILES.values())
    folders = "\n".join(f"  {folder}/" for folder in candidate_folders())
    return (
        f"MNIST not found: {reason}\nPut these four files, as downloaded (still gzip-compressed):\n{names}\n"
        f"into one of these folders:\n{folders}\n"
        "(set CNNBOOK_DATA=/some/folder to use /some/folder/mnist/), or allow the download."
    )


def download_mnist(
    folder: str | PathLike | None = None, mirrors: tuple[str, ...] = MIRRORS, opener: Opener | None = None
) -> Path:
    """Download whichever of the four files ``folder`` (default: the cache's ``mnist``) lacks.

    Each file is tried from every mirror in turn, MD5-checked, and written atomically
    (see :func:`~cnnbook.data.download.download_verified`). If a file cannot be had from any
    mirror, :class:`MnistNotFoundError` says what failed and where to put the files by hand.
    """
    folder = Path(folder) if folder is not None else cache_home() / "mnist"
    for spec in MNIST_FILES.values():
        if (folder / spec.name).is_file():
            continue
        failures = []
        for mirror in mirrors:
            try:
                download_verified(mirror + spec.name, folder / spec.name, spec.md5, opener)
                break
            except (OSError, CorruptFileError) as error:  # URLError and HTTPError are OSErrors
                failures.append(f"  {mirror + spec.name}: {error}")
        else:
            tried = "\n".join(failures) or "  (no mirrors given)"
            raise MnistNotFoundError(_not_found_message(f"the download of {spec.name} failed:\n{tried}"))
    return folder


def find_mnist(download: bool = True, mirrors: tuple[str, ...] = MIRRORS, opener: Opener | None = None) -> Path:
    """The first of :func:`candidate_folders` that holds all four files, downloading them if allowed."""
    for folder in candidate_folders():
        if not _missing(folder):
            return folder
    if not download:
        raise MnistNotFoundError(_not_found_message("no folder holds all four files and download=False."))
    return download_mnist(cache_home() / "mnist", mirrors, opener)


def _decode(folder: Path) -> dict[str, np.ndarray]:
    """The four arrays as stored (uint8), each file's format, shape and item count checked."""
    arrays = {}
    for key, spec in MNIST_FILES.items():
        path = folder / spec.name
        is_images = key.endswith("images")
        array = read_idx(path, ndim=3 if is_images else 1, item_shape=IMAGE_SHAPE if is_images else ())
        if len(array) != spec.count:
            raise CorruptFileError(f"{path}: expected {spec.count} items, found {len(array)}")
        arrays[key] = array
    return arrays


def _cache_file() -> Path:
    version = "-".join(spec.md5[:8] for spec in MNIST_FILES.values())
    return cache_home() / f"mnist-decoded-{version}.npz"


def _write_cache(arrays: dict[str, np.ndarray], path: Path) -> None:
    """Save the decoded arrays atomically; give up quietly where the folder is not writable."""
    try:
        with atomic_open(path) as out:
            np.savez(out, **arrays)
    except OSError:
        pass


@functools.lru_cache(maxsize=2)
def _load_uint8(folder: str) -> dict[str, np.ndarray]:
    """Decoded uint8 arrays (read-only), from the ``.npz`` cache when it exists and is sound."""
    folder_path = Path(folder)
    for spec in MNIST_FILES.values():  # the originals, and so the cache made from them, are right
        verify_md5(folder_path / spec.name, spec.md5)
    cache = _cache_file()
    arrays = None
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as saved:
                arrays = {key: saved[key] for key in MNIST_FILES}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            arrays = None  # damaged cache: decode again and overwrite it
    if arrays is None or any(len(arrays[key]) != spec.count for key, spec in MNIST_FILES.items()):
        arrays = _decode(folder_path)
        _write_cache(arrays, cache)
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


def load_mnist(download: bool = True) -> Mnist:
    """The MNIST training and test sets, images as float32 in [0, 1] and labels as int64.

    Files are looked for as described in this module's docstring; ``download=False`` raises
    :class:`MnistNotFoundError` (saying which files to put where) instead of downloading.
    """
    arrays = _load_uint8(str(find_mnist(download=download)))
    images = {key: (arrays[key] / np.float32(255)).astype(np.float32) for key in ("train_images", "test_images")}
    return Mnist(
        images["train_images"],
        arrays["train_labels"].astype(np.int64),
        images["test_images"],
        arrays["test_labels"].astype(np.int64),
    )
