"""Noisy arithmetic progressions, for 27_multi_token_prediction.

A sequence is ``x_t = (start + step * t) mod vocab`` with ``start`` uniform in ``[0, vocab)`` and
``step`` uniform in ``[1, vocab)``; then every token, independently with probability ``noise``,
is replaced by a token drawn uniformly from the vocabulary (it may draw the same token again).
The clean sequence is returned too, so a model can be scored against the progression itself.
Knowing the step, every future token is determined, so the task rewards looking several tokens
ahead; the noise makes a model read the whole context window instead of the last two tokens.

Every function is deterministic given its generator or seed and returns int64 arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["progressions", "mtp_batch", "fixed_batches", "prompts"]


def progressions(batch: int, length: int, vocab: int, noise: float, rng: np.random.Generator):
    """``batch`` progressions of ``length`` tokens: ``(noisy, clean)``, each (batch, length) int64.

    Draw order: starts (batch,), steps (batch,), the noise coin of every token (batch, length),
    the replacement token of every position (batch, length)."""
    start = rng.integers(0, vocab, batch)
    step = rng.integers(1, vocab, batch)
    clean = (start[:, None] + step[:, None] * np.arange(length)[None, :]) % vocab  # (B, L)
    flip = rng.random((batch, length)) < noise  # (B, L)
    replace = rng.integers(0, vocab, (batch, length))  # (B, L)
    noisy = np.where(flip, replace, clean)
    return noisy.astype(np.int64), clean.astype(np.int64)


def mtp_batch(
    batch: int, context: int, n_heads: int, vocab: int, noise: float, rng: np.random.Generator
):
    """A training batch for an ``n_heads``-token predictor with a window of ``context`` tokens.

    Returns ``(ctx, targets)``: ctx (batch, context) the noisy window, targets (batch, n_heads)
    the next ``n_heads`` noisy tokens (``targets[:, k]`` is the token ``k + 1`` steps ahead)."""
    noisy, _ = progressions(batch, context + n_heads, vocab, noise, rng)
    return noisy[:, :context], noisy[:, context:]


def fixed_batches(
    n: int, batch: int, context: int, n_heads: int, vocab: int, noise: float, seed: int
) -> list:
    """``n`` batches of :func:`mtp_batch` drawn in order from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return [mtp_batch(batch, context, n_heads, vocab, noise, rng) for _ in range(n)]


def prompts(count: int, context: int, vocab: int, noise: float, seed: int) -> np.ndarray:
    """``count`` noisy progressions of ``context`` tokens to start decoding from: (count, context)
    int64, drawn with :func:`progressions` from ``np.random.default_rng(seed)``."""
    noisy, _ = progressions(count, context, vocab, noise, np.random.default_rng(seed))
    return noisy
