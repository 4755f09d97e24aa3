"""Hidden tests for 08_order_matters (Vinyals, Bengio & Kudlur, "Order Matters: Sequence to
Sequence for Sets").

Grade cells and points: attend 7, process 10, pointer 8, model 9 (34 in all).
The model is Read-Process-Write: an affine Read, the Process block (an input-free LSTM attending
over the memory for K steps, giving q*) or a plain LSTM encoder, and a pointer head with the
written elements masked out. Gradient checks compare the student's gradients with numerical
differentiation of the student's OWN forward (or loss), so a wrong forward is charged to the
forward tests alone. Everything is smooth (softmax, tanh, sigmoid): there are no kinks to probe,
so integrity rests on the time budgets, which count only when the timed function's correctness
tests pass (``requires``). The paper's property is graded exactly where it is exact: q* (and
the set model's scores, loss and parameter gradients) do not depend on the order in which the
memory is stored, to rounding (measured below 1e-15; tolerance 1e-12).

Every threshold was measured on the reference (the source notebook's code) and on the
catalogue's correct variants; the numbers are written beside it. Timings: in-process, one BLAS
thread, on the shared 2-core machine (load average 4-8). No test involves chance: every input
is drawn from a generator seeded by the test.
"""

from __future__ import annotations

import itertools

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
from autograder.testing import expect_keys
from autograder.testing import expect_loss_decreases
from autograder.testing import expect_loss_pair
from autograder.testing import expect_loss_value
from autograder.testing import expect_matches_numerical
from autograder.testing import expect_params
from autograder.testing import graded
from autograder.testing import layer_gradcheck
from autograder.testing import loss_gradcheck
from autograder.testing import student_numerical_gradient
from autograder.testing import train_both
from given.diagnosis import quantities_of
from given.gradcheck import compare
from s30kit.data.order_matters import fixed_batches
from s30kit.data.order_matters import order_batch
from s30kit.data.order_matters import present

PARAMS = ["Wr", "br", "Wp", "bp", "Wm", "Wc", "ba", "v"]
ENCODERS = ["set2set", "lstm"]
HEAD_GRADS = ["dM", "dctx", "dWm", "dWc", "dba", "dv"]


# ------------------------------------------------------------------------------ helpers
def _random_perms(rng, B, n):
    """(B, n): an independent random permutation of range(n) per set."""
    return np.argsort(rng.random((B, n)), axis=1)


def _process_inputs(rng, B, n, H, K, w_scale=0.5):
    return dict(
        M=rng.standard_normal((B, n, H)),
        W=w_scale * rng.standard_normal((2 * H, 4 * H)),
        b=0.5 * rng.standard_normal(4 * H),
        K=K,
    )


def _head_inputs(rng, B, n, H, C, A):
    return dict(
        M=rng.standard_normal((B, n, H)),
        ctx=rng.standard_normal((B, C)),
        Wm=rng.standard_normal((H, A)) / np.sqrt(H),
        Wc=rng.standard_normal((C, A)) / np.sqrt(C),
        ba=0.3 * rng.standard_normal(A),
        v=rng.standard_normal(A),
    )


def _model_params(ref, H, A, encoder, seed, noise=0.3):
    """The reference initialiser, every parameter (biases too) moved off its start."""
    params = ref.init_order_params(H, A, encoder, seed=seed)
    rng = np.random.default_rng(seed + 1)
    return {k: p + noise * rng.standard_normal(p.shape) for k, p in params.items()}


def _student_loss(student, scores, order):
    fn = "pointer_loss"
    value = student.call(fn, scores, order)
    if not isinstance(value, tuple) or len(value) != 2:
        raise Fail(f"{fn} should return a pair (loss, dscores)")
    loss = expect_array(np.asarray(value[0], dtype=np.float64), (), f"the loss of {fn}")
    return float(loss), expect_array(value[1], scores.shape, f"dscores of {fn}")


