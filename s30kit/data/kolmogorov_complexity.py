"""Symbol sources of known entropy for 25_kolmogorov_complexity.

Every generator takes an explicit seed and returns an int64 array of symbols in [0, V), so a
notebook, a visible check and a hidden test see the same data. Each source comes with its true
entropy rate (bits per symbol), the line a good compressor should approach:

* ``fair_coin``: i.i.d. uniform bits, 1 bit/symbol: incompressible;
* ``biased_coin``: i.i.d. bits with P(1) = q, H(q) bits/symbol;
* ``markov_source``: a k-th order Markov chain over V symbols, entropy rate from its stationary
  distribution (``markov_entropy_rate``);
* ``lfsr``: the output of a maximal-length linear-feedback shift register: a deterministic
  sequence (entropy rate 0, a program of a few lines plus a seed) that looks like fair coin
  flips to any model that sees fewer than ``degree`` past bits;
* ``periodic``: a fixed pattern repeated (entropy rate 0).
"""

from __future__ import annotations

import numpy as np

from s30kit.codelength import entropy_bits

__all__ = [
    "fair_coin",
    "biased_coin",
    "random_markov_table",
    "markov_source",
    "markov_entropy_rate",
    "LFSR_TAPS",
    "lfsr",
    "periodic",
]

# Feedback taps of maximal-length LFSRs (primitive trinomials/pentanomials over GF(2)):
# s[t] = XOR of s[t - j] for j in taps, period 2**degree - 1.
LFSR_TAPS = {
    4: (4, 3),
    5: (5, 3),
    6: (6, 5),
    7: (7, 6),
    8: (8, 6, 5, 4),
    9: (9, 5),
    10: (10, 7),
    11: (11, 9),
    12: (12, 11, 10, 4),
    16: (16, 15, 13, 4),
}


def fair_coin(n: int, seed: int = 0) -> np.ndarray:
    """n i.i.d. fair bits: (n,) int64 in {0, 1}. Entropy rate 1 bit/symbol."""
    return np.random.default_rng(seed).integers(0, 2, size=n).astype(np.int64)


def biased_coin(n: int, q: float = 0.1, seed: int = 0) -> np.ndarray:
    """n i.i.d. bits with P(1) = q: (n,) int64. Entropy rate H(q) bits/symbol."""
    return (np.random.default_rng(seed).random(n) < q).astype(np.int64)


def random_markov_table(k: int, V: int = 2, concentration: float = 0.3, seed: int = 0):
    """A random transition table P: (V**k, V), row c = P(next | context c).

    Context index c = sum_j s[t-1-j] * V**j (the most recent symbol is the least significant
    digit). Rows are Dirichlet(concentration) draws, so most contexts are fairly predictable.
    """
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(V, concentration), size=V**k)
    P = np.clip(P, 1e-3, None)
    return P / P.sum(axis=1, keepdims=True)


def markov_source(n: int, P: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """n symbols of the k-th order Markov chain with transition table P: (V**k, V).

    The first k symbols are uniform; then s[t] ~ P[context of s[t-k:t]]. Returns (n,) int64.
    """
    V = P.shape[1]
    rng = np.random.default_rng(seed)
    u = rng.random(n)
    cdf = np.cumsum(P, axis=1)
    s = np.zeros(n, dtype=np.int64)
    s[: min(k, n)] = rng.integers(0, V, size=min(k, n))
    C = V**k
    c = 0
    for t in range(min(k, n)):
        c = (c * V + int(s[t])) % C  # most recent symbol = least significant digit
    for t in range(k, n):
        s[t] = min(int(np.searchsorted(cdf[c], u[t], side="right")), V - 1)
        c = (c * V + int(s[t])) % C
    return s


def markov_entropy_rate(P: np.ndarray, k: int) -> float:
    """Entropy rate (bits/symbol) of the k-th order chain with table P: (V**k, V).

    H = sum_c pi(c) H(P[c]), with pi the stationary distribution over contexts.
    """
    V = P.shape[1]
    C = V**k
    # Context transition: c -> c' = (c * V + s) mod V**k in "most recent = least significant"
    # order: the new symbol becomes digit 0 and every older digit moves up one place.
    T = np.zeros((C, C))
    for c in range(C):
        for s in range(V):
            T[c, (c * V + s) % C] += P[c, s]
    pi = np.full(C, 1.0 / C)
    for _ in range(10000):
        new = pi @ T
        if np.abs(new - pi).max() < 1e-15:
            break
        pi = new
    return float(np.dot(pi, entropy_bits(P, axis=1)))


def lfsr(n: int, degree: int = 10, seed: int = 1) -> np.ndarray:
    """n output bits of a maximal-length Fibonacci LFSR: (n,) int64 in {0, 1}.

    s[t] = XOR_{j in LFSR_TAPS[degree]} s[t - j]; the first ``degree`` bits are the seed's
    binary digits (seed in [1, 2**degree - 1]; 0 would give all zeros). Period 2**degree - 1.
    """
    taps = LFSR_TAPS[degree]
    seed = int(seed) % (2**degree - 1) + 1
    s = np.zeros(max(n, degree), dtype=np.int64)
    s[:degree] = [(seed >> i) & 1 for i in range(degree)]
    for t in range(degree, n):
        x = 0
        for j in taps:
            x ^= s[t - j]
        s[t] = x
    return s[:n]


def periodic(n: int, pattern) -> np.ndarray:
    """The pattern repeated to length n: (n,) int64. Entropy rate 0."""
    pattern = np.asarray(pattern, dtype=np.int64)
    return np.resize(pattern, n).astype(np.int64)
