# Given to you ready-made for this assignment: read it, use it, do not edit it.
# (Generated from the kit's given/recurrent.py by `make release`.)
"""The LSTM cell, given to the assignments after 03_lstm (where students write it themselves).

Layout as in 03_lstm: the step reads ``z = [x, h_prev]`` (input first) and one product
``a = z @ W + b`` of shape (B, 4H) holds the four gates in the column blocks forget ``f``
``[0:H]``, input ``i`` ``[H:2H]``, candidate ``g`` ``[2H:3H]`` and output ``o`` ``[3H:4H]``.
``W`` is (D + H, 4H): rows ``0:D`` act on x, rows ``D:D+H`` on h_prev. float64, batch-first;
every forward returns ``(outputs..., cache)`` and every backward a dict keyed ``d<input>``.
"""

from __future__ import annotations

import numpy as np

from given.layers import sigmoid

#: Assignments that grade this module's functions; it is never released with them
#: (03_lstm grades the LSTM step and its BPTT).
ANSWERS_FOR = ("03_lstm",)

__all__ = ["lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"]


def lstm_step_forward(x, h_prev, c_prev, W, b):
    """One LSTM step.  x: (B, D), h_prev, c_prev: (B, H), W: (D + H, 4H), b: (4H,).

    Returns (h, c, cache) with h, c: (B, H).
    """
    H = h_prev.shape[1]
    z = np.concatenate([x, h_prev], axis=1)  # (B, D + H)
    a = z @ W + b  # (B, 4H)
    gates = sigmoid(a[:, : 2 * H])  # (B, 2H): forget and input
    f, i = gates[:, :H], gates[:, H:]
    g = np.tanh(a[:, 2 * H : 3 * H])  # (B, H) candidate
    o = sigmoid(a[:, 3 * H :])  # (B, H) output gate
    c = f * c_prev + i * g
    tc = np.tanh(c)
    h = o * tc
    return h, c, (z, W, c_prev, f, i, g, o, tc)


def lstm_step_backward(dh, dc, cache):
    """Gradients of lstm_step_forward for upstreams dh, dc: (B, H).

    Returns {'dx': (B, D), 'dh_prev': (B, H), 'dc_prev': (B, H), 'dW': (D + H, 4H), 'db': (4H,)}.
    """
    z, W, c_prev, f, i, g, o, tc = cache
    D = z.shape[1] - f.shape[1]
    dct = dc + dh * o * (1.0 - tc * tc)  # (B, H): from the next step and through h
    da = np.empty((z.shape[0], W.shape[1]))  # (B, 4H)
    H = f.shape[1]
    da[:, :H] = dct * c_prev * f * (1.0 - f)
    da[:, H : 2 * H] = dct * g * i * (1.0 - i)
    da[:, 2 * H : 3 * H] = dct * i * (1.0 - g * g)
    da[:, 3 * H :] = dh * tc * o * (1.0 - o)
    dz = da @ W.T  # (B, D + H)
    return {
        "dx": dz[:, :D],
        "dh_prev": dz[:, D:],
        "dc_prev": dct * f,
        "dW": z.T @ da,
        "db": da.sum(axis=0),
    }


def lstm_forward(x, h0, c0, W, b):
    """lstm_step_forward over a sequence.  x: (B, T, D), h0, c0: (B, H).

    Returns (hs, cache) with hs: (B, T, H), the hidden state after every step.
    """
    B, T, _ = x.shape
    hs = np.empty((B, T, h0.shape[1]))
    caches = []
    h, c = h0, c0
    for t in range(T):
        h, c, step = lstm_step_forward(x[:, t], h, c, W, b)
        hs[:, t] = h
        caches.append(step)
    return hs, (caches, x.shape[2])


def lstm_backward(dhs, cache):
    """Backpropagation through time for lstm_forward.  dhs: (B, T, H), one upstream per step.

    Returns {'dx': (B, T, D), 'dh0': (B, H), 'dc0': (B, H), 'dW': (D + H, 4H), 'db': (4H,)}.
    """
    caches, D = cache
    B, T, H = dhs.shape
    dx = np.empty((B, T, D))
    dW = np.zeros_like(caches[0][1])
    db = np.zeros(dW.shape[1])
    dh, dc = np.zeros((B, H)), np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        g = lstm_step_backward(dhs[:, t] + dh, dc, caches[t])
        dx[:, t] = g["dx"]
        dh, dc = g["dh_prev"], g["dc_prev"]
        dW += g["dW"]
        db += g["db"]
    return {"dx": dx, "dh0": dh, "dc0": dc, "dW": dW, "db": db}
