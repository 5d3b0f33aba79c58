"""Chapter 10: the Embedding layer, the text CNN, and what max-over-time pooling can and cannot see.

The corpus tests read the SpamAssassin tarball that ``python3 tasks.py`` fetches before the tests run
(``python -m cnnbook.data.spam``); they never download. Without it they skip, and fail in CI.
"""

from __future__ import annotations

import io
import os
import tarfile

import numpy as np
import pytest

from cnnbook.data import CorruptFileError
from cnnbook.data.spam import GROUPS, TARBALL, SpamNotFoundError, find_spam_assassin, read_messages
from cnnbook.nn import Embedding, Network, network_gradient_errors
from cnnbook.text import (
    PAD,
    UNKNOWN,
    Vocabulary,
    as_two_d,
    feature_maps,
    message_body,
    separated,
    shuffle_words,
    text_cnn,
    tokens,
)

RNG = np.random.default_rng(0)


# --- the Embedding layer ------------------------------------------------------------------------------


def test_embedding_is_a_one_hot_vector_times_the_table():
    layer = Embedding(7, 3, rng=0)
    ids = np.array([[0, 6, 6, 2], [1, 1, 5, 3]])
    one_hot = np.eye(7, dtype=np.float32)[ids]
    assert np.array_equal(layer.forward(ids), (one_hot @ layer.params["weight"])[:, :, np.newaxis, :])


def test_embedding_gradient_adds_up_over_repeated_words_and_matches_finite_differences():
    net = text_cnn(vocabulary=9, length=6, width=2, filters=3, dim=4, seed=1)
    ids = np.array([[2, 2, 2, 5, 0, 0], [8, 1, 3, 3, 4, 7]], dtype=np.int32)
    errors = network_gradient_errors(net, ids, np.array([0, 1]), samples=20)
    assert max(errors.values()) < 1e-6, errors
    layer = Embedding(9, 2, rng=0)
    layer.forward(np.array([[2, 2, 5]]))
    layer.backward(np.ones((1, 3, 1, 2), dtype=np.float32))
    assert layer.grads["weight"][2].tolist() == [2.0, 2.0] and layer.grads["weight"][5].tolist() == [1.0, 1.0]
    assert not layer.grads["weight"][[0, 1, 3, 4, 6, 7, 8]].any()


def test_embedding_matches_pytorch():
    torch = pytest.importorskip("torch")
    layer = Embedding(11, 5, rng=3)
    reference = torch.nn.Embedding(11, 5)
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(layer.params["weight"]))
    ids = RNG.integers(0, 11, size=(4, 9))
    upstream = RNG.standard_normal((4, 9, 1, 5)).astype(np.float32)
    out = reference(torch.from_numpy(ids))
    (out * torch.from_numpy(upstream[:, :, 0, :])).sum().backward()
    assert np.allclose(layer.forward(ids)[:, :, 0, :], out.detach().numpy())
    layer.backward(upstream)
    assert np.allclose(layer.grads["weight"], reference.weight.grad.numpy(), atol=1e-6)


@pytest.mark.parametrize("ids", [np.array([[0, 11]]), np.array([[-1, 2]]), np.array([[0.5, 2.0]])])
def test_embedding_refuses_ids_outside_the_table_or_not_whole(ids):
    with pytest.raises(ValueError, match=r"integer token ids in \[0, 11\)"):
        Embedding(11, 2).forward(ids)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, L\)"):
        Embedding(11, 2).forward(np.zeros((2, 3, 1)))


def test_a_text_network_saves_and_loads(tmp_path):
    net = text_cnn(vocabulary=20, length=8, width=3, filters=4, dim=2, seed=0)
    net.save(tmp_path / "net.npz")
    ids = RNG.integers(0, 20, size=(3, 8))
    assert np.array_equal(Network.load(tmp_path / "net.npz").forward(ids), net.forward(ids))


# --- words to ids --------------------------------------------------------------------------------------


def test_tokens_and_the_vocabulary_rank_words_by_how_many_documents_hold_them():
    assert tokens("Win $1,000 NOW!! at http://x.com") == [
        "win",
        "$",
        "1",
        "000",
        "now",
        "!",
        "!",
        "at",
        "http",
        "x",
        "com",
    ]
    docs = [["a", "b", "b", "b"], ["a", "c"], ["a", "c"]]
    vocab = Vocabulary(docs, size=4)  # pad, unknown, then a (3 documents), c (2); b is in one document only
    assert vocab.words == ["<pad>", "<unknown>", "a", "c"]
    ids = vocab.encode([["c", "b", "a"], ["a"] * 5], length=4)
    assert ids.tolist() == [[3, UNKNOWN, 2, PAD], [2, 2, 2, 2]]
    with pytest.raises(ValueError, match="size"):
        Vocabulary(docs, size=2)


