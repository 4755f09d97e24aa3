"""Noisy samples of a polynomial of known degree, for 23_mdl_principle (model selection by MDL).

The polynomial is written in the Legendre basis P_0, ..., P_d on [-1, 1], whose members are
orthogonal there, so every degree up to the true one carries a clearly visible amount of signal.
Its coefficients depend only on the degree (a fixed generator), and each data seed redraws the
inputs and the noise, so different seeds are different samples from the same source.
"""

from __future__ import annotations

import numpy as np

__all__ = ["true_coefficients", "poly_data"]


def true_coefficients(true_degree: int = 3) -> np.ndarray:
    """The source polynomial's Legendre coefficients, shape (true_degree + 1,).

    Each has a random sign and a magnitude in [0.5, 1.5], drawn from a generator seeded by the
    degree alone (so the same degree always gives the same polynomial).
    """
    rng = np.random.default_rng(1000 + int(true_degree))
    signs = rng.choice([-1.0, 1.0], size=true_degree + 1)
    return signs * rng.uniform(0.5, 1.5, size=true_degree + 1)


def poly_data(n: int = 200, true_degree: int = 3, noise: float = 0.3, seed: int = 0):
    """n points (x_i, y_i): x_i ~ U[-1, 1], y_i = f(x_i) + noise * N(0, 1).

    f is the Legendre series with ``true_coefficients(true_degree)``. The points come in the
    order they were drawn (random in x), which is the order a prequential code reads them.
    Returns x: (n,) float64 and y: (n,) float64.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=n)
    f = np.polynomial.legendre.legval(x, true_coefficients(true_degree))
    y = f + noise * rng.standard_normal(n)
    return x, y
