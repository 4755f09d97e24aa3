"""Synthetic data for 15_identity_mappings: interleaved spiral arms that wind 1.5 turns.

Every call takes an explicit seed. The geometry is fixed; the seed only draws where each point
lies on its arm and its angular noise, so two calls with different seeds are a training set and a
test set from the same distribution.
"""

from __future__ import annotations

import numpy as np

__all__ = ["spiral"]


def spiral(
    n_per_class: int = 1000,
    classes: int = 3,
    turns: float = 1.5,
    noise: float = 0.1,
    seed: int = 0,
):
    """``classes`` interleaved spiral arms in the plane, ``n_per_class`` points each.

    A point of class k at radius r, drawn uniformly in (0.05, 1), sits at the angle
    2 pi turns r + 2 pi k / classes (plus Gaussian noise of standard deviation ``noise``
    radians), i.e. at (r sin(angle), r cos(angle)). With 1.5 turns the arms wrap around each
    other, so a classifier needs many bends (a shallow plain network learns it slowly).

    Returns:
        X: (classes * n_per_class, 2) float64 points and y: (classes * n_per_class,) int64
        labels, shuffled.
    """
    rng = np.random.default_rng(seed)
    r = rng.uniform(0.05, 1.0, size=(classes, n_per_class))
    k = np.arange(classes)[:, None]
    angle = 2.0 * np.pi * turns * r + 2.0 * np.pi * k / classes
    angle = angle + noise * rng.standard_normal(r.shape)
    X = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=-1).reshape(-1, 2)
    y = np.repeat(np.arange(classes), n_per_class)
    order = rng.permutation(len(y))
    return X[order].astype(np.float64), y[order].astype(np.int64)
