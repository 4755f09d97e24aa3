"""Training checks: train on the trusted side with the student's gradients, then judge the curve.

Two separate questions, two checks: did the loss really fall (:func:`expect_loss_decreases`),
and does the run follow the reference's run on the same data and seed
(:func:`expect_curve_tracks`)? :func:`expect_training_like_reference` asks both.
"""

from __future__ import annotations

import time

import numpy as np

from autograder.student import StudentProxy
from autograder.testing.checks import Fail, expect_loss_pair
from autograder.testing.memo import copy_inputs
from given.optim import TrainingDiverged, train

#: Steps timed before a run's pace is trusted to project its length.
PACE_STEPS = 3
#: A run is stopped early when its projected length exceeds this many times its limit.
PACE_MARGIN = 2.0


def projected_over(spent: float, done: int, steps: int, max_seconds: float) -> bool:
    """True when a run that took ``spent`` seconds for ``done`` of ``steps`` steps is on pace to
    take over ``PACE_MARGIN`` times ``max_seconds`` (judged after ``PACE_STEPS`` steps).

    A backward by finite differences makes every step thousands of times slower; such a run would
    hit ``max_seconds`` anyway, and projecting from its first steps reaches the same verdict
    without waiting for it. The margin keeps a correct solution on a busy machine (whose full run
    takes a small fraction of the limit) far from the rule.
    """
    return done >= PACE_STEPS and spent / done * steps > PACE_MARGIN * max_seconds


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
    args: tuple = (),
    return_params: bool = False,
) -> list[float] | tuple[list[float], dict]:
    """Train with Adam on the trusted side, asking the student's ``loss_fn`` at every step.

    Args:
        student: the fixture.
        loss_fn: ``loss_fn(params, batch, *args) -> (loss, grads)`` in the student's code.
        params: initial parameters (copied).
        batches: what :func:`given.optim.train` takes (a list, or a function of the step).
        steps, lr, clip: Adam's schedule, as in :func:`given.optim.train`.
        timeout: seconds allowed for one call.
        max_seconds: seconds allowed for the whole run (a backward computed by finite
            differences would otherwise hold grading up for minutes, one slow step at a time);
            a run on pace to take several times longer is stopped early
            (:func:`projected_over`).
        args: further arguments of ``loss_fn`` after the batch.
        return_params: also return the trained parameters, for a test that judges what the
            student's gradients trained (its scores computed on the trusted side).

    Returns:
        The loss at every step; with ``return_params``, ``(losses, trained_params)``.

    Raises:
        Fail: a malformed result, the run over ``max_seconds``, or a NaN/inf loss (with its step).
        StudentCodeError: a call failed.
    """
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    start = time.monotonic()
    done = 0

    def step_fn(p, batch):
        nonlocal done
        spent = time.monotonic() - start
        if spent > max_seconds or projected_over(spent, done, steps, max_seconds):
            raise Fail(
                f"training with your {loss_fn} was stopped after {spent:.1f} s and {done} of "
                f"{steps} steps: at that pace the run would take over {max_seconds:g} s, the "
                "limit. Each step should be fast (is a gradient computed numerically, or with "
                "Python loops over every element?)"
            )
        result = expect_loss_pair(
            student.call(loss_fn, p, batch, *args, timeout=timeout), loss_fn, p
        )
        done += 1
        return result

    try:
        losses = train(step_fn, params, batches, steps, lr=lr, clip=clip)
    except TrainingDiverged as exc:
        raise Fail(f"training with your {loss_fn} failed: {exc}") from None
    return (losses, params) if return_params else losses


def train_both(
    student: StudentProxy,
    ref,
    loss_fn: str,
    params: dict,
    batches,
    steps: int,
    lr: float,
    clip: float | None = None,
    timeout: float = 10.0,
    max_seconds: float = 20.0,
) -> tuple[list[float], list[float]]:
    """The same Adam run twice, with the student's ``loss_fn`` and with the reference's.

    Args:
        as :func:`train_with_student` (``params`` is copied for each run).

    Returns:
        ``(losses, ref_losses)``, one loss per step each.

    Raises:
        Fail, StudentCodeError: from the student's run (the reference's runs second).
    """
    losses = train_with_student(
        student, loss_fn, params, batches, steps, lr, clip, timeout, max_seconds
    )
    ref_losses = train(getattr(ref, loss_fn), copy_inputs(params), batches, steps, lr=lr, clip=clip)
    return losses, ref_losses


def expect_loss_decreases(
    losses, max_ratio: float, steps: int, tail: int = 5, head: int = 1
) -> float:
    """Fail unless the mean of the last ``tail`` losses is at most ``max_ratio`` x the mean of
    the first ``head`` losses.

    Returns:
        The measured ratio.

    Raises:
        Fail: the ratio is above ``max_ratio`` (the message gives both).
    """
    losses = np.asarray(losses, dtype=np.float64)
    ratio = float(losses[-tail:].mean() / losses[:head].mean())
    if not ratio <= max_ratio:
        raise Fail(
            f"training did not reduce the loss enough: the last losses average {ratio:.2f} x "
            f"the first one after {steps} Adam steps (should be at most {max_ratio})"
        )
    return ratio


def expect_curve_tracks(
    curve,
    ref_curve,
    tol: float,
    what: str = "the training curve",
    hint: str = "the loss or gradients are slightly off",
    relative: bool = True,
) -> None:
    """Fail unless ``curve`` matches ``ref_curve`` (same data, same seed) step by step.

    Args:
        curve: the student's losses (or any per-step series).
        ref_curve: the reference run's.
        tol: the largest difference accepted at any step.
        what: how the message names the series.
        hint: what the message suggests is off.
        relative: compare ``|a - b| / |b|`` (True) or ``|a - b|``.

    Raises:
        Fail: naming the first step that departs and by how much.
    """
    curve = np.asarray(curve, dtype=np.float64)
    ref_curve = np.asarray(ref_curve, dtype=np.float64)
    if curve.shape != ref_curve.shape:
        raise Fail(f"{what} has {curve.size} steps, expected {ref_curve.size}")
    dev = np.abs(curve - ref_curve)
    if relative:
        dev = dev / np.abs(ref_curve)
    bad = ~(dev <= tol)
    if bad.any():
        k = int(np.argmax(bad))
        kind = "relative difference" if relative else "difference"
        raise Fail(
            f"{what} departs from the expected one at step {k} ({kind} {dev[k]:.1e}): {hint}"
        )


def expect_training_like_reference(
    losses, ref_losses, steps: int, max_ratio: float, track_tol: float
) -> None:
    """:func:`expect_loss_decreases` then :func:`expect_curve_tracks` (relative ``track_tol``).

    Raises:
        Fail: from either check.
    """
    expect_loss_decreases(losses, max_ratio, steps)
    expect_curve_tracks(losses, ref_losses, track_tol)


def expect_trains_like_reference(
    student: StudentProxy,
    ref,
    loss_fn: str,
    params: dict,
    batches,
    steps: int,
    lr: float,
    max_ratio: float,
    track_tol: float,
    clip: float | None = None,
    timeout: float = 10.0,
    max_seconds: float = 20.0,
) -> list[float]:
    """:func:`train_both`, then :func:`expect_training_like_reference` on the two curves.

    Returns:
        The student's losses.

    Raises:
        Fail, StudentCodeError: from training or from either check.
    """
    losses, ref_losses = train_both(
        student, ref, loss_fn, params, batches, steps, lr, clip, timeout, max_seconds
    )
    expect_training_like_reference(losses, ref_losses, steps, max_ratio, track_tol)
    return losses
