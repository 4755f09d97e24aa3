"""A gradient by finite differences is caught without waiting out the grading budgets.

The toolkit reaches the same verdicts early: a loss gradient check of a very slow loss uses one
random direction per parameter, a training run on pace to overrun its limit stops after a few
steps, and a timed call gets its budget plus a margin, not more.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

from autograder.student import StudentProxy, StudentSession
from autograder.testing import gradients, training
from autograder.testing.gradients import directional_only, loss_gradcheck
from autograder.testing.timing import attempt_timeout
from autograder.testing.training import projected_over, train_with_student

LOSSES = """
import time

def _loss(params, batch):
    W = params["W"]
    x, y = batch
    r = x @ W - y                     # (N, 2)
    return 0.5 * float(np.sum(r * r)), x.T @ r

def quick_loss(params, batch):
    loss, dW = _loss(params, batch)
    return loss, {"W": dW}

def slow_loss(params, batch):
    time.sleep(0.02)
    loss, dW = _loss(params, batch)
    return loss, {"W": dW}

def slow_wrong_loss(params, batch):
    time.sleep(0.02)
    loss, dW = _loss(params, batch)
    return loss, {"W": dW / len(batch[0])}
"""


def _reference():
    namespace: dict = {"np": np}
    exec(LOSSES, namespace)
    return types.SimpleNamespace(
        slow_loss=namespace["quick_loss"], slow_wrong_loss=namespace["quick_loss"]
    )


@pytest.fixture(scope="module")
def student():
    session = StudentSession([("setup:setup", "import numpy as np"), ("f_code", LOSSES)])
    yield StudentProxy(session)
    session.close()


def _problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    return {"W": rng.standard_normal((3, 2))}, (x, y)


def test_a_cheap_check_needs_both_a_slow_call_and_a_long_projected_check():
    assert not directional_only(student_s=0.001, ref_s=0.001, n_calls=10_000)  # as fast as ref
    assert not directional_only(student_s=0.5, ref_s=0.001, n_calls=2)  # slow, but short
    assert directional_only(student_s=0.5, ref_s=0.001, n_calls=100)


def test_a_slow_loss_is_checked_along_one_direction_with_the_same_verdicts(student, monkeypatch):
    monkeypatch.setattr(gradients, "SLOW_PROJECTED_S", 0.05)
    params, batch = _problem()
    right = loss_gradcheck(student, _reference(), "slow_loss", params, batch)
    assert right["W"].passed and right["W"].worst_index is None, "no coordinates were sampled"
    wrong = loss_gradcheck(student, _reference(), "slow_wrong_loss", params, batch)
    assert not wrong["W"].passed


def test_a_fast_loss_keeps_the_full_coordinate_check(student):
    params, batch = _problem()
    ref = types.SimpleNamespace(quick_loss=_reference().slow_loss)
    report = loss_gradcheck(student, ref, "quick_loss", params, batch)
    assert report["W"].passed and report["W"].worst_index is not None


def test_a_training_run_is_judged_by_its_pace_only_after_a_few_steps():
    assert not projected_over(spent=5.0, done=1, steps=100, max_seconds=10.0)
    assert not projected_over(spent=0.3, done=3, steps=100, max_seconds=10.0)  # 10 s in all
    assert projected_over(spent=3.0, done=3, steps=100, max_seconds=10.0)  # 100 s in all


def test_a_slow_training_run_stops_early_with_a_message_about_its_pace(student):
    params, batch = _problem()
    with pytest.raises(training.Fail, match=r"3 of 400 steps: at that pace"):
        train_with_student(
            student, "slow_loss", params, lambda step: batch, 400, 0.01, max_seconds=2.0
        )


def test_a_training_run_can_hand_back_the_parameters_the_student_gradients_trained(student):
    params, batch = _problem()
    losses, trained = train_with_student(
        student, "quick_loss", params, lambda step: batch, 20, 0.05, return_params=True
    )
    assert len(losses) == 20 and losses[-1] < losses[0]
    assert set(trained) == {"W"} and not np.array_equal(trained["W"], params["W"])
    assert _reference().slow_loss(trained, batch)[0] < losses[0]  # the trained W is the better


def test_a_timed_call_waits_its_budget_and_a_small_margin():
    for budget in (2.0, 10.0):
        assert budget < attempt_timeout(budget) <= 1.1 * budget + 0.5
