"""A synthetic language with long-range structure, for 04_rnn_regularization.

Every sequence starts with a *topic* token; the words after it follow a first-order Markov chain
whose transition matrix belongs to that topic. Predicting a word well needs the previous word
(short range) and the topic, which was shown only at position 0 (long range). The transition
rows are drawn from a sparse Dirichlet, so each topic has its own, fairly predictable, habits.
The source is known exactly, so the best achievable loss on any text can be computed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_topic_language", "sample_topic_text", "source_loss"]


def make_topic_language(V: int = 16, K: int = 4, alpha: float = 0.1, seed: int = 0) -> dict:
    """A random language: K topics over V words; the vocabulary has V + K tokens.

    Word tokens are 0..V-1 and topic k is token V + k. Returns a dict with
      start: (K, V)     distribution of the first word after topic k
      P:     (K, V, V)  P[k, u, v] = probability that word v follows word u in topic k
    Rows are Dirichlet(alpha) draws: a small alpha makes each row concentrate on few words.
    """
    rng = np.random.default_rng(seed)
    start = rng.dirichlet(np.full(V, alpha), size=K)
    P = rng.dirichlet(np.full(V, alpha), size=(K, V))
    return {"start": start, "P": P, "V": V, "K": K}


def sample_topic_text(lang: dict, n: int, T: int, seed: int = 0) -> np.ndarray:
    """n sequences of T tokens (a topic token, then T - 1 words): (n, T) int64."""
    rng = np.random.default_rng(seed)
    V, K = lang["V"], lang["K"]
    topics = rng.integers(0, K, size=n)
    seqs = np.empty((n, T), dtype=np.int64)
    seqs[:, 0] = V + topics
    u = rng.random((n, T))
    if T > 1:
        seqs[:, 1] = _draw(lang["start"][topics], u[:, 1])
    for t in range(2, T):
        seqs[:, t] = _draw(lang["P"][topics, seqs[:, t - 1]], u[:, t])
    return seqs


def _draw(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One categorical draw per row of probs (n, V), from uniforms u (n,)."""
    cdf = np.cumsum(probs, axis=1)
    return np.minimum((cdf < u[:, None] * cdf[:, -1:]).sum(axis=1), probs.shape[1] - 1)


def source_loss(lang: dict, seqs: np.ndarray) -> float:
    """Mean negative log-likelihood (nats per word) of seqs[:, 1:] under the true source.

    This is the loss of a perfect model on that text: no network can do better on average.
    """
    V = lang["V"]
    topics = seqs[:, 0] - V
    nll = -np.log(lang["start"][topics, seqs[:, 1]])
    for t in range(2, seqs.shape[1]):
        nll = nll - np.log(lang["P"][topics, seqs[:, t - 1], seqs[:, t]])
    return float(np.sum(nll) / (seqs.shape[0] * (seqs.shape[1] - 1)))