# ----------------------------------------------------------------------------- attend (7)
@graded(cell="attend", kind="forward", points=2)
def test_attend_forward_matches_reference(student, ref, rng):
    # one set of one element, H = 1, an ordinary batch, and scores of order 1e2-1e3 (a softmax
    # without the max shift overflows). Reference vs the 5 catalogue variants: at most 1.4e-16
    # (tolerance 1e-10).
    cases = [(1, 1, 3, 1.0), (2, 7, 1, 1.0), (3, 5, 4, 1.0), (2, 6, 5, 300.0)]
    for B, n, H, scale in cases:
        q, M = scale * rng.standard_normal((B, H)), rng.standard_normal((B, n, H))
        r, a, _ = call_forward(student, "attend_forward", q, M, n_outputs=2)
        r_ref, a_ref, _ = ref.attend_forward(q, M)
        what = f"(B={B}, n={n}, H={H}{', large scores' if scale > 1 else ''})"
        expect_close(f"the weights a {what}", a, a_ref, tol=1e-10)
        expect_close(f"the read vector r {what}", r, r_ref, tol=1e-10)


@graded(cell="attend", kind="gradcheck", points=1)
@pytest.mark.parametrize("grad", ["dq", "dM"])
def test_attend_backward_gradcheck(student, ref, memo, grad):
    # B=3, n=5, H=4, random upstream on r. Errors vs numeric, reference and the 5 variants over
    # 5 seeds (801..805): dq 1.8e-11..4.7e-11, dM 2.1e-11..3.2e-11 (tolerance 1e-7).
    rng = np.random.default_rng(801)
    inputs = dict(q=rng.standard_normal((3, 4)), M=rng.standard_normal((3, 5, 4)))
    res = layer_gradcheck(
        student, ref, "attend_forward", "attend_backward", inputs, n_outputs=1, seed=801, memo=memo
    )
    expect_gradient(res, grad)


@graded(cell="attend", kind="property", points=2)
def test_attend_weights_follow_their_elements(student, ref, rng):
    """The weights of a set are a distribution; storing the memory in another order permutes the
    weights the same way and leaves r unchanged; equal memory vectors make r independent of q,
    so dq is zero."""
    B, n, H = 4, 6, 5
    q, M = rng.standard_normal((B, H)), rng.standard_normal((B, n, H))
    r, a, _ = call_forward(student, "attend_forward", q, M, n_outputs=2)
    a = expect_array(a, (B, n), "the weights a of attend_forward")
    r = expect_array(r, (B, H), "the read vector r of attend_forward")
    if np.any(a < 0) or np.abs(a.sum(axis=1) - 1.0).max() > 1e-12:
        raise Fail("the weights of attend_forward must be positive and sum to 1 over each set")
    perm = _random_perms(rng, B, n)
    Mp = np.take_along_axis(M, perm[:, :, None], axis=1)
    r2, a2, _ = call_forward(student, "attend_forward", q, Mp, n_outputs=2)
    # reference and variants, 10 draws: r changes by at most 4.4e-16 (tolerance 1e-12)
    if np.abs(expect_array(r2, (B, H), "r") - r).max() > 1e-12:
        raise Fail("attend_forward's r changed when the memory was stored in another order")
    if np.abs(expect_array(a2, (B, n), "a") - np.take_along_axis(a, perm, axis=1)).max() > 1e-12:
        raise Fail("attend_forward's weights must move with their elements when M is permuted")
    same = np.repeat(rng.standard_normal((B, 1, H)), n, axis=1)
    _, _, cache = call_forward(student, "attend_forward", q, same, n_outputs=2)
    grads = expect_keys(
        student.call("attend_backward", rng.standard_normal((B, H)), cache),
        ["dq"],
        "attend_backward",
    )
    # reference and variants, 10 draws: |dq| <= 2.2e-15 (tolerance 1e-12)
    if np.abs(expect_array(grads["dq"], (B, H), "dq")).max() > 1e-12:
        raise Fail(
            "with all memory vectors equal, r does not depend on q, yet attend_backward's dq "
            "is not zero"
        )


@graded(cell="attend", kind="integrity", points=1, requires=("attend_backward_gradcheck",))
def test_attend_backward_fast(student, ref):
    # B=128, n=32, H=32: M has 131072 entries. Reference backward ~2 ms, forward ~0.2 ms (load
    # 5-9) -> the 2 s floor; a finite-difference backward needs 2.6e5 forward calls (~50 s).
    rng = np.random.default_rng(802)
    inputs = dict(q=rng.standard_normal((128, 32)), M=rng.standard_normal((128, 32, 32)))
    expect_backward_fast(student, ref, "attend_forward", "attend_backward", inputs, n_outputs=1)


