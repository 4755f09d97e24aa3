"""Hidden tests for 06_pointer_networks (Vinyals, Fortunato & Jaitly, Pointer Networks).

Grade cells and points: pointer 12 (pointer_forward, pointer_backward), pointer_nll 4,
ptrnet_loss 10, greedy_decode 5 (31 in all). Gradient checks compare the student's gradients
with numerical differentiation of the student's OWN forward (or loss), at 1e-7 per layer and
1e-6 for the whole loss, so a wrong forward is charged to the forward tests alone. Every
threshold was measured on the reference (the source notebook's code) and on the catalogue's
correct variants; the numbers are written beside it. Nothing here involves chance: every input
is drawn from a fixed seed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from autograder.testing import Fail
from autograder.testing import call_forward
from autograder.testing import expect_array
from autograder.testing import expect_backward_fast
from autograder.testing import expect_call_fast
from autograder.testing import expect_close
from autograder.testing import expect_curve_tracks
from autograder.testing import expect_gradient
from autograder.testing import expect_inputs_unchanged
from autograder.testing import expect_keys
from autograder.testing import expect_loss_decreases
from autograder.testing import expect_loss_pair
from autograder.testing import expect_matches_numerical
from autograder.testing import expect_params
from autograder.testing import expect_tuple
from autograder.testing import graded
from autograder.testing import layer_gradcheck
from autograder.testing import loss_gradcheck
from autograder.testing import train_with_student
from given.diagnosis import quantities_of
from given.gradcheck import compare
from given.gradcheck import step_size
from given.optim import train
from s30kit.data.pointer import fixed_batches
from s30kit.data.pointer import sorting_batch

POINTER_GRADS = ["dE", "dd", "dW1", "dW2", "dv"]


# ------------------------------------------------------------------------------ helpers
def _pointer_inputs(rng, B, n, H, A, mask=None):
    """Pointer inputs; without a mask, each position is available with probability 0.6 and
    every row keeps at least one available position."""
    if mask is None:
        mask = rng.random((B, n)) < 0.6
        mask[np.arange(B), rng.integers(0, n, B)] = True
    return dict(
        E=rng.standard_normal((B, n, H)),
        d=rng.standard_normal((B, H)),
        W1=rng.standard_normal((H, A)),
        W2=rng.standard_normal((H, A)),
        v=rng.standard_normal(A),
        mask=np.asarray(mask, dtype=bool),
    )


def _pointer_p(student, inputs, what):
    """The student's p for ``inputs`` (its cache kept in the worker) and the cache handle."""
    B, n = inputs["mask"].shape
    p, cache = call_forward(student, "pointer_forward", n_outputs=1, **inputs)
    return expect_array(p, (B, n), f"p of pointer_forward {what}"), cache


def _ptrnet_params(ref, encoder, seed, H=4, A=5, noise=1.0):
    """init_ptrnet's parameters moved away from their starting point, with W2 doubled: at the
    start (zero biases, small scores) the gradients of W2 and b_dec are ~1e-7, too small for a
    meaningful relative check."""
    rng = np.random.default_rng(seed)
    params = ref.init_ptrnet(H, A, encoder, rng)
    params = {k: v + noise * rng.standard_normal(v.shape) for k, v in params.items()}
    params["W2"] = 2.0 * params["W2"]
    return params


def _hand_sorter(rng):
    """A one-unit pointer network that sorts by construction: e_j = tanh(x_j), u_j =
    -5 tanh(e_j) (W2 = 0: the decoder does not matter), decreasing in x_j."""
    return {
        "W_el": np.ones((1, 1)),
        "b_el": np.zeros(1),
        "W_dec": rng.standard_normal((2, 4)),
        "b_dec": np.zeros(4),
        "W1": np.ones((1, 1)),
        "W2": np.zeros((1, 1)),
        "v": np.array([-5.0]),
    }


