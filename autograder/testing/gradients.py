"""Gradient checks: a student's backward against numerical differences and the reference.

The numerics are s30kit's (one implementation for notebooks and grader); the grader uses
stricter settings: a random upstream per check, the trusted reference forward for numerical
differences, and a second comparison against the reference's analytic gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autograder.student import StudentProxy
from autograder.testing.checks import Fail, call_forward, expect_loss_pair, type_name
from autograder.testing.memo import copy_inputs, digest, memoised
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


@dataclass
class GradResult:
    """One gradient tensor compared with numerical differences and with the reference."""

    vs_numeric: TensorCheck
    vs_reference: TensorCheck

    def passed_at(self, tol: float, ref_tol: float) -> bool:
        """True if both comparisons are within these tolerances."""
        n, r = self.vs_numeric, self.vs_reference
        return not n.problem and n.rel_error <= tol and r.rel_error <= ref_tol

    @property
    def passed(self) -> bool:
        """True at the default tolerances (1e-7 numerical, 1e-8 reference)."""
        return self.passed_at(1e-7, 1e-8)


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
    """Check the student's ``backward`` for every input in ``wrt``.

    The student's ``forward(**inputs)`` runs in the worker (its cache stays there), the backward
    gets a random upstream for each of the first ``n_outputs`` outputs, and each returned
    ``d<name>`` is compared with centred differences of the reference forward and with the
    reference backward.

    Args:
        student, ref: the fixtures.
        forward, backward: function names (``forward -> (*outs, cache)``,
            ``backward(*douts, cache) -> {"d<name>": ...}``).
        inputs: keyword arguments of the forward (copied; never modified).
        wrt: input names to check (default: every float64 array in ``inputs``).
        n_outputs: outputs that receive an upstream gradient (default: all).
        seed: seeds the upstream gradients.
        memo: the ``memo`` fixture, so parametrised cases share one computation.

    Returns:
        ``{"d<name>": GradResult}``; a gradient missing from the student's dict is recorded as a
        problem, not raised.

    Raises:
        Fail: the forward or backward returned the wrong kind of value.
        StudentCodeError: a call failed.
    """
    key = ("layer_gradcheck", forward, backward, seed, tuple(wrt or ()), n_outputs, digest(inputs))
    return memoised(
        memo,
        key,
        lambda: _layer_gradcheck(
            student, ref, forward, backward, copy_inputs(inputs), wrt, n_outputs, seed
        ),
    )


def _layer_gradcheck(student, ref, forward, backward, inputs, wrt, n_outputs, seed):
    rng = np.random.default_rng(seed)
    ref_fwd, ref_bwd = getattr(ref, forward), getattr(ref, backward)
    ref_result = ref_fwd(**inputs)
    outs = split_outputs(ref_result)[: n_outputs or None]
    douts = [rng.standard_normal(o.shape) for o in outs]
    ref_grads = ref_bwd(*douts, ref_result[-1])
    st_result = call_forward(student, forward, **inputs)
    st_grads = student.call(backward, *douts, st_result[-1])
    if not isinstance(st_grads, dict):
        raise Fail(f"{backward} should return a dict of gradients, got a {type_name(st_grads)}")
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
    """Fail unless gradient ``key`` of a :func:`layer_gradcheck` passed both comparisons.

    Raises:
        Fail: the gradient is missing, misshapen, or outside either tolerance.
    """
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


def loss_gradcheck(
    student: StudentProxy,
    ref,
    loss_fn: str,
    params: dict,
    batch,
    n_coords: int = 8,
    seed: int = 0,
    tol: float = 1e-6,
    memo: dict | None = None,
) -> GradReport:
    """Whole-model check of the student's ``loss_fn(params, batch) -> (loss, grads)``.

    Per parameter: ``n_coords`` sampled coordinates against centred differences of the reference
    loss, plus one random direction (the directional derivative), so a wrong entry anywhere in the
    tensor is likely to show. The loss value itself is compared with the reference's (``"loss"``).

    Args:
        student, ref: the fixtures.
        loss_fn: the function's name.
        params: parameter arrays (copied as float64).
        batch: the batch argument, passed as is.
        n_coords: coordinates sampled per parameter.
        seed: seeds the coordinates and directions.
        tol: tolerance of every parameter check.
        memo: the ``memo`` fixture, so cases (one per parameter) share one computation.

    Returns:
        A :class:`~s30kit.gradcheck.GradReport`; ``report[name]`` is a parameter's check and
        ``report["loss"]`` the loss value's.

    Raises:
        Fail: the result is not ``(loss, grads)`` of the right shapes.
        StudentCodeError: the call failed.
    """
    key = ("loss_gradcheck", loss_fn, n_coords, seed, tol, digest(params), digest({"batch": batch}))
    return memoised(
        memo,
        key,
        lambda: _loss_gradcheck(student, ref, loss_fn, params, batch, n_coords, seed, tol),
    )


def _loss_gradcheck(student, ref, loss_fn, params, batch, n_coords, seed, tol) -> GradReport:
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


def expect_params(report: GradReport, names, fn: str) -> None:
    """Fail unless every parameter in ``names`` passed its check in a :func:`loss_gradcheck`.

    Raises:
        Fail: naming each wrong gradient of ``fn`` with its error and worst index.
    """
    bad = [report[name] for name in names if not report[name].passed]
    if bad:
        raise Fail(f"the gradient of {fn}: " + "; ".join(c.describe() for c in bad))


def expect_loss_value(report: GradReport, fn: str, hint: str = "") -> None:
    """Fail unless the loss value in a :func:`loss_gradcheck` report matches the reference's.

    The message gives the relative error, never the two values (the reference's is not for the
    student to see).

    Args:
        report: from :func:`loss_gradcheck`.
        fn: how the message names the loss (``"ctx_model_loss (mean bits per symbol)"``).
        hint: a sentence saying what the loss should be, appended to the message.

    Raises:
        Fail: the loss is off.
    """
    check = report["loss"]
    if not check.passed:
        if check.problem:
            raise Fail(f"the loss returned by {fn} {check.problem}")
        raise Fail(
            f"the loss of {fn} differs from the expected value: relative error "
            f"{check.rel_error:.2e}" + (f" ({hint})" if hint else "")
        )
