"""Farthest-from-k, a small relational memory task, for 18_relational_rnn.

A sequence of ``n_points`` points drawn uniformly from the square [-1, 1]^2 is read one point per
step. Every input vector also carries the point's label (a one-hot of its position) and the
query (a one-hot of a reference index k, the same at every step). The target is the label of
the point farthest (Euclidean distance) from point k. Santoro et al.'s "N-th farthest" task asks
for the N-th farthest of eight 16-dimensional vectors; this is its smallest case (N = 1, four
2-D points).

Every function is deterministic given its generator or seed. Inputs are float64 and batch-first:
``x`` (B, T, 2 + 2T) with ``x[:, t] = [point_t, onehot(t), onehot(k)]``; targets ``y`` (B,) int64.
"""

from __future__ import annotations

import numpy as np

__all__ = ["farthest_batch", "fixed_batches"]


def farthest_batch(batch: int, rng: np.random.Generator, n_points: int = 4, dim: int = 2):
    """``batch`` sequences and their targets, drawn with ``rng`` (points first, then k).

    Returns (x, y): x (batch, n_points, dim + 2 n_points) float64, y (batch,) int64, the label
    of the point farthest from point k (ties have probability zero).
    """
    pts = rng.uniform(-1.0, 1.0, size=(batch, n_points, dim))
    k = rng.integers(0, n_points, size=batch)
    dist = np.linalg.norm(pts - pts[np.arange(batch), k][:, None, :], axis=2)  # (B, T)
    y = np.argmax(dist, axis=1).astype(np.int64)
    eye = np.eye(n_points)
    labels = np.broadcast_to(eye, (batch, n_points, n_points))
    query = np.broadcast_to(eye[k][:, None, :], (batch, n_points, n_points))
    x = np.concatenate([pts, labels, query], axis=2)
    return x, y


def fixed_batches(n: int, batch: int, seed: int, n_points: int = 4, dim: int = 2) -> list:
    """``n`` batches of :func:`farthest_batch` drawn in order from
    ``np.random.default_rng(seed)``: a fixed data set."""
    rng = np.random.default_rng(seed)
    return [farthest_batch(batch, rng, n_points, dim) for _ in range(n)]
