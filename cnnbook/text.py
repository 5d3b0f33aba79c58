"""Chapter 10: convolution over text, 1-D over a sequence of word vectors (``seeds/003`` 5.26).

An e-mail becomes a sequence of token ids (:func:`tokens`, :class:`Vocabulary`), the ids become
word vectors (:class:`~cnnbook.nn.Embedding`: a text is an image ``L`` positions tall, one pixel
wide, with ``dim`` channels), a convolution of width ``h`` reads ``h`` consecutive words at a time,
and a max over every position keeps, per filter, the strongest match anywhere in the text
(:func:`text_cnn`, Kim 2014's design with one filter width). Trained by the book's engine on the
SpamAssassin corpus (:mod:`cnnbook.data.spam`).
"""

from __future__ import annotations

import codecs
import email
import functools
import html
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from email.message import Message
from typing import NamedTuple

import numpy as np

from cnnbook.data.spam import load_spam_assassin
from cnnbook.nn import Conv2D, Dense, Embedding, Flatten, History, MaxPool2D, Network, ReLU
from cnnbook.validate import check_int

PAD, UNKNOWN = 0, 1  # the ids of padding and of a word the vocabulary does not hold
_WORD = re.compile(r"[a-z]+|[0-9]+|[$!%]")
_TAG = re.compile(r"<[^>]*>")


def message_body(text: str) -> str:
    """The readable text of an e-mail: its text parts, MIME-decoded, HTML tags removed, no headers.

    Headers are left out on purpose: the corpus's headers name the servers that collected it, a
    shortcut that would teach nothing about language.
    """
    message = email.message_from_string(text)  # the compat32 parser: ten times faster than policy.default
    parts = []
    for part in message.walk():
        if part.get_content_maintype() != "text":
            continue
        payload = part.get_payload(decode=True) or b""  # undoes base64 and quoted-printable
        content = payload.decode(part.get_content_charset() or "latin-1", "replace") if _known(part) else ""
        content = content or payload.decode("latin-1")
        parts.append(html.unescape(_TAG.sub(" ", content)) if part.get_content_subtype() == "html" else content)
    return "\n".join(parts) if parts else text.partition("\n\n")[2]


def _known(part: Message) -> bool:
    try:
        codecs.lookup(part.get_content_charset() or "latin-1")
        return True
    except LookupError:
        return False


def tokens(text: str) -> list[str]:
    """Lower-cased words, numbers and the symbols ``$ ! %`` of ``text``, in order."""
    return _WORD.findall(text.lower())


class Vocabulary:
    """The ``size - 2`` commonest words of a training set get ids 2, 3, ...; 0 pads, 1 stands for the rest."""

    def __init__(self, documents: Iterable[Sequence[str]], size: int) -> None:
        check_int(3, size=size)
        counts = Counter(word for document in documents for word in set(document))  # documents, not repeats
        ranked = sorted(counts, key=lambda word: (-counts[word], word))[: size - 2]
        self.words = ["<pad>", "<unknown>", *ranked]
        self.ids = {word: i for i, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, documents: Iterable[Sequence[str]], length: int) -> np.ndarray:
        """``(N, length)`` int32 ids: each document's first ``length`` words, padded with 0 after."""
        check_int(1, length=length)
        rows = [[self.ids.get(word, UNKNOWN) for word in document[:length]] for document in documents]
        ids = np.zeros((len(rows), length), dtype=np.int32)
        for row, document in zip(ids, rows):
            row[: len(document)] = document
        return ids


def text_cnn(vocabulary: int, length: int, width: int = 3, filters: int = 64, dim: int = 32, seed: int = 0) -> Network:
    """Embedding -> convolution of ``width`` words -> ReLU -> max over all positions -> 2 classes.

    >>> net = text_cnn(vocabulary=100, length=20, width=3, filters=8, dim=4)
    >>> net.forward(np.zeros((5, 20), dtype=np.int32)).shape
    (5, 2)
    """
    check_int(1, width=width)
    if width > length:
        raise ValueError(f"width must be at most length={length} (the filter must fit in the text), got {width}")
    rng = np.random.default_rng(seed)
    return Network(
        [
            Embedding(vocabulary, dim, rng=rng),
            Conv2D(dim, filters, (width, 1), rng=rng),
            ReLU(),
            MaxPool2D((length - width + 1, 1)),  # one window the whole text long: max over time
            Flatten(),
            Dense(filters, 2, init="glorot", rng=rng),
        ]
    )


