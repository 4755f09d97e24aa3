"""Hidden tests for 27_multi_token_prediction (Gloeckle et al., Better & Faster Large Language
Models via Multi-token Prediction).

Grade cells and points: heads 9, mtp_loss 7, mtp_loss_sequential 5, greedy_decode 4,
speculative_decode 6 (31 in all). Gradient checks compare the student's gradients with numerical
differentiation of the student's own forward (or loss) at the engine's default tolerances (1e-7
per layer, 1e-6 for a whole loss), so a wrong forward is charged to the forward tests alone.
Decoding is graded by its outcome: the tokens, the number of model calls and the accepted draft
lengths are fully determined by the contract (argmax with np.argmax's tie rule, the verification
windows, the acceptance rule), so they are compared exactly. Every threshold was measured on the
reference (the source notebook's own code) and on the catalogue's correct variants; the numbers
are written beside it.

Near-ties. A decoding test compares argmaxes of logits computed by two implementations (or by
one implementation on batches of different sizes), which may differ by rounding (measured: at
most 7e-16 between a batch of 50 windows and 50 single windows). An argmax can flip only where
the two largest logits are within that of each other; on continuous random weights with logit
gaps of order 1 that has probability about 1e-15 per argmax, and the decoding tests take fewer
than 5 000 argmaxes in all: a correct submission loses points with probability below 1e-11.
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
from autograder.testing import expect_loss_decreases
from autograder.testing import expect_loss_pair
from autograder.testing import expect_params
from autograder.testing import expect_tuple
from autograder.testing import graded
from autograder.testing import layer_gradcheck
from autograder.testing import loss_gradcheck
from autograder.testing import train_with_student
from given.optim import train
from s30kit.data.mtp import fixed_batches
from s30kit.data.mtp import mtp_batch
from s30kit.data.mtp import progressions
from s30kit.data.mtp import prompts

PARAMS = ["E", "W", "b", "Wh", "bh", "U", "c"]
TRUNK, HEADS = ["E", "W", "b"], ["Wh", "bh", "U", "c"]


# ------------------------------------------------------------------------------ helpers
def _heads_inputs(rng, B, n, H, V):
    return dict(
        z=np.tanh(rng.standard_normal((B, H))),
        Wh=1.5 * rng.standard_normal((n, H, H)) / np.sqrt(H),  # some units in tanh's curve
        bh=0.5 * rng.standard_normal((n, H)),
        U=rng.standard_normal((H, V)),
        c=rng.standard_normal(V),
    )


def _model(ref, n, seed, hidden=8):
    """init_mtp(n) with every bias moved off zero (a zero bias hides a missing bias gradient)."""
    rng = np.random.default_rng(seed)
    params = ref.init_mtp(n, rng, hidden=hidden)
    for k in ("b", "bh", "c"):
        params[k] = 0.3 * rng.standard_normal(params[k].shape)
    return params


def _batch(ref, B, n, seed):
    return mtp_batch(B, ref.CONTEXT, n, ref.VOCAB, ref.NOISE, np.random.default_rng(seed))


def _loss(student, fn, params, batch):
    return expect_loss_pair(student.call(fn, params, batch), fn, params)


def _tokens(value, steps, what):
    """A decoder's tokens as an int64 (steps,) array (any integer array or list of ints)."""
    arr = np.asarray(value) if isinstance(value, (list, tuple)) else value
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "iu":
        raise Fail(f"{what} should be an integer array of shape ({steps},)")
    if arr.shape != (steps,):
        raise Fail(f"{what} has shape {arr.shape}, expected ({steps},)")
    return arr.astype(np.int64)


def _greedy(student, params, prompt, steps):
    out = expect_tuple(
        student.call("greedy_decode", params, prompt, steps), "greedy_decode", 2, "tokens, calls"
    )
    return _tokens(out[0], steps, "the tokens returned by greedy_decode"), out[1]


