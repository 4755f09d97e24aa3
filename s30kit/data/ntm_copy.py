"""The copy task, for 20_neural_turing_machine.

A sequence of ``L`` random ``width``-bit vectors is presented one vector per step, then a
delimiter, then ``L`` blank steps during which the model must write the sequence back. The
input has ``width + 1`` channels: the bits, and a delimiter channel that is 1 only at step ``L``.
The bits are 0 or 1 with probability 1/2 each, so a model that has not copied anything is right
on half of them.

Every function is deterministic given its generator or seed and returns float64 arrays, batch
first: inputs ``x`` (B, 2L + 1, width + 1) and targets ``y`` (B, L, width), the bits the model
must output at steps ``L + 1 .. 2L``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["copy_batch", "training_batch", "fixed_batches"]


def copy_batch(batch: int, length: int, rng: np.random.Generator, width: int = 6):
    """``batch`` copy problems of ``length`` vectors of ``width`` bits drawn with ``rng``:
    (x, y), x (batch, 2 length + 1, width + 1), y (batch, length, width), both float64."""
    bits = rng.integers(0, 2, size=(batch, length, width)).astype(np.float64)
    x = np.zeros((batch, 2 * length + 1, width + 1))
    x[:, :length, :width] = bits
    x[:, length, width] = 1.0
    return x, bits


def training_batch(batch: int, rng: np.random.Generator, lengths=(1, 5), width: int = 6):
    """One training batch: a length drawn uniformly from lengths[0] .. lengths[1] (inclusive)
    with ``rng``, then :func:`copy_batch` of that length (one length per batch)."""
    length = int(rng.integers(lengths[0], lengths[1] + 1))
    return copy_batch(batch, length, rng, width)


def fixed_batches(n: int, batch: int, lengths, seed: int, width: int = 6) -> list:
    """``n`` batches of :func:`training_batch` drawn in order from
    ``np.random.default_rng(seed)``: a fixed data set."""
    rng = np.random.default_rng(seed)
    return [training_batch(batch, rng, lengths, width) for _ in range(n)]
