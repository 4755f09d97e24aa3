"""The coffee-and-cream automaton of 19_coffee_automaton: the starting cup and the random draws.

The cup is an n x n grid of cells, 1 = cream, 0 = coffee, in a closed box (no wrap-around).
At t = 0 the cream fills the top half. One **sweep** of the automaton is four passes, in the order
``SUBSTEPS`` = (axis, offset): vertical pairs starting at even rows, vertical pairs starting at
odd rows, horizontal pairs starting at even columns, then at odd columns. A pass splits the grid
into disjoint pairs of neighbouring cells and swaps each pair whose coin says so; swapping two
equal cells changes nothing, so only cream next to coffee ever moves (the interacting model of
Aaronson, Carroll & Ouellette). The number of cream cells never changes.

This module only makes data: the initial grid and the fair coins of each sweep, drawn from a
generator the caller passes in (so a notebook, a visible check and a hidden test that pass the
same seeded generator see the same cup). The pass itself is the student's ``coffee_step``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SUBSTEPS", "initial_grid", "swap_masks", "frame_times"]

#: (axis, offset) of the four passes of one sweep, in order.
SUBSTEPS = ((0, 0), (0, 1), (1, 0), (1, 1))


def initial_grid(n: int) -> np.ndarray:
    """The unmixed cup: (n, n) int64, cream (1) in rows 0 .. n//2 - 1, coffee (0) below."""
    if n < 2:
        raise ValueError(f"a cup needs n >= 2 cells per side, got {n}")
    grid = np.zeros((n, n), dtype=np.int64)
    grid[: n // 2] = 1
    return grid


def swap_masks(rng: np.random.Generator, n: int) -> np.ndarray:
    """The coins of one sweep: (4, n, n) int64 fair bits, one (n, n) mask per pass of SUBSTEPS.

    Drawn with ``rng.integers(0, 2, size=(4, n, n))``: pass the same seeded generator to get the
    same run.
    """
    return rng.integers(0, 2, size=(4, n, n)).astype(np.int64)


def frame_times(sweeps: int, n_frames: int) -> np.ndarray:
    """``n_frames + 1`` evenly spaced sweep counts from 0 to ``sweeps`` (int64), rounded down."""
    return (np.arange(n_frames + 1) * sweeps) // n_frames