def _speculative(student, params, prompt, steps, n_draft=None):
    out = expect_tuple(
        student.call("speculative_decode", params, prompt, steps, n_draft),
        "speculative_decode",
        3,
        "tokens, calls, accepted",
    )
    tokens = _tokens(out[0], steps, "the tokens returned by speculative_decode")
    calls = out[1]
    if not isinstance(calls, (int, np.integer)) or isinstance(calls, bool):
        raise Fail("the number of calls returned by speculative_decode should be an int")
    accepted = out[2]
    if isinstance(accepted, np.ndarray):
        accepted = accepted.tolist()
    if not isinstance(accepted, (list, tuple)) or not all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in accepted
    ):
        raise Fail("accepted returned by speculative_decode should be a list of ints")
    return tokens, int(calls), [int(a) for a in accepted]


def _clean_prompts(ref, count, length, seed):
    return progressions(count, length, ref.VOCAB, 0.0, np.random.default_rng(seed))[1]


def _decoding_cases(ref):
    """(what, params, prompt, steps, n_draft): random weights (drafts mostly rejected), the wired
    model on noisy prompts (mixed acceptance), prompts longer than the window, every n_draft."""
    cases = []
    rand = _model(ref, 4, 2701, hidden=16)
    long_prompts = prompts(3, ref.CONTEXT + 5, ref.VOCAB, ref.NOISE, seed=2702)
    for i, n_draft in enumerate((4, 2, 3)):
        cases.append((f"random weights, prompt {i}", rand, long_prompts[i], 23, n_draft))
    scrambled = _scrambled_wired(ref, np.random.default_rng(2703))
    noisy = prompts(4, ref.CONTEXT, ref.VOCAB, ref.NOISE, seed=2703)
    for i, n_draft in enumerate((4, 4, 3, 1)):
        cases.append((f"a partly wrong wired model, prompt {i}", scrambled, noisy[i], 30, n_draft))
    return cases


def _scrambled_wired(ref, rng, share=0.25):
    """The wired model with heads 1..3 sending a random ``share`` of the last-two-token pairs to
    a random token: drafts are right or wrong in a mixed but deterministic pattern."""
    params = ref.wired_params(4)
    Wh = params["Wh"]
    s = Wh.max()
    n, H, _ = Wh.shape
    for k in range(1, n):
        for unit in np.flatnonzero(rng.random(H) < share):
            Wh[k, unit] = 0.0
            Wh[k, unit, rng.integers(ref.VOCAB)] = s
    params["bh"] = Wh.sum(axis=1) - s * (Wh.sum(axis=1) > 0)
    return params


# ------------------------------------------------------------------------------ heads (9)
HEADS_SHAPES = {
    "B4_n3_H5_V6": (4, 3, 5, 6),
    "one_head": (5, 1, 4, 7),
    "batch1": (1, 4, 6, 3),
    "B7_n4_H16_V12": (7, 4, 16, 12),
}


@graded(cell="heads", kind="forward", points=0.5)
@pytest.mark.parametrize("case", list(HEADS_SHAPES))
def test_heads_forward_matches_reference(student, ref, rng, case):
    B, n, H, V = HEADS_SHAPES[case]
    inputs = _heads_inputs(rng, B, n, H, V)
    logits, _ = call_forward(student, "heads_forward", n_outputs=1, **inputs)
    expect_inputs_unchanged(student, "heads_forward")
    expect_close(
        f"logits for B={B}, n={n}, H={H}, V={V}",
        logits,
        ref.heads_forward(**inputs)[0],
        tol=1e-10,
    )