# ---------------------------------------------------------------------------- process (10)
@graded(cell="process", kind="forward", points=2, uses=("attend",))
def test_process_forward_matches_reference(student, ref, rng):
    # K = 0 (q* = 0, attn (B, 0, n)), one element, one set, and ordinary cases.
    # Reference vs the variants: at most 1.1e-16 (tolerance 1e-10).
    cases = [(2, 5, 3, 0), (2, 5, 3, 1), (1, 4, 2, 3), (3, 1, 4, 2), (2, 6, 5, 4)]
    for B, n, H, K in cases:
        inputs = _process_inputs(rng, B, n, H, K)
        qstar, attn, _ = call_forward(student, "process_forward", n_outputs=2, **inputs)
        q_ref, attn_ref, _ = ref.process_forward(**inputs)
        what = f"(B={B}, n={n}, H={H}, K={K})"
        expect_close(f"qstar {what}", qstar, q_ref, tol=1e-10)
        expect_close(f"attn {what}", attn, attn_ref, tol=1e-10)


@graded(cell="process", kind="gradcheck", points=1.5, uses=("attend",))
@pytest.mark.parametrize("grad", ["dM", "dW", "db"])
def test_process_backward_gradcheck(student, ref, memo, grad):
    # B=2, n=4, H=3, K=3 steps, random upstream on both halves of q*. Errors vs numeric,
    # reference and variants over 5 seeds (811..815): dM 8.6e-12..2.4e-11, dW 4.8e-11..1.5e-10,
    # db 3.2e-11..8.9e-11 (tolerance 1e-7).
    inputs = _process_inputs(np.random.default_rng(811), 2, 4, 3, 3)
    res = layer_gradcheck(
        student,
        ref,
        "process_forward",
        "process_backward",
        inputs,
        wrt=["M", "W", "b"],
        n_outputs=1,
        seed=811,
        memo=memo,
    )
    expect_gradient(res, grad)


@graded(cell="process", kind="property", points=2, uses=("attend",))
def test_process_qstar_is_permutation_invariant(student, ref, rng):
    """The paper's property: q* does not depend on the order in which the memory is stored (to
    rounding), the attention of every step moves with its elements, and so does dM. With K = 0,
    q* is zero and every gradient is exactly zero."""
    B, n, H, K = 4, 6, 5, 3
    inputs = _process_inputs(rng, B, n, H, K)
    dq = rng.standard_normal((B, 2 * H))
    qstar, attn, cache = call_forward(student, "process_forward", n_outputs=2, **inputs)
    qstar = expect_array(qstar, (B, 2 * H), "qstar")
    attn = expect_array(attn, (B, K, n), "attn")
    grads = expect_keys(student.call("process_backward", dq, cache), ["dM"], "process_backward")
    dM = expect_array(grads["dM"], (B, n, H), "dM")
    for _ in range(3):
        perm = _random_perms(rng, B, n)
        moved = dict(inputs, M=np.take_along_axis(inputs["M"], perm[:, :, None], axis=1))
        q2, a2, cache2 = call_forward(student, "process_forward", n_outputs=2, **moved)
        # reference and variants, 10 draws: q* changes by at most 6.7e-16 (tolerance 1e-12)
        diff = np.abs(expect_array(q2, (B, 2 * H), "qstar") - qstar).max()
        if diff > 1e-12:
            raise Fail(
                f"process_forward's qstar changed by {diff:.1e} when the memory was stored in "
                "another order: the Process block must read the memory only through attention"
            )
        want = np.take_along_axis(attn, perm[:, None, :], axis=2)
        if np.abs(expect_array(a2, (B, K, n), "attn") - want).max() > 1e-12:
            raise Fail("process_forward's attn must move with its elements when M is permuted")
        g2 = expect_keys(student.call("process_backward", dq, cache2), ["dM"], "process_backward")
        # reference and variants, 10 draws: dM matches the permuted dM to 4.4e-16 (tol 1e-10)
        want = np.take_along_axis(dM, perm[:, :, None], axis=1)
        if np.abs(expect_array(g2["dM"], (B, n, H), "dM") - want).max() > 1e-10:
            raise Fail(
                "process_backward's dM does not move with its elements when M is permuted: "
                "each element's gradient must depend on the element, not on where it is stored"
            )
    zero = _process_inputs(rng, 2, 4, 3, 0)
    q0, a0, c0 = call_forward(student, "process_forward", n_outputs=2, **zero)
    expect_array(a0, (2, 0, 4), "attn with K = 0")
    if np.any(expect_array(q0, (2, 6), "qstar with K = 0") != 0.0):
        raise Fail("with K = 0 process steps, process_forward's qstar must be zero")
    g0 = expect_keys(
        student.call("process_backward", rng.standard_normal((2, 6)), c0),
        ["dM", "dW", "db"],
        "process_backward",
    )
    for k, shape in (("dM", (2, 4, 3)), ("dW", (6, 12)), ("db", (12,))):
        if np.any(expect_array(g0[k], shape, f"{k} with K = 0") != 0.0):
            raise Fail(f"with K = 0 process steps, process_backward's {k} must be zero")


