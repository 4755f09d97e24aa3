"""Sequence reversal, for 14_bahdanau_attention.

A source sequence of symbols 0 .. vocab - 1 drawn uniformly at random, and its target: the same
symbols in reverse order. The first target symbol is the last source symbol, so a model that
compresses the whole source into one fixed vector must keep every symbol until the end, while a
model that can look back at every source position only has to find the right one.

Every function is deterministic given its generator or seed and returns int64 arrays, batch
first: sources ``x`` (B, L) and targets ``y`` (B, L) with ``y[:, i] = x[:, L - 1 - i]``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["reversal_batch", "training_batch", "fixed_batches"]


def reversal_batch(batch: int, length: int, rng: np.random.Generator, vocab: int = 10):
    """``batch`` sources of ``length`` symbols drawn uniformly from 0 .. vocab - 1 with ``rng``,
    and their reversals: (x, y), both (batch, length) int64."""
    x = rng.integers(0, vocab, size=(batch, length)).astype(np.int64)
    return x, x[:, ::-1].copy()


def training_batch(batch: int, rng: np.random.Generator, lengths=(5, 15), vocab: int = 10):
    """One training batch: a length drawn uniformly from lengths[0] .. lengths[1] (inclusive)
    with ``rng``, then :func:`reversal_batch` of that length (every sequence of a batch has the
    same length)."""
    length = int(rng.integers(lengths[0], lengths[1] + 1))
    return reversal_batch(batch, length, rng, vocab)


def fixed_batches(n: int, batch: int, lengths, seed: int, vocab: int = 10) -> list:
    """``n`` batches of :func:`training_batch` drawn in order from
    ``np.random.default_rng(seed)``: a fixed data set."""
    rng = np.random.default_rng(seed)
    return [training_batch(batch, rng, lengths, vocab) for _ in range(n)]
