"""The API hidden tests are written against (see docs/AUTHORING.md).

Hidden tests run in the trusted process. They reach the student's code only through the
``student`` fixture (a :class:`~autograder.client.StudentProxy`); ``ref`` is the reference
module. Checks raise :class:`Fail` with a message for the student: what is wrong, where, by how
much, never the reference's values or the test's code.

The numerics are s30kit's (one implementation for notebooks and grader); the grader only uses
stricter settings: a random upstream per check, the trusted reference forward for numerical
differences, and a second comparison against the reference's analytic gradient.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from dataclasses import dataclass

import numpy as np
import pytest

from autograder.client import Handle, StudentProxy, StudentTimeout
from s30kit.gradcheck import (
    GradReport,
    TensorCheck,
    compare,
    directional_derivative,
    numerical_gradient,
    rel_error,
    sample_coords,
    split_outputs,
)
from s30kit.optim import TrainingDiverged, train

__all__ = [
    "graded",
    "Fail",
    "Handle",
    "GradResult",
    "expect_array",
    "expect_close",
    "expect_keys",
    "expect_loss_pair",
    "layer_gradcheck",
    "expect_gradient",
    "loss_gradcheck",
    "train_with_student",
    "expect_backward_fast",
    "expect_call_fast",
    "expect_training_like_reference",
]

KINDS = ("forward", "gradcheck", "training", "property", "integrity")


def graded(cell: str, kind: str, points: float):
    """Mark a hidden test: the notebook grade cell it scores, its kind, points per case."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    return pytest.mark.grade(cell=cell, kind=kind, points=float(points))


class Fail(AssertionError):
    """A failed check; ``str(exc)`` is shown to the student."""


def _type_name(value) -> str:
    if isinstance(value, Handle):
        return value.type_name
    return type(value).__name__