def _decode(student, params, x, what):
    """The student's greedy_decode(params, x) as (perm (B, n) int, P (B, n, n))."""
    B, n = x.shape
    perm, P = expect_tuple(student.call("greedy_decode", params, x), "greedy_decode", 2, "perm, P")
    perm = expect_array(perm, (B, n), f"perm of greedy_decode {what}")
    if not np.all(perm == np.round(perm)):
        raise Fail(f"perm of greedy_decode {what} should hold integer positions")
    P = expect_array(P, (B, n, n), f"P of greedy_decode {what}")
    return perm.astype(np.int64), P


# ------------------------------------------------------------------------------ pointer (12)
POINTER_CASES = {
    "B3_n6_H4_A5": (3, 6, 4, 5, None),
    "one_position_left": (2, 5, 3, 3, [[False, False, True, False, False], [True] * 5]),
    "n1": (2, 1, 2, 4, [[True], [True]]),
}


@graded(cell="pointer", kind="forward", points=0.5)
@pytest.mark.parametrize("case", list(POINTER_CASES))
def test_pointer_forward_matches_reference(student, ref, rng, case):
    B, n, H, A, mask = POINTER_CASES[case]
    inputs = _pointer_inputs(rng, B, n, H, A, mask)
    p, _ = _pointer_p(student, inputs, f"for E {(B, n, H)}, A = {A}")
    expect_inputs_unchanged(student, "pointer_forward")
    expect_close(
        f"p for E {(B, n, H)}, A = {A} and a mask", p, ref.pointer_forward(**inputs)[0], tol=1e-10
    )


@graded(cell="pointer", kind="property", points=1.5)
def test_pointer_forward_is_a_distribution_over_available_positions(student, ref, rng):
    inputs = _pointer_inputs(rng, 6, 9, 4, 6)
    mask = inputs["mask"]
    p, _ = _pointer_p(student, inputs, "with a mask")
    if np.any(p[~mask] != 0.0):
        raise Fail(
            "pointer_forward gives a masked position (mask False) a probability of "
            f"{np.abs(p[~mask]).max():.2e}; it should be exactly 0"
        )
    if np.any(p[mask] <= 0.0) or np.abs(p.sum(axis=1) - 1.0).max() > 1e-12:
        raise Fail(
            "the probabilities pointer_forward gives the available positions should be positive "
            f"and sum to 1 in every row (row sums {np.round(p.sum(axis=1), 6)})"
        )


@graded(cell="pointer", kind="property", points=1.0)
def test_pointer_forward_stable_at_large_scores(student, ref, rng):
    # Scores of order +-1000, and in row 0 the masked positions score far ABOVE the available
    # ones: a max taken over all positions (or an exp without a shift) gives 0/0 or inf/inf.
    inputs = _pointer_inputs(rng, 4, 7, 3, 5)
    inputs["v"] = 1000.0 * inputs["v"]
    u = np.tanh(inputs["E"] @ inputs["W1"] + (inputs["d"] @ inputs["W2"])[:, None]) @ inputs["v"]
    inputs["mask"][0] = u[0] < np.median(u[0])  # available: the lower half of row 0's scores
    p, _ = _pointer_p(student, inputs, "with scores of order 1000")
    if not np.all(np.isfinite(p)):
        raise Fail(
            "pointer_forward returned NaN or inf when the scores are of order +-1000 and some "
            "masked positions score higher than every available one: shift by the largest "
            "AVAILABLE score before exponentiating, and select with np.where rather than "
            "computing with -inf"
        )
    # Reference against the same softmax in extended precision (np.longdouble): 5.5e-17.
    expect_close("p with scores of order 1000", p, ref.pointer_forward(**inputs)[0], tol=1e-10)


