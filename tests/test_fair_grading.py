"""Fair grading: a backward is judged against numerical differentiation of the student's own
forward, a bug is charged where it is (and downstream tests say where), timing checks earn
nothing for wrong results, and in-place changes to arguments are visible."""

from __future__ import annotations

import copy

import numpy as np
from conftest import answer_cell, grade_notebook, load_catalogue, mutate, solution_notebook

from autograder.plugin import apply_dependencies
from autograder.student import StudentSession
from autograder.testing.checks import expect_loss_pair

CELLS = [
    ("setup:setup", "import numpy as np"),
    (
        "f_code",
        """
def prune(W, k):
    W[np.abs(W) < k] = 0.0
    return W

def pruned_copy(W, k):
    W = W.copy()
    W[np.abs(W) < k] = 0.0
    return W

def square(x):
    return x * x, "cache"
""",
    ),
]


def test_the_worker_reports_arguments_changed_in_place():
    session = StudentSession(CELLS)
    try:
        W = np.array([0.1, -2.0, 3.0])
        session.call("prune", (W, 1.0))
        assert session.last_mutated == ["args[0]"]
        session.call("pruned_copy", (), {"W": W, "k": 1.0})
        assert session.last_mutated == []
        assert np.array_equal(W, [0.1, -2.0, 3.0]), "the trusted side's array is never changed"
    finally:
        session.close()


def test_call_many_answers_every_argument_set_in_one_round_trip():
    session = StudentSession(CELLS)
    try:
        calls = [((np.array([float(i)]),), {}) for i in range(5)]
        out = session.call_many("square", calls, pick=(0,))
        assert [float(o[0][0]) for o in out] == [0.0, 1.0, 4.0, 9.0, 16.0]
    finally:
        session.close()


def outcome(name, cell, status="passed"):
    return dict(
        name=name,
        cell=cell,
        kind="x",
        score=1.0 if status == "passed" else 0.0,
        max_score=1.0,
        status=status,
        message="" if status == "passed" else "wrong",
    )


def test_a_timing_check_earns_nothing_when_the_function_it_times_is_wrong():
    tests = [
        outcome("f_backward_gradcheck[dx]", "f", "failed"),
        outcome("f_backward_gradcheck[dW]", "f"),
        outcome("f_backward_fast", "f"),
    ]
    marks = {"f_backward_fast": {"requires": ("f_backward_gradcheck",)}}
    apply_dependencies(tests, marks)
    fast = tests[2]
    assert fast["score"] == 0 and fast["status"] == "failed"
    assert "f_backward_gradcheck" in fast["message"]


def test_a_downstream_failure_names_its_upstream_cause():
    tests = [outcome("loss_value", "loss", "failed"), outcome("training_falls", "train", "failed")]
    marks = {"training_falls": {"uses": ("loss",)}}
    apply_dependencies(tests, marks)
    assert "uses your code of grade cell(s) 'loss'" in tests[1]["message"]
    assert tests[1]["message"].endswith("wrong"), "the test's own message is kept"
    assert "uses" not in tests[0]["message"]


def test_a_forward_bug_is_charged_to_the_forward_not_to_its_exact_backward(tmp_path):
    """26's affine layer with y = x W + 2b and the backward that is exact for it (db = 2 sum dy):
    the forward test fails; every backward gradient check passes."""
    aid = "26_cs231n"
    nb = copy.deepcopy(solution_notebook(aid))
    cell = answer_cell(nb, "affine_code")
    for old, new in [
        ("y = x @ W + b ", "y = x @ W + 2 * b "),
        ("db = dy.sum(axis=0) ", "db = 2 * dy.sum(axis=0) "),
    ]:
        assert cell["source"].count(old) == 1
        cell["source"] = cell["source"].replace(old, new)
    report = grade_notebook(nb, aid, tmp_path)
    status = {t["name"]: t for t in report["tests"]}
    assert status["affine_forward_matches_reference"]["status"] == "failed"
    for g in ("dx", "dW", "db"):
        assert status[f"affine_backward_gradcheck[{g}]"]["status"] == "passed", g
    assert "numerical" not in status["affine_forward_matches_reference"]["message"]


def test_a_downstream_test_of_a_correct_function_names_the_upstream_bug(tmp_path):
    """22's MLP backward without the square in tanh's derivative: the MLP's own gradient checks
    fail, and the (correct) loss function's training test, which fails only because it trains
    through that MLP, says that it uses the MLP's code and to fix that first."""
    aid = "22_scaling_laws"
    (entry,) = [m for m in load_catalogue(aid) if m["name"] == "tanh_derivative_not_squared"]
    report = grade_notebook(mutate(aid, entry), aid, tmp_path)
    status = {t["name"]: t for t in report["tests"]}
    assert status["mlp_backward_gradcheck[dW1]"]["status"] == "failed"
    downstream = status["mlp_loss_trains_like_reference"]
    assert downstream["status"] == "failed"
    assert "uses your code of grade cell(s) 'mlp'" in downstream["message"], downstream["message"]


def test_a_scalar_parameter_may_have_a_python_number_as_its_gradient():
    params = {"beta": np.array(1.0), "W": np.ones(2)}
    loss, grads = expect_loss_pair((1.0, {"beta": 0.5, "W": np.zeros(2)}), "f", params)
    assert loss == 1.0 and grads["beta"].shape == () and float(grads["beta"]) == 0.5
