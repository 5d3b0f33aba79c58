"""Checksums and a download that never leaves a half-written or wrong file behind."""

from __future__ import annotations

import hashlib
import urllib.request
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import BinaryIO

from cnnbook.files import atomic_open

from .idx import CorruptFileError

#: ``opener(url) -> a readable binary stream`` (a context manager); ``urllib.request.urlopen`` by default.
Opener = Callable[[str], BinaryIO]

CHUNK = 1 << 20


def md5sum(path: str | PathLike) -> str:
    """Hex MD5 digest of the file at ``path``."""
    digest = hashlib.md5()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_md5(path: str | PathLike, expected: str) -> None:
    """Raise :class:`CorruptFileError` naming the file unless its MD5 is ``expected``."""
    actual = md5sum(path)
    if actual != expected:
        raise CorruptFileError(
            f"{path}: MD5 is {actual}, expected {expected}; the file is damaged or not the original. "
            "Delete it and fetch it again."
        )


def download_verified(url: str, destination: str | PathLike, md5: str, opener: Opener | None = None) -> Path:
    """Download ``url`` to ``destination`` if its MD5 is ``md5``.

    The bytes go to a temporary file beside ``destination``, which is renamed into place only
    once complete and verified; on any failure (network error, interruption, wrong checksum) the
    temporary file is removed and the error raised, so ``destination`` is either absent or right.
    """
    destination = Path(destination)
    opener = opener or (lambda address: urllib.request.urlopen(address, timeout=60))
    with atomic_open(destination) as out, opener(url) as response:
        digest = hashlib.md5()
        for chunk in iter(lambda: response.read(CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
        if digest.hexdigest() != md5:
            raise CorruptFileError(f"{url}: downloaded MD5 is {digest.hexdigest()}, expected {md5}")
    return destination