# Reference, upstream seeds 0..9 on both inputs: dE 1.3e-10, dd 9.9e-11, dW1 2.0e-10,
# dW2 1.1e-10, dv 3.8e-10 at worst (tolerance 1e-7); the catalogue's variants at most 2.3e-10
# (einsum and log-softmax forms), 3.8e-10 (the others).
@graded(cell="pointer", kind="gradcheck", points=1.0)
@pytest.mark.parametrize("grad", POINTER_GRADS)
def test_pointer_backward_gradcheck(student, ref, memo, grad):
    for seed, shape in enumerate([(3, 6, 4, 5), (2, 4, 3, 2)]):
        inputs = _pointer_inputs(np.random.default_rng(600 + seed), *shape)
        res = layer_gradcheck(
            student,
            ref,
            "pointer_forward",
            "pointer_backward",
            inputs,
            wrt=["E", "d", "W1", "W2", "v"],
            seed=6,
            memo=memo,
        )
        expect_gradient(res, grad)


@graded(cell="pointer", kind="property", points=1.0)
def test_pointer_backward_masked_positions_get_exactly_zero(student, ref, rng):
    inputs = _pointer_inputs(rng, 4, 8, 3, 4)
    mask = inputs["mask"]
    _, cache = _pointer_p(student, inputs, "with a mask")
    dp = rng.standard_normal(mask.shape)  # nonzero at the masked positions too
    grads = expect_keys(
        student.call("pointer_backward", dp, cache), POINTER_GRADS, "pointer_backward's dict"
    )
    dE = expect_array(grads["dE"], inputs["E"].shape, "dE of pointer_backward")
    if np.any(dE[~mask] != 0.0) or not np.all(np.isfinite(dE)):
        raise Fail(
            "pointer_backward's dE is not exactly 0 at the masked positions (largest "
            f"{np.nanmax(np.abs(dE[~mask])):.2e}): a masked position's probability is the "
            "constant 0, so its encoder state cannot change the output"
        )


@graded(cell="pointer", kind="property", points=1.0)
def test_pointer_backward_row_constant_upstream_gives_zero(student, ref, rng):
    # The available probabilities sum to 1, so an upstream equal along each row changes nothing.
    inputs = _pointer_inputs(rng, 3, 6, 4, 5)
    _, cache = _pointer_p(student, inputs, "with a mask")
    dp = np.repeat(3.0 * rng.standard_normal((3, 1)), 6, axis=1)
    grads = expect_keys(
        student.call("pointer_backward", dp, cache), POINTER_GRADS, "pointer_backward's dict"
    )
    for key in POINTER_GRADS:
        g = np.asarray(grads[key], dtype=np.float64)
        # Reference and variants: largest entry 1.7e-15 over 10 draws (rounding error).
        if not np.all(np.isfinite(g)) or np.abs(g).max() > 1e-10:
            raise Fail(
                f"with an upstream dp that is the same number at every position of a row, "
                f"pointer_backward's {key} should be 0 (the probabilities always sum to 1), but "
                f"its largest entry is {np.abs(g).max():.2e}"
            )


# Size: E (64, 40, 64), A = 64: 163 840 + 4 096 + 2 x 4 096 + 64 inputs. The reference backward
# takes 10-32 ms (budget: the 2 s floor); the catalogue's batch-loop variant 23 ms; centred
# differences need 2 x 176 000 forward calls of 1-19 ms (an hour). Load average 9-10.
@graded(cell="pointer", kind="integrity", points=1.0, requires=("pointer_backward_gradcheck",))
def test_pointer_backward_fast(student, ref):
    inputs = _pointer_inputs(np.random.default_rng(601), 64, 40, 64, 64)
    expect_backward_fast(student, ref, "pointer_forward", "pointer_backward", inputs)


# ------------------------------------------------------------------------------ pointer_nll (4)
def _nll_case(seed, B, T, n):
    rng = np.random.default_rng(seed)
    # (B, T, n) rows sum to 1, every entry >= 0.5 / n: centred differences of log p stay
    # accurate (their error grows like (h / p)^2).
    P = 0.5 * rng.dirichlet(np.ones(n), size=(B, T)) + 0.5 / n
    return P, rng.integers(0, n, size=(B, T))


