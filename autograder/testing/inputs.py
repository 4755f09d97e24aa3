"""Shared input builders for hidden tests (the role of a property-testing library's strategies).

Each builder draws from the ``rng`` it is given, in a fixed order, so a test that seeds its
generator gets the same inputs on every run. Scales keep activations away from saturation, where
centred differences lose precision.
"""

from __future__ import annotations

import numpy as np


def rnn_step_inputs(rng: np.random.Generator, B: int, D: int, H: int) -> dict:
    """Inputs of ``rnn_step_forward(x, h_prev, Wx, Wh, b)``: x (B, D), h_prev (B, H), Wx (D, H),
    Wh (H, H) (spectral scale ~0.8), b (H,)."""
    return dict(
        x=rng.standard_normal((B, D)),
        h_prev=rng.standard_normal((B, H)),
        Wx=rng.standard_normal((D, H)) / np.sqrt(D),
        Wh=0.8 * rng.standard_normal((H, H)) / np.sqrt(H),
        b=0.5 * rng.standard_normal(H),
    )


def rnn_seq_inputs(rng: np.random.Generator, B: int, T: int, D: int, H: int) -> dict:
    """Inputs of ``rnn_forward(x, h0, Wx, Wh, b)``: x (B, T, D), h0 (B, H), weights as in
    :func:`rnn_step_inputs`."""
    return dict(
        x=rng.standard_normal((B, T, D)),
        h0=rng.standard_normal((B, H)),
        Wx=rng.standard_normal((D, H)) / np.sqrt(D),
        Wh=0.8 * rng.standard_normal((H, H)) / np.sqrt(H),
        b=0.5 * rng.standard_normal(H),
    )


def lstm_step_inputs(
    rng: np.random.Generator, B: int, D: int, H: int, w_scale: float = 0.5
) -> dict:
    """Inputs of ``lstm_step_forward(x, h_prev, c_prev, W, b)``: x (B, D), h_prev and c_prev
    (B, H), W (D + H, 4H) scaled by ``w_scale``, b (4H,)."""
    return dict(
        x=rng.standard_normal((B, D)),
        h_prev=rng.standard_normal((B, H)),
        c_prev=rng.standard_normal((B, H)),
        W=w_scale * rng.standard_normal((D + H, 4 * H)),
        b=rng.standard_normal(4 * H),
    )


def lstm_seq_inputs(
    rng: np.random.Generator, B: int, T: int, D: int, H: int, w_scale: float = 0.5
) -> dict:
    """Inputs of ``lstm_forward(x, h0, c0, W, b)``: x (B, T, D), h0 and c0 (B, H), W and b as in
    :func:`lstm_step_inputs`."""
    return dict(
        x=rng.standard_normal((B, T, D)),
        h0=rng.standard_normal((B, H)),
        c0=rng.standard_normal((B, H)),
        W=w_scale * rng.standard_normal((D + H, 4 * H)),
        b=rng.standard_normal(4 * H),
    )


def keep_mask(rng: np.random.Generator, shape: tuple[int, ...], p: float) -> np.ndarray:
    """A float 0/1 dropout keep-mask: each entry is 1 with probability 1 - p."""
    return (rng.random(shape) >= p).astype(np.float64)


def perturbed(params: dict, rng: np.random.Generator, noise: float = 0.3) -> dict:
    """``params`` with Gaussian noise of scale ``noise`` added to every array (in key order), so
    zero-initialised biases and symmetric starts do not hide a wrong gradient."""
    return {k: v + noise * rng.standard_normal(np.shape(v)) for k, v in params.items()}


def onehot(ids: np.ndarray, n: int) -> np.ndarray:
    """One-hot rows: ``ids`` (...,) of integers below ``n`` -> (..., n) float64."""
    return np.eye(n)[np.asarray(ids)]
