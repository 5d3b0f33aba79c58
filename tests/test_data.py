"""cnnbook.data: the IDX reader, checksums, safe downloads (from local file:// mirrors only),
where the MNIST files are looked for, the decoded cache, and Nielsen's splits."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pytest

import cnnbook.data.mnist as mnist_module
from cnnbook.data import (
    CorruptFileError,
    Mnist,
    MnistNotFoundError,
    download_mnist,
    download_verified,
    expand_with_shifts,
    expanded_training_set,
    find_mnist,
    load_mnist,
    nielsen_split,
    read_idx,
    verify_md5,
    write_idx,
)
from cnnbook.data.mnist import MNIST_FILES, MnistFile


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Each test gets its own empty cache folder, no CNNBOOK_DATA, and no in-process memo of decoded arrays."""
    monkeypatch.setenv("CNNBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CNNBOOK_DATA", raising=False)
    mnist_module._load_uint8.cache_clear()
    yield
    mnist_module._load_uint8.cache_clear()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- the IDX format ----------------------------------------------------------------------------------


def test_idx_round_trip(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "images.gz", images)
    write_idx(tmp_path / "labels.gz", np.arange(5))
    np.testing.assert_array_equal(read_idx(tmp_path / "images.gz", ndim=3, item_shape=(28, 28)), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "labels.gz", ndim=1), np.arange(5))


def write_gz(path: Path, raw: bytes) -> Path:
    with gzip.open(path, "wb") as stream:
        stream.write(raw)
    return path


def header(*shape: int, kind: int = 8) -> bytes:
    return bytes([0, 0, kind, len(shape)]) + np.asarray(shape, dtype=">u4").tobytes()


@pytest.mark.parametrize(
    "raw, kwargs, message",
    [
        (header(2, 2, 2) + bytes(7), {}, r"promises 8 values .* holds 7 \(truncated\)"),
        (header(2, 2, 2) + bytes(9), {}, "promises 8 values .* holds 9"),
        (header(2, 2, 2, kind=0x0D) + bytes(8), {}, "bad IDX magic number 00000d03"),
        (b"\x01\x00\x08\x01" + bytes(8), {}, "bad IDX magic number"),
        (header(2, 2, 2) + bytes(8), {"ndim": 1}, "expected 1 dimensions, the header says 3"),
        (header(2, 2, 2) + bytes(8), {"item_shape": (28, 28)}, r"expected items of shape \(28, 28\)"),
        (b"\x00\x00", {}, "too short"),
        (header(2, 2, 2)[:9], {}, "truncated in the header"),
    ],
)
def test_idx_errors_name_the_file(tmp_path, raw, kwargs, message):
    path = write_gz(tmp_path / "broken-idx.gz", raw)
    with pytest.raises(CorruptFileError, match=message) as caught:
        read_idx(path, **kwargs)
    assert str(path) in str(caught.value)


def test_files_that_are_not_gzip_or_cut_short_are_reported(tmp_path):
    plain = tmp_path / "plain.gz"
    plain.write_bytes(header(1) + b"\x07")
    with pytest.raises(CorruptFileError, match=r"plain\.gz: not a readable gzip file"):
        read_idx(plain)
    whole = write_gz(tmp_path / "whole.gz", header(1000) + np.random.default_rng(0).bytes(1000)).read_bytes()
    cut = tmp_path / "cut.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CorruptFileError, match=r"cut\.gz: not a readable gzip file"):
        read_idx(cut)


def test_md5_mismatch_names_the_file_and_both_digests(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"hello")
    verify_md5(path, hashlib.md5(b"hello").hexdigest())  # the right digest passes
    with pytest.raises(CorruptFileError, match=rf"data\.bin: MD5 is {hashlib.md5(b'hello').hexdigest()}, expected 0+"):
        verify_md5(path, "0" * 32)


# -- downloads (local file:// URLs and fake openers; nothing leaves the machine) ---------------------


def test_download_writes_the_file_only_when_complete_and_correct(tmp_path):
    source = tmp_path / "mirror" / "blob.bin"
    source.parent.mkdir()
    payload = np.random.default_rng(0).bytes(3_000_000)  # several read chunks
    source.write_bytes(payload)
    target = tmp_path / "out" / "blob.bin"

    with pytest.raises(CorruptFileError, match="downloaded MD5 is"):
        download_verified(source.as_uri(), target, md5="0" * 32)
    assert leftovers(target.parent) == []  # no half-written file, no temporary left behind

    download_verified(source.as_uri(), target, md5=hashlib.md5(payload).hexdigest())
    assert target.read_bytes() == payload and leftovers(target.parent) == ["blob.bin"]


