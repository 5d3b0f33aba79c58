"""The scripts the HTML book loads, fetched once from the npm registry so the book works offline.

Jupyter Book 1 points MathJax and the ipywidgets HTML manager at CDNs. :func:`fetch` downloads
pinned npm tarballs (checking their sha512 integrity), extracts the files the book needs into
``_build/assets/vendor/``, and ``_config.yml`` serves that folder from the book itself
(``html_extra_path``). A failed or corrupt download leaves nothing behind. Not a ``_static/``
folder: Jupyter Book 1 injects every file there into every page as a script.

    python -m cnnbook.book.offline          # what `python3 tasks.py book` runs first
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "_build" / "assets"  # html_extra_path in _config.yml
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Package:
    """A pinned npm tarball and the part of it the book serves (paths under ``package/``)."""

    name: str
    version: str
    integrity: str  # npm's "dist.integrity": sha512, base64
    keep: tuple[str, ...]  # path prefixes to extract
    skip: tuple[str, ...] = ()
    # Files (by suffix) also copied into the folder above the package: the widget manager's webpack
    # resolves its fonts against the folder of its AMD module's URL, ``vendor/@jupyter-widgets/``.
    beside: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name.split('/')[-1]}-{self.version}.tgz"

    @property
    def folder(self) -> str:
        return self.name  # laid out as on a CDN: the widget manager finds its fonts that way


PACKAGES = (
    Package(
        "mathjax",
        "3.2.2",
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        keep=("es5/tex-mml-chtml.js", "es5/output/chtml/", "es5/input/tex/extensions/", "es5/ui/", "es5/a11y/"),
        skip=("es5/sre/",),
    ),
    Package(
        "@jupyter-widgets/html-manager",
        "1.0.15",
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        keep=("dist/",),
        skip=("dist/embed.js", "dist/libembed-amd.js", ".map"),
        beside=(".woff2", ".woff", ".ttf", ".eot", ".svg"),
    ),
    Package(
        "requirejs",
        "2.3.7",
        "sha512-DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
        keep=("require.js",),
    ),
)


def verify(data: bytes, integrity: str, what: str) -> None:
    """Raise ValueError unless ``data`` has npm's sha512 ``integrity``."""
    algorithm, _, expected = integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if digest != expected:
        raise ValueError(f"{what}: {algorithm} is {digest}, expected {expected}; the download is corrupt")


def _wanted(member: str, package: Package) -> str | None:
    path = member.removeprefix("package/")
    if any(path.startswith(p) for p in package.keep) and not any(s in path for s in package.skip):
        return path
    return None


def install(package: Package, data: bytes, target: Path) -> None:
    """Extract ``package``'s kept files from tarball ``data`` into ``target/<folder>``, all or nothing."""
    verify(data, package.integrity, package.url)
    final = target / package.folder
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as scratch:
        staging = Path(scratch) / package.folder
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive.getmembers():
                path = _wanted(member.name, package)
                if path and member.isfile() and ".." not in Path(path).parts:
                    out = staging / path
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(archive.extractfile(member).read())
        if not staging.exists():
            raise ValueError(f"{package.url} holds none of {package.keep}")
        shutil.rmtree(final, ignore_errors=True)
        final.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(final)
    for file in final.rglob("*"):
        if file.suffix in package.beside:
            shutil.copyfile(file, final.parent / file.name)
    (final / ".version").write_text(repr(package))  # any change to the pin or the layout refetches


def fetch(target: Path = ASSETS / "vendor", opener=urllib.request.urlopen) -> None:
    """Make sure every package is in ``target`` at its pinned version, downloading what is missing."""
    for package in PACKAGES:
        stamp = target / package.folder / ".version"
        if stamp.exists() and stamp.read_text() == repr(package):
            continue
        print(f"fetching {package.name}@{package.version} for the offline book", flush=True)
        try:
            with opener(package.url, timeout=60) as response:
                data = response.read()
        except OSError as error:
            raise SystemExit(
                f"could not download {package.url} ({error}); the book needs it to work offline. "
                "Connect to the npm registry once, or build with the CDN copies by removing the "
                "mathjax_path and nb_ipywidgets_js settings from _config.yml."
            ) from error
        install(package, data, target)


if __name__ == "__main__":
    fetch()
    sys.exit(0)
