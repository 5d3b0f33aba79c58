"""Small matplotlib helpers shared by the chapters' figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def show_matrix(ax: plt.Axes, matrix: np.ndarray, title: str = "", cmap: str = "gray", numbers: bool = True) -> None:
    """Draw a small matrix as an image with each value written in its cell."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"show_matrix draws a 2-D matrix, got shape {matrix.shape}")
    ax.imshow(matrix, cmap=cmap)
    if numbers:
        middle = (matrix.max() + matrix.min()) / 2
        for (i, j), value in np.ndenumerate(matrix):
            colour = "black" if (value > middle) == (cmap == "gray") else "white"
            ax.text(j, i, f"{value:g}", ha="center", va="center", color=colour, fontsize=9)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])


def show_images(images: dict[str, np.ndarray], cmap: str = "gray", size: float = 3.2) -> plt.Figure:
    """Several images side by side, each titled by its key."""
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size), squeeze=False)
    for ax, (title, image) in zip(axes[0], images.items()):
        ax.imshow(image, cmap=cmap)
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    return fig