def test_an_interrupted_download_leaves_nothing(tmp_path):
    class Dropped(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 0:
                raise ConnectionResetError("connection reset by peer")
            return super().read(size)

    target = tmp_path / "out" / "blob.bin"
    with pytest.raises(ConnectionResetError):
        download_verified(
            "https://example.invalid/blob.bin", target, md5="0" * 32, opener=lambda url: Dropped(bytes(5_000_000))
        )
    assert leftovers(target.parent) == []


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """Tiny IDX files standing in for MNIST (6 training and 3 test images), with MNIST_FILES pointing at them."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8),
        "train_labels": np.array([5, 0, 4, 1, 9, 2], dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8),
        "test_labels": np.array([7, 2, 1], dtype=np.uint8),
    }
    mirror = tmp_path / "good-mirror"
    mirror.mkdir()
    specs = {}
    for key, spec in MNIST_FILES.items():
        write_idx(mirror / spec.name, arrays[key])
        specs[key] = MnistFile(spec.name, hashlib.md5((mirror / spec.name).read_bytes()).hexdigest(), len(arrays[key]))
    monkeypatch.setattr(mnist_module, "MNIST_FILES", specs)
    return mirror, arrays


def test_download_mnist_tries_mirrors_in_turn(tmp_path, fake_mnist):
    good, _ = fake_mnist
    bad = tmp_path / "bad-mirror"
    bad.mkdir()
    for spec in mnist_module.MNIST_FILES.values():
        (bad / spec.name).write_bytes(b"not the file")
    missing = tmp_path / "no-such-mirror"
    mirrors = (missing.as_uri() + "/", bad.as_uri() + "/", good.as_uri() + "/")
    folder = download_mnist(tmp_path / "dest", mirrors=mirrors)
    names = sorted(spec.name for spec in mnist_module.MNIST_FILES.values())
    assert leftovers(folder) == names
    for name in names:
        assert (folder / name).read_bytes() == (good / name).read_bytes()


def test_failed_downloads_leave_nothing_and_say_what_to_put_where(tmp_path, fake_mnist):
    bad = tmp_path / "bad-mirror"
    bad.mkdir()
    for spec in mnist_module.MNIST_FILES.values():
        (bad / spec.name).write_bytes(b"truncated")
    dest = tmp_path / "dest"
    with pytest.raises(MnistNotFoundError) as caught:
        download_mnist(dest, mirrors=(bad.as_uri() + "/", (tmp_path / "gone").as_uri() + "/"))
    message = str(caught.value)
    assert leftovers(dest) == []
    assert "downloaded MD5 is" in message  # the corrupt mirror
    for spec in mnist_module.MNIST_FILES.values():
        assert spec.name in message
    assert str(tmp_path / "cache" / "mnist") in message


def test_missing_files_without_download_say_exactly_which_files_go_where(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path / "shared"))
    with pytest.raises(MnistNotFoundError) as caught:
        find_mnist(download=False)
    message = str(caught.value)
    for spec in MNIST_FILES.values():
        assert f"{spec.name}  (md5 {spec.md5})" in message
    assert f"{tmp_path / 'shared' / 'mnist'}/" in message and f"{tmp_path / 'cache' / 'mnist'}/" in message
    assert leftovers(tmp_path / "cache") == []  # nothing was fetched


def test_folders_are_searched_in_order(tmp_path, monkeypatch):
    def fill(folder: Path) -> Path:
        folder.mkdir(parents=True)
        for spec in MNIST_FILES.values():
            (folder / spec.name).touch()
        return folder

    cached = fill(tmp_path / "cache" / "mnist")
    assert find_mnist(download=False) == cached
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path / "shared"))
    assert find_mnist(download=False) == cached  # CNNBOOK_DATA lacks the files: fall back to the cache
    shared = fill(tmp_path / "shared" / "mnist")
    assert find_mnist(download=False) == shared


def test_load_mnist_decodes_scales_and_caches(tmp_path, monkeypatch, fake_mnist):
    mirror, arrays = fake_mnist
    monkeypatch.setenv("CNNBOOK_DATA", str(mirror.parent))
    mirror.rename(tmp_path / "mnist")
    data = load_mnist(download=False)
    assert isinstance(data, Mnist)
    assert data.train_images.dtype == np.float32 and data.train_labels.dtype == np.int64
    np.testing.assert_array_equal(data.train_images, arrays["train_images"] / np.float32(255))
    np.testing.assert_array_equal(data.test_labels, [7, 2, 1])
    cached = list((tmp_path / "cache").glob("mnist-decoded-*.npz"))
    assert len(cached) == 1
    with np.load(cached[0]) as saved:
        np.testing.assert_array_equal(saved["test_images"], arrays["test_images"])

    mnist_module._load_uint8.cache_clear()
    np.testing.assert_array_equal(load_mnist(download=False).train_images, data.train_images)  # from the cache
    data.train_images[:] = 0  # the caller's arrays are its own: the memo is unaffected
    np.testing.assert_array_equal(load_mnist(download=False).test_images, arrays["test_images"] / np.float32(255))


def test_a_damaged_cache_is_rebuilt(tmp_path, monkeypatch, fake_mnist):
    mirror, arrays = fake_mnist
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path))
    mirror.rename(tmp_path / "mnist")
    load_mnist(download=False)
    (cache,) = (tmp_path / "cache").glob("mnist-decoded-*.npz")
    cache.write_bytes(cache.read_bytes()[:1000])  # cut short, as by a full disk
    mnist_module._load_uint8.cache_clear()
    np.testing.assert_array_equal(load_mnist(download=False).test_images, arrays["test_images"] / np.float32(255))
    with np.load(cache) as rebuilt:
        np.testing.assert_array_equal(rebuilt["train_labels"], arrays["train_labels"])


def test_an_unwritable_cache_folder_is_not_an_error(tmp_path, monkeypatch, fake_mnist):
    mirror, arrays = fake_mnist
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache cannot be a folder under a file")
    monkeypatch.setenv("CNNBOOK_CACHE", str(blocker / "cache"))
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path))
    mirror.rename(tmp_path / "mnist")
    np.testing.assert_array_equal(load_mnist(download=False).train_labels, arrays["train_labels"])


def test_a_changed_file_is_refused(tmp_path, monkeypatch, fake_mnist):
    mirror, _ = fake_mnist
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path))
    mirror.rename(tmp_path / "mnist")
    name = mnist_module.MNIST_FILES["test_labels"].name
    write_idx(tmp_path / "mnist" / name, np.array([7, 2, 2], dtype=np.uint8))
    with pytest.raises(CorruptFileError, match=rf"{name}: MD5 is"):
        load_mnist(download=False)


# -- shifts ------------------------------------------------------------------------------------------


def test_expand_with_shifts_moves_each_image_one_pixel_four_ways():
    images = np.zeros((2, 5, 5), dtype=np.float32)
    images[0, 2, 3] = 1.0
    images[1, 0, 4] = 0.5  # a corner pixel: shifted up or right it falls off (no wrap-around)
    expanded = expand_with_shifts(images, np.array([3, 8]))
    assert expanded.images.shape == (10, 5, 5) and expanded.images.dtype == np.float32
    np.testing.assert_array_equal(expanded.labels, [3] * 5 + [8] * 5)
    positions = [tuple(np.argwhere(image)[0]) if image.any() else None for image in expanded.images]
    assert positions == [(2, 3), (3, 3), (1, 3), (2, 4), (2, 2), (0, 4), (1, 4), None, None, (0, 3)]
    with pytest.raises(ValueError, match=r"expected images \(N, H, W\) and labels \(N,\)"):
        expand_with_shifts(images, np.array([1, 2, 3]))


# -- the real files (skipped where they are absent) --------------------------------------------------


REAL_DATA = os.environ.get("CNNBOOK_DATA")  # read at import: the autouse fixture hides it from each test


@pytest.fixture(scope="module")
def real_mnist(tmp_path_factory):
    """The real MNIST files from $CNNBOOK_DATA/mnist, decoded once for this module (never downloaded)."""
    if not REAL_DATA or not all((Path(REAL_DATA) / "mnist" / spec.name).is_file() for spec in MNIST_FILES.values()):
        found = f"not in {Path(REAL_DATA) / 'mnist'}" if REAL_DATA else "CNNBOOK_DATA is not set"
        pytest.skip(
            f"needs the MNIST files ({found}): set CNNBOOK_DATA to a folder whose mnist/ holds "
            + ", ".join(spec.name for spec in MNIST_FILES.values())
        )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNNBOOK_DATA", REAL_DATA)
        patch.setenv("CNNBOOK_CACHE", str(tmp_path_factory.mktemp("cache")))
        mnist_module._load_uint8.cache_clear()
        return load_mnist(download=False)


def test_real_mnist_is_the_canonical_dataset(real_mnist):
    data = real_mnist
    assert [a.shape for a in data] == [(60000, 28, 28), (60000,), (10000, 28, 28), (10000,)]
    assert data.train_images.dtype == np.float32 and 0 <= data.train_images.min() and data.train_images.max() == 1
    np.testing.assert_array_equal(data.train_labels[:5], [5, 0, 4, 1, 9])
    np.testing.assert_array_equal(data.test_labels[:5], [7, 2, 1, 0, 4])
    test_counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    np.testing.assert_array_equal(np.bincount(data.test_labels), test_counts)
    assert data.train_images.mean() == pytest.approx(0.1307, abs=1e-4)  # the usual normalisation constants
    assert data.train_images.std() == pytest.approx(0.3081, abs=1e-4)


def test_nielsen_split_and_expanded_set_on_real_mnist(real_mnist):
    split = nielsen_split(real_mnist)
    assert [len(part.images) for part in split] == [50000, 10000, 10000]
    np.testing.assert_array_equal(split.validation.images, real_mnist.train_images[50000:])
    np.testing.assert_array_equal(split.validation.labels, real_mnist.train_labels[50000:])
    np.testing.assert_array_equal(split.test.labels, real_mnist.test_labels)
    expanded = expanded_training_set(split)
    assert expanded.images.shape == (250000, 28, 28) and expanded.images.dtype == np.float32
    np.testing.assert_array_equal(expanded.images[::5], split.train.images)
    np.testing.assert_array_equal(expanded.labels[::5], split.train.labels)
    np.testing.assert_array_equal(expanded.images[5 * 123 + 1, 1:], split.train.images[123, :-1])  # shifted down
