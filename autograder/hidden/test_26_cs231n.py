"""Hidden tests for 26_cs231n (the CS231n toolbox).

Grade cells and points: gradcheck 5, affine 3, relu 2, svm_loss 3, softmax_loss 3, two_layer 6,
optim 5, conv 5, knn 3, max_pool 4, conv_net 3 (42 in all). A backward (or a loss's dscores) is
judged against centred differences of the student's OWN forward (tolerance 1e-7; 1e-6 for the
whole model), so a forward bug is charged to the forward tests only. The numbers beside each test
are the reference's worst norm-wise relative error on that test's inputs over 10 random upstreams
(seeds 0..9), measured with s30kit's check_layer / check_loss on the reference. Timings in the
integrity comments were measured in-process with one BLAS thread on the 2-core development machine
(shared with other jobs). Every timing/integrity test requires the correctness tests of the
function it checks (a fast but wrong or NaN result earns nothing); a test that calls functions
graded in other cells names them in ``uses``.
"""

from __future__ import annotations

import numpy as np
import pytest
from autograder.testing import Fail
from autograder.testing import call_forward
from autograder.testing import expect_array
from autograder.testing import expect_backward_fast
from autograder.testing import expect_backward_like_reference
from autograder.testing import expect_call_fast
from autograder.testing import expect_close
from autograder.testing import expect_curve_tracks
from autograder.testing import expect_gradient
from autograder.testing import expect_inputs_unchanged
from autograder.testing import expect_keys
from autograder.testing import expect_loss_decreases
from autograder.testing import expect_matches_numerical
from autograder.testing import expect_params
from autograder.testing import expect_trains_like_reference
from autograder.testing import expect_tuple
from autograder.testing import graded
from autograder.testing import layer_gradcheck
from autograder.testing import loss_gradcheck
from autograder.testing import numerically_flat
from autograder.testing import student_numerical_gradient
from given.diagnosis import quantities_of
from given.gradcheck import compare
from given.gradcheck import step_size
from s30kit.data.cs231n import spiral


# ------------------------------------------------------------------------------ helpers
def _expect_outputs(student, ref, fn, names, what, tol, *args, **kwargs):
    """Each output of the student's forward ``fn`` (named ``names``) against the reference's."""
    got = call_forward(student, fn, *args, n_outputs=len(names), **kwargs)
    for name, value, expected in zip(names, got, getattr(ref, fn)(*args, **kwargs)):
        expect_close(f"{name} for {what}", value, expected, tol=tol)


def _gradcheck(student, ref, memo, layer, inputs, grad):
    """Gradient ``grad`` of ``<layer>_backward`` (random upstream of seed 13)."""
    fwd, bwd = f"{layer}_forward", f"{layer}_backward"
    expect_gradient(layer_gradcheck(student, ref, fwd, bwd, inputs, seed=13, memo=memo), grad)


def _expect_scalar_close(what, got, expected, tol):
    """Fail unless the float ``got`` is within relative ``tol`` of ``expected`` (NaN fails)."""
    got = float(expect_array(got, (), what))
    diff = abs(got - expected) / max(1.0, abs(expected))
    if not diff <= tol:
        raise Fail(f"{what} is wrong: relative difference {diff:.2e} (tolerance {tol:.0e})")
    return got


# A loss here is fn(scores, y) -> (loss, dscores).
def _call_loss(student, fn, scores, y):
    """The student's (loss, dscores), validated."""
    loss, dscores = expect_tuple(student.call(fn, scores, y), fn, 2, "loss, dscores")
    loss = float(expect_array(loss, (), f"the loss returned by {fn}"))
    return loss, expect_array(dscores, scores.shape, f"dscores returned by {fn}")


def _expect_loss_values(student, ref, fn, name, rng):
    """The loss of ``fn`` against the reference's on scores of several sizes and scales."""
    for N, C, scale in [(5, 4, 1.0), (1, 3, 1.0), (8, 10, 3.0), (6, 2, 0.3)]:
        scores, y = scale * rng.standard_normal((N, C)), rng.integers(0, C, size=N)
        loss, _ = _call_loss(student, fn, scores, y)
        expected = getattr(ref, fn)(scores, y)[0]
        _expect_scalar_close(f"the {name} loss for scores ({N}, {C})", loss, expected, 1e-10)


def _student_loss_gradient(student, fn, scores, y):
    """Centred differences of the STUDENT's loss ``fn(scores, y)[0]`` with respect to every score
    (step 1e-5 * max(1, |score|)), all nudged calls in one round trip to the worker."""
    coords = list(np.ndindex(scores.shape))
    calls, steps = [], []
    for idx in coords:
        h = step_size(scores[idx])
        steps.append(h)
        for sign in (1.0, -1.0):
            moved = scores.copy()
            moved[idx] = scores[idx] + sign * h
            calls.append(((moved, y), {}))
    out = student.call_many(fn, calls, pick=(0,))
    f = [float(expect_array(r[0], (), f"the loss returned by {fn}")) for r in out]
    num = np.empty(scores.shape)
    for k, (idx, h) in enumerate(zip(coords, steps)):
        num[idx] = (f[2 * k] - f[2 * k + 1]) / (2.0 * h)
    return num


def _expect_dscores(student, ref, fn, scores, y, tol=1e-7):
    """The student's dscores against centred differences of the student's own loss: a wrong loss
    is charged to the loss-value tests, a dscores that is not its derivative here."""
    _, dscores = _call_loss(student, fn, scores, y)
    num = _student_loss_gradient(student, fn, scores, y)
    if numerically_flat(num, getattr(ref, fn)(scores.copy(), y)[1]):
        raise Fail(
            f"dscores cannot be checked: the loss returned by your {fn} does not change when the "
            "scores change (its numerical derivative is zero), so the loss itself is wrong; fix "
            "it first"
        )
    expect_matches_numerical(
        compare("dscores", dscores, num, quantities=quantities_of({"scores": scores})),
        f"dscores returned by {fn}",
        f"your own {fn}",
        tol=tol,
    )


def _loss_fast_test(fn, seed):
    """The integrity test of loss ``fn`` (grade cell ``fn``, 0.25 points): ``fn`` on scores
    (5000, 10) drawn from ``seed`` within the time budget. It requires the loss's value and
    gradient tests (``<fn>_matches_reference``, ``<fn>_gradient``). Bound to the test's name at
    module level (pytest collects it under that name)."""

    @graded(
        cell=fn,
        kind="integrity",
        points=0.25,
        requires=(f"{fn}_matches_reference", f"{fn}_gradient"),
    )
    def test(student, ref):
        rng = np.random.default_rng(seed)
        scores, y = rng.standard_normal((5000, 10)), rng.integers(0, 10, size=5000)
        expect_call_fast(student, ref, fn, (scores, y))

    return test