@graded(
    cell="process",
    kind="integrity",
    points=1.5,
    uses=("attend",),
    requires=("process_backward_gradcheck",),
)
def test_process_backward_fast(student, ref):
    # B=32, n=10, H=32, K=5: W has 64 x 128 = 8192 entries, M 10240. Reference backward 0.9 ms,
    # forward 5 ms (load 5) -> the 2 s floor; a finite-difference backward needs 3.7e4 forward
    # calls (~3 min); the catalogue's numerical mutant is stopped at the budget.
    inputs = _process_inputs(np.random.default_rng(812), 32, 10, 32, 5, w_scale=0.15)
    expect_backward_fast(student, ref, "process_forward", "process_backward", inputs, n_outputs=1)


# ---------------------------------------------------------------------------- pointer (8)
@graded(cell="pointer", kind="forward", points=1)
def test_pointer_scores_forward_matches_reference(student, ref, rng):
    # Reference vs the variants: 0 (tolerance 1e-10).
    for B, n, H, C, A in [(1, 1, 2, 4, 3), (3, 5, 4, 8, 6), (2, 7, 3, 3, 1)]:
        inputs = _head_inputs(rng, B, n, H, C, A)
        s, _ = call_forward(student, "pointer_scores_forward", n_outputs=1, **inputs)
        expect_close(
            f"the scores (B={B}, n={n}, H={H}, C={C}, A={A})",
            s,
            ref.pointer_scores_forward(**inputs)[0],
            tol=1e-10,
        )


@graded(cell="pointer", kind="gradcheck", points=0.5)
@pytest.mark.parametrize("grad", HEAD_GRADS)
def test_pointer_scores_backward_gradcheck(student, ref, memo, grad):
    # B=3, n=4, H=3, C=6, A=5. Errors vs numeric, reference and variants over 5 seeds
    # (821..825): all six 3.3e-12..1.3e-10 (tolerance 1e-7).
    inputs = _head_inputs(np.random.default_rng(821), 3, 4, 3, 6, 5)
    res = layer_gradcheck(
        student,
        ref,
        "pointer_scores_forward",
        "pointer_scores_backward",
        inputs,
        seed=821,
        memo=memo,
    )
    expect_gradient(res, grad)


def _loss_cases(rng):
    """(what, scores, order): one element, one set, ordinary, ties, and huge score gaps."""
    ties = np.round(rng.standard_normal((3, 5)))
    return [
        ("n=1", rng.standard_normal((2, 1)), np.zeros((2, 1), dtype=int)),
        ("B=1, n=5", rng.standard_normal((1, 5)), _random_perms(rng, 1, 5)),
        ("B=4, n=6", rng.standard_normal((4, 6)), _random_perms(rng, 4, 6)),
        ("tied scores", ties, _random_perms(rng, 3, 5)),
        ("scores of order 1e3", 1000.0 * rng.standard_normal((3, 6)), _random_perms(rng, 3, 6)),
    ]


