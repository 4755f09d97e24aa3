# Given to you ready-made for this assignment: read it, use it, do not edit it.
# (Generated from the kit's given/gradcheck.py by `make release`.)
"""Numerical gradient checking, shared by the notebooks' visible checks and the autograder.

The protocol (see the kit's SECURITY.md):

* float64 throughout;
* a scalar objective ``L = sum(out * dout)`` with a *random* upstream ``dout ~ N(0, 1)`` (an
  all-ones upstream is blind to softmax and normalisation bugs);
* centred differences with step ``h = 1e-5 * max(1, |x_i|)``;
* pass/fail on the norm-wise relative error ``|a - n| / (|a| + |n|)`` over a whole tensor (both
  zero passes); the worst element is reported only to help you find the bug;
* a wrong tensor whose error has a recognisable shape (a constant factor such as the batch
  size, the opposite sign, a transpose, zeros, an error confined to some slices) gets one more
  sentence saying so (``given.diagnosis``).

Students call :func:`check_layer` and :func:`check_loss`; the grader calls the lower-level
:func:`numerical_gradient` and :func:`compare` with its own (stricter) settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from given.diagnosis import Quantity, diagnose, quantities_of

#: Assignments that grade this module's functions; it is never released with them
#: (26_cs231n grades numerical_gradient, relative_error and grad_check).
ANSWERS_FOR = ("26_cs231n",)

__all__ = [
    "TensorCheck",
    "GradReport",
    "rel_error",
    "numerical_gradient",
    "directional_derivative",
    "compare",
    "sample_coords",
    "diagnose",
    "quantities_of",
    "split_outputs",
    "check_layer",
    "check_loss",
]

DEFAULT_TOL = 1e-7


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Norm-wise relative error ``|a - b| / (|a| + |b|)``; 0.0 when both are zero."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    if denom == 0.0:
        return 0.0
    return float(np.linalg.norm(a - b) / denom)


def step_size(value: float, h_rel: float = 1e-5) -> float:
    """Centred-difference step for one coordinate: ``h_rel * max(1, |value|)``."""
    return h_rel * max(1.0, abs(float(value)))


def sample_coords(
    shape: tuple[int, ...], n: int | None, rng: np.random.Generator
) -> list[tuple[int, ...]]:
    """All coordinates of ``shape`` when ``n`` is None or covers them, else ``n`` distinct ones."""
    size = int(np.prod(shape, dtype=np.int64))
    if n is None or n >= size:
        flat = range(size)
    else:
        flat = rng.choice(size, size=n, replace=False)
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def numerical_gradient(
    objective: Callable[[], float],
    x: np.ndarray,
    coords: Iterable[tuple[int, ...]] | None = None,
    h_rel: float = 1e-5,
) -> np.ndarray:
    """Centred differences of ``objective()`` with respect to ``x``, which is perturbed in place.

    ``objective`` must read ``x`` each time it is called. Coordinates not in ``coords`` are left
    as NaN in the result (use :func:`compare` with the same ``coords``). ``x`` is restored.
    """
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient needs a float64 array, got {x.dtype}")
    grad = np.full(x.shape, np.nan)
    if coords is None:
        coords = np.ndindex(x.shape)
    for idx in coords:
        old = x[idx]
        h = step_size(old, h_rel)
        x[idx] = old + h
        f_plus = objective()
        x[idx] = old - h
        f_minus = objective()
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2.0 * h)
    return grad


def directional_derivative(
    objective: Callable[[], float], x: np.ndarray, v: np.ndarray, h: float = 1e-6
) -> float:
    """``[L(x + h v) - L(x - h v)] / 2h`` for a direction ``v`` (two objective calls)."""
    old = x.copy()
    x += h * v
    f_plus = objective()
    x[...] = old - h * v
    f_minus = objective()
    x[...] = old
    return (f_plus - f_minus) / (2.0 * h)


@dataclass
class TensorCheck:
    """Result of comparing one analytic gradient tensor with a numerical one."""

    name: str
    rel_error: float
    worst_index: tuple[int, ...] | None
    analytic_at_worst: float
    numeric_at_worst: float
    tol: float
    problem: str = ""
    diagnosis: str = ""

    @property
    def passed(self) -> bool:
        return not self.problem and self.rel_error <= self.tol

    def describe(self) -> str:
        if self.problem:
            return f"{self.name}: {self.problem}"
        verdict = "ok" if self.passed else "WRONG"
        where = ""
        if self.worst_index is not None:
            where = (
                f"; worst at index {self.worst_index}: yours {self.analytic_at_worst:.6g}, "
                f"numerical {self.numeric_at_worst:.6g}"
            )
        line = f"{self.name}: relative error {self.rel_error:.2e} ({verdict}){where}"
        if self.diagnosis and not self.passed:
            line += f"\n    -> {self.diagnosis}"
        return line


def compare(
    name: str,
    analytic: object,
    numeric: np.ndarray,
    tol: float = DEFAULT_TOL,
    coords: Iterable[tuple[int, ...]] | None = None,
    quantities: list[Quantity] | None = None,
) -> TensorCheck:
    """Compare an analytic gradient with a numerical one, norm-wise, on ``coords`` (default all).

    When ``numeric`` is a numerical gradient of the same function (never a reference's values)
    and ``quantities`` are given (the call's, :func:`given.diagnosis.quantities_of`; ``[]`` for
    none), a mismatch on all coordinates is diagnosed (:func:`given.diagnosis.diagnose`); on a
    sample of coordinates the caller diagnoses it, with a direction.
    """
    numeric = np.asarray(numeric, dtype=np.float64)
    try:
        a = np.asarray(analytic)
    except Exception:  # an object numpy cannot even look at
        a = np.asarray(None, dtype=object)
    if a.dtype.kind not in "biuf":
        got = type(analytic).__name__ if a.dtype == object else str(a.dtype)
        return TensorCheck(
            name, np.inf, None, np.nan, np.nan, tol, f"is not a numeric array ({got})"
        )
    a = a.astype(np.float64)
    if a.shape != numeric.shape:
        return TensorCheck(
            name,
            np.inf,
            None,
            np.nan,
            np.nan,
            tol,
            f"has shape {a.shape}, expected {numeric.shape}",
        )
    if coords is not None:
        idx = list(coords)
        a_sel = np.array([a[i] for i in idx])
        n_sel = np.array([numeric[i] for i in idx])
    else:
        idx = list(np.ndindex(a.shape))
        a_sel, n_sel = a.ravel(), numeric.ravel()
    if not np.all(np.isfinite(a_sel)):
        bad = idx[int(np.flatnonzero(~np.isfinite(a_sel))[0])]
        return TensorCheck(
            name, np.inf, bad, np.nan, np.nan, tol, f"contains NaN or inf (at {bad})"
        )
    err = rel_error(a_sel, n_sel)
    if len(idx) == 0:
        return TensorCheck(name, err, None, np.nan, np.nan, tol)
    worst = int(np.argmax(np.abs(a_sel - n_sel)))
    check = TensorCheck(name, err, idx[worst], float(a_sel[worst]), float(n_sel[worst]), tol)
    if not check.passed and coords is None and quantities is not None:
        found = diagnose(name, a, numeric, quantities)
        check.diagnosis = found.sentence if found else ""
    return check


@dataclass
class GradReport:
    """Per-tensor results of a gradient check; prints as a small table."""

    checks: list[TensorCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    def __getitem__(self, name: str) -> TensorCheck:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def __str__(self) -> str:
        lines = [c.describe() for c in self.checks]
        lines.append("all gradients match" if self.ok else "some gradients are WRONG (see above)")
        return "\n".join(lines)

    __repr__ = __str__


def split_outputs(result: object) -> tuple[np.ndarray, ...]:
    """Split ``forward(...)``'s result into its array outputs, dropping a trailing cache."""
    if isinstance(result, tuple):
        outs = result[:-1] if len(result) > 1 else result
    else:
        outs = (result,)
    return tuple(np.asarray(o, dtype=np.float64) for o in outs)


def check_layer(
    forward: Callable[..., object],
    backward: Callable[..., Mapping[str, np.ndarray]],
    inputs: Mapping[str, np.ndarray],
    wrt: Iterable[str] | None = None,
    n_outputs: int | None = None,
    seed: int = 0,
    tol: float = DEFAULT_TOL,
    verbose: bool = True,
) -> GradReport:
    """Check ``backward`` against centred differences of ``forward`` with a random upstream.

    ``forward(**inputs)`` returns ``(out_1, ..., out_k, cache)``; ``backward(dout_1, ...,
    dout_k, cache)`` returns a dict with a key ``"d" + name`` for every checked input.
    ``n_outputs`` limits how many leading outputs receive an upstream gradient (for example 1
    when a forward also returns attention weights its backward does not take). ``wrt`` names
    the inputs to check (default: every float64 array input).
    """
    rng = np.random.default_rng(seed)
    inputs = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}
    result = forward(**inputs)
    outs = split_outputs(result)
    if n_outputs is not None:
        outs = outs[:n_outputs]
    douts = [rng.standard_normal(o.shape) for o in outs]
    cache = result[-1] if isinstance(result, tuple) and len(result) > 1 else None
    grads = backward(*douts, cache)
    if wrt is None:
        wrt = [k for k, v in inputs.items() if isinstance(v, np.ndarray) and v.dtype == np.float64]

    def objective() -> float:
        o = split_outputs(forward(**inputs))
        return float(sum(np.sum(a * d) for a, d in zip(o, douts)))

    report = GradReport()
    for name in wrt:
        key = "d" + name
        if key not in grads:
            report.checks.append(
                TensorCheck(
                    key, np.inf, None, np.nan, np.nan, tol, "is missing from the returned dict"
                )
            )
            continue
        num = numerical_gradient(objective, inputs[name])
        report.checks.append(compare(key, grads[key], num, tol, quantities=quantities_of(inputs)))
    if verbose:
        print(report)
    return report