def _scores_away_from_kinks(rng, N, C, margin=1e-3):
    """Scores and labels whose hinge margins s_j - s_y + 1 are all at least ``margin`` from 0."""
    y = rng.integers(0, C, size=N)
    scores = rng.standard_normal((N, C))
    while True:
        m = scores - scores[np.arange(N), y][:, None] + 1.0
        m[np.arange(N), y] = 1.0
        if np.all(np.abs(m) > margin):
            return scores, y
        scores = rng.standard_normal((N, C))


# ------------------------------------------------------------------------ 1. gradient checking (5)
@graded(cell="gradcheck", kind="forward", points=1.5)
def test_numerical_gradient_matches_reference(student, ref, rng):
    cases = [
        ("cubic", (3, 4), 1e-5),
        ("sin_times_x", (5,), 1e-5),
        ("logsumexp", (2, 3, 2), 1e-5),
        ("cubic", (1,), 1e-3),
        ("sin_times_x", (2, 2), 1e-2),
    ]
    for name, shape, h in cases:
        x = rng.standard_normal(shape)
        f, _ = student.call("example_function", name)
        got = student.call("numerical_gradient", f, x, h=h)
        if student.last_mutated:
            raise Fail(
                f"numerical_gradient left x changed when it returned (x of shape {shape}, "
                f"h={h:g}): put each entry back (x[idx] = old) after evaluating f at x + h and "
                "x - h; x must be unchanged when the function returns"
            )
        f_ref, _ = ref.example_function(name)
        expected = ref.numerical_gradient(f_ref, x.copy(), h)
        # Reference vs itself with other but equivalent arithmetic: < 1e-10.
        expect_close(
            f"numerical_gradient of {name} at x of shape {shape} with h={h:g}",
            got,
            expected,
            tol=1e-8,
        )


@graded(cell="gradcheck", kind="property", points=0.5)
def test_numerical_gradient_is_centred(student, ref):
    # For f = sum(x^3) the centred difference is exactly 3x^2 + h^2; a one-sided difference
    # gives 3x^2 +- 3xh + h^2.
    x = np.array([2.0, -1.0, 0.5, -3.0])
    f, _ = student.call("example_function", "cubic")
    got = expect_array(student.call("numerical_gradient", f, x, h=0.1), x.shape, "the gradient")
    err = np.abs(got - (3 * x**2 + 0.01)).max()
    if err > 1e-9:
        raise Fail(
            f"numerical_gradient with h=0.1 on sum(x**3) is off by up to {err:.2e} from the "
            "centred difference (f(x+h) - f(x-h)) / 2h"
        )


@graded(cell="gradcheck", kind="forward", points=1.0)
def test_relative_error_matches_reference(student, ref, rng):
    a = rng.standard_normal((3, 4))
    cases = [
        ("two random arrays", a, rng.standard_normal((3, 4))),
        ("nearly equal arrays", a, a + 1e-6 * rng.standard_normal((3, 4))),
        ("a and 2a", a, 2 * a),
        ("a and -a", rng.standard_normal(5), None),
        ("zeros and a non-zero array", np.zeros((2, 3, 2)), rng.standard_normal((2, 3, 2))),
        ("a non-zero array and zeros", rng.standard_normal(4), np.zeros(4)),
        ("single entries", np.array([3.0]), np.array([1.0])),
    ]
    for what, x, z in cases:
        z = -x if z is None else z
        got = student.call("relative_error", x, z)
        _expect_scalar_close(f"relative_error for {what}", got, ref.relative_error(x, z), 1e-10)
    got = student.call("relative_error", np.zeros((2, 2)), np.zeros((2, 2)))
    if float(expect_array(got, (), "relative_error of two zero arrays")) != 0.0:
        raise Fail("relative_error of two all-zero arrays should be 0.0")


# Reference values on these inputs: tanh 1.7e-11, softmax 2.2e-11 (correct backwards: must be
# below 1e-7); softmax_zero_grad 1.0, flip_forgotten 0.586, square_missing_2 0.333 (bugs: compared
# with the reference's value to a relative 1e-6, since the seed fixes the upstream).
_LAYERS = ["tanh", "softmax", "softmax_zero_grad", "flip_forgotten", "square_missing_2"]


@graded(cell="gradcheck", kind="property", points=0.4)
@pytest.mark.parametrize("layer", _LAYERS)
def test_grad_check_flags_planted_bugs(student, ref, layer):
    x = np.random.default_rng(2601).standard_normal((3, 5))
    fwd, bwd = student.call("example_layer", layer)
    got = student.call("grad_check", fwd, bwd, x, seed=7)
    got = float(expect_array(got, (), f"grad_check's result for the {layer} layer"))
    expected = ref.grad_check(*ref.example_layer(layer), x.copy(), seed=7)
    if layer in ("tanh", "softmax"):
        if not got <= 1e-7:
            raise Fail(
                f"grad_check reports a relative error of {got:.2e} for the {layer} layer, whose "
                "backward is correct (it should be below 1e-7)"
            )
    elif not abs(got - expected) <= 1e-6 * expected:
        raise Fail(
            f"grad_check reports {got:.3e} for the {layer} layer, whose backward is wrong; that is "
            "not the relative error between its dx and the numerical gradient for the upstream "
            "dout = np.random.default_rng(seed).standard_normal(out.shape)"
        )


# ---------------------------------------------------------------------------------- 2. affine (3)
@graded(cell="affine", kind="forward", points=0.75)
def test_affine_forward_matches_reference(student, ref, rng):
    for N, D, M in [(4, 3, 5), (1, 1, 1), (7, 10, 2), (2, 6, 6)]:
        x, W, b = rng.standard_normal((N, D)), rng.standard_normal((D, M)), rng.standard_normal(M)
        what = f"x ({N}, {D}), W ({D}, {M})"
        _expect_outputs(student, ref, "affine_forward", ("y",), what, 1e-10, x, W, b)


# Reference: dx 2.8e-11, dW 2.6e-11, db 2.8e-11 (tolerance 1e-7).
@graded(cell="affine", kind="gradcheck", points=0.5)
@pytest.mark.parametrize("grad", ["dx", "dW", "db"])
def test_affine_backward_gradcheck(student, ref, memo, grad):
    rng = np.random.default_rng(2602)
    inputs = dict(
        x=rng.standard_normal((3, 4)), W=rng.standard_normal((4, 5)), b=rng.standard_normal(5)
    )
    _gradcheck(student, ref, memo, "affine", inputs, grad)