def _nll(student, P, targets):
    loss, dP = expect_tuple(student.call("pointer_nll", P, targets), "pointer_nll", 2, "loss, dP")
    return float(expect_array(loss, (), "the loss of pointer_nll")), expect_array(
        dP, P.shape, "dP of pointer_nll"
    )


@graded(cell="pointer_nll", kind="forward", points=1.0)
def test_pointer_nll_value_matches_reference(student, ref):
    for seed, (B, T, n) in enumerate([(4, 3, 5), (1, 1, 2), (3, 7, 7)]):
        P, targets = _nll_case(610 + seed, B, T, n)
        loss, _ = _nll(student, P, targets)
        expect_close(
            f"the loss for P {(B, T, n)}",
            np.array(loss),
            np.array(ref.pointer_nll(P, targets)[0]),
            tol=1e-12,
        )


# Reference, 5 seeds: relative error 1.2e-9 at worst against centred differences of its own
# loss (tolerance 1e-6); the catalogue's variants the same.
@graded(cell="pointer_nll", kind="gradcheck", points=1.5)
def test_pointer_nll_gradcheck(student, ref):
    P, targets = _nll_case(613, 3, 4, 5)
    _, dP = _nll(student, P, targets)
    calls, steps = [], []
    for idx in np.ndindex(P.shape):
        h = step_size(P[idx])
        steps.append(h)
        for sign in (1.0, -1.0):
            moved = P.copy()
            moved[idx] += sign * h
            calls.append(((moved, targets), {}))
    losses = student.call_many("pointer_nll", calls, pick=(0,))
    num = np.empty(P.shape)
    for k, (idx, h) in enumerate(zip(np.ndindex(P.shape), steps)):
        f = [
            float(expect_array(r[0], (), "the loss of pointer_nll"))
            for r in losses[2 * k : 2 * k + 2]
        ]
        num[idx] = (f[0] - f[1]) / (2.0 * h)
    expect_matches_numerical(
        compare("dP", dP, num, 1e-6, quantities=quantities_of({"P": P})),
        "dP returned by pointer_nll",
        "your own pointer_nll",
        subject="your dP",
    )


@graded(cell="pointer_nll", kind="property", points=0.5)
def test_pointer_nll_zero_away_from_targets_and_log_k(student, ref, rng):
    P = rng.dirichlet(np.ones(6), size=(2, 3))
    targets = np.array([[0, 5, 2], [4, 4, 1]])
    P[np.arange(2)[:, None], np.arange(3)[None, :], targets] = 0.125  # every target 1/8
    loss, dP = _nll(student, P, targets)
    if abs(loss - math.log(8.0)) > 1e-12:
        raise Fail(
            f"with probability 1/8 on every target pointer_nll should give log 8 = "
            f"{math.log(8.0):.6f} whatever the other entries are; it gives {loss:.6f}"
        )
    off = np.ones(P.shape, dtype=bool)
    off[np.arange(2)[:, None], np.arange(3)[None, :], targets] = False
    if np.any(dP[off] != 0.0):
        raise Fail("pointer_nll's dP should be exactly 0 at every entry that is not a target")


# Size: P (256, 20, 20) = 102 400 entries. The reference takes 0.1-1 ms (budget: the 2 s floor);
# centred differences need 204 800 calls of at least 0.1 ms (over 20 s).
@graded(
    cell="pointer_nll",
    kind="integrity",
    points=1.0,
    requires=("pointer_nll_gradcheck", "pointer_nll_value_matches_reference"),
)
def test_pointer_nll_fast(student, ref):
    P, targets = _nll_case(614, 256, 20, 20)
    expect_call_fast(student, ref, "pointer_nll", (P, targets))


# ------------------------------------------------------------------------------ ptrnet_loss (10)
LOSS_USES = ("pointer", "pointer_nll")
LSTM_PARAMS = ["W_enc", "b_enc", "W_dec", "b_dec", "W1", "W2", "v"]
ELEMENT_PARAMS = ["W_el", "b_el", "W_dec", "b_dec", "W1", "W2", "v"]


