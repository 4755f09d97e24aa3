"""Sorting problems for 06_pointer_networks: uniform values and the order that sorts them.

A problem is a row of ``n`` values drawn uniformly from [0, 1); its answer is the list of
positions that reads the values in increasing order. Ties (equal values, which uniform draws
practically never produce) are broken by position, lowest first, as ``np.argsort(...,
kind="stable")`` does.

Every function is deterministic given its generator or seed and returns the assignment's
layout: values ``x`` (B, n) float64, target positions ``targets`` (B, n) int64.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sort_targets", "sorting_batch", "fixed_batches"]


def sort_targets(x: np.ndarray) -> np.ndarray:
    """The positions that sort each row of ``x`` (B, n) increasingly: (B, n) int64, ties broken
    by position (lowest first)."""
    return np.argsort(np.asarray(x, dtype=np.float64), axis=1, kind="stable").astype(np.int64)


def sorting_batch(batch: int, n: int, rng: np.random.Generator):
    """A batch of sorting problems: x (batch, n) uniform on [0, 1) drawn from ``rng``, and its
    targets (batch, n) from :func:`sort_targets`."""
    x = rng.random((batch, n))
    return x, sort_targets(x)


def fixed_batches(count: int, batch: int, n: int, seed: int) -> list:
    """``count`` batches drawn in order from ``np.random.default_rng(seed)``: a fixed data set."""
    rng = np.random.default_rng(seed)
    return [sorting_batch(batch, n, rng) for _ in range(count)]