# Size: x (64, 256), W (256, 256): 81 920 inputs and parameters. The reference backward takes
# 0.3 ms, so the budget is the 2 s floor; centred differences need 2 x 81 920 forward calls
# (0.15 ms each), i.e. ~25 s.
@graded(cell="affine", kind="integrity", points=0.75, requires=("affine_backward_gradcheck",))
def test_affine_backward_fast(student, ref):
    rng = np.random.default_rng(2603)
    inputs = dict(
        x=rng.standard_normal((64, 256)),
        W=rng.standard_normal((256, 256)) / 16,
        b=rng.standard_normal(256),
    )
    expect_backward_fast(student, ref, "affine_forward", "affine_backward", inputs)


# ------------------------------------------------------------------------------------ 3. relu (2)
@graded(cell="relu", kind="forward", points=0.5)
def test_relu_forward_matches_reference(student, ref, rng):
    for shape in [(3, 4), (2, 3, 4, 5), (1,)]:
        x = rng.standard_normal(shape)
        x.flat[0] = 0.0
        _expect_outputs(student, ref, "relu_forward", ("out",), f"x of shape {shape}", 1e-12, x)


# Reference: dx 2.2e-11 (tolerance 1e-7).
@graded(cell="relu", kind="gradcheck", points=0.5)
def test_relu_backward_gradcheck(student, ref, memo):
    rng = np.random.default_rng(2604)
    x = rng.standard_normal((3, 2, 5))
    x[np.abs(x) < 1e-2] = 0.5  # away from the kink
    _gradcheck(student, ref, memo, "relu", dict(x=x), "dx")


# Compared with the reference's analytic gradient at the reference's forward, so it counts only
# when the forward matches and the backward passes its gradient check.
@graded(
    cell="relu",
    kind="integrity",
    points=0.5,
    requires=("relu_forward_matches_reference", "relu_backward_gradcheck"),
)
def test_relu_backward_at_kinks(student, ref, rng):
    # Half the inputs sit within 1e-8 of the kink (random side). An analytic backward is exact
    # there; centred differences (step ~1e-5) straddle the kink and return half the slope.
    x = rng.standard_normal((4, 6))
    near = rng.random((4, 6)) < 0.5
    x[near] = 1e-8 * rng.choice([-1.0, 1.0], size=int(near.sum()))
    dout = rng.standard_normal((4, 6))
    expect_backward_like_reference(
        student,
        ref,
        "relu_forward",
        "relu_backward",
        dict(x=x),
        [dout],
        ["dx"],
        "with inputs 1e-8 from the kink",
    )


# Size: x (256, 512) = 131 072 entries; the reference backward takes 0.2 ms (budget: the 2 s
# floor); centred differences need 2 x 131 072 forward calls of 0.06 ms (~16 s).
@graded(cell="relu", kind="integrity", points=0.5, requires=("relu_backward_gradcheck",))
def test_relu_backward_fast(student, ref):
    x = np.random.default_rng(2605).standard_normal((256, 512))
    expect_backward_fast(student, ref, "relu_forward", "relu_backward", dict(x=x))


# -------------------------------------------------------------------------------- 4. svm loss (3)
@graded(cell="svm_loss", kind="forward", points=0.75)
def test_svm_loss_matches_reference(student, ref, rng):
    _expect_loss_values(student, ref, "svm_loss", "SVM", rng)


# Reference: dscores 3.2e-11 against centred differences of its own loss on this input, at most
# 9.0e-11 over 22 random draws; the loop variant svm_loss_naive_loops at most 8.7e-11 (tolerance
# 1e-7). Every margin is at least 1e-3 from the kink, and the step is 1e-5.
@graded(cell="svm_loss", kind="gradcheck", points=0.75)
def test_svm_loss_gradient(student, ref):
    scores, y = _scores_away_from_kinks(np.random.default_rng(2606), 6, 5)
    _expect_dscores(student, ref, "svm_loss", scores, y)


@graded(cell="svm_loss", kind="property", points=0.5)
def test_svm_loss_zero_when_margins_met_and_C_minus_1_when_tied(student, ref, rng):
    N, C = 5, 4
    y = rng.integers(0, C, size=N)
    scores = rng.uniform(-0.2, 0.2, size=(N, C))
    scores[np.arange(N), y] += 1.5  # the correct class wins by more than the margin 1
    loss, dscores = _call_loss(student, "svm_loss", scores, y)
    if loss != 0.0 or np.any(dscores != 0.0):
        raise Fail(
            "when every correct score beats the others by more than 1, the SVM loss and its "
            f"gradient should be exactly 0 (got loss {loss:.3g}, largest |dscores| "
            f"{np.abs(dscores).max():.3g})"
        )
    loss, _ = _call_loss(student, "svm_loss", np.full((N, C), 0.7), y)
    if abs(loss - (C - 1)) > 1e-12:
        raise Fail(
            f"when all scores are equal every incorrect class violates the margin by 1, so the "
            f"loss should be C - 1 = {C - 1} (got {loss:.6g}); does the correct class count itself?"
        )


@graded(
    cell="svm_loss",
    kind="integrity",
    points=0.75,
    requires=("svm_loss_matches_reference", "svm_loss_gradient"),
)
def test_svm_loss_at_margin_kinks(student, ref, rng):
    # In every row two incorrect classes sit within 1e-8 of the hinge's kink (random side).
    # An analytic gradient is exact there; centred differences return half the slope.
    N, C = 6, 5
    scores, y = rng.standard_normal((N, C)), rng.integers(0, C, size=N)
    for i in range(N):
        others = [j for j in range(C) if j != y[i]]
        for j in rng.choice(others, size=2, replace=False):
            scores[i, j] = scores[i, y[i]] - 1.0 + 1e-8 * rng.choice([-1.0, 1.0])
    _, dscores = _call_loss(student, "svm_loss", scores, y)
    expect_close(
        "dscores with margins 1e-8 from the kink", dscores, ref.svm_loss(scores, y)[1], 1e-8
    )


# Size: scores (5000, 10) = 50 000 entries; the reference takes 0.35 ms (budget: the 2 s floor);
# a gradient by centred differences needs 100 000 loss evaluations of 0.35 ms (~35 s). The
# course notes' loop version (svm_loss_naive, a VARIANT in the catalogue) scores full marks.
test_svm_loss_fast = _loss_fast_test("svm_loss", 2607)


# ---------------------------------------------------------------------------- 5. softmax loss (3)
@graded(cell="softmax_loss", kind="forward", points=0.75)
def test_softmax_loss_matches_reference(student, ref, rng):
    _expect_loss_values(student, ref, "softmax_loss", "softmax", rng)


