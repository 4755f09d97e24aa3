"""White-noise sequences and their window-sign labels, for 11_dilated_convolutions.

The task needs long context and nothing else: the input is white noise, and the label at each
position is whether the sum of the ``window`` samples centred there is positive. Samples outside
the sequence count as zeros (the same zero padding as a 'same' convolution), so near the ends
the window is shorter. A network can be right everywhere only if every output sees all the
``window`` samples of its window.

Every function is deterministic given its generator or seed and returns float64 arrays in the
assignment's layout: inputs ``x`` (B, 1, N) (batch, channels, length), labels ``y`` (B, N).
"""

from __future__ import annotations

import numpy as np

__all__ = ["window_labels", "noise_batch", "fixed_batches"]


def window_labels(x: np.ndarray, window: int) -> np.ndarray:
    """Labels of the sequences ``x`` (B, 1, N): (B, N) float64, 1.0 where the sum of the
    ``window`` samples centred at that position (samples outside the sequence count as 0) is
    positive, else 0.0. ``window`` is odd."""
    if window % 2 != 1:
        raise ValueError(f"the window is centred, so its width must be odd, got {window}")
    half = window // 2
    seq = np.asarray(x, dtype=np.float64)[:, 0, :]  # (B, N)
    padded = np.pad(seq, ((0, 0), (half + 1, half)))  # (B, N + window)
    csum = np.cumsum(padded, axis=1)  # (B, N + window)
    sums = csum[:, window:] - csum[:, :-window]  # (B, N) window sums
    return (sums > 0.0).astype(np.float64)


def noise_batch(batch: int, length: int, window: int, rng: np.random.Generator):
    """A batch of the task: x (batch, 1, length) standard normal noise drawn from ``rng`` and its
    labels y (batch, length) from :func:`window_labels`."""
    x = rng.standard_normal((batch, 1, length))
    return x, window_labels(x, window)


def fixed_batches(n: int, batch: int, length: int, window: int, seed: int) -> list:
    """``n`` batches drawn in order from ``np.random.default_rng(seed)``: a fixed data set."""
    rng = np.random.default_rng(seed)
    return [noise_batch(batch, length, window, rng) for _ in range(n)]
