"""Synthetic data for 05_keeping_nn_simple (Hinton & van Camp, 1993).

A small, high-dimensional classification task: only two of the inputs matter, the rest are
noise, and there are far fewer training cases than weights in the network that has to learn it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BAND_HALF_WIDTH", "diagonal_band"]

# Half-width of the band: the median of |N(0, 1)|, so that the two classes are equally likely.
BAND_HALF_WIDTH = 0.6744897501960817


def diagonal_band(n: int, d: int = 20, seed: int = 0):
    """Points inside versus outside a diagonal band in the plane of inputs 0 and 1.

    Every input is N(0, 1). The label is 1 when the point lies inside the band
    |x_0 + x_1| / sqrt(2) < BAND_HALF_WIDTH and 0 otherwise, so classes are balanced and the
    boundary is two parallel lines: a network needs two hidden units to draw it. Inputs
    2 .. d-1 carry no information about the label. The distribution does not depend on ``seed``,
    so a training set and a test set drawn with different seeds come from the same task.

    Returns X: (n, d) float64 and y: (n,) int64 in {0, 1}.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))  # (n, d)
    y = np.abs(X[:, 0] + X[:, 1]) / np.sqrt(2.0) < BAND_HALF_WIDTH  # (n,)
    return X, y.astype(np.int64)
