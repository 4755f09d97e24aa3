# Given to you ready-made for this assignment: read it, use it, do not edit it.
# (Generated from the kit's given/norms.py by `make release`.)
"""Layer normalisation without gain or bias, given to the assignments after 10_resnet and
13_transformer (where students derive layer normalisation themselves, with gain and bias).

``layernorm_forward(x)`` normalises the last axis of ``x`` (any leading shape) to mean 0 and
variance 1; ``layernorm_backward(dy, cache)`` returns ``{"dx": ...}``. float64, like every block.
"""

from __future__ import annotations

import numpy as np

#: Assignments that grade this module's functions; it is never released with them
#: (10_resnet and 13_transformer grade layer normalisation's forward and backward).
ANSWERS_FOR = ("10_resnet", "13_transformer")

__all__ = ["layernorm_forward", "layernorm_backward"]


def layernorm_forward(x, eps: float = 1e-5):
    """Normalise the last axis.  x: (..., d) -> y: (..., d), cache.

    y = (x - mean(x)) / sqrt(var(x) + eps), mean and variance over the last axis.
    """
    centred = x - x.mean(axis=-1, keepdims=True)
    inv_std = 1.0 / np.sqrt(np.mean(centred * centred, axis=-1, keepdims=True) + eps)
    y = centred * inv_std
    return y, (y, inv_std)


def layernorm_backward(dy, cache) -> dict:
    """Gradient of :func:`layernorm_forward`.  dy: (..., d) -> {"dx": (..., d)}."""
    y, inv_std = cache
    d = y.shape[-1]
    # Jacobian of y with respect to x, applied to dy without forming it: the projection that
    # removes the mean and the component along y, scaled by 1/std.
    proj_mean = dy.sum(axis=-1, keepdims=True) / d
    proj_y = (dy * y).sum(axis=-1, keepdims=True) / d
    return {"dx": inv_std * (dy - proj_mean - y * proj_y)}