# --- the corpus, encoded ------------------------------------------------------------------------------

LENGTH = 200  # words read per e-mail (the median body has about 175)
VOCABULARY = 5000  # ids: the 4,998 words found in the most training e-mails, padding and "unknown"
DIM, FILTERS = 16, 32
#: How the chapter trains: SGD with momentum, a few epochs (about 2 s each here), batch 32.
TRAINING = {"epochs": 8, "batch_size": 32, "learning_rate": 0.02, "momentum": 0.9}


class TextData(NamedTuple):
    """The corpus as the networks see it: ids ``(N, LENGTH)``, labels (1 = spam), and the words behind them."""

    vocabulary: Vocabulary
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_words: list[list[str]]  # each test e-mail's words, before truncation and lookup


@functools.lru_cache(maxsize=2)
def load_corpus(length: int = LENGTH, vocabulary: int = VOCABULARY, download: bool = True) -> TextData:
    """SpamAssassin (:func:`cnnbook.data.spam.load_spam_assassin`) as token ids, the vocabulary from training only."""
    train, test = load_spam_assassin(download=download)
    train_words = [tokens(message_body(m.text)) for m in train]
    test_words = [tokens(message_body(m.text)) for m in test]
    vocab = Vocabulary(train_words, vocabulary)
    labels = [np.array([m.label for m in split], dtype=np.int64) for split in (train, test)]
    return TextData(
        vocab, vocab.encode(train_words, length), labels[0], vocab.encode(test_words, length), labels[1], test_words
    )


def train_text_cnn(data: TextData, width: int, seed: int = 0) -> tuple[Network, History]:
    """A :func:`text_cnn` of filter ``width`` trained on ``data`` as :data:`TRAINING` says."""
    net = text_cnn(len(data.vocabulary), data.x_train.shape[1], width, FILTERS, DIM, seed)
    history = net.fit(data.x_train, data.y_train, seed=seed, progress=False, **TRAINING)
    return net, history


# --- what the network sees, and what it cannot see ---------------------------------------------------


def shuffle_words(ids: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each row's words (the ids before the padding) in a random order; the padding stays at the end."""
    rng = np.random.default_rng(seed)
    shuffled = ids.copy()
    for row in shuffled:
        words = int(np.count_nonzero(row != PAD))
        row[:words] = rng.permutation(row[:words])
    return shuffled


def separated(blocks: Sequence[Sequence[int]], length: int, width: int) -> np.ndarray:
    """The blocks of ids in order, each after ``width - 1`` pads, padded to ``length``: no window of
    ``width`` words sees two blocks, so the set of windows does not depend on the blocks' order."""
    ids = [id_ for block in blocks for id_ in [PAD] * (width - 1) + list(block)]
    if len(ids) + width - 1 > length:
        raise ValueError(f"the blocks need length >= {len(ids) + width - 1}, got {length}")
    return np.array(ids + [PAD] * (length - len(ids)), dtype=np.int32)


def feature_maps(net: Network, ids: np.ndarray) -> np.ndarray:
    """``(N, positions, filters)``: each filter's response (after ReLU) at each position of each text."""
    x = net.prepare_input(ids)
    for layer in net.layers[:3]:  # embedding, convolution, ReLU
        x = layer.forward(x)
    return x[:, :, 0, :]


def as_two_d(conv: Conv2D) -> Conv2D:
    """The same filters as a 2-D convolution of one channel whose kernel spans the whole ``dim`` width
    (Kim 2014's picture): input ``(N, L, dim, 1)`` instead of ``(N, L, 1, dim)``."""
    height, width, dim, filters = conv.params["weight"].shape
    if width != 1:
        raise ValueError(f"as_two_d expected a (h, 1) kernel sliding along the text, got {(height, width)}")
    flat = Conv2D(1, filters, (height, dim))
    flat.params["weight"] = conv.params["weight"].reshape(height, dim, 1, filters).copy()
    flat.params["bias"] = conv.params["bias"].copy()
    return flat