def _ptrnet_loss(student, params, batch):
    return expect_loss_pair(student.call("ptrnet_loss", params, batch), "ptrnet_loss", params)


@graded(cell="ptrnet_loss", kind="forward", points=1.5, uses=LOSS_USES)
def test_ptrnet_loss_value_matches_reference(student, ref):
    for seed, encoder, B, n in [(620, "lstm", 3, 5), (621, "element", 2, 6), (622, "lstm", 2, 1)]:
        params = _ptrnet_params(ref, encoder, seed)
        batch = sorting_batch(B, n, np.random.default_rng(seed))
        loss, _ = _ptrnet_loss(student, params, batch)
        expect_inputs_unchanged(student, "ptrnet_loss")
        expect_close(
            f"the loss for the {encoder} encoder, {B} problems of length {n}",
            np.array(loss),
            np.array(ref.ptrnet_loss(params, batch)[0]),
            tol=1e-10,
        )


@graded(cell="ptrnet_loss", kind="property", points=1.0, uses=LOSS_USES)
def test_ptrnet_loss_uniform_pointers_give_log_n_factorial(student, ref):
    # With v = 0 every step is uniform over its available positions: loss = log(n!) / n exactly
    # (reference and variants: 2.2e-16 off), and only dv can be nonzero (the others: exactly 0).
    for seed, encoder, n in [(623, "lstm", 7), (624, "element", 4)]:
        params = _ptrnet_params(ref, encoder, seed)
        params["v"] = np.zeros_like(params["v"])
        loss, grads = _ptrnet_loss(student, params, sorting_batch(3, n, np.random.default_rng(1)))
        if abs(loss - math.lgamma(n + 1) / n) > 1e-12:
            raise Fail(
                f"with v = 0 ({encoder} encoder, n = {n}) each pointer is uniform over the "
                f"positions still available, so the loss should be log({n}!)/{n} = "
                f"{math.lgamma(n + 1) / n:.6f}; yours is {loss:.6f}: is each step's mask the "
                "positions not chosen by the target at EARLIER steps?"
            )
        for k, g in grads.items():
            if k != "v" and np.abs(g).max() > 1e-12:
                raise Fail(
                    f"with v = 0 the scores do not depend on {k}, so grads[{k!r}] of ptrnet_loss "
                    f"should be 0 ({encoder} encoder); its largest entry is {np.abs(g).max():.2e}"
                )


# Reference, parameter seeds 625..629 per encoder, every coordinate of every parameter: relative
# error 3.4e-9 at worst (LSTM encoder) and 1.8e-9 (element-wise) against centred differences of
# its own loss (tolerance 1e-6); the catalogue's variants at most 3.7e-9 and 1.9e-9. (Without
# the doubled W2, at init + 0.3 noise, b_dec's sampled check reached 1.3e-6: too close.)
@graded(cell="ptrnet_loss", kind="gradcheck", points=0.25, uses=LOSS_USES)
@pytest.mark.parametrize(
    "encoder,param",
    [("lstm", k) for k in LSTM_PARAMS] + [("element", k) for k in ELEMENT_PARAMS],
)
def test_ptrnet_loss_gradcheck(student, ref, memo, encoder, param):
    seed = 625 if encoder == "lstm" else 626
    params = _ptrnet_params(ref, encoder, seed)
    batch = sorting_batch(3, 5, np.random.default_rng(seed))
    report = loss_gradcheck(
        student, ref, "ptrnet_loss", params, batch, n_coords=8, seed=6, memo=memo
    )
    expect_params(report, [param], "ptrnet_loss")


