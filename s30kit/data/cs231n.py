"""Synthetic data for 26_cs231n: the CS231n notes' interleaved spirals, and tiny images of bars.

Every call takes an explicit seed. The geometry is fixed; the seed only draws where each point or
bar lies, its brightness and its noise, so two calls with different seeds are a training set and
a validation (or test) set from the same distribution.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BAR_CLASSES", "bar_images", "spiral"]


def spiral(n_per_class: int = 100, classes: int = 3, noise: float = 0.2, seed: int = 0):
    """``classes`` interleaved spiral arms in the plane, ``n_per_class`` points each.

    A point of class k at radius r in (0, 1) sits at angle 4 r + 2 pi k / classes (plus Gaussian
    noise of standard deviation ``noise`` radians), i.e. at (r sin(angle), r cos(angle)).
    No straight line separates the arms, so a linear classifier is stuck well below 100%, while a
    small two-layer network separates them.
    Returns X: (classes * n_per_class, 2) float64 and y: (classes * n_per_class,) int64, shuffled.
    """
    rng = np.random.default_rng(seed)
    r = rng.uniform(0.0, 1.0, size=(classes, n_per_class))
    k = np.arange(classes)[:, None]
    angle = 4.0 * r + 2.0 * np.pi * k / classes + noise * rng.standard_normal(r.shape)
    X = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=-1).reshape(-1, 2)
    y = np.repeat(np.arange(classes), n_per_class)
    order = rng.permutation(len(y))
    return X[order].astype(np.float64), y[order].astype(np.int64)


BAR_CLASSES = ("horizontal bar", "vertical bar", "diagonal bar")


def _bar(kind: int, size: int, length: int, row: int, col: int) -> np.ndarray:
    """A ``size`` x ``size`` image with one bar, 2 pixels thick and ``length`` long, of class
    ``kind`` (an index of BAR_CLASSES) whose centre is moved by (row, col) pixels."""
    img = np.zeros((size, size))
    c = size // 2
    start = c - length // 2
    for t in range(length):
        for d in (0, 1):  # two pixels thick
            if kind == 0:
                r, q = c - 1 + d, start + t
            elif kind == 1:
                r, q = start + t, c - 1 + d
            else:
                r, q = start + t, start + t + d - 1
            r, q = r + row, q + col
            if 0 <= r < size and 0 <= q < size:
                img[r, q] = 1.0
    return img


def bar_images(
    n_per_class: int = 100,
    size: int = 10,
    noise: float = 0.5,
    max_shift: int = 2,
    seed: int = 0,
):
    """Grayscale ``size`` x ``size`` images of one bar each, three classes (BAR_CLASSES).

    Class 0 is a horizontal bar, class 1 a vertical one, class 2 a diagonal one (top left to bottom
    right); each is 2 pixels thick and ``size // 2 + 1`` or ``size // 2 + 2`` pixels long (random),
    moved by a random whole number of pixels in [-max_shift, max_shift] along each axis, with a
    random brightness in [0.6, 1.4] and Gaussian pixel noise of standard deviation ``noise``.
    Returns X: (3 * n_per_class, 1, size, size) float64 (one channel, batch-first) and
    y: (3 * n_per_class,) int64, shuffled.
    """
    rng = np.random.default_rng(seed)
    X = np.empty((3, n_per_class, size, size))
    for k in range(3):
        for i in range(n_per_class):
            length = size // 2 + int(rng.integers(1, 3))
            row, col = rng.integers(-max_shift, max_shift + 1, size=2)
            X[k, i] = rng.uniform(0.6, 1.4) * _bar(k, size, length, int(row), int(col))
    X += noise * rng.standard_normal(X.shape)
    y = np.repeat(np.arange(3), n_per_class)
    order = rng.permutation(len(y))
    return X.reshape(-1, 1, size, size)[order].astype(np.float64), y[order].astype(np.int64)