# Reference, 10 input seeds, against centred differences of its own forward (tolerance 1e-7):
# dz <= 4.1e-11, dWh <= 4.9e-11, dbh <= 3.9e-11, dU <= 3.2e-11, dc <= 3.1e-11; the einsum
# variant <= 5.1e-11, the loop over heads as the reference.
@graded(cell="heads", kind="gradcheck", points=1.0)
@pytest.mark.parametrize("grad", ["dz", "dWh", "dbh", "dU", "dc"])
def test_heads_backward_gradcheck(student, ref, memo, grad):
    inputs = _heads_inputs(np.random.default_rng(2704), 4, 3, 5, 6)
    res = layer_gradcheck(
        student, ref, "heads_forward", "heads_backward", inputs, seed=27, memo=memo
    )
    expect_gradient(res, grad)


@graded(cell="heads", kind="property", points=1.0)
def test_heads_are_independent(student, ref, rng):
    B, n, H, V = 5, 3, 6, 7
    inputs = _heads_inputs(rng, B, n, H, V)
    logits, cache = call_forward(student, "heads_forward", n_outputs=1, **inputs)
    logits = expect_array(logits, (B, n, V), "logits of heads_forward")
    for k in range(n):
        one = dict(inputs, Wh=inputs["Wh"][k : k + 1], bh=inputs["bh"][k : k + 1])
        single = expect_array(
            call_forward(student, "heads_forward", n_outputs=1, **one)[0],
            (B, 1, V),
            "logits of heads_forward with one head",
        )
        # Reference and variants, 20 seeds: <= 2.3e-16 of the largest logit.
        if np.max(np.abs(single[:, 0] - logits[:, k])) > 1e-12 * max(1.0, np.abs(logits).max()):
            raise Fail(
                f"heads_forward with head {k}'s parameters alone (Wh[{k}:{k + 1}], "
                f"bh[{k}:{k + 1}]) does not give logits[:, {k}] of all heads together; each head "
                "should read z through its own layer only"
            )
    dlogits = np.zeros((B, n, V))
    dlogits[:, 1] = rng.standard_normal((B, V))
    grads = student.call("heads_backward", dlogits, cache)
    if not isinstance(grads, dict) or "dWh" not in grads or "dbh" not in grads:
        raise Fail("heads_backward should return a dict with 'dWh' and 'dbh'")
    dWh = expect_array(grads["dWh"], (n, H, H), "dWh of heads_backward")
    dbh = expect_array(grads["dbh"], (n, H), "dbh of heads_backward")
    if np.any(dWh[[0, 2]] != 0) or np.any(dbh[[0, 2]] != 0):
        raise Fail(
            "with an upstream gradient in head 1 only, heads_backward gives nonzero dWh or dbh to "
            "heads 0 or 2; their parameters do not affect head 1's logits"
        )


# 64 x 64 inputs z, 4 x 64 x 64 head weights, 64 x 128 unembedding: 28 960 entries, so a
# finite-difference backward needs ~58 000 forward passes (0.2-0.6 ms each: 12-35 s); the
# reference backward takes 0.1-0.5 ms on the shared 2-core machine, so the budget is the 2 s
# floor.
@graded(cell="heads", kind="integrity", points=1.0, requires=("heads_backward_gradcheck",))
def test_heads_backward_fast_at_realistic_size(student, ref):
    inputs = _heads_inputs(np.random.default_rng(2705), 64, 4, 64, 128)
    expect_backward_fast(student, ref, "heads_forward", "heads_backward", inputs)


# ------------------------------------------------------------------------------ mtp_loss (7)
LOSS_CASES = [(1, 6, 2710), (3, 5, 2711), (4, 1, 2712)]  # (heads, batch, seed)


@graded(cell="mtp_loss", kind="forward", points=1.0, uses=("heads",))
def test_mtp_loss_value_matches_reference(student, ref):
    for n, B, seed in LOSS_CASES:
        params, batch = _model(ref, n, seed), _batch(ref, B, n, seed)
        loss, _ = _loss(student, "mtp_loss", params, batch)
        # The variants against the reference: <= 2.0e-16 (relative).
        expect_close(
            f"the loss with {n} head(s) on a batch of {B}",
            loss,
            np.array(ref.mtp_loss(params, batch)[0]),
            tol=1e-10,
        )