# Reference: dscores 6.2e-11 against centred differences of its own loss on this input, at most
# 1.1e-10 over 22 random draws; the log-sum-exp variant at most 9.9e-11 (tolerance 1e-7).
@graded(cell="softmax_loss", kind="gradcheck", points=0.75)
def test_softmax_loss_gradient(student, ref):
    rng = np.random.default_rng(2608)
    scores, y = rng.standard_normal((6, 5)), rng.integers(0, 5, size=6)
    _expect_dscores(student, ref, "softmax_loss", scores, y)


@graded(cell="softmax_loss", kind="property", points=0.75)
def test_softmax_loss_is_stable_for_large_scores(student, ref, rng):
    # Scores of typical size 1000 (exp overflows above 709): the row maximum must be subtracted.
    scores, y = 1000.0 * rng.standard_normal((5, 4)), rng.integers(0, 4, size=5)
    scores[0, y[0]] = scores[0].max() + 1.0  # a confident correct example: loss ~ e^-1000
    loss, dscores = _call_loss(student, "softmax_loss", scores, y)
    ref_loss, ref_d = ref.softmax_loss(scores, y)
    _expect_scalar_close("the softmax loss for scores of size ~1000", loss, ref_loss, 1e-10)
    expect_close("dscores for scores of size ~1000", dscores, ref_d, 1e-10)


@graded(cell="softmax_loss", kind="property", points=0.5)
def test_softmax_loss_uniform_scores_give_ln_C(student, ref, rng):
    N, C = 4, 6
    y = rng.integers(0, C, size=N)
    loss, dscores = _call_loss(student, "softmax_loss", np.full((N, C), 2.5), y)
    if abs(loss - np.log(C)) > 1e-12:
        raise Fail(f"with equal scores the loss should be ln C = {np.log(C):.6f}, got {loss:.6f}")
    expected = np.full((N, C), 1.0 / C)
    expected[np.arange(N), y] -= 1.0
    expect_close(
        "dscores with equal scores, against the reference's dscores,", dscores, expected / N, 1e-12
    )


# Size: scores (5000, 10); reference 0.7 ms (budget: the 2 s floor); centred differences need
# 100 000 loss evaluations (~65 s).
test_softmax_loss_fast = _loss_fast_test("softmax_loss", 2609)


# ------------------------------------------------------------------------------- 6. two-layer (6)
def _net_problem(seed, N=5, D=4, H=6, C=3, margin=1e-3):
    """Generic parameters and data whose hidden pre-activations all stay away from the kink."""
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((N, D)), rng.integers(0, C, size=N)
    params = {
        "W1": rng.standard_normal((D, H)) / np.sqrt(D),
        "b1": 0.5 * rng.standard_normal(H),
        "W2": rng.standard_normal((H, C)),
        "b2": 0.5 * rng.standard_normal(C),
    }
    while np.any(np.abs(X @ params["W1"] + params["b1"]) < margin):
        params["b1"] = 0.5 * rng.standard_normal(H)
    return params, (X, y)


# two_layer_loss is built from the student's layers and loss of parts 2, 3 and 5.
_TWO_LAYER_USES = ("affine", "relu", "softmax_loss")


def _two_layer_loss(student, params, batch, **kw):
    """The student's two_layer_loss as a pair (loss, grads), its elements unchecked."""
    value = student.call("two_layer_loss", params, batch, **kw)
    return expect_tuple(value, "two_layer_loss", 2, "loss, grads")


@graded(cell="two_layer", kind="forward", points=0.75, uses=_TWO_LAYER_USES)
def test_two_layer_loss_matches_reference(student, ref):
    for seed, shape in [(1, (5, 4, 6, 3)), (2, (1, 3, 4, 2)), (3, (9, 2, 16, 5))]:
        params, batch = _net_problem(2610 + seed, *shape)
        loss, _ = _two_layer_loss(student, params, batch)
        N, D, H, C = shape
        _expect_scalar_close(
            f"the loss for N={N}, D={D}, H={H}, C={C}",
            loss,
            ref.two_layer_loss(params, batch)[0],
            1e-10,
        )


# Whole model: 8 sampled coordinates plus one random direction per parameter, centred
# differences of the student's own loss. Reference, every coordinate, 5 problems (this one and seeds
# 1..4): W1 4.8e-11, b1 3.1e-11, W2 4.5e-11, b2 5.2e-11 (tolerance 1e-6, the engine's default for
# whole-model checks).
@graded(cell="two_layer", kind="gradcheck", points=0.5, uses=_TWO_LAYER_USES)
@pytest.mark.parametrize("param", ["W1", "b1", "W2", "b2"])
def test_two_layer_loss_gradcheck(student, ref, memo, param):
    params, batch = _net_problem(2611)
    report = loss_gradcheck(
        student, ref, "two_layer_loss", params, batch, n_coords=8, seed=13, memo=memo
    )
    expect_params(report, [param], "two_layer_loss")


@graded(cell="two_layer", kind="property", points=0.75, uses=_TWO_LAYER_USES)
def test_two_layer_loss_regularisation(student, ref):
    params, batch = _net_problem(2612)
    loss, grads = _two_layer_loss(student, params, batch, reg=0.3)
    ref_loss, ref_grads = ref.two_layer_loss(params, batch, reg=0.3)
    _expect_scalar_close("the loss with reg=0.3", loss, ref_loss, 1e-10)
    grads = expect_keys(grads, list(params), "the grads returned by two_layer_loss")
    for k in params:
        expect_close(f"grads[{k!r}] with reg=0.3", grads[k], ref_grads[k], 1e-8)


# Training on fixed data: spiral(20 per class, seed 100), H=32, Adam lr 3e-2, 60 steps.
# Reference, mean of the last 5 losses / first loss, params seeds 0..5 (data seeds 100+seed):
# 0.176, 0.123, 0.092, 0.111, 0.123, 0.093 -> threshold 0.3. This test uses seed 0. The loss
# curve must track the reference's to a relative 1e-6 at every step (differently written
# correct code agrees to ~1e-13). The reference run takes ~15 ms in-process.
TRAIN_STEPS, TRAIN_LR, TRAIN_RATIO = 60, 3e-2, 0.3
TRAINING = dict(
    steps=TRAIN_STEPS, lr=TRAIN_LR, max_ratio=TRAIN_RATIO, track_tol=1e-6, max_seconds=5.0
)


def _train_problem(ref):
    X, y = spiral(20, 3, seed=100)
    return ref.init_two_layer(2, 32, 3, seed=0), (X, y)


@graded(cell="two_layer", kind="training", points=1.5, uses=_TWO_LAYER_USES)
def test_two_layer_training_reduces_loss_like_reference(student, ref):
    params, batch = _train_problem(ref)

    def batches(step):
        return batch

    expect_trains_like_reference(student, ref, "two_layer_loss", params, batches, **TRAINING)


