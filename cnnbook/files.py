"""Atomic file writes: a reader (or a crash) sees the old file or the whole new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_open(
    path: str | os.PathLike,
    mode: int = 0o644,
    *,
    text: bool = False,
    fsync: bool = False,
    before_rename: Callable[[Path], None] | None = None,
) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on a clean exit it is renamed onto ``path``.

    On any exception (an interrupted download, a full disk, Ctrl-C) the temporary file is removed
    and the exception raised, so ``path`` is untouched. ``mode`` is the finished file's permission
    (0o600 for a private report); a file already at ``path`` is replaced, never written through.
    ``before_rename`` is called with the finished temporary file just before the rename (to change
    its owner, say), so the file never appears at ``path`` without it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as handle:
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        if before_rename is not None:
            before_rename(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike, data: str | bytes, mode: int = 0o644, *, fsync: bool = False) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically; return the path."""
    with atomic_open(path, mode, text=isinstance(data, str), fsync=fsync) as handle:
        handle.write(data)
    return Path(path)