# Reference, 5 seeds, 8 coordinates per parameter (the test samples 5), against centred
# differences of its own loss:
# worst 1.6e-09 (tolerance 1e-6); the variants <= 1.6e-09.
@graded(cell="mtp_loss", kind="gradcheck", points=1.0, uses=("heads",))
@pytest.mark.parametrize("part", ["trunk", "heads"])
def test_mtp_loss_gradcheck(student, ref, memo, part):
    params, batch = _model(ref, 3, 2713), _batch(ref, 6, 3, 2713)
    report = loss_gradcheck(student, ref, "mtp_loss", params, batch, n_coords=5, seed=27, memo=memo)
    expect_params(report, TRUNK if part == "trunk" else HEADS, "mtp_loss")


@graded(cell="mtp_loss", kind="training", points=2.0, uses=("heads",))
def test_mtp_loss_trains_like_reference(student, ref):
    data = fixed_batches(8, 16, ref.CONTEXT, 3, ref.VOCAB, ref.NOISE, seed=2714)
    params = _model(ref, 3, 2715, hidden=8)
    batches = lambda step: data[step % len(data)]  # noqa: E731
    ref_curve = train(ref.mtp_loss, {k: v.copy() for k, v in params.items()}, batches, 60, lr=1e-2)
    curve = train_with_student(student, "mtp_loss", params, batches, 60, lr=1e-2)
    # Reference, init seeds 2715..2724 with data seeds 2714..2723: mean of the last 5 losses over
    # the first = 0.57 ... 0.69; this test uses the first pair (0.59). Limit 0.8. (Hidden width 8
    # keeps a numerical backward's run short; it is the timing tests' business.)
    expect_loss_decreases(curve, 0.8, 60, tail=5)
    # The catalogue's variants follow the reference curve to 5.5e-16 (relative) over 60 steps,
    # on all 10 seed pairs.
    expect_curve_tracks(curve, ref_curve, 1e-6, what="the training curve with your mtp_loss")


@graded(cell="mtp_loss", kind="property", points=1.0, uses=("heads",))
def test_mtp_loss_is_the_sum_of_one_head_losses(student, ref):
    n = 3
    params, batch = _model(ref, n, 2716), _batch(ref, 7, n, 2716)
    loss, grads = _loss(student, "mtp_loss", params, batch)
    total, shared = 0.0, {k: 0.0 for k in TRUNK + ["U", "c"]}
    for k in range(n):
        one = dict(params, Wh=params["Wh"][k : k + 1], bh=params["bh"][k : k + 1])
        loss_k, grads_k = _loss(student, "mtp_loss", one, (batch[0], batch[1][:, k : k + 1]))
        total += loss_k
        for name in shared:
            shared[name] = shared[name] + grads_k[name]
        for name in ("Wh", "bh"):
            # Reference and variants, 20 seeds: <= 6.9e-16 of the largest entry; the tolerance
            # 1e-8 leaves room for a gradient taken by differences (~1e-10), which is the timing
            # tests' business.
            if np.max(np.abs(grads_k[name][0] - grads[name][k])) > 1e-8 * (
                np.abs(grads[name]).max() + 1e-300
            ):
                raise Fail(
                    f"grads['{name}'][{k}] of mtp_loss differs from the gradient of the loss of "
                    f"head {k} alone: head {k}'s parameters affect only its own term of the sum"
                )
    # Reference and variants, 20 seeds: |sum of one-head losses - loss| <= 2.3e-16 (relative).
    if abs(total - loss) > 1e-8 * abs(loss):
        raise Fail(
            f"with {n} heads mtp_loss is not the sum of the {n} one-head losses (relative "
            f"difference {abs(total - loss) / abs(loss):.1e}): the loss sums the heads' mean "
            "cross-entropies"
        )
    for name, value in shared.items():
        if np.max(np.abs(value - grads[name])) > 1e-8 * (np.abs(grads[name]).max() + 1e-300):
            raise Fail(
                f"grads['{name}'] of mtp_loss is not the sum of the one-head gradients: a "
                "parameter shared by all heads collects a contribution from each"
            )