@graded(cell="pointer", kind="forward", points=1)
def test_pointer_loss_matches_reference(student, ref, rng):
    # Reference vs the variants: loss 1.5e-16 relative, dscores 8.4e-17 (tolerance 1e-10);
    # with scores of order 1e3 a softmax that is not shifted by the largest available score
    # overflows, and one that exponentiates -inf for masked entries gives NaN.
    for what, scores, order in _loss_cases(rng):
        loss, ds = _student_loss(student, scores, order)
        loss_ref, ds_ref = ref.pointer_loss(scores, order)
        if not np.isfinite(loss) or abs(loss - loss_ref) > 1e-10 * max(1.0, abs(loss_ref)):
            raise Fail(
                f"the loss of pointer_loss ({what}) differs from the expected value "
                f"(relative error {abs(loss - loss_ref) / max(1.0, abs(loss_ref)):.1e})"
            )
        expect_close(f"dscores of pointer_loss ({what})", ds, ds_ref, tol=1e-10)


@graded(cell="pointer", kind="gradcheck", points=0.5)
def test_pointer_loss_gradcheck(student, ref):
    # B=3, n=5. Error vs numerical differentiation of the loss, reference and variants over 5
    # seeds (822..826): 2.8e-11..7.6e-11 (tolerance 1e-7).
    rng = np.random.default_rng(822)
    scores, order = rng.standard_normal((3, 5)), _random_perms(rng, 3, 5)
    _, ds = _student_loss(student, scores, order)
    num = student_numerical_gradient(
        student, "pointer_loss", dict(scores=scores, order=order), "scores", [np.ones(())]
    )
    expect_matches_numerical(
        compare("dscores", ds, num, quantities=quantities_of({"scores": scores})),
        "dscores",
        "your own pointer_loss",
        subject="your dscores",
    )


@graded(cell="pointer", kind="property", points=1)
def test_pointer_loss_is_a_distribution_over_orders(student, ref, rng):
    """With the written elements masked out, the pointer assigns a probability to every order of
    a set, exp(-n x loss) for one set, and these sum to one over all n! orders; adding a constant
    to every score of a set changes nothing."""
    n = 5
    scores = 1.5 * rng.standard_normal((1, n))
    perms = [np.array([p]) for p in itertools.permutations(range(n))]
    out = student.call_many("pointer_loss", [((scores, p), {}) for p in perms], pick=(0,))
    losses = np.array([float(expect_array(np.asarray(r[0], float), (), "loss")) for r in out])
    total = float(np.exp(-n * losses).sum())
    # reference and variants, 10 draws: |total - 1| <= 1.1e-15 (tolerance 1e-9); without the
    # mask the total is far below 1 (0.00-0.02 for 5 draws)
    if not abs(total - 1.0) <= 1e-9:
        raise Fail(
            f"the probabilities pointer_loss gives to the {len(perms)} orders of one set sum to "
            f"{total:.6f}, not 1: at each step the softmax must run over the elements not yet "
            "written, and only over them"
        )
    order = _random_perms(rng, 3, n)
    base = rng.standard_normal((3, n))
    l1, _ = _student_loss(student, base, order)
    l2, _ = _student_loss(student, base + np.array([[5.0], [-3.0], [40.0]]), order)
    # reference and variants: the shifted loss differs by at most ~1e-15 (tolerance 1e-10)
    if abs(l1 - l2) > 1e-10 * max(1.0, abs(l1)):
        raise Fail("adding a constant to every score of a set changed the loss of pointer_loss")


@graded(cell="pointer", kind="integrity", points=1, requires=("pointer_scores_backward_gradcheck",))
def test_pointer_scores_backward_fast(student, ref):
    # B=128, n=16, H=32, C=64, A=32: M has 65536 entries. Reference backward ~1 ms, forward
    # ~0.5 ms -> the 2 s floor; a finite-difference backward needs 1.4e5 forward calls (> 1 min).
    inputs = _head_inputs(np.random.default_rng(823), 128, 16, 32, 64, 32)
    expect_backward_fast(student, ref, "pointer_scores_forward", "pointer_scores_backward", inputs)


