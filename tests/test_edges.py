"""Chapter 1's images and filters."""

from pathlib import Path

import numpy as np
import pytest

from cnnbook.conv import conv2d
from cnnbook.edges import (
    EXAMPLE_IMAGE,
    HORIZONTAL_EDGE,
    SOBEL_DIFF,
    SOBEL_SMOOTH,
    SOBEL_VERTICAL,
    VERTICAL_EDGE,
    edge_map,
    sample_photo,
    separable_conv2d,
    step_image,
)


def test_the_worked_example_by_hand():
    # Worked out with pencil: each value is (left column sum) - (right column sum) of a 3x3 window.
    expected = [[-5, -4, 0, 8], [-10, -2, 2, 3], [0, -2, -4, -7], [-3, -2, -3, -16]]
    np.testing.assert_array_equal(conv2d(EXAMPLE_IMAGE, VERTICAL_EDGE), expected)


def test_step_image_gives_a_band_of_thirty():
    band = conv2d(step_image(6), VERTICAL_EDGE)
    np.testing.assert_array_equal(band, np.tile([0, 30, 30, 0], (4, 1)))


def test_step_image_rejects_odd_sizes():
    with pytest.raises(ValueError, match="even integer"):
        step_image(5)


def test_horizontal_filter_finds_horizontal_edges_only():
    np.testing.assert_array_equal(HORIZONTAL_EDGE, [[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
    assert conv2d(step_image(6).T, HORIZONTAL_EDGE).max() == 30
    assert not conv2d(step_image(6), HORIZONTAL_EDGE).any()


def test_sobel_is_separable():
    np.testing.assert_array_equal(SOBEL_VERTICAL, [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    image = np.random.default_rng(0).normal(size=(9, 8))
    np.testing.assert_allclose(separable_conv2d(image, SOBEL_SMOOTH, SOBEL_DIFF), conv2d(image, SOBEL_VERTICAL))


def test_sample_photo_is_a_grey_image_in_the_unit_range():
    photo = sample_photo()
    assert photo.ndim == 2 and min(photo.shape) > 100
    assert 0.0 <= photo.min() < photo.max() <= 1.0


def test_edge_map_threshold():
    binary = edge_map(step_image(6), VERTICAL_EDGE, threshold=0.5)
    np.testing.assert_array_equal(binary, np.tile([0, 1, 1, 0], (4, 1)))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        edge_map(step_image(6), VERTICAL_EDGE, threshold=2)


def test_the_horizontal_filter_is_the_vertical_one_turned_clockwise():
    # np.rot90 turns counter-clockwise by default: that turn gives the negated filter, not the chapter's
    assert HORIZONTAL_EDGE[0].tolist() == [1, 1, 1] and HORIZONTAL_EDGE[-1].tolist() == [-1, -1, -1]
    np.testing.assert_array_equal(np.rot90(VERTICAL_EDGE), -HORIZONTAL_EDGE)
    clockwise = np.array([[VERTICAL_EDGE[2 - j, i] for j in range(3)] for i in range(3)])  # out[i, j] = in[n-1-j, i]
    np.testing.assert_array_equal(clockwise, HORIZONTAL_EDGE)
    text = (Path(__file__).resolve().parents[1] / "notebooks/01-convolution-and-edges.ipynb").read_text()
    assert "Rotating the filter by 90 degrees **clockwise**" in text