def _big_model(ref, n=4, hidden=64, B=64):
    params = _model(ref, n, 2717, hidden=hidden)
    return params, _batch(ref, B, n, 2717)


# 4 heads, hidden 64, a batch of 64: 21 600 parameters, so a loss whose gradient is taken
# numerically needs ~43 000 loss calls (0.3-1 ms each: 13-40 s). The reference takes 0.5 ms
# here at load 11 (the einsum variant 4 ms), so the budget is the 2 s floor.
@graded(
    cell="mtp_loss",
    kind="integrity",
    points=1.0,
    uses=("heads",),
    requires=("mtp_loss_gradcheck", "mtp_loss_value_matches_reference"),
)
def test_mtp_loss_fast_at_realistic_size(student, ref):
    params, batch = _big_model(ref)
    expect_call_fast(student, ref, "mtp_loss", (params, batch))


# ----------------------------------------------------------------------- mtp_loss_sequential (5)
SEQ_CASES = [(1, 5, 2720), (3, 9, 2721), (4, 1, 2722), (4, 32, 2723)]


def _seq_problem(ref, n, B, seed):
    return _model(ref, n, seed, hidden=12), _batch(ref, B, n, seed)


@graded(cell="mtp_loss_sequential", kind="property", points=3.0, uses=("heads",))
def test_mtp_loss_sequential_equals_all_at_once(student, ref):
    for n, B, seed in SEQ_CASES:
        params, batch = _seq_problem(ref, n, B, seed)
        loss, grads = _loss(student, "mtp_loss_sequential", params, batch)
        ref_loss, ref_grads = ref.mtp_loss(params, batch)
        # Reference sequential vs reference all-at-once on these cases and 80 more problems
        # (n = 1..4, B = 1..20): <= 8.4e-16 (loss and gradients, the largest difference over the
        # largest entry); the variants on these cases <= 8.0e-16. The paper's claim is equality;
        # the tolerance is 1e-12.
        if abs(loss - ref_loss) > 1e-12 * abs(ref_loss):
            raise Fail(
                f"with {n} head(s) on a batch of {B}, the loss of mtp_loss_sequential differs "
                f"from the all-at-once multi-token loss by a relative "
                f"{abs(loss - ref_loss) / abs(ref_loss):.1e} "
                "(tolerance 1e-12): it should be the sum over heads of each head's mean "
                "cross-entropy"
            )
        for name in PARAMS:
            scale = np.abs(ref_grads[name]).max() + 1e-300
            err = np.max(np.abs(grads[name] - ref_grads[name])) / scale
            if not err <= 1e-12:
                raise Fail(
                    f"with {n} head(s) on a batch of {B}, grads['{name}'] of "
                    f"mtp_loss_sequential differs from the all-at-once gradient by {err:.1e} "
                    "(relative to its largest entry; tolerance 1e-12)"
                )


# Reference, 5 seeds, 6 coordinates per parameter (the test samples 4): worst 9.4e-10 against
# centred differences of its own loss (tolerance 1e-6);
# the variants <= 1.0e-09.
@graded(cell="mtp_loss_sequential", kind="gradcheck", points=1.0, uses=("heads",))
def test_mtp_loss_sequential_gradcheck(student, ref, memo):
    params, batch = _model(ref, 3, 2724), _batch(ref, 6, 3, 2724)
    report = loss_gradcheck(
        student, ref, "mtp_loss_sequential", params, batch, n_coords=4, seed=28, memo=memo
    )
    expect_params(report, PARAMS, "mtp_loss_sequential")