@graded(
    cell="pointer",
    kind="integrity",
    points=0.5,
    requires=("pointer_loss_matches_reference", "pointer_loss_gradcheck"),
)
def test_pointer_loss_fast(student, ref):
    # B=1024, n=12: 12288 scores. Reference 6-15 ms (load 5-9) -> the 2 s floor; a loss whose
    # dscores come from centred differences needs 24576 more calls (> 2 min).
    rng = np.random.default_rng(824)
    scores, order = rng.standard_normal((1024, 12)), _random_perms(rng, 1024, 12)
    expect_call_fast(student, ref, "pointer_loss", (scores, order))


# ------------------------------------------------------------------------------ model (9)
_MODEL_USES = ("attend", "process", "pointer")


@graded(cell="model", kind="forward", points=1, uses=_MODEL_USES)
def test_order_model_forward_matches_reference(student, ref, rng):
    # both encoders, K = 0, 1, 3, one set. Reference vs the variants: 1.3e-16 (tol 1e-10).
    for encoder, K, B in [("set2set", 0, 2), ("set2set", 1, 3), ("set2set", 3, 1), ("lstm", 2, 3)]:
        params = _model_params(ref, 4, 3, encoder, seed=int(rng.integers(1 << 30)))
        x = rng.standard_normal((B, 5, 2))
        scores, attn, _ = call_forward(
            student, "order_model_forward", params, x, encoder, K, n_outputs=2
        )
        s_ref, a_ref, _ = ref.order_model_forward(params, x, encoder, K)
        expect_close(f"the scores ({encoder!r}, K={K}, B={B})", scores, s_ref, tol=1e-10)
        expect_close(f"attn ({encoder!r}, K={K}, B={B})", attn, a_ref, tol=1e-10)


def _model_report(student, ref, memo, encoder):
    """The whole-model check for one encoder (once per encoder and submission)."""
    seed = 830 + ENCODERS.index(encoder)
    params = _model_params(ref, 4, 3, encoder, seed)
    x, order = order_batch(3, 5, np.random.default_rng(seed))
    batch = (x, order, encoder, 2)
    return loss_gradcheck(student, ref, "order_model_loss", params, batch, seed=seed, memo=memo)


@graded(cell="model", kind="gradcheck", points=0.25, uses=_MODEL_USES)
@pytest.mark.parametrize("param", PARAMS)
@pytest.mark.parametrize("encoder", ENCODERS)
def test_order_model_loss_gradcheck(student, ref, memo, encoder, param):
    # B=3 sets of n=5, H=4, A=3, K=2: 8 sampled coordinates plus one random direction per
    # parameter. Errors of the reference and the 5 variants, both encoders x 4 seeds (830..,
    # 930.., 1030.., 1130..), every coordinate: set2set 1.4e-11..7.9e-9 (largest Wp), lstm
    # 5.4e-12..7.1e-9 (largest Wp) (tolerance 1e-6).
    report = _model_report(student, ref, memo, encoder)
    expect_params(report, [param], f"order_model_loss with the {encoder!r} encoder")


@graded(cell="model", kind="forward", points=0.5, uses=_MODEL_USES)
def test_order_model_loss_value(student, ref, memo):
    for encoder in ENCODERS:
        expect_loss_value(
            _model_report(student, ref, memo, encoder),
            f"order_model_loss with the {encoder!r} encoder",
        )


