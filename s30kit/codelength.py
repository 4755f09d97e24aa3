"""Code lengths in bits: the shared core of the information-theory assignments (01, 05, 19, 23,
24, 25). A model that assigns probability p to what actually happens can encode it in
-log2 p bits (arithmetic coding gets within 2 bits of the total), so "better prediction" and
"shorter code" are the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

__all__ = ["LOG2E", "bits", "entropy_bits", "bernoulli_entropy_bits", "prequential_codelength"]

LOG2E = 1.0 / np.log(2.0)


def bits(p: np.ndarray | float) -> np.ndarray | float:
    """-log2 p, elementwise: the ideal code length of outcomes of probability p."""
    return -np.log2(p)


def entropy_bits(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy H(p) = -sum p log2 p along ``axis`` (0 log 0 counts as 0)."""
    p = np.asarray(p, dtype=np.float64)
    logs = np.log2(np.where(p > 0, p, 1.0))
    return -np.sum(p * logs, axis=axis)


def bernoulli_entropy_bits(q: np.ndarray | float) -> np.ndarray | float:
    """Entropy in bits of a coin with P(1) = q."""
    q = np.asarray(q, dtype=np.float64)
    return entropy_bits(np.stack([q, 1.0 - q], axis=-1))


def prequential_codelength(
    step: Callable[[object, object], tuple[float, object]],
    stream: Iterable,
    state: object,
) -> tuple[float, np.ndarray, object]:
    """Encode a stream online: each symbol costs -log2 p(symbol | everything before it).

    ``step(state, symbol) -> (bits_for_symbol, new_state)`` must compute the cost with the
    model *before* it learns from the symbol, then update (prequential / "predict, then train").
    Returns (total bits, bits per symbol, final state).
    """
    costs = []
    for symbol in stream:
        cost, state = step(state, symbol)
        costs.append(float(cost))
    per_symbol = np.asarray(costs)
    return float(per_symbol.sum()), per_symbol, state