# The size of test_mtp_loss_fast_at_realistic_size; the reference takes 0.7 ms at load 11 (the
# variants <= 1.8 ms), so the budget is the 2 s floor.
@graded(
    cell="mtp_loss_sequential",
    kind="integrity",
    points=1.0,
    uses=("heads",),
    requires=("mtp_loss_sequential_equals_all_at_once", "mtp_loss_sequential_gradcheck"),
)
def test_mtp_loss_sequential_fast_at_realistic_size(student, ref):
    params, batch = _big_model(ref)
    expect_call_fast(student, ref, "mtp_loss_sequential", (params, batch))


# ------------------------------------------------------------------------------ greedy_decode (4)
@graded(cell="greedy_decode", kind="forward", points=1.5, uses=("heads",))
def test_predict_heads_matches_reference(student, ref):
    for n, B, seed in [(3, 40, 2730), (1, 1, 2731), (4, 25, 2732)]:
        params = _model(ref, n, seed, hidden=16)
        windows = prompts(B, ref.CONTEXT, ref.VOCAB, ref.NOISE, seed)
        got = student.call("predict_heads", params, windows)
        if not isinstance(got, np.ndarray) or got.dtype.kind not in "iu":
            raise Fail("predict_heads should return an integer array of shape (B, n)")
        if got.shape != (B, n):
            raise Fail(f"predict_heads returned shape {got.shape} for {B} windows, {n} heads")
        expected = ref.predict_heads(params, windows)
        if np.any(got != expected):
            b, k = np.argwhere(got != expected)[0]
            raise Fail(
                f"predict_heads with {n} head(s): for window {b} head {k}'s prediction is not "
                "the argmax of its logits (the lowest token id on a tie, as np.argmax)"
            )


@graded(cell="greedy_decode", kind="forward", points=1.5, uses=("heads",))
def test_greedy_decode_matches_reference(student, ref):
    params = _model(ref, 2, 2733, hidden=16)
    for i, prompt in enumerate(prompts(3, ref.CONTEXT + 4, ref.VOCAB, ref.NOISE, seed=2734)):
        steps = 17 + i
        tokens, calls = _greedy(student, params, prompt, steps)
        ref_tokens, _ = ref.greedy_decode(params, prompt, steps)
        if np.any(tokens != ref_tokens):
            t = int(np.argmax(tokens != ref_tokens))
            raise Fail(
                f"greedy_decode from a prompt of {len(prompt)} tokens: generated token {t} is not "
                "head 0's prediction on the last CONTEXT tokens (prompt and tokens so far)"
            )
        if calls != steps:
            raise Fail(f"greedy_decode should make one call per token ({steps}), reported {calls}")


@graded(cell="greedy_decode", kind="property", points=1.0, uses=("heads",))
def test_greedy_decode_continues_clean_progressions(student, ref):
    wired = ref.wired_params(2)
    for prompt in _clean_prompts(ref, 4, ref.CONTEXT + 2, 2735):
        step = (prompt[-1] - prompt[-2]) % ref.VOCAB
        tokens, _ = _greedy(student, wired, prompt, 15)
        if np.any(tokens != (prompt[-1] + step * np.arange(1, 16)) % ref.VOCAB):
            raise Fail(
                "with the wired model (wired_params) greedy_decode should continue every clean "
                "progression exactly, and it does not"
            )


# ------------------------------------------------------------------------ speculative_decode (6)
SPEC_USES = ("heads", "greedy_decode")


@graded(cell="speculative_decode", kind="property", points=2.0, uses=SPEC_USES)
def test_speculative_decode_equals_greedy(student, ref, memo):
    for what, params, prompt, steps, n_draft in _decoding_cases(ref):
        tokens, _, _ = _speculative(student, params, prompt, steps, n_draft)
        greedy, _ = ref.greedy_decode(params, prompt, steps)
        if np.any(tokens != greedy):
            t = int(np.argmax(tokens != greedy))
            raise Fail(
                f"{what}, {n_draft} drafting heads: speculative_decode's token {t} differs from "
                "greedy decoding's; a drafted token may be kept only if head 0 predicts it after "
                "the tokens before it"
            )


