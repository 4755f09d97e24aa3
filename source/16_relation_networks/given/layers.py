# Given to you ready-made for this assignment: read it, use it, do not edit it.
# (Generated from the kit's given/layers.py by `make release`.)
"""Building blocks the assignments take as given (each one is built by students in 26_cs231n).

Every layer is a pair ``name_forward(...) -> (out, cache)`` and ``name_backward(dout, cache) ->
dict`` of gradients keyed ``d<input>``. Everything is float64 and batch-first.
"""

from __future__ import annotations

import numpy as np

#: Assignments that grade this module's functions; it is never released with them
#: (26_cs231n grades the affine and ReLU layers and the softmax loss).
ANSWERS_FOR = ("26_cs231n",)

__all__ = [
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "tanh_forward",
    "tanh_backward",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "mse_loss",
    "embedding_forward",
    "embedding_backward",
]


def affine_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray):
    """y = x @ W + b.  x: (..., D), W: (D, M), b: (M,) -> y: (..., M)."""
    return x @ W + b, (x, W)


def affine_backward(dy: np.ndarray, cache) -> dict[str, np.ndarray]:
    """Gradients of affine_forward: {'dx': (..., D), 'dW': (D, M), 'db': (M,)}."""
    x, W = cache
    x2 = x.reshape(-1, x.shape[-1])
    dy2 = dy.reshape(-1, dy.shape[-1])
    return {"dx": dy @ W.T, "dW": x2.T @ dy2, "db": dy2.sum(axis=0)}


def relu_forward(x: np.ndarray):
    """max(0, x), elementwise."""
    return np.maximum(x, 0.0), x


def relu_backward(dy: np.ndarray, cache) -> dict[str, np.ndarray]:
    """Gradient of relu_forward: passes dy where x > 0."""
    return {"dx": dy * (cache > 0)}


def tanh_forward(x: np.ndarray):
    """tanh(x), elementwise."""
    y = np.tanh(x)
    return y, y


def tanh_backward(dy: np.ndarray, cache) -> dict[str, np.ndarray]:
    """Gradient of tanh_forward: dy * (1 - tanh(x)^2)."""
    return {"dx": dy * (1.0 - cache**2)}


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function 1 / (1 + exp(-x))."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``, shifted by the max for stability."""
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def softmax_cross_entropy(
    logits: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer targets under softmax(logits), and its gradient.

    logits: (..., C); y: (...) integer class ids; mask: optional (...) of 0/1 weights, the mean
    is taken over positions where mask is 1.  Returns (loss, dlogits) with dlogits like logits.
    """
    lead = logits.shape[:-1]
    w = np.ones(lead) if mask is None else np.asarray(mask, dtype=np.float64)
    n = max(w.sum(), 1.0)
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(logp, y[..., None].astype(np.int64), axis=-1)[..., 0]
    loss = float(-(picked * w).sum() / n)
    dlogits = np.exp(logp)
    np.put_along_axis(
        dlogits,
        y[..., None].astype(np.int64),
        np.take_along_axis(dlogits, y[..., None].astype(np.int64), axis=-1) - 1.0,
        axis=-1,
    )
    dlogits *= (w / n)[..., None]
    return loss, dlogits


def mse_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements and its gradient with respect to pred."""
    diff = pred - target
    return float(np.mean(diff**2)), 2.0 * diff / diff.size


def embedding_forward(ids: np.ndarray, E: np.ndarray):
    """Look up rows of E.  ids: (...) ints in [0, V); E: (V, D) -> (..., D)."""
    return E[ids], (ids, E.shape)


def embedding_backward(dy: np.ndarray, cache) -> dict[str, np.ndarray]:
    """Gradient of embedding_forward: scatter-add dy into the looked-up rows, {'dE': (V, D)}."""
    ids, shape = cache
    dE = np.zeros(shape)
    np.add.at(dE, ids.ravel(), dy.reshape(-1, shape[1]))
    return {"dE": dE}
