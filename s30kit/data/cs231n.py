"""Synthetic data for 26_cs231n: the interleaved-spirals classification set of the CS231n notes.

Every call takes an explicit seed. The arms of the spirals are fixed geometry; the seed only draws
where on each arm a point lies and its noise, so two calls with different seeds are a training set
and a validation set from the same distribution.
"""

from __future__ import annotations

import numpy as np

__all__ = ["spiral"]


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
