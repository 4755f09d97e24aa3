"""Synthetic data for 10_resnet: a spiral of several arms, drawn in a plane of a higher space.

A point of arm k at radius r in (0, 1) sits at angle 2 pi (turns r + k / arms) in a plane, i.e.
at r (sin(angle), cos(angle)); the plane is then placed in R^dim by a fixed orthonormal map (the
same for every seed), so the data are `dim`-dimensional but only two directions carry
information. With 1.5 turns neighbouring arms lie close and wind around each other: a network
has to carve many thin regions, which is what makes depth matter.

Every call takes an explicit seed; the geometry is fixed and the seed only draws the radii and
the order of the points.
"""

from __future__ import annotations

import numpy as np

__all__ = ["spiral_lifted"]

_PLANE_SEED = 1015  # the orthonormal map into R^dim is fixed, whatever the data seed


def spiral_lifted(
    n_per_class: int = 200, arms: int = 4, turns: float = 1.5, dim: int = 16, seed: int = 0
):
    """`arms` interleaved spiral arms of `turns` turns each, `n_per_class` points per arm.

    Returns X: (arms * n_per_class, dim) float64 (every row has norm r < 1) and
    y: (arms * n_per_class,) int64 arm ids in [0, arms), in a shuffled order.
    """
    if dim < 2:
        raise ValueError(f"dim must be at least 2, got {dim}")
    rng = np.random.default_rng(seed)
    r = rng.uniform(0.0, 1.0, size=(arms, n_per_class))
    k = np.arange(arms)[:, None]
    angle = 2.0 * np.pi * (turns * r + k / arms)
    flat = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=-1).reshape(-1, 2)  # (N, 2)
    q, _ = np.linalg.qr(np.random.default_rng(_PLANE_SEED).standard_normal((dim, dim)))
    X = flat @ q[:, :2].T  # (N, dim): the plane spanned by two orthonormal columns of q
    y = np.repeat(np.arange(arms), n_per_class)
    order = rng.permutation(len(y))
    return X[order].astype(np.float64), y[order].astype(np.int64)