def expect_array(value, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``value`` as a float64 array of ``shape`` with finite entries, or Fail saying why not."""
    if isinstance(value, (bool, int, float)) and not isinstance(value, bool) and shape == ():
        value = np.asarray(value, dtype=np.float64)
    if not isinstance(value, np.ndarray):
        raise Fail(
            f"{what} should be a NumPy array of shape {tuple(shape)}, got a {_type_name(value)}"
        )
    if value.dtype.kind not in "iuf":
        raise Fail(f"{what} should hold floating-point numbers, got dtype {value.dtype}")
    if value.shape != tuple(shape):
        raise Fail(f"{what} has shape {value.shape}, expected {tuple(shape)}")
    arr = value.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise Fail(f"{what} contains NaN or inf (first at index {idx})")
    return arr


def expect_close(what: str, got, expected: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """Fail unless ``got`` matches ``expected`` with norm-wise relative error <= ``tol``."""
    expected = np.asarray(expected, dtype=np.float64)
    arr = expect_array(got, expected.shape, what)
    err = rel_error(arr, expected)
    if err > tol:
        where = ""
        if arr.ndim:
            idx = np.unravel_index(int(np.argmax(np.abs(arr - expected))), arr.shape)
            where = f"; the largest difference is at index {tuple(int(i) for i in idx)}"
        raise Fail(
            f"{what} does not match the expected values: relative error {err:.2e} "
            f"(tolerance {tol:.0e}){where}"
        )
    return arr


def expect_keys(value, keys, what: str) -> dict:
    """``value`` as a dict holding every key in ``keys``, or Fail naming what is missing."""
    if not isinstance(value, dict):
        raise Fail(f"{what} should be a dict with keys {sorted(keys)}, got a {_type_name(value)}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise Fail(f"{what} is missing the key(s) {missing} (it has {sorted(value)[:10]})")
    return value


def _expect_forward_tuple(value, fn: str) -> tuple:
    if not isinstance(value, tuple) or len(value) < 2:
        raise Fail(f"{fn} should return a tuple (outputs..., cache), got a {_type_name(value)}")
    return value


@dataclass
class GradResult:
    """One gradient tensor compared with numerical differences and with the reference."""

    vs_numeric: TensorCheck
    vs_reference: TensorCheck

    def passed_at(self, tol: float, ref_tol: float) -> bool:
        n, r = self.vs_numeric, self.vs_reference
        return not n.problem and n.rel_error <= tol and r.rel_error <= ref_tol

    @property
    def passed(self) -> bool:
        return self.passed_at(1e-7, 1e-8)


def _memoised(memo: dict | None, key: tuple, compute):
    if memo is None:
        return compute()
    if key not in memo:
        try:
            memo[key] = compute()
        except Exception as exc:  # the same failure is reported by every dependent case
            memo[key] = exc
    value = memo[key]
    if isinstance(value, Exception):
        raise value
    return value


def _digest(inputs: dict) -> str:
    """A fingerprint of the inputs, so a memo never mixes up checks on different data."""
    h = hashlib.sha1()
    for name in sorted(inputs):
        value = inputs[name]
        h.update(name.encode())
        if isinstance(value, np.ndarray):
            h.update(str((value.dtype, value.shape)).encode())
            h.update(np.ascontiguousarray(value).tobytes())
        else:
            h.update(repr(value).encode())
    return h.hexdigest()


def _copy_inputs(inputs: dict) -> dict:
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}


def layer_gradcheck(
    student: StudentProxy,
    ref,
    forward: str,
    backward: str,
    inputs: dict,
    wrt=None,
    n_outputs: int | None = None,
    seed: int = 0,
    memo: dict | None = None,
) -> dict[str, GradResult]:
    """Check the student's ``backward`` for every input in ``wrt``; see docs/AUTHORING.md."""
    key = ("layer_gradcheck", forward, backward, seed, tuple(wrt or ()), n_outputs, _digest(inputs))
    return _memoised(
        memo,
        key,
        lambda: _layer_gradcheck(
            student, ref, forward, backward, _copy_inputs(inputs), wrt, n_outputs, seed
        ),
    )


def _layer_gradcheck(student, ref, forward, backward, inputs, wrt, n_outputs, seed):
    rng = np.random.default_rng(seed)
    ref_fwd, ref_bwd = getattr(ref, forward), getattr(ref, backward)
    ref_result = ref_fwd(**inputs)
    outs = split_outputs(ref_result)[: n_outputs or None]
    douts = [rng.standard_normal(o.shape) for o in outs]
    ref_grads = ref_bwd(*douts, ref_result[-1])
    st_result = _expect_forward_tuple(student.call(forward, keep=(-1,), **inputs), forward)
    st_grads = student.call(backward, *douts, st_result[-1])
    if not isinstance(st_grads, dict):
        raise Fail(f"{backward} should return a dict of gradients, got a {_type_name(st_grads)}")
    if wrt is None:
        wrt = [k for k, v in inputs.items() if isinstance(v, np.ndarray) and v.dtype == np.float64]

    def objective() -> float:
        o = split_outputs(ref_fwd(**inputs))[: len(douts)]
        return float(sum(np.sum(a * d) for a, d in zip(o, douts)))

    results = {}
    for name in wrt:
        gname = "d" + name
        num = numerical_gradient(objective, inputs[name])
        if gname not in st_grads:
            missing = TensorCheck(
                gname,
                np.inf,
                None,
                np.nan,
                np.nan,
                0.0,
                f"is missing from the dict returned by {backward}",
            )
            results[gname] = GradResult(missing, missing)
            continue
        results[gname] = GradResult(
            compare(gname, st_grads[gname], num), compare(gname, st_grads[gname], ref_grads[gname])
        )
    return results


def expect_gradient(
    results: dict[str, GradResult], key: str, tol: float = 1e-7, ref_tol: float = 1e-8
) -> None:
    """Fail unless gradient ``key`` passed both comparisons at these tolerances."""
    r = results[key]
    n = r.vs_numeric
    if n.problem:
        raise Fail(f"{key} {n.problem}")
    if not r.passed_at(tol, ref_tol):
        raise Fail(
            f"{key} is wrong: relative error {n.rel_error:.2e} against numerical "
            f"differentiation (tolerance {tol:.0e}) and {r.vs_reference.rel_error:.2e} against "
            f"the analytic gradient (tolerance {ref_tol:.0e}); the largest error is at index "
            f"{n.worst_index}"
        )


def expect_loss_pair(value, fn: str, params: dict) -> tuple[float, dict]:
    """``value`` as ``(loss, grads)`` with a finite scalar loss and a grad per param, or Fail."""
    if not isinstance(value, tuple) or len(value) != 2:
        raise Fail(f"{fn} should return a pair (loss, grads), got a {_type_name(value)}")
    loss, grads = value
    loss = float(expect_array(loss, (), f"the loss returned by {fn}"))
    grads = expect_keys(grads, list(params), f"the grads dict returned by {fn}")
    for k, p in params.items():
        expect_array_shape_only(grads[k], p.shape, f"grads[{k!r}] from {fn}")
    return loss, grads


def expect_array_shape_only(value, shape, what: str) -> None:
    """Like expect_array but lets NaN through (training reports divergence with its step)."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iuf":
        raise Fail(
            f"{what} should be a float array of shape {tuple(shape)}, got a {_type_name(value)}"
        )
    if value.shape != tuple(shape):
        raise Fail(f"{what} has shape {value.shape}, expected {tuple(shape)}")


def loss_gradcheck(
    student: StudentProxy,
    ref,
    loss_fn: str,
    params: dict,
    batch,
    n_coords: int = 8,
    seed: int = 0,
    tol: float = 1e-6,
) -> GradReport:
    """Whole-model check of the student's ``loss_fn(params, batch) -> (loss, grads)``."""
    rng = np.random.default_rng(seed)
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    loss, grads = expect_loss_pair(student.call(loss_fn, params, batch), loss_fn, params)
    ref_fn = getattr(ref, loss_fn)
    ref_loss = float(ref_fn(params, batch)[0])

    def objective() -> float:
        return float(ref_fn(params, batch)[0])

    report = GradReport()
    report.checks.append(compare("loss", np.array(loss), np.array(ref_loss), tol=1e-8))
    for name, p in params.items():
        coords = sample_coords(p.shape, n_coords, rng)
        num = numerical_gradient(objective, p, coords)
        check = compare(name, grads[name], num, tol, coords)
        if not check.problem:
            v = rng.standard_normal(p.shape)
            g = np.asarray(grads[name], dtype=np.float64)
            dd = directional_derivative(objective, p, v)
            check.rel_error = max(check.rel_error, rel_error(np.sum(g * v), dd))
        report.checks.append(check)
    return report


def train_with_student(
    student: StudentProxy,
    loss_fn: str,
    params: dict,
    batches,
    steps: int,
    lr: float,
    clip: float | None = None,
    timeout: float = 10.0,
    max_seconds: float = 20.0,
) -> list[float]:
    """Train with Adam on the trusted side, asking the student's ``loss_fn`` for each step.

    The whole run must finish within ``max_seconds`` (a backward computed by finite differences
    would otherwise hold grading up for minutes, one slow step at a time).
    """
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    start = time.monotonic()

    def step_fn(p, batch):
        if time.monotonic() - start > max_seconds:
            raise Fail(
                f"training with your {loss_fn} was stopped after {max_seconds:g} s, before "
                f"{steps} steps finished: each step should be fast (is a gradient computed "
                "numerically, or with Python loops over every element?)"
            )
        return expect_loss_pair(student.call(loss_fn, p, batch, timeout=timeout), loss_fn, p)

    try:
        return train(step_fn, params, batches, steps, lr=lr, clip=clip)
    except TrainingDiverged as exc:
        raise Fail(f"training with your {loss_fn} failed: {exc}") from None


def expect_training_like_reference(
    losses, ref_losses, steps: int, max_ratio: float, track_tol: float
) -> None:
    """Fail unless training really reduced the loss and followed the reference's curve.

    The mean of the last 5 losses must be at most ``max_ratio`` times the first loss, and every
    step's loss must match the reference run (same data, same seed) to a relative ``track_tol``.
    """
    losses = np.asarray(losses, dtype=np.float64)
    ref_losses = np.asarray(ref_losses, dtype=np.float64)
    ratio = losses[-5:].mean() / losses[0]
    if ratio > max_ratio:
        raise Fail(
            f"training did not reduce the loss enough: the last losses average {ratio:.2f} x "
            f"the first one after {steps} Adam steps (should be at most {max_ratio})"
        )
    dev = np.abs(losses - ref_losses) / np.abs(ref_losses)
    if dev.max() > track_tol:
        k = int(np.argmax(dev > track_tol))
        raise Fail(
            f"the training curve departs from the expected one at step {k} (relative "
            f"difference {dev[k]:.1e}): the loss or gradients are slightly off"
        )


def _reference_seconds(call) -> float:
    """Median of three timings of a reference call, measured now, in this process."""
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _student_seconds(student: StudentProxy, attempt, budget: float) -> float:
    """Seconds the student's call took inside the worker (inf if it timed out); a slow result
    is retried once in a fresh worker."""
    elapsed = float("inf")
    for retry in range(2):
        if retry:
            student.restart()
        try:
            attempt(1.5 * budget + 1.0)
            elapsed = student.last_elapsed
        except StudentTimeout:
            elapsed = float("inf")
        if elapsed <= budget:
            break
    return elapsed


def _too_slow(fn: str, elapsed: float, budget: float) -> Fail:
    took = "did not finish" if elapsed == float("inf") else f"took {elapsed:.2f} s"
    return Fail(
        f"{fn} {took} at a realistic size; the budget is {budget:.2f} s. An analytic gradient "
        "costs about as much as the forward pass; one computed by numerical differences "
        "through the forward costs thousands of times more."
    )


def expect_backward_fast(
    student: StudentProxy,
    ref,
    forward: str,
    backward: str,
    inputs: dict,
    n_outputs: int | None = None,
    factor: float = 50.0,
    floor: float = 2.0,
) -> None:
    """Fail if the student's backward at a realistic size is far slower than the reference's.

    Budget: max(floor, factor x the reference backward measured now, in this process). A slow
    result is retried once in a fresh worker before failing.
    """
    inputs = _copy_inputs(inputs)
    ref_result = getattr(ref, forward)(**inputs)
    outs = split_outputs(ref_result)[: n_outputs or None]
    rng = np.random.default_rng(0)
    douts = [rng.standard_normal(o.shape) for o in outs]
    budget = max(
        floor, factor * _reference_seconds(lambda: getattr(ref, backward)(*douts, ref_result[-1]))
    )

    def attempt(timeout: float) -> None:
        result = _expect_forward_tuple(student.call(forward, keep=(-1,), **inputs), forward)
        student.call_untimed(backward, *douts, result[-1], timeout=timeout)

    elapsed = _student_seconds(student, attempt, budget)
    if elapsed > budget:
        raise _too_slow(backward, elapsed, budget)


def expect_call_fast(
    student: StudentProxy,
    ref,
    fn: str,
    args: tuple = (),
    kwargs: dict | None = None,
    factor: float = 50.0,
    floor: float = 2.0,
) -> None:
    """Like expect_backward_fast, for a function that returns its own gradient (a loss)."""
    kwargs = kwargs or {}
    budget = max(floor, factor * _reference_seconds(lambda: getattr(ref, fn)(*args, **kwargs)))

    def attempt(timeout: float) -> None:
        student.call_untimed(fn, *args, timeout=timeout, **kwargs)

    elapsed = _student_seconds(student, attempt, budget)
    if elapsed > budget:
        raise _too_slow(fn, elapsed, budget)
