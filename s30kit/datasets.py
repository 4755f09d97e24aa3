"""Synthetic data generators. Every generator takes an explicit seed and returns float64/int64
arrays, batch-first, so a notebook, a visible check and a hidden test see the same data."""

from __future__ import annotations

import numpy as np

__all__ = ["recall_first", "copy_task", "make_teacher", "teacher_forward", "teacher_batch"]


def recall_first(B: int, T: int, C: int = 4, noise_dims: int = 4, seed: int = 0):
    """The "remember the first symbol" task (03_lstm).

    Step 0 carries a one-hot class in channels [0, C); steps 1..T-1 carry N(0, 1) noise in the
    separate channels [C, C + noise_dims); the last step sets a query flag in the final channel.
    Returns X: (B, T, C + noise_dims + 1) float64 and y: (B,) int64 in [0, C).
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, size=B)
    X = np.zeros((B, T, C + noise_dims + 1))
    X[np.arange(B), 0, y] = 1.0
    X[:, 1:, C : C + noise_dims] = rng.standard_normal((B, T - 1, noise_dims))
    X[:, -1, -1] = 1.0
    return X, y.astype(np.int64)


def copy_task(B: int, L: int = 6, V: int = 8, seed: int = 0):
    """The copy task (13_transformer): the sequence ``x SEP x`` for random x of length L.

    Symbols are 0..V-1 and SEP is V, so the vocabulary has V + 1 tokens. For next-token
    prediction the model reads ``inputs = seq[:, :-1]`` and predicts ``targets = seq[:, 1:]``;
    ``mask`` is 1 only where the target lies in the copied second half.
    Returns inputs (B, 2L) int64, targets (B, 2L) int64, mask (B, 2L) float64.
    """
    rng = np.random.default_rng(seed)
    x = rng.integers(0, V, size=(B, L))
    seq = np.concatenate([x, np.full((B, 1), V), x], axis=1)
    mask = np.zeros((B, 2 * L))
    mask[:, L:] = 1.0
    return seq[:, :-1].astype(np.int64), seq[:, 1:].astype(np.int64), mask


def make_teacher(d_in: int = 8, hidden: int = 256, seed: int = 0) -> dict[str, np.ndarray]:
    """A random two-layer tanh network d_in -> hidden -> 1 (22_scaling_laws).

    Weights are scaled so inputs x ~ N(0, I) give outputs of roughly unit variance.
    """
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.standard_normal((d_in, hidden)) / np.sqrt(d_in),
        "b1": 0.1 * rng.standard_normal(hidden),
        "W2": rng.standard_normal((hidden, 1)) / np.sqrt(hidden) * 1.5,
        "b2": np.zeros(1),
    }


def teacher_forward(teacher: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Teacher output for inputs x: (N, d_in) -> (N, 1)."""
    return np.tanh(x @ teacher["W1"] + teacher["b1"]) @ teacher["W2"] + teacher["b2"]


def teacher_batch(teacher: dict[str, np.ndarray], n: int, rng: np.random.Generator):
    """n fresh samples (x ~ N(0, I), y = teacher(x)): x (n, d_in), y (n, 1)."""
    x = rng.standard_normal((n, teacher["W1"].shape[0]))
    return x, teacher_forward(teacher, x)
