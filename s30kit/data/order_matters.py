"""Sets of points and the orders to write them in, for 08_order_matters.

A set is ``n`` points in the plane drawn independently from a standard normal distribution, so
the order in which its elements are stored carries no information. The target order lists the
elements by increasing distance to the set's own mean: a key that depends on the whole set, so a
model must look at every element before it can rank any of them. The contrast task orders them
by their first coordinate, a key each element carries alone.

Layout: points ``x`` (B, n, 2) float64; an order (B, n) int, ``order[b, t]`` the index (into
``x[b]``) of the element written at output step ``t``. Ties are broken by index (stable sort);
with continuous coordinates they occur with probability zero.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "point_sets",
    "distance_order",
    "coordinate_order",
    "present",
    "order_batch",
    "fixed_batches",
]


def point_sets(batch: int, n: int, rng: np.random.Generator, dim: int = 2) -> np.ndarray:
    """``batch`` sets of ``n`` points, each coordinate standard normal: (batch, n, dim)."""
    return rng.standard_normal((batch, n, dim))


def distance_order(x: np.ndarray) -> np.ndarray:
    """(B, n) int: the elements of each set by increasing distance to the set's mean."""
    x = np.asarray(x, dtype=np.float64)
    dist = np.linalg.norm(x - x.mean(axis=1, keepdims=True), axis=2)  # (B, n)
    return np.argsort(dist, axis=1, kind="stable")


def coordinate_order(x: np.ndarray) -> np.ndarray:
    """(B, n) int: the elements of each set by increasing first coordinate (plain sorting)."""
    return np.argsort(np.asarray(x, dtype=np.float64)[:, :, 0], axis=1, kind="stable")


def present(x: np.ndarray, order: np.ndarray, perm: np.ndarray):
    """The same sets stored in another order.

    ``perm`` (B, n) int: element ``perm[b, j]`` of ``x[b]`` is stored at position ``j``. Returns
    ``(x2, order2)``: ``x2[b, j] = x[b, perm[b, j]]`` and ``order2`` names the same elements as
    ``order`` by their new positions.
    """
    perm = np.asarray(perm)
    inv = np.argsort(perm, axis=1)  # (B, n): new position of every old index
    x2 = np.take_along_axis(np.asarray(x), perm[:, :, None], axis=1)
    return x2, np.take_along_axis(inv, np.asarray(order), axis=1)


def order_batch(batch: int, n: int, rng: np.random.Generator, task: str = "distance"):
    """A batch of the task: points (batch, n, 2) from ``rng`` and their target order (batch, n).

    ``task`` is ``"distance"`` (by distance to the set's mean) or ``"coordinate"`` (by the first
    coordinate).
    """
    x = point_sets(batch, n, rng)
    if task == "distance":
        return x, distance_order(x)
    if task == "coordinate":
        return x, coordinate_order(x)
    raise ValueError(f"unknown task {task!r}: 'distance' or 'coordinate'")


def fixed_batches(n_batches: int, batch: int, n: int, seed: int, task: str = "distance") -> list:
    """``n_batches`` batches drawn in order from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return [order_batch(batch, n, rng, task) for _ in range(n_batches)]