@graded(cell="ptrnet_loss", kind="property", points=1.0, uses=LOSS_USES)
def test_ptrnet_loss_element_encoder_ignores_input_order(student, ref, rng):
    # The element-wise encoder sees each value alone and the decoder is fed values, so shuffling
    # the positions (and renaming the targets) leaves the loss unchanged. Reference and variants,
    # 5 draws: 2.2e-16 at most.
    params = _ptrnet_params(ref, "element", 627)
    x, targets = sorting_batch(4, 6, rng)
    shuffle = rng.permutation(6)  # new position k holds old position shuffle[k]
    inverse = np.argsort(shuffle)
    loss, _ = _ptrnet_loss(student, params, (x, targets))
    loss_perm, _ = _ptrnet_loss(student, params, (x[:, shuffle], inverse[targets]))
    if abs(loss - loss_perm) > 1e-12 * max(1.0, abs(loss)):
        raise Fail(
            "with the element-wise encoder, ptrnet_loss changed when the input positions were "
            f"shuffled (and the targets renamed to match): {loss:.12f} vs {loss_perm:.12f}. "
            "Are the decoder's inputs the VALUES chosen at the previous steps, and are the masks "
            "built from the targets?"
        )


@graded(cell="ptrnet_loss", kind="training", points=2.0, uses=LOSS_USES)
def test_ptrnet_loss_trains_like_reference(student, ref):
    data = fixed_batches(8, 16, 5, seed=628)
    params = ref.init_ptrnet(8, 8, "lstm", np.random.default_rng(629))
    ref_curve = train(
        ref.ptrnet_loss, {k: v.copy() for k, v in params.items()}, lambda s: data[s % 8], 40, 1e-2
    )
    # 40 reference steps take 0.1-1 s (load 0-10); a numerical gradient is stopped on pace.
    curve = train_with_student(
        student, "ptrnet_loss", params, lambda s: data[s % 8], 40, 1e-2, max_seconds=6.0
    )
    # Reference (init seeds 629..633 with data seeds 628..632): mean of the last 5 losses over
    # the first loss = 0.466 ... 0.646; this one 0.579.
    expect_loss_decreases(curve, 0.75, 40, tail=5)
    # The catalogue's variants (a step-by-step decoder loop, pointer by einsum, a log-softmax,
    # nll by take_along_axis, a batch loop), same seeds: largest relative difference from the
    # reference 4.8e-16 over all 40 steps.
    expect_curve_tracks(curve, ref_curve, 1e-6, what="the training curve with your ptrnet_loss")


# Size: B = 32 problems of length n = 8, H = A = 32: 4 224 + 4 224 + 2 x 1 024 + 32 + 256
# parameters (10 784 in all). The reference takes 30-44 ms at load 16 (budget: about the 2 s floor),
# the step-by-step variant the same; centred differences need 21 568 calls (minutes).
@graded(
    cell="ptrnet_loss",
    kind="integrity",
    points=1.0,
    uses=LOSS_USES,
    requires=("ptrnet_loss_gradcheck", "ptrnet_loss_value_matches_reference"),
)
def test_ptrnet_loss_fast(student, ref):
    params = ref.init_ptrnet(32, 32, "lstm", np.random.default_rng(630))
    batch = sorting_batch(32, 8, np.random.default_rng(631))
    expect_call_fast(student, ref, "ptrnet_loss", (params, batch))


# ------------------------------------------------------------------------------ greedy (5)
DECODE_USES = ("pointer",)


def _near_tie_rows(P_ref, perm_ref, margin=1e-9):
    """Rows where some reference step's two largest available probabilities are within
    ``margin``: the contract leaves their order to rounding."""
    B, n, _ = P_ref.shape
    bad = np.zeros(B, dtype=bool)
    for i in range(n - 1):
        top2 = np.sort(P_ref[:, i], axis=1)[:, -2:]
        bad |= top2[:, 1] - top2[:, 0] < margin
    return bad


