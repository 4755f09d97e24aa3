# Given to you ready-made for this assignment: read it, use it, do not edit it.
# (Generated from the kit's given/optim.py by `make release`.)
"""Optimisers and a small training loop shared by notebooks and the grader.

Training tricks (clipping, weight decay) live here, in the optimiser step, never in a backward.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

#: Assignments that grade this module's functions; it is never released with them
#: (26_cs231n grades the SGD, momentum and Adam steps).
ANSWERS_FOR = ("26_cs231n",)

__all__ = ["clip_grad_norm", "Adam", "TrainingDiverged", "train"]


def clip_grad_norm(
    grads: Mapping[str, np.ndarray], max_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    """Scale all gradients together so their global L2 norm is at most ``max_norm``.

    Returns (clipped grads, norm before clipping).
    """
    norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
    scale = 1.0 if norm <= max_norm else max_norm / (norm + 1e-12)
    return {k: g * scale for k, g in grads.items()}, norm


@dataclass
class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction; updates a dict of arrays in place."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    t: int = 0
    m: dict[str, np.ndarray] = field(default_factory=dict)
    v: dict[str, np.ndarray] = field(default_factory=dict)

    def step(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        self.t += 1
        for k, p in params.items():
            g = grads[k]
            if k not in self.m:
                self.m[k] = np.zeros_like(p)
                self.v[k] = np.zeros_like(p)
            self.m[k] = self.beta1 * self.m[k] + (1 - self.beta1) * g
            self.v[k] = self.beta2 * self.v[k] + (1 - self.beta2) * g * g
            m_hat = self.m[k] / (1 - self.beta1**self.t)
            v_hat = self.v[k] / (1 - self.beta2**self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class TrainingDiverged(RuntimeError):
    """The loss or a gradient became NaN or infinite."""


def train(
    loss_fn: Callable[[dict[str, np.ndarray], object], tuple[float, Mapping[str, np.ndarray]]],
    params: dict[str, np.ndarray],
    batches: Callable[[int], object],
    steps: int,
    lr: float = 1e-3,
    clip: float | None = None,
) -> list[float]:
    """Train ``params`` in place with Adam; return the loss at every step.

    ``loss_fn(params, batch) -> (loss, grads)``; ``batches(step)`` returns the batch for a step.
    Raises TrainingDiverged("loss became NaN at step k") instead of training on garbage.
    """
    opt = Adam(lr=lr)
    losses: list[float] = []
    for step in range(steps):
        loss, grads = loss_fn(params, batches(step))
        loss = float(loss)
        if not np.isfinite(loss):
            raise TrainingDiverged(f"loss became {loss} at step {step}")
        for k, g in grads.items():
            if not np.all(np.isfinite(g)):
                raise TrainingDiverged(f"gradient {k} became NaN or inf at step {step}")
        if clip is not None:
            grads, _ = clip_grad_norm(grads, clip)
        opt.step(params, grads)
        losses.append(loss)
    return losses
