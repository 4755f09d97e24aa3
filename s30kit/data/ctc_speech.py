"""Synthetic "speech" for 21_deep_speech_ctc: symbols spoken as noisy feature patterns.

Each of ``n_symbols`` symbols (labels 1 .. n_symbols; 0 is CTC's blank) has a fixed prototype
feature vector; silence is the zero vector. An utterance is a random transcript of 1 .. 4
symbols. Each symbol is "spoken" for 2-4 frames (its prototype on every frame), symbols are
separated by 1-2 frames of silence, the utterance starts after 0-2 frames of silence and is
padded with silence to ``T`` frames; Gaussian noise is added to every frame. No frame labels are
returned: only the transcript.

Every function is deterministic given its generator or seed. Features are float64, batch first:
``x`` (B, T, F); transcripts are a list of B int64 arrays of lengths 1 .. 4.
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_prototypes", "speech_batch", "fixed_batches"]

T_FRAMES = 24  # frames per utterance: the longest utterance (2 + 4 x 4 + 3 x 2) fits exactly


def make_prototypes(n_symbols: int = 5, n_features: int = 8, seed: int = 21) -> np.ndarray:
    """The symbols' prototype feature vectors, (n_symbols + 1, n_features): row 0 (the blank's
    row, silence) is zero, rows 1 .. n_symbols are drawn N(0, 1) from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    protos = np.zeros((n_symbols + 1, n_features))
    protos[1:] = rng.standard_normal((n_symbols, n_features))
    return protos


def speech_batch(
    batch: int,
    rng: np.random.Generator,
    protos: np.ndarray,
    noise: float = 0.6,
    max_symbols: int = 4,
    T: int = T_FRAMES,
):
    """``batch`` utterances: (x (batch, T, F) float64, list of ``batch`` int64 transcripts).

    Per utterance, drawn from ``rng`` in this order: the number of symbols U (1 .. max_symbols),
    the symbols (1 .. n_symbols, repeats allowed), the leading silence (0-2 frames), then for
    each symbol its duration (2-4 frames) and, before every symbol but the first, a silence of
    1-2 frames; finally the noise of the whole utterance, ``noise * N(0, 1)`` per feature.
    """
    n_symbols, n_features = protos.shape[0] - 1, protos.shape[1]
    x = np.zeros((batch, T, n_features))
    labels = []
    for b in range(batch):
        U = int(rng.integers(1, max_symbols + 1))
        y = rng.integers(1, n_symbols + 1, size=U).astype(np.int64)
        t = int(rng.integers(0, 3))
        for i, k in enumerate(y):
            if i:
                t += int(rng.integers(1, 3))
            d = int(rng.integers(2, 5))
            if t + d > T:
                raise ValueError(f"T = {T} frames is too short for {U} symbols")
            x[b, t : t + d] = protos[k]
            t += d
        x[b] += noise * rng.standard_normal((T, n_features))
        labels.append(y)
    return x, labels


def fixed_batches(
    n: int,
    batch: int,
    seed: int,
    protos: np.ndarray,
    noise: float = 0.6,
    max_symbols: int = 4,
    T: int = T_FRAMES,
) -> list:
    """``n`` batches of :func:`speech_batch` drawn in order from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return [speech_batch(batch, rng, protos, noise, max_symbols, T) for _ in range(n)]