@graded(cell="greedy_decode", kind="forward", points=1.5, uses=DECODE_USES)
def test_greedy_decode_matches_reference(student, ref):
    for seed, encoder, B, n in [(640, "lstm", 8, 6), (641, "element", 6, 9), (642, "lstm", 2, 1)]:
        params = _ptrnet_params(ref, encoder, seed, H=6, A=5)
        x = np.random.default_rng(seed).random((B, n))
        perm, P = _decode(student, params, x, f"({encoder} encoder, n = {n})")
        expect_inputs_unchanged(student, "greedy_decode")
        perm_ref, P_ref = ref.greedy_decode(params, x)
        # On these inputs the reference's smallest top-2 margin is 1.1e-5 (no row is dropped) and
        # every variant makes the same choices.
        keep = ~_near_tie_rows(P_ref, perm_ref)
        wrong = np.flatnonzero(keep & np.any(perm != perm_ref, axis=1))
        if wrong.size:
            b = wrong[0]
            raise Fail(
                f"greedy_decode ({encoder} encoder, n = {n}) chose positions {perm[b].tolist()} "
                f"in row {b}, the expected greedy choices are {perm_ref[b].tolist()}: is the "
                "decoder fed the VALUE chosen at the previous step (GO first), and started from "
                "encode's h0 with a zero cell state?"
            )
        expect_close(f"P ({encoder} encoder, n = {n})", P[keep], P_ref[keep], tol=1e-9)


@graded(cell="greedy_decode", kind="property", points=1.0, uses=DECODE_USES)
def test_greedy_decode_outputs_permutations(student, ref):
    params = _ptrnet_params(ref, "lstm", 643, H=6, A=5)
    x = np.random.default_rng(643).random((10, 8))
    perm, P = _decode(student, params, x, "(n = 8)")
    for b, row in enumerate(perm):
        if not np.array_equal(np.sort(row), np.arange(8)):
            raise Fail(
                f"row {b} of greedy_decode's perm is {row.tolist()}, not a permutation of 0..7: "
                "a chosen position must be masked at every later step"
            )
    for i in range(8):
        chosen_before = np.zeros((10, 8), dtype=bool)
        chosen_before[np.arange(10)[:, None], perm[:, :i]] = True
        if np.any(P[:, i][chosen_before] != 0.0):
            raise Fail(
                f"P[:, {i}] of greedy_decode gives positions chosen at earlier steps a nonzero "
                "probability; they should be masked (exactly 0)"
            )


@graded(cell="greedy_decode", kind="property", points=1.5, uses=DECODE_USES)
def test_greedy_decode_hand_wired_sorter_sorts_any_length(student, ref):
    # A score that falls as the value grows sorts exactly at every length once chosen positions
    # are masked (reference and variants: exact at every n = 2..60).
    rng = np.random.default_rng(644)
    params = _hand_sorter(rng)
    for n in (5, 30):
        x, targets = sorting_batch(12, n, rng)
        perm, _ = _decode(student, params, x, f"(hand-wired sorter, n = {n})")
        if not np.array_equal(perm, targets):
            b = int(np.flatnonzero(np.any(perm != targets, axis=1))[0])
            raise Fail(
                f"a pointer network whose score falls as the value grows should sort exactly; "
                f"at n = {n} your greedy_decode reads row {b}'s values in the order "
                f"{np.round(x[b, perm[b]], 3).tolist()}"
            )


@graded(cell="greedy_decode", kind="property", points=1.0, uses=DECODE_USES)
def test_greedy_decode_ties_go_to_the_lowest_position(student, ref):
    # Equal values give exactly equal scores: the stated rule (lowest position first) decides.
    params = _hand_sorter(np.random.default_rng(645))
    x = np.array([[0.5, 0.2, 0.5, 0.2, 0.9, 0.2], [0.3, 0.3, 0.3, 0.3, 0.3, 0.3]])
    perm, _ = _decode(student, params, x, "(values with ties)")
    expected = np.array([[1, 3, 5, 0, 2, 4], [0, 1, 2, 3, 4, 5]])
    if not np.array_equal(perm, expected):
        raise Fail(
            f"with equal values (exact ties) greedy_decode chose {perm.tolist()}; on a tie the "
            f"lowest position should win, which gives {expected.tolist()}"
        )
