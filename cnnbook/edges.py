"""Chapter 1: edge detection with a 3x3 filter (source: seeds/003, section 5.2).

The example images and filters of the chapter, as data, so the notebook, the tests and the
errata all use the very same arrays.
"""

from __future__ import annotations

import numpy as np

from cnnbook.conv import conv2d

#: The 6x6 grey-scale image of the worked example (Andrew Ng's deep-learning course, the figure
#: the source reproduces as img3).
EXAMPLE_IMAGE = np.array(
    [
        [3, 0, 1, 2, 7, 4],
        [1, 5, 8, 9, 3, 1],
        [2, 7, 2, 5, 1, 3],
        [0, 1, 3, 1, 7, 8],
        [4, 2, 1, 6, 2, 8],
        [2, 4, 5, 2, 3, 9],
    ],
    dtype=float,
)

#: The vertical-edge filter: bright on the left minus bright on the right.
VERTICAL_EDGE = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=float)

#: Rotating the vertical filter by 90 degrees clockwise gives the horizontal one (source: "旋转90度"). np.rot90
#: turns counter-clockwise unless k is negative, and that way gives the negated filter.
HORIZONTAL_EDGE = np.rot90(VERTICAL_EDGE, k=-1)

#: Sobel's vertical filter as the outer product of a smoothing and a differencing vector.
SOBEL_SMOOTH = np.array([1.0, 2.0, 1.0])
SOBEL_DIFF = np.array([1.0, 0.0, -1.0])
SOBEL_VERTICAL = np.outer(SOBEL_SMOOTH, SOBEL_DIFF)
SOBEL_HORIZONTAL = SOBEL_VERTICAL.T

FILTERS = {
    "vertical": VERTICAL_EDGE,
    "horizontal": HORIZONTAL_EDGE,
    "sobel vertical": SOBEL_VERTICAL,
    "sobel horizontal": SOBEL_HORIZONTAL,
}


def step_image(size: int = 6, bright: float = 10.0, dark: float = 0.0) -> np.ndarray:
    """A square image whose left half is ``bright`` and right half ``dark`` (the source's img5)."""
    if size < 4 or size % 2:
        raise ValueError(f"size must be an even integer >= 4, got {size!r}")
    image = np.full((size, size), dark, dtype=float)
    image[:, : size // 2] = bright
    return image


def separable_conv2d(image: np.ndarray, column: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Cross-correlate with the kernel ``np.outer(column, row)`` as two 1-D passes.

    A k x k kernel that is an outer product needs 2k weights and 2k multiplies per pixel
    instead of k*k: 6 instead of 9 for Sobel.
    """
    column, row = np.asarray(column, dtype=float), np.asarray(row, dtype=float)
    if column.ndim != 1 or row.ndim != 1:
        raise ValueError(f"column and row must be 1-D vectors, got shapes {column.shape} and {row.shape}")
    vertical_pass = conv2d(image, column[:, None])
    return conv2d(vertical_pass, row[None, :])


def sample_photo() -> np.ndarray:
    """A real grey-scale photo in [0, 1] (Grace Hopper, shipped with matplotlib; no download)."""
    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        rgb = mpimg.imread(handle, format="jpg").astype(float) / 255.0
    return rgb[..., :3] @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma


def edge_map(image: np.ndarray, kernel: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Absolute filter response, optionally binarised at ``threshold`` (a fraction of its maximum)."""
    response = np.abs(conv2d(image, kernel))
    if threshold is None:
        return response
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold is a fraction of the strongest response, in [0, 1], got {threshold!r}")
    return (response >= threshold * response.max()).astype(float)


def _claims():
    from cnnbook.book.errata import Claim

    edges = lambda: conv2d(EXAMPLE_IMAGE, VERTICAL_EDGE)  # noqa: E731
    band = lambda: conv2d(step_image(6), VERTICAL_EDGE)  # noqa: E731
    return [
        Claim(
            "003",
            "5.2",
            "the 3x3 vertical-edge filter on the 6x6 example: top-left output",
            -5,
            lambda: int(edges()[0, 0]),
        ),
        Claim("003", "5.2", "the 3x3 filter on the 6x6 image gives an output of size", (4, 4), lambda: edges().shape),
        Claim(
            "003", "5.2", "on the bright/dark image, windows across the boundary give", 30, lambda: int(band().max())
        ),
        Claim(
            "003", "5.2", "on the bright/dark image, every other window gives", 0, lambda: int(band()[:, [0, -1]].max())
        ),
        Claim(
            "003",
            "5.4.4",
            "Sobel's kernel is the product of [1,0,-1] and [1,2,1]^T",
            True,
            lambda: bool(np.array_equal(SOBEL_VERTICAL, np.outer(SOBEL_SMOOTH, SOBEL_DIFF))),
        ),
        Claim(
            "003",
            "5.4.4",
            "the separable Sobel kernel needs this many parameters instead of 9",
            6,
            lambda: SOBEL_SMOOTH.size + SOBEL_DIFF.size,
        ),
    ]


CLAIMS = _claims()
