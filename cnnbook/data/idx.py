"""Reading the IDX format of the original MNIST files (gzip-compressed).

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>`` (type ``0x08``: unsigned bytes),
then ``ndim`` big-endian 32-bit sizes, then the values in C order. MNIST image files have ndim 3
(count, 28, 28), label files ndim 1 (count).
"""

from __future__ import annotations

import gzip
import zlib
from os import PathLike
from pathlib import Path

import numpy as np

UNSIGNED_BYTE = 0x08


class CorruptFileError(ValueError):
    """A data file is damaged, truncated, of the wrong kind, or not the expected version."""


def read_idx(path: str | PathLike, ndim: int | None = None, item_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The uint8 array stored in the gzip-compressed IDX file at ``path``.

    ``ndim`` and ``item_shape`` (the sizes after the first one, e.g. ``(28, 28)``), when given, are
    checked too. Any problem (not gzip, truncated, wrong magic number, sizes that disagree with
    the data) raises :class:`CorruptFileError` naming the file.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
        raise CorruptFileError(f"{path}: not a readable gzip file ({error})") from error
    if len(raw) < 4:
        raise CorruptFileError(f"{path}: too short to be an IDX file ({len(raw)} bytes after decompression)")
    zero1, zero2, kind, dims = raw[:4]
    if zero1 or zero2 or kind != UNSIGNED_BYTE:
        raise CorruptFileError(
            f"{path}: bad IDX magic number {raw[:4].hex()} (expected 0000 08 then the number of dimensions)"
        )
    if ndim is not None and dims != ndim:
        raise CorruptFileError(f"{path}: expected {ndim} dimensions, the header says {dims}")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise CorruptFileError(f"{path}: truncated in the header")
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">u4", count=dims, offset=4))
    if item_shape is not None and shape[1:] != tuple(item_shape):
        raise CorruptFileError(f"{path}: expected items of shape {tuple(item_shape)}, the header says {shape[1:]}")
    expected = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != expected:
        raise CorruptFileError(
            f"{path}: the header promises {expected} values of shape {shape} but the file holds {len(raw) - header}"
            + (" (truncated)" if len(raw) - header < expected else "")
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path: str | PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip-compressed IDX file (the inverse of :func:`read_idx`; used by tests)."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, UNSIGNED_BYTE, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.tobytes())