@graded(cell="model", kind="property", points=1, uses=_MODEL_USES)
def test_order_model_set_encoder_ignores_storage_order(student, ref, rng):
    """The set model gives every element the same score however the set is stored, and so the
    same loss and the same parameter gradients; with K = 0 the context is zero, so the encoder's
    parameters and Wc get exactly zero gradient."""
    B, n, H, A, K = 4, 6, 5, 4, 2
    params = _model_params(ref, H, A, "set2set", seed=840)
    x, order = order_batch(B, n, rng)
    perm = _random_perms(rng, B, n)
    x2, order2 = present(x, order, perm)
    s1 = call_forward(student, "order_model_forward", params, x, "set2set", K, n_outputs=2)[0]
    s2 = call_forward(student, "order_model_forward", params, x2, "set2set", K, n_outputs=2)[0]
    s1, s2 = expect_array(s1, (B, n), "scores"), expect_array(s2, (B, n), "scores")
    # reference and variants, 10 draws: at most 4.4e-16 (tolerance 1e-12)
    if np.abs(s2 - np.take_along_axis(s1, perm, axis=1)).max() > 1e-12:
        raise Fail(
            "with the 'set2set' encoder, order_model_forward gave an element another score when "
            "the set was stored in another order"
        )
    fn = "order_model_loss"
    l1, g1 = expect_loss_pair(student.call(fn, params, (x, order, "set2set", K)), fn, params)
    l2, g2 = expect_loss_pair(student.call(fn, params, (x2, order2, "set2set", K)), fn, params)
    # reference and variants, 10 draws: loss 4.4e-16, gradients 2.2e-16 relative (tol 1e-10)
    if abs(l1 - l2) > 1e-10 * max(1.0, abs(l1)):
        raise Fail("order_model_loss of the same sets stored in another order is different")
    for k in PARAMS:
        a = expect_array(g1[k], params[k].shape, f"grads[{k!r}]")
        b = expect_array(g2[k], params[k].shape, f"grads[{k!r}]")
        if np.abs(a - b).max() > 1e-10 * max(1.0, np.abs(a).max()):
            raise Fail(
                f"grads[{k!r}] of order_model_loss changed when the same sets were stored in "
                "another order (set encoder)"
            )
    _, g0 = expect_loss_pair(student.call(fn, params, (x, order, "set2set", 0)), fn, params)
    for k in ("Wp", "bp", "Wc"):
        if np.any(expect_array(g0[k], params[k].shape, f"grads[{k!r}]") != 0.0):
            raise Fail(
                f"with K = 0 the context is zero, yet grads[{k!r}] of order_model_loss is not "
                "exactly zero"
            )


# Training on fixed data: 4 batches of 32 sets of 5 points (seed 850), ordered by distance to the
# mean, set encoder with K = 1, H = A = 8, Adam lr 1e-2, clip 5, 60 steps. Reference, mean of the
# last 5 losses / mean of the first 3, over data/init seeds 850..854: 0.56..0.63 (from 1.0-1.4);
# the variants at seeds 850, 851: 0.62..0.63; threshold 0.75; a zero gradient gives 1.0. Exact
# gradients in another operation order (the variants) track the reference curve to 4.9e-16
# relative; tolerance 1e-6. The reference takes 0.03 s of CPU in-process.
TRAIN_STEPS, TRAIN_LR, TRAIN_RATIO, TRACK_TOL = 60, 1e-2, 0.75, 1e-6


@graded(cell="model", kind="training", points=1.5, uses=_MODEL_USES)
def test_order_model_training_loss_falls_and_tracks_reference(student, ref):
    data = fixed_batches(4, 32, 5, seed=850)
    params = ref.init_order_params(8, 8, "set2set", seed=850)

    def batches(step):
        x, order = data[step % 4]
        return x, order, "set2set", 1

    losses, ref_losses = train_both(
        student,
        ref,
        "order_model_loss",
        params,
        batches,
        TRAIN_STEPS,
        TRAIN_LR,
        clip=5.0,
        timeout=2.0,
        max_seconds=10.0,
    )
    expect_loss_decreases(losses, TRAIN_RATIO, TRAIN_STEPS, head=3)
    expect_curve_tracks(
        losses,
        ref_losses,
        TRACK_TOL,
        what="the loss curve of training with your gradients",
        hint="exact gradients follow it to ~1e-15",
    )


@graded(
    cell="model",
    kind="integrity",
    points=1,
    uses=_MODEL_USES,
    requires=("order_model_loss_gradcheck",),
)
def test_order_model_backward_fast(student, ref):
    # B=32, n=8, H=32, A=32, K=3: 12064 parameters and inputs. Reference forward 0.7 ms,
    # backward 1.0 ms (load ~19) -> the 2 s floor; a finite-difference backward needs 2.4e4
    # forward calls (~16 s).
    rng = np.random.default_rng(860)
    inputs = dict(
        params=ref.init_order_params(32, 32, "set2set", seed=860),
        x=rng.standard_normal((32, 8, 2)),
        encoder="set2set",
        K=3,
    )
    expect_backward_fast(
        student, ref, "order_model_forward", "order_model_backward", inputs, n_outputs=1
    )