def test_message_body_leaves_the_headers_out_and_decodes_the_parts():
    plain = "From: a@b.c\nSubject: hello\nReceived: from mail.example.com\n\nDear friend,\nbuy now\n"
    assert message_body(plain).strip() == "Dear friend,\nbuy now"
    mime = (
        'From: a@b.c\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="XX"\n\n'
        "--XX\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        "PHA+Q2zDqWFuICZhbXA7IGNoZWFwPC9wPg==\n--XX\nContent-Type: image/gif\n\nR0lGOD\n--XX--\n"
    )
    assert message_body(mime).strip() == "Cléan & cheap"  # <p>Cléan &amp; cheap</p>, tags and entity undone
    unknown = "Content-Type: text/plain; charset=x-no-such-charset\n\nplain words\n"
    assert message_body(unknown).strip() == "plain words"


# --- what the network sees ------------------------------------------------------------------------------


def test_max_over_time_cannot_tell_where_a_block_of_words_is_but_filters_see_word_order():
    net = text_cnn(vocabulary=50, length=30, width=3, filters=16, dim=8, seed=2)
    a, b = [5, 6, 7, 8], [20, 21, 22]
    swapped = net.forward(np.stack([separated([a, b], 30, 3), separated([b, a], 30, 3)]))
    assert np.allclose(swapped[0], swapped[1], rtol=0, atol=1e-5)  # same windows elsewhere: the same output
    reordered = net.forward(np.stack([separated([a], 30, 3), separated([a[::-1]], 30, 3)]))
    assert np.abs(reordered[0] - reordered[1]).max() > 1e-3  # same words, other order: another output
    with pytest.raises(ValueError, match="length >= 13"):
        separated([a, b], 10, 3)


def test_a_width_one_network_is_a_bag_of_words_shuffling_changes_nothing():
    net = text_cnn(vocabulary=40, length=12, width=1, filters=6, dim=4, seed=0)
    ids = RNG.integers(2, 40, size=(8, 12)).astype(np.int32)
    ids[:, 9:] = PAD
    shuffled = shuffle_words(ids, seed=1)
    assert not np.array_equal(shuffled, ids) and (shuffled[:, 9:] == PAD).all()
    assert sorted(shuffled[0]) == sorted(ids[0])
    assert np.allclose(net.forward(shuffled), net.forward(ids), atol=1e-6)


def test_the_1d_convolution_is_a_2d_one_whose_kernel_spans_the_vector():
    net = text_cnn(vocabulary=30, length=10, width=4, filters=5, dim=6, seed=0)
    ids = RNG.integers(0, 30, size=(3, 10))
    embedded = net.layers[0].forward(ids)  # (N, L, 1, dim)
    one_d = net.layers[1].forward(embedded)
    two_d = as_two_d(net.layers[1]).forward(np.swapaxes(embedded, 2, 3))  # (N, L, dim, 1)
    assert one_d.shape == two_d.shape == (3, 7, 1, 5)
    assert np.allclose(one_d, two_d, atol=1e-5)
    assert np.allclose(feature_maps(net, ids), np.maximum(one_d, 0)[:, :, 0, :])
    with pytest.raises(ValueError, match=r"width must be at most length=10"):
        text_cnn(vocabulary=30, length=10, width=11)


# --- the corpus ----------------------------------------------------------------------------------------


def _tarball_or_skip():
    try:
        return find_spam_assassin(download=False)
    except SpamNotFoundError as error:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{error} (python -m cnnbook.data.spam fetches it)")


def test_the_corpus_has_every_message_of_the_five_folders_and_a_stable_split():
    from cnnbook.data.spam import load_spam_assassin

    _tarball_or_skip()
    train, test = load_spam_assassin(download=False)
    messages = train + test
    assert len(messages) == sum(count for _, count in GROUPS.values()) == 6046
    assert {m.md5 for m in train}.isdisjoint(m.md5 for m in test)
    assert 0.18 < len(test) / len(messages) < 0.22
    assert sum(m.hashes_to_its_name for m in messages) > 0.9 * len(messages)


def test_a_damaged_or_missing_tarball_is_refused_and_says_where_to_put_it(tmp_path, monkeypatch):
    bad = tmp_path / "spam-assassin" / TARBALL
    bad.parent.mkdir()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz"):
        pass
    bad.write_bytes(buffer.getvalue())
    with pytest.raises(CorruptFileError, match="MD5"):
        read_messages(bad)
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("CNNBOOK_CACHE", str(tmp_path / "cache"))

    def offline(url):
        raise OSError("no network")

    with pytest.raises(SpamNotFoundError, match=f"Put {TARBALL}"):
        find_spam_assassin(opener=offline)
    assert not any((tmp_path / "cache").rglob("*.tgz"))  # nothing half-written
