"""Multi-document key-value retrieval, for 30_lost_in_the_middle.

A toy version of the paper's key-value retrieval task. Each example holds ``n_docs``
documents; document ``n`` has a random unit-norm key ``K[n]`` (d,) and a value, a label drawn
without replacement from ``n_values`` labels (so no two documents of an example share a value),
given one-hot as ``V[n]`` (n_values,). One document is the relevant one; the query is its key
plus Gaussian noise, ``q = K[pos] + noise * e / sqrt(d)`` with ``e ~ N(0, I_d)``, and the answer
is its value ``y``. The noise makes the query ambiguous, so a model that also knows where the
relevant document tends to be (the placement distribution) can do better than one that does not.

Every function is deterministic given its generator or seed and returns a dict of arrays:
``q`` (B, d), ``K`` (B, N, d), ``V`` (B, N, n_values) float64, ``y`` (B,) and ``pos`` (B,)
int64 (the relevant document's value and position).
"""

from __future__ import annotations

import numpy as np

__all__ = ["placement_probs", "kv_batch", "position_sweep"]

N_DOCS = 10
D_KEY = 8
N_VALUES = 16
NOISE = 1.1


def placement_probs(kind: str, n_docs: int = N_DOCS, strength: float = 2.0) -> np.ndarray:
    """Where the relevant document is placed: a probability vector (n_docs,).

    ``kind`` is ``"uniform"`` (every position alike), ``"edges"`` (weights
    ``exp(strength * u^2)`` with ``u`` running from -1 at the first position to +1 at the last:
    most mass at both ends), ``"first"`` (weights ``exp(strength * (1 - t)^2)``, ``t`` from 0 to
    1: mass at the start only) or ``"last"`` (``exp(strength * t^2)``: at the end only).
    """
    u = np.linspace(-1.0, 1.0, n_docs)
    t = np.linspace(0.0, 1.0, n_docs)
    weights = {
        "uniform": np.ones(n_docs),
        "edges": np.exp(strength * u**2),
        "first": np.exp(strength * (1.0 - t) ** 2),
        "last": np.exp(strength * t**2),
    }
    if kind not in weights:
        raise ValueError(f"kind must be one of {sorted(weights)}, got {kind!r}")
    w = weights[kind]
    return w / w.sum()


def _examples(pos, rng, n_docs, d, n_values, noise) -> dict:
    """Keys, values, query and answer for the relevant positions ``pos`` (B,), drawn in this
    order: keys, value labels, query noise."""
    B = pos.size
    rows = np.arange(B)
    g = rng.standard_normal((B, n_docs, d))
    K = g / np.linalg.norm(g, axis=-1, keepdims=True)  # (B, N, d) unit keys
    labels = np.argsort(rng.random((B, n_values)), axis=1)[:, :n_docs]  # (B, N) distinct
    q = K[rows, pos] + noise * rng.standard_normal((B, d)) / np.sqrt(d)  # (B, d)
    V = np.eye(n_values)[labels]  # (B, N, n_values)
    return {"q": q, "K": K, "V": V, "y": labels[rows, pos].astype(np.int64), "pos": pos}


def kv_batch(
    batch: int,
    rng: np.random.Generator,
    probs: np.ndarray,
    n_docs: int = N_DOCS,
    d: int = D_KEY,
    n_values: int = N_VALUES,
    noise: float = NOISE,
) -> dict:
    """A batch of ``batch`` examples whose relevant positions are drawn from ``probs`` (n_docs,),
    all from ``rng`` (positions first, then keys, value labels and query noise)."""
    probs = np.asarray(probs, dtype=np.float64)
    pos = rng.choice(n_docs, size=batch, p=probs).astype(np.int64)
    return _examples(pos, rng, n_docs, d, n_values, noise)


def position_sweep(
    n_per_position: int,
    seed: int,
    n_docs: int = N_DOCS,
    d: int = D_KEY,
    n_values: int = N_VALUES,
    noise: float = NOISE,
) -> dict:
    """A test set with exactly ``n_per_position`` examples for every position of the relevant
    document (sorted by position), from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    pos = np.repeat(np.arange(n_docs, dtype=np.int64), n_per_position)
    return _examples(pos, rng, n_docs, d, n_values, noise)
