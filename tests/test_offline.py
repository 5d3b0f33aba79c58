"""The offline copies of the book's scripts: pinned, checked, all or nothing, laid out where the pages look."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile

import pytest

from cnnbook.book.offline import Package, fetch, install


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _package(data: bytes, **kwargs) -> Package:
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    return Package("@scope/widgets", "1.0.0", integrity, keep=("dist/",), **kwargs)


def test_fonts_are_also_beside_the_package_where_the_widget_manager_asks_for_them(tmp_path):
    data = _tarball({"dist/embed.js": b"js", "dist/abc.woff2": b"font", "README.md": b"no"})
    install(_package(data, beside=(".woff2",)), data, tmp_path)
    assert (tmp_path / "@scope/widgets/dist/embed.js").read_bytes() == b"js"
    assert (tmp_path / "@scope/abc.woff2").read_bytes() == b"font"  # vendor/@jupyter-widgets/<hash>.woff2
    assert not (tmp_path / "@scope/embed.js").exists()
    assert not (tmp_path / "@scope/widgets/README.md").exists()


def test_a_corrupt_download_leaves_nothing_behind(tmp_path):
    data = _tarball({"dist/embed.js": b"js"})
    package = _package(data)
    with pytest.raises(ValueError, match="corrupt"):
        install(package, data[:-1] + b"x", tmp_path)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_fetch_downloads_only_what_is_missing_or_pinned_differently(tmp_path, monkeypatch):
    data = _tarball({"dist/embed.js": b"js"})
    package = _package(data)
    monkeypatch.setattr("cnnbook.book.offline.PACKAGES", (package,))
    calls = []

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def opener(url, timeout):
        calls.append(url)
        return Response(data)

    fetch(tmp_path, opener)
    fetch(tmp_path, opener)
    assert calls == [package.url]
    monkeypatch.setattr("cnnbook.book.offline.PACKAGES", (_package(data, beside=(".woff2",)),))
    fetch(tmp_path, opener)  # the layout changed: fetched again
    assert len(calls) == 2


def test_a_failed_download_says_how_to_build_without_it(tmp_path, monkeypatch):
    monkeypatch.setattr("cnnbook.book.offline.PACKAGES", (_package(b"x"),))

    def opener(url, timeout):
        raise OSError("network is unreachable")

    with pytest.raises(SystemExit, match="could not download"):
        fetch(tmp_path, opener)
    assert not any(tmp_path.rglob("*"))