# Size: D=200, H=200, C=10 (42 210 parameters), N=100. The reference takes 0.8 ms (budget: the
# 2 s floor); gradients by centred differences need 84 420 loss evaluations of 0.8 ms (~65 s).
@graded(
    cell="two_layer",
    kind="integrity",
    points=1.0,
    uses=_TWO_LAYER_USES,
    requires=("two_layer_loss_matches_reference", "two_layer_loss_gradcheck"),
)
def test_two_layer_loss_fast(student, ref):
    rng = np.random.default_rng(2613)
    params = {
        "W1": rng.standard_normal((200, 200)) / np.sqrt(200),
        "b1": np.zeros(200),
        "W2": rng.standard_normal((200, 10)) / np.sqrt(200),
        "b2": np.zeros(10),
    }
    batch = (rng.standard_normal((100, 200)), rng.integers(0, 10, size=100))
    expect_call_fast(student, ref, "two_layer_loss", (params, batch))


# -------------------------------------------------------------------------------- 7. optimisers (5)
def _quadratic(seed):
    """A fixed ill-conditioned quadratic 0.5 * sum(a * theta^2) over a dict of two arrays."""
    rng = np.random.default_rng(seed)
    a = {"w": np.exp(rng.uniform(-2, 2, size=(3, 4))), "b": np.exp(rng.uniform(-2, 2, size=4))}
    theta = {"w": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    return a, theta


def _trajectory(step, a, theta, state, steps, **kw):
    """Parameters after each of ``steps`` steps on the quadratic (``state`` None: plain SGD)."""
    out = []
    for _ in range(steps):
        grads = {k: a[k] * theta[k] for k in theta}
        if state is None:
            theta = step(theta, grads, **kw)
        else:
            theta, state = step(theta, grads, state, **kw)
        out.append(theta)
    return out


def _student_step(student, fn, has_state, inputs_unchanged=False):
    """The student's optimiser step as a local function, its results validated; with
    ``inputs_unchanged``, a step that changes the arrays it was given fails (the notebook: "Return
    new dicts ... rather than changing the arrays you were given")."""

    def step(theta, grads, *state, **kw):
        res = student.call(fn, theta, grads, *state, **kw)
        if inputs_unchanged:
            expect_inputs_unchanged(student, fn)
        if has_state:
            res, new_state = expect_tuple(res, fn, 2, "new_params, new_state")
        res = expect_keys(res, list(theta), f"the params returned by {fn}")
        new = {
            k: expect_array(res[k], theta[k].shape, f"params[{k!r}] returned by {fn}")
            for k in theta
        }
        return (new, new_state) if has_state else new

    return step


def _compare_trajectories(fn, got, expected, what):
    for t, (g, e) in enumerate(zip(got, expected)):
        for k in e:
            err = np.abs(g[k] - e[k]).max() / (1.0 + np.abs(e[k]).max())
            if err > 1e-10:
                raise Fail(
                    f"{fn} ({what}): params[{k!r}] after step {t + 1} differ from the expected "
                    f"update (relative difference {err:.1e})"
                )


def _expect_stateful_trajectories(student, ref, fn, init, seed, settings):
    """For each keyword set in ``settings``: 12 steps of the student's ``fn`` on the quadratic of
    ``seed``, from the state the student's ``init`` makes, against the reference's ``fn`` from
    the reference's ``init`` (the student's step must leave its inputs unchanged)."""
    a, theta = _quadratic(seed)
    for kw in settings:
        st = student.call(init, theta)
        step = _student_step(student, fn, True, inputs_unchanged=True)
        got = _trajectory(step, a, theta, st, 12, **kw)
        exp = _trajectory(getattr(ref, fn), a, theta, getattr(ref, init)(theta), 12, **kw)
        _compare_trajectories(fn, got, exp, f"{kw}, 12 steps on a quadratic")


@graded(cell="optim", kind="forward", points=1.0)
def test_sgd_step_trajectory_matches_reference(student, ref):
    a, theta = _quadratic(2614)
    step = _student_step(student, "sgd_step", False, inputs_unchanged=True)
    got = _trajectory(step, a, theta, None, 10, lr=0.3)
    exp = _trajectory(ref.sgd_step, a, theta, None, 10, lr=0.3)
    _compare_trajectories("sgd_step", got, exp, "lr=0.3, 10 steps on a quadratic")


@graded(cell="optim", kind="forward", points=1.0)
def test_sgd_momentum_trajectory_matches_reference(student, ref):
    settings = ({"lr": 0.1}, {"lr": 0.2, "mu": 0.5})
    _expect_stateful_trajectories(
        student, ref, "sgd_momentum_step", "init_momentum_state", 2615, settings
    )


@graded(cell="optim", kind="forward", points=1.5)
def test_adam_trajectory_matches_reference(student, ref):
    settings = ({"lr": 0.05}, {"lr": 0.1, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3})
    _expect_stateful_trajectories(student, ref, "adam_step", "init_adam_state", 2616, settings)


@graded(cell="optim", kind="property", points=0.5)
def test_adam_first_step_moves_each_parameter_by_lr(student, ref, rng):
    # Bias correction makes the first step -lr * g / (|g| + eps): ~lr whatever the gradient's scale.
    theta = {"w": rng.standard_normal((2, 3)), "b": rng.standard_normal(3)}
    # Gradient entries of size 1e-3..2e-3 and 100..200 (never near 0, where eps would matter).
    sizes = {"w": 1e-3 * (1 + rng.random((2, 3))), "b": 1e2 * (1 + rng.random(3))}
    grads = {k: v * rng.choice([-1.0, 1.0], size=v.shape) for k, v in sizes.items()}
    res = student.call("adam_step", theta, grads, ref.init_adam_state(theta), 0.01)
    new, _ = expect_tuple(res, "adam_step", 2, "new_params, new_state")
    new = expect_keys(new, ["w", "b"], "the params returned by adam_step")
    for k in theta:
        step = expect_array(new[k], theta[k].shape, f"params[{k!r}]") - theta[k]
        expected = -0.01 * np.sign(grads[k])
        dev = np.abs(step - expected).max()
        if not dev <= 1e-4 * 0.01:
            raise Fail(
                f"Adam's first step should move every entry of params[{k!r}] by about lr = 0.01 "
                f"against its gradient's sign; the largest deviation is {dev:.2e} "
                "(bias correction: m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t), t = 1)"
            )


# Training: the trusted side computes the gradients (reference two_layer_loss on the problem of
# the two-layer training test), the student's adam_step makes the updates, 60 steps. Reference
# ratios as there (0.092-0.176 over 6 seeds) -> threshold 0.3; the curve must track the
# reference's to a relative 1e-8 (it is the same arithmetic: measured 2e-16).
@graded(cell="optim", kind="training", points=1.0)
def test_adam_trains_two_layer_net_like_reference(student, ref):
    params, batch = _train_problem(ref)

    def run(step_fn, state):
        p, losses = {k: v.copy() for k, v in params.items()}, []
        for _ in range(TRAIN_STEPS):
            loss, grads = ref.two_layer_loss(p, batch)
            losses.append(loss)
            p, state = step_fn(p, grads, state, lr=TRAIN_LR)
        return np.array(losses)

    losses = run(_student_step(student, "adam_step", True), student.call("init_adam_state", params))
    ref_losses = run(ref.adam_step, ref.init_adam_state(params))
    if not np.all(np.isfinite(losses)):
        raise Fail(
            "training with your adam_step: the loss became NaN or inf at step "
            f"{int(np.argmin(np.isfinite(losses)))}"
        )
    expect_loss_decreases(losses, TRAIN_RATIO, TRAIN_STEPS)
    expect_curve_tracks(
        losses,
        ref_losses,
        1e-8,
        what="the loss curve of training with your adam_step",
        hint="its updates differ from Adam's",
    )


# -------------------------------------------------------------------------------------- 8. conv (5)
@graded(cell="conv", kind="forward", points=1.5)
def test_conv_naive_forward_matches_reference(student, ref, rng):
    cases = [
        ("stride 1, pad 0", (2, 3, 5, 5), (4, 3, 3, 3), 1, 0),
        ("stride 2, pad 1", (2, 3, 5, 5), (4, 3, 3, 3), 2, 1),
        ("batch 1, one channel, 1x1 filters", (1, 1, 4, 3), (2, 1, 1, 1), 1, 0),
        (
            "a 2x3 filter on a 6x7 image, stride 2 (windows that do not fit are dropped)",
            (2, 2, 6, 7),
            (3, 2, 2, 3),
            2,
            0,
        ),
        ("pad 2, filter as large as the image", (1, 2, 3, 3), (2, 2, 3, 3), 1, 2),
    ]
    for what, xs, ws, stride, pad in cases:
        x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
        fn = "conv_naive_forward"
        _expect_outputs(student, ref, fn, ("out",), what, 1e-10, x, w, b, stride=stride, pad=pad)


def _conv_inputs(seed, x_shape, w_shape):
    """Random x, w and b for conv_naive_forward with stride 1 and pad 1."""
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    return dict(x=x, w=w, b=rng.standard_normal(w_shape[0]), stride=1, pad=1)


# Reference: dx 5.7e-11, dw 4.7e-11, db 1.1e-10 against centred differences of its own forward
# (tolerance 1e-7); overlapping windows, padding.
@graded(cell="conv", kind="gradcheck", points=0.75)
@pytest.mark.parametrize("grad", ["dx", "dw", "db"])
def test_conv_naive_backward_gradcheck(student, ref, memo, grad):
    _gradcheck(
        student, ref, memo, "conv_naive", _conv_inputs(2617, (2, 2, 4, 5), (3, 2, 3, 3)), grad
    )


@graded(cell="conv", kind="property", points=0.5)
def test_conv_delta_filter_shifts_the_image(student, ref, rng):
    # Filter f = a 1 at the top-left corner of channel f: with pad 1 this copies channel f moved
    # one pixel down and right (cross-correlation: the filter is not flipped).
    x = rng.standard_normal((2, 2, 5, 6))
    w = np.zeros((2, 2, 3, 3))
    w[0, 0, 0, 0] = w[1, 1, 0, 0] = 1.0
    out, _ = call_forward(
        student, "conv_naive_forward", x, w, np.zeros(2), stride=1, pad=1, n_outputs=1
    )
    out = expect_array(out, (2, 2, 5, 6), "out")
    expected = np.zeros_like(x)
    expected[:, :, 1:, 1:] = x[:, :, :-1, :-1]
    if np.abs(out - expected).max() > 1e-12:
        raise Fail(
            "a filter with a single 1 in its top-left corner (pad 1) should shift the image one "
            "pixel down and right; is the filter flipped, or the padding misplaced?"
        )


# Size: x (10, 4, 16, 16) = 10 240 inputs, w (8, 4, 3, 3), pad 1. The reference backward takes
# 18 ms (budget: the 2 s floor); a backward with four nested Python loops over (N, F, i, j), a
# VARIANT in the catalogue, took 0.3 s under load and scores full marks; centred differences
# need 2 x 10 528 forward calls of 7 ms (~145 s).
@graded(cell="conv", kind="integrity", points=0.75, requires=("conv_naive_backward_gradcheck",))
def test_conv_naive_backward_fast(student, ref):
    inputs = _conv_inputs(2618, (10, 4, 16, 16), (8, 4, 3, 3))
    expect_backward_fast(student, ref, "conv_naive_forward", "conv_naive_backward", inputs)


# -------------------------------------------------------------------------------- 9. kNN (3)
def _knn_data(rng, M, N, D, scale=1.0):
    """Generic test and training rows (no two rows equal, so no distance is 0)."""
    return scale * rng.standard_normal((M, D)), scale * rng.standard_normal((N, D))


# Reference against a double loop over the pairs (sqrt(sum((a - b)**2))) on these inputs:
# at most 6e-17 (norm-wise); the one-loop variant within 1.2e-16 of the reference (tolerance
# 1e-10).
@graded(cell="knn", kind="forward", points=1.25)
def test_knn_distances_matches_reference(student, ref, rng):
    for M, N, D, scale in [(5, 7, 3, 1.0), (1, 1, 4, 1.0), (20, 30, 100, 1.0), (6, 4, 10, 50.0)]:
        X_test, X_train = _knn_data(rng, M, N, D, scale)
        got = student.call("knn_distances", X_test, X_train)
        what = f"knn_distances for X_test ({M}, {D}) and X_train ({N}, {D})"
        expect_close(what, got, ref.knn_distances(X_test, X_train), tol=1e-10)


# Size: 500 test and 2000 training rows of 100 pixels (the notebook's images are 100 pixels).
# The reference took 0.11 s under heavy load (load average 11 on 2 cores, so the budget is
# max(2 s, 50 x reference)); a loop over the test rows with broadcasting (the one-loop VARIANT)
# 0.40 s; a double loop over the 10^6 pairs (a MUTANT) about 14 s.
@graded(cell="knn", kind="integrity", points=0.5, requires=("knn_distances_matches_reference",))
def test_knn_distances_vectorised(student, ref):
    X_test, X_train = _knn_data(np.random.default_rng(2619), 500, 2000, 100)
    try:
        expect_call_fast(student, ref, "knn_distances", (X_test, X_train))
    except Fail as slow:
        raise Fail(
            f"knn_distances on 500 test and 2000 training rows of 100 pixels is too slow "
            f"({str(slow).split(';')[0].removeprefix('knn_distances ')}; the budget is 50 times "
            "the reference's time, at least 2 s): compute all the pairs at once, without a "
            "Python loop over the pairs"
        ) from None


def _expect_votes(student, ref, dists, y_train, k, what):
    got = student.call("knn_predict", dists, y_train, k)
    got = expect_array(got, (dists.shape[0],), f"the labels returned by knn_predict ({what})")
    expected = ref.knn_predict(dists, y_train, k)
    wrong = np.flatnonzero(got != expected)
    if wrong.size:
        raise Fail(
            f"knn_predict ({what}) returns the wrong label for {wrong.size} of "
            f"{dists.shape[0]} test examples (first at row {int(wrong[0])}); compared with the "
            "majority vote of the k nearest (smallest distances), ties between labels going to "
            "the smallest label"
        )


# Continuous random distances: no two equal, so the k nearest are never ambiguous. Ties between
# labels do occur (k even, or several labels with one vote each) and follow the docstring's rule.
@graded(cell="knn", kind="forward", points=1.0)
def test_knn_predict_matches_reference(student, ref, rng):
    for M, N, C, k in [
        (30, 40, 3, 1),
        (30, 40, 3, 3),
        (25, 50, 4, 4),
        (20, 60, 5, 7),
        (10, 9, 3, 9),
    ]:
        dists = rng.random((M, N))
        y_train = rng.integers(0, C, size=N)
        y_train[:C] = np.arange(C)  # every label present
        _expect_votes(student, ref, dists, y_train, k, f"M={M}, N={N}, C={C}, k={k}")


@graded(cell="knn", kind="property", points=0.25)
def test_knn_predict_breaks_vote_ties_by_smallest_label(student, ref):
    # Row 0: nearest labels 2, 1, 2 (k = 2: a tie, 1 wins; k = 3: 2). Row 1: nearest labels 2, 0,
    # 1 (k = 2 and k = 3: ties, 0 wins).
    y_train = np.array([2, 1, 0, 1, 2])
    dists = np.array([[0.1, 0.2, 0.9, 0.8, 0.7], [0.9, 0.3, 0.2, 0.8, 0.1]])
    for k, expected in [(2, [1, 0]), (3, [2, 0])]:
        got = expect_array(student.call("knn_predict", dists, y_train, k), (2,), "the labels")
        if list(got) != expected:
            raise Fail(
                f"knn_predict with k={k} on a hand-made example with tied votes returned "
                f"{list(got)}, expected {expected}: when labels tie for the most votes, the "
                "smallest label wins"
            )


# --------------------------------------------------------------------------- 10. max pooling (4)
def _pool_input(seed, shape, gap=1e-3):
    """Inputs without ties: distinct values, the two largest of every 2x2 window at least ``gap``
    apart (a permutation of 0, 0.01, 0.02, ... plus noise below ``gap``)."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    return rng.permutation(size).reshape(shape) * 0.01 + gap * 0.9 * rng.random(shape) - 1.0


@graded(cell="max_pool", kind="forward", points=1.0)
def test_max_pool_forward_matches_reference(student, ref, rng):
    for shape in [(2, 3, 4, 6), (1, 1, 2, 2), (3, 2, 8, 4)]:
        x = rng.standard_normal(shape)
        _expect_outputs(student, ref, "max_pool_forward", ("out",), f"x of shape {shape}", 1e-12, x)


# Reference: dx 1.0e-12..6.6e-12 against centred differences of its own forward on this input
# and seeds 0..9 of the upstream (tolerance 1e-7); the loop variant the same.
@graded(cell="max_pool", kind="gradcheck", points=1.25)
def test_max_pool_backward_gradcheck(student, ref, memo):
    x = _pool_input(2620, (2, 3, 4, 6))
    _gradcheck(student, ref, memo, "max_pool", dict(x=x), "dx")


@graded(
    cell="max_pool",
    kind="integrity",
    points=0.75,
    requires=("max_pool_forward_matches_reference", "max_pool_backward_gradcheck"),
)
def test_max_pool_backward_near_ties(student, ref, rng):
    # In every window the runner-up is 1e-8 below the maximum (no exact ties). An analytic
    # backward routes the gradient to the maximum; centred differences (step ~1e-5) straddle the
    # near-tie and split it.
    N, C, H, W = 2, 2, 4, 6
    x = rng.standard_normal((N, C, H, W))
    win = x.reshape(N, C, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4)
    for row in win:
        i, j = rng.choice(4, size=2, replace=False)
        row[i] = np.abs(row).max() + 1.0
        row[j] = row[i] - 1e-8
    x = win.reshape(N, C, H // 2, W // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H, W)
    dout = rng.standard_normal((N, C, H // 2, W // 2))
    expect_backward_like_reference(
        student,
        ref,
        "max_pool_forward",
        "max_pool_backward",
        dict(x=x),
        [dout],
        ["dx"],
        "with the two largest entries of every window 1e-8 apart",
    )


# Size: x (16, 8, 32, 32) = 131 072 entries. The reference backward takes 0.4 ms (budget: the
# 2 s floor); the loop VARIANT 23 ms; centred differences need 2 x 131 072 forward calls of
# 2.3 ms (~10 min), all measured under a load average of 11 on 2 cores.
@graded(cell="max_pool", kind="integrity", points=1.0, requires=("max_pool_backward_gradcheck",))
def test_max_pool_backward_fast(student, ref):
    x = _pool_input(2621, (16, 8, 32, 32))
    expect_backward_fast(student, ref, "max_pool_forward", "max_pool_backward", dict(x=x))


# --------------------------------------------------------- 11. a small convolutional network (3)
# conv_net_loss chains the student's layers of parts 2, 3, 8 and 10 and the loss of part 5;
# conv_net_score_gradient the same layers without the loss.
_CONV_NET_USES = ("affine", "relu", "conv", "max_pool", "softmax_loss")
_SCORE_GRADIENT_USES = ("affine", "relu", "conv", "max_pool")


def _conv_net_problem(ref, seed, N=3, C=2, H=6, W=8, F=3, K=4, margin=2e-3):
    """Generic conv-net parameters and images, redrawn until every pre-activation is ``margin``
    away from the ReLU kink and the largest entry of every pooling window, when positive, is
    ``margin`` above the runner-up (a nudge of any parameter or pixel moves a pre-activation by
    at most ~2e-4 here, so centred differences never cross a kink)."""
    rng = np.random.default_rng(seed)
    P, Q = (H - 2) // 2, (W - 2) // 2
    while True:
        params = {
            "w": rng.standard_normal((F, C, 3, 3)) / 3.0,
            "b": 0.3 * rng.standard_normal(F),
            "W": rng.standard_normal((F * P * Q, K)),
            "bW": 0.3 * rng.standard_normal(K),
        }
        X, y = rng.standard_normal((N, C, H, W)), rng.integers(0, K, size=N)
        a = ref.conv_naive_forward(X, params["w"], params["b"])[0]  # (N, F, H-2, W-2)
        win = np.maximum(a, 0.0).reshape(N, F, P, 2, Q, 2).transpose(0, 1, 2, 4, 3, 5)
        top2 = np.sort(win.reshape(-1, 4), axis=1)[:, 2:]  # (windows, 2): runner-up, maximum
        gaps = top2[:, 1] - top2[:, 0]
        if np.abs(a).min() > margin and np.all((top2[:, 1] == 0.0) | (gaps > margin)):
            return params, (X, y)


_CONV_NET_SHAPES = [
    dict(),
    dict(N=1, C=1, H=4, W=4, F=2, K=2),
    dict(N=5, C=1, H=10, W=10, F=6, K=3),
]


def _score_gradient(student, params, X, y):
    """The student's conv_net_score_gradient as a pair (scores, dX), its elements unchecked."""
    value = student.call("conv_net_score_gradient", params, X, y)
    return expect_tuple(value, "conv_net_score_gradient", 2, "scores, dX")


@graded(cell="conv_net", kind="forward", points=0.5, uses=_CONV_NET_USES)
def test_conv_net_loss_matches_reference(student, ref):
    for k, shape in enumerate(_CONV_NET_SHAPES):
        params, batch = _conv_net_problem(ref, 2630 + k, **shape)
        value = student.call("conv_net_loss", params, batch)
        loss, _ = expect_tuple(value, "conv_net_loss", 2, "loss, grads")
        _expect_scalar_close(
            f"the loss of conv_net_loss for X of shape {batch[0].shape} and "
            f"{params['bW'].size} classes",
            loss,
            ref.conv_net_loss(params, batch)[0],
            1e-10,
        )


@graded(cell="conv_net", kind="forward", points=0.25, uses=_SCORE_GRADIENT_USES)
def test_conv_net_scores_match_reference(student, ref):
    for k, shape in enumerate(_CONV_NET_SHAPES):
        params, (X, y) = _conv_net_problem(ref, 2630 + k, **shape)
        scores, _ = _score_gradient(student, params, X, y)
        expect_close(
            f"the scores returned by conv_net_score_gradient for X of shape {X.shape}",
            scores,
            ref.conv_net_score_gradient(params, X, y)[0],
            1e-10,
        )


# Whole model: 8 sampled coordinates plus one random direction per parameter, centred
# differences of the student's own loss. Reference, every coordinate, this problem and seeds
# 2635..2639: w 6.4e-11, b 2.1e-11, W 5.4e-11, bW 8.0e-11 at worst (tolerance 1e-6, the engine's
# default for whole-model checks); the inline VARIANT the same to 2 digits.
@graded(cell="conv_net", kind="gradcheck", points=0.25, uses=_CONV_NET_USES)
@pytest.mark.parametrize("param", ["w", "b", "W", "bW"])
def test_conv_net_loss_gradcheck(student, ref, memo, param):
    params, batch = _conv_net_problem(ref, 2634)
    report = loss_gradcheck(
        student, ref, "conv_net_loss", params, batch, n_coords=8, seed=13, memo=memo
    )
    expect_params(report, [param], "conv_net_loss")


# dX against centred differences of sum_n scores[n, y[n]], the scores the student's own
# conv_net_score_gradient returns, at every pixel. Reference: 8.7e-11 at worst on this problem
# and seeds 2636..2640 (tolerance 1e-7); the inline VARIANT the same to 2 digits.
@graded(cell="conv_net", kind="gradcheck", points=0.5, uses=_SCORE_GRADIENT_USES)
def test_conv_net_score_gradient_gradcheck(student, ref):
    params, (X, y) = _conv_net_problem(ref, 2635)
    _, dX = _score_gradient(student, params, X, y)
    onehot = np.zeros((len(y), params["bW"].size))
    onehot[np.arange(len(y)), y] = 1.0
    num = student_numerical_gradient(
        student, "conv_net_score_gradient", dict(params=params, X=X, y=y), "X", [onehot]
    )
    flat = numerically_flat(num, ref.conv_net_score_gradient(params, X, y)[1])
    expect_matches_numerical(
        compare("dX", dX, num, quantities=quantities_of({"X": X, "params": params})),
        "dX returned by conv_net_score_gradient",
        "the sum of the correct classes' scores your own conv_net_score_gradient returns",
        tol=1e-7,
        subject="your dX",
        degenerate=(
            "cannot be checked: the scores your conv_net_score_gradient returns do not change "
            "when the images change (their numerical derivative is zero), so the scores "
            "themselves are wrong; fix them first"
        )
        if flat
        else None,
    )


def _conv_net_big(seed):
    """A realistic-size conv net: 16 filters 3x3 on 3-channel 12x12 images, 10 classes, N=32."""
    rng = np.random.default_rng(seed)
    params = {
        "w": rng.standard_normal((16, 3, 3, 3)) / np.sqrt(27),
        "b": np.zeros(16),
        "W": rng.standard_normal((16 * 5 * 5, 10)) / 20.0,
        "bW": np.zeros(10),
    }
    X, y = rng.standard_normal((32, 3, 12, 12)), rng.integers(0, 10, size=32)
    return params, X, y


# Size: 4 442 parameters, X (32, 3, 12, 12) = 13 824 pixels. The reference conv_net_loss and
# conv_net_score_gradient each take 10 ms (budget: the 2 s floor; one conv_naive_forward alone
# takes 3.3 ms); gradients by centred differences need 8 884 loss evaluations (~45 s) or 27 648
# forward passes (~2 min). Measured in-process, one BLAS thread, load average ~4 on 2 cores.
@graded(
    cell="conv_net",
    kind="integrity",
    points=0.5,
    uses=_CONV_NET_USES,
    requires=("conv_net_loss_matches_reference", "conv_net_loss_gradcheck"),
)
def test_conv_net_loss_fast(student, ref):
    params, X, y = _conv_net_big(2641)
    expect_call_fast(student, ref, "conv_net_loss", (params, (X, y)))


@graded(
    cell="conv_net",
    kind="integrity",
    points=0.25,
    uses=_SCORE_GRADIENT_USES,
    requires=("conv_net_scores_match_reference", "conv_net_score_gradient_gradcheck"),
)
def test_conv_net_score_gradient_fast(student, ref):
    params, X, y = _conv_net_big(2642)
    expect_call_fast(student, ref, "conv_net_score_gradient", (params, X, y))