def check_loss(
    loss_fn: Callable[[dict[str, np.ndarray]], tuple[float, Mapping[str, np.ndarray]]],
    params: Mapping[str, np.ndarray],
    n_coords: int | None = 10,
    seed: int = 0,
    tol: float = 1e-6,
    verbose: bool = True,
) -> GradReport:
    """Check a whole model: ``loss_fn(params) -> (loss, grads)`` with ``grads[name]`` per param.

    Samples ``n_coords`` coordinates of every parameter array (all of them if None).
    """
    rng = np.random.default_rng(seed)
    # Directions for the diagnosis of a wrong tensor come from their own stream, so which
    # coordinates are sampled never depends on whether an earlier parameter failed.
    direction_rng = np.random.default_rng([seed, 1])
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    _, grads = loss_fn(params)
    grads = {k: np.array(v, dtype=np.float64) for k, v in grads.items()}

    def objective() -> float:
        return float(loss_fn(params)[0])

    report = GradReport()
    for name, p in params.items():
        if name not in grads:
            report.checks.append(
                TensorCheck(name, np.inf, None, np.nan, np.nan, tol, "has no gradient in grads")
            )
            continue
        coords = sample_coords(p.shape, n_coords, rng)
        num = numerical_gradient(objective, p, coords)
        check = compare(name, grads[name], num, tol, coords)
        if not check.passed and not check.problem:
            v = direction_rng.standard_normal(p.shape)
            dd = directional_derivative(objective, p, v)
            found = diagnose(
                name, grads[name], num, quantities_of({"params": params}), coords, (v, dd)
            )
            check.diagnosis = found.sentence if found else ""
        report.checks.append(check)
    if verbose:
        print(report)
    return report
