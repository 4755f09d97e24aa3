"""Synthetic data for 07_alexnet: tiny colour images of six shapes.

Every call takes an explicit seed. Each image holds one shape of a random colour, size and
position on a random dark background, with Gaussian pixel noise. Every shape is symmetric under a
left-right mirror, so a horizontal flip never changes an image's label. Two calls with different
seeds are a training set and a test set from the same distribution.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SHAPES", "shape_images", "shape_mask"]

SHAPES = ("square", "disc", "triangle", "cross", "ring", "frame")


def shape_mask(kind: int, size: int, radius: float, row: float, col: float) -> np.ndarray:
    """A ``size`` x ``size`` 0/1 mask of shape ``kind`` (an index of SHAPES) of half-width
    ``radius`` pixels, centred at (``row``, ``col``) in pixel coordinates.

    Each shape is symmetric about the vertical line through its centre (its mirror image about
    that line is itself): a filled square, a filled disc, a triangle pointing up, a plus-shaped
    cross, a ring (a circle's outline) and a frame (a square's outline).
    """
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    dy, dx = yy - row, xx - col
    r = radius
    if kind == 0:  # filled square
        m = (np.abs(dy) <= r) & (np.abs(dx) <= r)
    elif kind == 1:  # filled disc
        m = dy**2 + dx**2 <= r**2
    elif kind == 2:  # triangle, apex up: its half-width grows from 0 at the top to r at the base
        m = (dy >= -r) & (dy <= r) & (np.abs(dx) <= (dy + r) / 2.0)
    elif kind == 3:  # plus-shaped cross, arms about 2 pixels thick
        m = ((np.abs(dy) <= 0.75) & (np.abs(dx) <= r)) | ((np.abs(dx) <= 0.75) & (np.abs(dy) <= r))
    elif kind == 4:  # ring, about 1.5 pixels thick
        d = np.sqrt(dy**2 + dx**2)
        m = (d <= r) & (d >= r - 1.5)
    elif kind == 5:  # frame: a square's outline, about 1.5 pixels thick
        a = np.maximum(np.abs(dy), np.abs(dx))
        m = (a <= r) & (a >= r - 1.5)
    else:
        raise ValueError(f"kind must be in 0..{len(SHAPES) - 1}, got {kind}")
    return m.astype(np.float64)


def shape_images(n: int = 300, size: int = 16, noise: float = 0.1, seed: int = 0):
    """``n`` colour images of ``size`` x ``size`` pixels, one shape each, classes balanced.

    Image ``i`` shows shape ``i % 6`` (before shuffling) of half-width uniform in [2.5, 5] pixels,
    centred uniformly where it fits inside the image, in a random colour (each channel uniform in
    [0.4, 1]) on a random dark background (each channel uniform in [0, 0.3]), plus Gaussian noise
    of standard deviation ``noise`` on every pixel and channel.

    Returns:
        X: (n, 3, size, size) float64 (channels first, batch-first), y: (n,) int64 in 0..5,
        shuffled.
    """
    rng = np.random.default_rng(seed)
    X = np.empty((n, 3, size, size))
    y = np.arange(n) % len(SHAPES)
    for i in range(n):
        r = rng.uniform(2.5, 5.0)
        row, col = rng.uniform(r, size - 1 - r, size=2)
        m = shape_mask(int(y[i]), size, r, row, col)
        fg = rng.uniform(0.4, 1.0, size=3)
        bg = rng.uniform(0.0, 0.3, size=3)
        X[i] = bg[:, None, None] + (fg - bg)[:, None, None] * m[None]
    X += noise * rng.standard_normal(X.shape)
    order = rng.permutation(n)
    return X[order], y[order].astype(np.int64)
