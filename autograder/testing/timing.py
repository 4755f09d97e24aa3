"""Integrity by timing: an analytic backward costs about a forward; a numerical one, thousands.

A backward that differentiates numerically through the forward passes every tolerance, so each
backward also gets a call at a realistic size with a budget of max(floor, factor x the reference
measured now, in this process). A slow result is retried once in a fresh worker before it fails,
so a busy machine does not cost a correct student points.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from autograder.student import StudentProxy, StudentTimeout
from autograder.testing.checks import Fail, call_forward
from autograder.testing.memo import copy_inputs
from given.gradcheck import split_outputs


def reference_seconds(call) -> float:
    """Median of three timings of ``call()``, measured now, in this process."""
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def attempt_timeout(budget: float) -> float:
    """Wall-clock seconds one timed call may run: its budget plus a margin for the round trip.

    A call still running past its budget has failed that attempt whatever it would finally take,
    so waiting longer only delays the verdict (a numerical backward would otherwise hold each
    attempt for 1.5x its budget)."""
    return 1.1 * budget + 0.5


def _student_seconds(student: StudentProxy, attempt, budget: float) -> float:
    """Seconds the student's call took inside the worker (inf if it timed out); a slow result
    is retried once in a fresh worker."""
    elapsed = float("inf")
    for retry in range(2):
        if retry:
            student.restart()
        try:
            attempt(attempt_timeout(budget))
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

    Args:
        student, ref: the fixtures.
        forward, backward: as in :func:`~autograder.testing.layer_gradcheck`.
        inputs: the forward's keyword arguments, at a realistic size.
        n_outputs: outputs that receive an upstream gradient (default: all).
        factor, floor: the budget is ``max(floor, factor x reference backward seconds)``.

    Raises:
        Fail: the backward took longer than the budget twice (or did not finish).
        StudentCodeError: a call failed.
    """
    inputs = copy_inputs(inputs)
    ref_result = getattr(ref, forward)(**inputs)
    outs = split_outputs(ref_result)[: n_outputs or None]
    rng = np.random.default_rng(0)
    douts = [rng.standard_normal(o.shape) for o in outs]
    budget = max(
        floor, factor * reference_seconds(lambda: getattr(ref, backward)(*douts, ref_result[-1]))
    )

    def attempt(timeout: float) -> None:
        result = call_forward(student, forward, **inputs)
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
    """Like :func:`expect_backward_fast`, for a function that returns its own gradient (a loss).

    Raises:
        Fail: the call took longer than the budget twice (or did not finish).
        StudentCodeError: a call failed.
    """
    kwargs = kwargs or {}
    budget = max(floor, factor * reference_seconds(lambda: getattr(ref, fn)(*args, **kwargs)))

    def attempt(timeout: float) -> None:
        student.call_untimed(fn, *args, timeout=timeout, **kwargs)

    elapsed = _student_seconds(student, attempt, budget)
    if elapsed > budget:
        raise _too_slow(fn, elapsed, budget)
