"""Gradient checks: a student's backward against numerical differences and the reference.

The numerics are s30kit's (one implementation for notebooks and grader); the grader uses
stricter settings: a random upstream per check, the trusted reference forward for numerical
differences, and a second comparison against the reference's analytic gradient.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np

from autograder.student import StudentProxy
from autograder.testing.checks import (
    Fail,
    call_forward,
    expect_array,
    expect_close,
    expect_keys,
    expect_loss_pair,
    type_name,
)
from autograder.testing.memo import copy_inputs, digest, memoised
from given.diagnosis import diagnose, quantities_of
from given.gradcheck import (
    GradReport,
    TensorCheck,
    compare,
    rel_error,
    sample_coords,
    split_outputs,
    step_size,
)


@dataclass
class GradResult:
    """One gradient tensor of the student's backward, checked against numerical
    differentiation of the student's own forward.

    ``vs_numeric`` is that comparison: it charges a backward bug to the backward only (a wrong
    forward is the forward tests' business). ``degenerate`` says why the comparison cannot earn
    points although it matches (the student's forward does not depend on that input at all).
    ``vs_reference`` (the student's gradient against the reference's analytic one) is kept for
    the kit's own diagnostics and never decides a verdict or reaches a message.
    """

    vs_numeric: TensorCheck
    vs_reference: TensorCheck
    degenerate: str | None = None

    def passed_at(self, tol: float) -> bool:
        """True if the gradient matches the numerical one within ``tol`` and is not degenerate."""
        n = self.vs_numeric
        return not n.problem and not self.degenerate and n.rel_error <= tol

    @property
    def passed(self) -> bool:
        """True at the default tolerance (1e-7)."""
        return self.passed_at(1e-7)


def _outputs(value, fn: str, douts: list[np.ndarray]) -> list[np.ndarray]:
    """The picked outputs of one forward call, checked against the upstream shapes."""
    if not isinstance(value, tuple) or len(value) != len(douts):
        raise Fail(f"{fn} should return a tuple (outputs..., cache), got a {type_name(value)}")
    return [
        expect_array(v, d.shape, f"output {i} of {fn}")
        for i, (v, d) in enumerate(zip(value, douts))
    ]


def student_numerical_gradient(
    student: StudentProxy,
    forward: str,
    inputs: dict,
    name: str,
    douts: list[np.ndarray],
    coords=None,
    h_rel: float = 1e-5,
) -> np.ndarray:
    """Centred differences of ``sum_i <forward(**inputs)[i], douts[i]>`` with respect to
    ``inputs[name]``, where ``forward`` is the STUDENT's function (all nudged calls in one round
    trip to the worker). Coordinates not in ``coords`` are NaN.

    Raises:
        Fail: the forward's outputs are not arrays of the upstream shapes.
        StudentCodeError: a call failed.
    """
    x = np.asarray(inputs[name], dtype=np.float64)
    coords = list(np.ndindex(x.shape)) if coords is None else list(coords)
    calls, steps = [], []
    for idx in coords:
        h = step_size(x[idx], h_rel)
        steps.append(h)
        for sign in (1.0, -1.0):
            moved = x.copy()
            moved[idx] = x[idx] + sign * h
            calls.append(((), {**inputs, name: moved}))
    results = student.call_many(forward, calls, pick=tuple(range(len(douts))))
    grad = np.full(x.shape, np.nan)
    for k, (idx, h) in enumerate(zip(coords, steps)):
        f = [
            float(sum(np.sum(o * d) for o, d in zip(_outputs(r, forward, douts), douts)))
            for r in results[2 * k : 2 * k + 2]
        ]
        grad[idx] = (f[0] - f[1]) / (2.0 * h)
    return grad


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
    ref_result = getattr(ref, forward)(**inputs)
    outs = split_outputs(ref_result)[: n_outputs or None]
    douts = [rng.standard_normal(o.shape) for o in outs]
    ref_grads = getattr(ref, backward)(*douts, ref_result[-1])
    st_result = call_forward(student, forward, **inputs)
    st_grads = student.call(backward, *douts, st_result[-1])
    if not isinstance(st_grads, dict):
        raise Fail(f"{backward} should return a dict of gradients, got a {type_name(st_grads)}")
    if wrt is None:
        wrt = [k for k, v in inputs.items() if isinstance(v, np.ndarray) and v.dtype == np.float64]

    results = {}
    for name in wrt:
        gname = "d" + name
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
        num = student_numerical_gradient(student, forward, inputs, name, douts)
        result = GradResult(
            compare(gname, st_grads[gname], num, quantities=quantities_of(inputs)),
            compare(gname, st_grads[gname], ref_grads[gname]),
        )
        if numerically_flat(num, ref_grads[gname]):
            result.degenerate = (
                f"cannot be checked: the outputs of your {forward} do not change when {name} "
                f"changes (their numerical derivative is zero), so {forward} is wrong; fix it "
                "first"
            )
        results[gname] = result
    return results


def numerically_flat(numerical, reference) -> bool:
    """True when the student's function does not move with an input it should depend on.

    ``numerical`` is the numerical derivative of the STUDENT's function with respect to that input
    (from :func:`student_numerical_gradient` or centred differences of a loss), ``reference`` the
    reference's analytic one at the same point. The student's function is flat there when the
    reference's is not (norm above 0) and the student's numerical derivative is under 1e-6 of it:
    a gradient check against that derivative could then pass with a zero gradient, so it must not
    earn points (the function itself is wrong; its own tests charge it).
    """
    ref_norm = float(np.linalg.norm(reference))
    return ref_norm > 0 and float(np.linalg.norm(numerical)) <= 1e-6 * ref_norm


def expect_matches_numerical(
    check: TensorCheck,
    what: str,
    of: str,
    tol: float | None = None,
    subject: str = "it",
    degenerate: str | None = None,
    where: str | None = None,
) -> None:
    """Fail unless a student's gradient matches numerical differentiation of the student's own
    function.

    Args:
        check: ``compare(name, student_gradient, numerical_gradient)``, the numerical gradient
            being centred differences of the STUDENT's function (never a reference value).
        what: how the message names the gradient and, where it helps, whose it is
            (``"dx"``, ``"dscores returned by svm_loss"``); every message starts with it.
        of: what was differentiated numerically (``"your own forward"``,
            ``"your own svm_loss"``).
        tol: the largest relative error accepted (default: ``check.tol``).
        subject: how the sentence names the student's gradient (``"your backward's dx"``).
        degenerate: why the comparison cannot earn points although it may match (see
            :func:`numerically_flat`), or None; reported after a malformed gradient, before a
            mismatch.
        where: the end of the mismatch message (default: the index of the largest difference).

    Raises:
        Fail: the gradient is malformed (``check.problem``), the function is degenerate, or the
            relative error is above ``tol``; the message says what was compared with what.
    """
    tol = check.tol if tol is None else tol
    if check.problem:
        raise Fail(f"{what} {check.problem}")
    if degenerate:
        raise Fail(f"{what} {degenerate}")
    if not check.rel_error <= tol:
        if where is None:
            where = f"; the largest difference is at index {check.worst_index}"
        diagnosis = f". Diagnosis: {check.diagnosis}" if check.diagnosis else ""
        raise Fail(
            f"{what} is wrong: {subject} differs from numerical differentiation of {of} by a "
            f"relative error of {check.rel_error:.2e} (tolerance {tol:.0e}){where}{diagnosis}"
        )


def expect_gradient(
    results: dict[str, GradResult],
    key: str,
    tol: float = 1e-7,
    of: str = "your own forward",
    subject: str | None = None,
) -> None:
    """Fail unless gradient ``key`` of a :func:`layer_gradcheck` (or of a dict of
    :class:`GradResult` built the same way) matches numerical differentiation of the student's
    own function within ``tol``.

    Args:
        results: ``{"d<name>": GradResult}``.
        key: the gradient to check.
        tol: the largest relative error accepted.
        of, subject: as in :func:`expect_matches_numerical` (default subject:
            ``"your backward's <key>"``).

    Raises:
        Fail: the gradient is missing or misshapen, the forward is degenerate, or the relative
            error is above ``tol`` (the message says what was compared with what).
    """
    r = results[key]
    expect_matches_numerical(
        r.vs_numeric,
        key,
        of,
        tol=tol,
        subject=f"your backward's {key}" if subject is None else subject,
        degenerate=r.degenerate,
    )


def expect_backward_like_reference(
    student: StudentProxy,
    ref,
    forward: str,
    backward: str,
    inputs: dict,
    douts: list[np.ndarray],
    grads: list[str],
    where: str,
    tol: float = 1e-8,
) -> None:
    """Fail unless the student's ``backward`` returns the reference's analytic gradients.

    For points where numerical differentiation cannot judge a backward (inputs within 1e-8 of a
    ReLU kink: centred differences straddle it and return about half the slope, while an analytic
    backward is exact). The student's ``forward(**inputs)`` runs in the worker, its ``backward``
    gets the upstream ``douts`` and its cache, and each gradient in ``grads`` is compared with the
    reference backward at the reference's forward. Such a test should require the forward's and
    the gradient check's tests, so that it charges only a backward that is wrong at the kink.

    Args:
        student, ref: the fixtures.
        forward, backward: function names (``forward -> (*outs, cache)``,
            ``backward(*douts, cache) -> {"d<name>": ...}``).
        inputs: keyword arguments of the forward (the reference gets a copy).
        douts: one upstream gradient per output that receives one.
        grads: the gradients to compare (``["dx"]``).
        where: how the messages name the point, after the gradient's name
            (``"with inputs 1e-8 from the kink"``).
        tol: the largest relative error accepted.

    Raises:
        Fail: a malformed result, a missing gradient, or a relative error above ``tol`` (the
            message names the gradient and the point, never the reference's values).
        StudentCodeError: a call failed.
    """
    cache = call_forward(student, forward, n_outputs=len(douts), **inputs)[-1]
    got = expect_keys(
        student.call(backward, *douts, cache), grads, f"the dict returned by {backward}"
    )
    ref_grads = getattr(ref, backward)(*douts, getattr(ref, forward)(**copy_inputs(inputs))[-1])
    for name in grads:
        expect_close(f"{name} {where}", got[name], ref_grads[name], tol=tol)


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
    args: tuple = (),
) -> GradReport:
    """Whole-model check of the student's ``loss_fn(params, batch, *args) -> (loss, grads)``.

    Per parameter: ``n_coords`` sampled coordinates against centred differences of the STUDENT's
    loss, plus one random direction (the directional derivative), so a wrong entry anywhere in the
    tensor is likely to show. The loss value itself is compared with the reference's (``"loss"``).
    When the student's call is so slow that the full check would wait out the grading budget
    (:func:`directional_only`), only the random direction is checked.

    Args:
        student, ref: the fixtures.
        loss_fn: the function's name.
        params: parameter arrays (copied as float64).
        batch: the batch argument, passed as is.
        n_coords: coordinates sampled per parameter.
        seed: seeds the coordinates and directions.
        tol: tolerance of every parameter check.
        memo: the ``memo`` fixture, so cases (one per parameter) share one computation.
        args: further arguments of the loss after ``batch`` (``dilations``, ``attend``).

    Returns:
        A :class:`~given.gradcheck.GradReport`; ``report[name]`` is a parameter's check and
        ``report["loss"]`` the loss value's.

    Raises:
        Fail: the result is not ``(loss, grads)`` of the right shapes.
        StudentCodeError: the call failed.
    """
    key = (
        "loss_gradcheck",
        loss_fn,
        n_coords,
        seed,
        tol,
        digest(params),
        digest({"batch": batch, "args": list(args)}),
    )
    return memoised(
        memo,
        key,
        lambda: _loss_gradcheck(student, ref, loss_fn, params, batch, n_coords, seed, tol, args),
    )


def _call_after_batch(fn, args: tuple, params: dict, batch):
    """``fn(params, batch, *args)``: the reference loss with the arguments after the batch."""
    return fn(params, batch, *args)


#: A student's loss call is "slow" when it takes this many times the reference's call ...
SLOW_FACTOR = 10.0
#: ... and the full check would need more than this many seconds of such calls.
SLOW_PROJECTED_S = 5.0


def directional_only(student_s: float, ref_s: float, n_calls: int) -> bool:
    """True when a loss gradient check should use only one random direction per parameter.

    The full check calls the student's loss ``n_calls`` times. A loss whose gradient is computed
    by finite differences costs thousands of reference calls, so the full check would wait out
    the grading budget (tens of seconds) to reach the verdict the directional derivative alone
    reaches in two calls per parameter: a correct gradient passes both, a wrong one fails both.
    The cheap form is used only when the student's call is much slower than the reference's
    (``SLOW_FACTOR``) and the full check is projected to take over ``SLOW_PROJECTED_S``; the
    time-budget test charges the slowness itself, if it is beyond its budget.
    """
    return student_s > SLOW_FACTOR * ref_s and student_s * n_calls > SLOW_PROJECTED_S


def _loss_gradcheck(
    student, ref, loss_fn, params, batch, n_coords, seed, tol, args=()
) -> GradReport:
    rng = np.random.default_rng(seed)
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    loss, grads = expect_loss_pair(student.call(loss_fn, params, batch, *args), loss_fn, params)
    student_s = student.last_elapsed
    ref_fn = functools.partial(_call_after_batch, getattr(ref, loss_fn), args)
    t0 = time.perf_counter()
    ref_loss = float(ref_fn(params, batch)[0])
    ref_s = time.perf_counter() - t0
    n_calls = sum(2 * min(n_coords, p.size) + 2 for p in params.values())
    if directional_only(student_s, ref_s, n_calls):
        n_coords = 0

    def student_losses(moves: list[dict]) -> list[float]:
        calls = [((dict(params, **m), batch, *args), {}) for m in moves]
        out = student.call_many(loss_fn, calls, pick=(0,))
        return [float(expect_array(r[0], (), f"the loss returned by {loss_fn}")) for r in out]

    quantities = quantities_of({"params": params, "batch": batch, "args": list(args)})
    report = GradReport()
    report.checks.append(compare("loss", np.array(loss), np.array(ref_loss), tol=1e-8))
    for name, p in params.items():
        coords = sample_coords(p.shape, n_coords, rng)
        moves, steps = [], []
        for idx in coords:
            h = step_size(p[idx], 1e-5)
            steps.append(h)
            for sign in (1.0, -1.0):
                moved = p.copy()
                moved[idx] = p[idx] + sign * h
                moves.append({name: moved})
        v = rng.standard_normal(p.shape)
        moves += [{name: p + 1e-6 * v}, {name: p - 1e-6 * v}]
        f = student_losses(moves)
        num = np.full(p.shape, np.nan)
        for k, (idx, h) in enumerate(zip(coords, steps)):
            num[idx] = (f[2 * k] - f[2 * k + 1]) / (2.0 * h)
        dd = (f[-2] - f[-1]) / 2e-6
        check = compare(name, grads[name], num, tol, coords)
        if not check.problem:
            g = np.asarray(grads[name], dtype=np.float64)
            along = rel_error(np.sum(g * v), dd)  # NaN if g holds a NaN anywhere
            check.rel_error = max(check.rel_error, along if np.isfinite(along) else np.inf)
            if not check.passed:
                found = diagnose(name, g, num, quantities, coords, (v, dd))
                check.diagnosis = found.sentence if found else ""
            ref_dd = (
                float(ref_fn(dict(params, **{name: p + 1e-6 * v}), batch)[0])
                - float(ref_fn(dict(params, **{name: p - 1e-6 * v}), batch)[0])
            ) / 2e-6
            if numerically_flat(dd, ref_dd):
                check.problem = (
                    f"cannot be checked: your {loss_fn} does not change when {name} changes "
                    f"(its numerical derivative is zero), so the loss itself is wrong; fix it first"
                )
        report.checks.append(check)
    return report


def expect_params(report: GradReport, names, fn: str) -> None:
    """Fail unless every parameter in ``names`` passed its check in a :func:`loss_gradcheck`.

    Raises:
        Fail: naming each wrong gradient of ``fn`` with its error and worst index.
    """
    bad = [report[name] for name in names if not report[name].passed]
    if bad:
        raise Fail(
            f"the gradients your {fn} returns, against numerical differentiation of your own "
            f"{fn}: " + "; ".join(c.describe() for c in bad)
        )


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