@graded(cell="speculative_decode", kind="forward", points=2.0, uses=SPEC_USES)
def test_speculative_decode_calls_and_acceptance_match_the_algorithm(student, ref):
    for what, params, prompt, steps, n_draft in _decoding_cases(ref):
        _, calls, accepted = _speculative(student, params, prompt, steps, n_draft)
        _, ref_calls, ref_accepted = ref.speculative_decode(params, prompt, steps, n_draft)
        if accepted != ref_accepted:
            i = next(
                (i for i, (a, r) in enumerate(zip(accepted, ref_accepted)) if a != r),
                min(len(accepted), len(ref_accepted)),
            )
            raise Fail(
                f"{what}, {n_draft} drafting heads: the accepted draft lengths differ from the "
                f"algorithm's from iteration {i} on (you have {len(accepted)} iterations): "
                "accept d_1, then each next draft token while it equals head 0's prediction in "
                "the verification row before it, and take the next draft from the row after the "
                "last accepted token"
            )
        if calls != ref_calls:
            raise Fail(
                f"{what}, {n_draft} drafting heads: speculative_decode reports {calls} calls for "
                f"{len(accepted)} iterations; it should be one call for the first draft plus one "
                "per iteration"
            )


@graded(cell="speculative_decode", kind="property", points=1.0, uses=SPEC_USES)
def test_speculative_decode_perfect_drafts(student, ref):
    for n, steps in [(4, 30), (3, 40), (4, 40)]:
        wired = ref.wired_params(n)
        prompt = _clean_prompts(ref, 1, ref.CONTEXT, 2736 + steps)[0]
        tokens, calls, accepted = _speculative(student, wired, prompt, steps)
        iterations = math.ceil(steps / n)
        step = (prompt[-1] - prompt[-2]) % ref.VOCAB
        if np.any(tokens != (prompt[-1] + step * np.arange(1, steps + 1)) % ref.VOCAB):
            raise Fail("with the wired model, speculative_decode should continue the progression")
        if accepted != [n] * iterations or calls != 1 + iterations:
            raise Fail(
                f"with the wired model every draft of {n} tokens is right, so {steps} tokens "
                f"should take {iterations} iterations accepting {n} each and {1 + iterations} "
                f"calls; got {len(accepted)} iterations and {calls} calls"
            )
        # Exact: 30 / 9 = 3.33, 40 / 15 = 2.67, 40 / 11 = 3.64 tokens per call (>= 2.5).
        if steps / calls < 2.5:
            raise Fail(
                f"perfect drafts of {n} tokens gave only {steps / calls:.2f} tokens per call"
            )


@graded(cell="speculative_decode", kind="property", points=1.0, uses=SPEC_USES)
def test_speculative_decode_stops_at_a_wrong_head(student, ref):
    for wrong, per_iter in [((2,), 2), ((1, 3), 1), ((3,), 3)]:
        params = ref.wired_params(4, wrong_heads=wrong)
        prompt = _clean_prompts(ref, 1, ref.CONTEXT, 2740 + per_iter)[0]
        steps = 12
        tokens, calls, accepted = _speculative(student, params, prompt, steps)
        if accepted != [per_iter] * (steps // per_iter) or calls != 1 + steps // per_iter:
            raise Fail(
                f"with head(s) {list(wrong)} of the wired model wrong (and the others right), "
                f"every iteration should accept exactly {per_iter} token(s): the first wrong "
                f"draft and everything after it are rejected; got {accepted}"
            )
        step = (prompt[-1] - prompt[-2]) % ref.VOCAB
        if np.any(tokens != (prompt[-1] + step * np.arange(1, steps + 1)) % ref.VOCAB):
            raise Fail(
                f"with head(s) {list(wrong)} of the wired model wrong, speculative_decode's "
                "output is not the progression that head 0 (which is right) decodes"
            )
