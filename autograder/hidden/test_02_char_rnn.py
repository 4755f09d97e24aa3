"""Hidden tests for 02_char_rnn (Karpathy, "The Unreasonable Effectiveness of RNNs").

Cells and points: rnn_step 6, rnn 8, char_rnn_loss 8, sample 4 (26 in total).
Thresholds were measured on the reference (the source notebook's own code); the numbers are
written beside each one. The vanilla RNN is smooth (tanh): there are no kinks to probe.
"""

import numpy as np
import pytest

from autograder.testing import (
    Fail,
    expect_array,
    expect_backward_fast,
    expect_close,
    expect_gradient,
    expect_keys,
    expect_loss_pair,
    graded,
    layer_gradcheck,
    loss_gradcheck,
    train_with_student,
)
from s30kit.data.char_rnn import VOCAB, encode, grammar_corpus, windows
from s30kit.layers import softmax
from s30kit.optim import train

STEP_GRADS = ["dx", "dh_prev", "dWx", "dWh", "db"]
SEQ_GRADS = ["dx", "dh0", "dWx", "dWh", "db"]
PARAMS = ["E", "Wx", "Wh", "b", "Wy", "by"]


def step_inputs(rng, B, D, H):
    return dict(
        x=rng.standard_normal((B, D)),
        h_prev=rng.standard_normal((B, H)),
        Wx=rng.standard_normal((D, H)) / np.sqrt(D),
        Wh=0.8 * rng.standard_normal((H, H)) / np.sqrt(H),
        b=0.5 * rng.standard_normal(H),
    )


def seq_inputs(rng, B, T, D, H):
    return dict(
        x=rng.standard_normal((B, T, D)),
        h0=rng.standard_normal((B, H)),
        Wx=rng.standard_normal((D, H)) / np.sqrt(D),
        Wh=0.8 * rng.standard_normal((H, H)) / np.sqrt(H),
        b=0.5 * rng.standard_normal(H),
    )


def model_params(ref, rng, V, D, H, seed, noise=0.3):
    """The given initialiser plus noise, so that biases are non-zero too."""
    p = ref.init_char_rnn(V, D, H, seed=seed)
    return {k: v + noise * rng.standard_normal(v.shape) for k, v in p.items()}


def forward_tuple(value, fn, n):
    """The student's forward result as a tuple of n outputs plus a cache."""
    if not isinstance(value, tuple) or len(value) != n + 1:
        raise Fail(f"{fn} should return a tuple of {n} output(s) and a cache")
    return value


def expect_ids(value, shape, what):
    """An integer array of the given shape."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iu":
        raise Fail(f"{what} should be an integer NumPy array of shape {shape}")
    if value.shape != tuple(shape):
        raise Fail(f"{what} has shape {value.shape}, expected {tuple(shape)}")
    return value


# ----------------------------------------------------------------------------- rnn_step (6)
@graded(cell="rnn_step", kind="forward", points=1)
def test_rnn_step_forward_matches_reference(student, ref, rng):
    # batch 1 / one unit / one input channel, then ordinary shapes
    for B, D, H in [(1, 1, 1), (1, 4, 3), (3, 2, 5), (5, 7, 2)]:
        inputs = step_inputs(rng, B, D, H)
        h, _ = forward_tuple(
            student.call("rnn_step_forward", keep=(-1,), **inputs), "rnn_step_forward", 1
        )
        expect_close(f"h (B={B}, D={D}, H={H})", h, ref.rnn_step_forward(**inputs)[0])


@graded(cell="rnn_step", kind="gradcheck", points=0.8)
@pytest.mark.parametrize("grad", STEP_GRADS)
def test_rnn_step_backward_gradcheck(student, ref, memo, grad):
    # B=2, D=3, H=4, random upstream. Reference errors vs numeric: 1e-11..4e-11.
    inputs = step_inputs(np.random.default_rng(21), 2, 3, 4)
    res = layer_gradcheck(
        student, ref, "rnn_step_forward", "rnn_step_backward", inputs, seed=21, memo=memo
    )
    expect_gradient(res, grad)


@graded(cell="rnn_step", kind="integrity", points=1)
def test_rnn_step_backward_fast(student, ref):
    # B=D=H=128: x, h_prev, Wx, Wh have 4 x 16384 entries. Reference backward 0.6 ms (loaded
    # machine), so the budget is the 2 s floor; a finite-difference backward needs 1.3e5 forward
    # calls of 0.2 ms each (~25 s).
    inputs = step_inputs(np.random.default_rng(22), 128, 128, 128)
    expect_backward_fast(student, ref, "rnn_step_forward", "rnn_step_backward", inputs)


# ---------------------------------------------------------------------------------- rnn (8)
@graded(cell="rnn", kind="forward", points=2)
def test_rnn_forward_matches_reference(student, ref, rng):
    # length 1, batch 1, and ordinary shapes; non-zero initial states
    for B, T, D, H in [(2, 1, 3, 4), (1, 6, 2, 3), (3, 7, 4, 5), (4, 3, 1, 2)]:
        inputs = seq_inputs(rng, B, T, D, H)
        hs, _ = forward_tuple(student.call("rnn_forward", keep=(-1,), **inputs), "rnn_forward", 1)
        expect_close(f"hs (B={B}, T={T}, D={D}, H={H})", hs, ref.rnn_forward(**inputs)[0])


@graded(cell="rnn", kind="gradcheck", points=0.8)
@pytest.mark.parametrize("grad", SEQ_GRADS)
def test_rnn_backward_gradcheck(student, ref, memo, grad):
    # BPTT through T=5 (B=2, D=3, H=4), random upstream at every step.
    # Reference errors vs numeric: 2e-11..6e-11 (the default tolerances hold with margin).
    inputs = seq_inputs(np.random.default_rng(31), 2, 5, 3, 4)
    res = layer_gradcheck(student, ref, "rnn_forward", "rnn_backward", inputs, seed=31, memo=memo)
    expect_gradient(res, grad)


@graded(cell="rnn", kind="property", points=1)
def test_rnn_gradient_flows_through_time(student, ref, rng):
    """An upstream gradient on the LAST hidden state only: the input at t = 0 still changes
    h_{T-1}, so dx[:, 0] must be non-zero, and every gradient must equal the reference's."""
    B, T, D, H = 3, 8, 2, 5
    inputs = seq_inputs(rng, B, T, D, H)
    hs, cache = forward_tuple(student.call("rnn_forward", keep=(-1,), **inputs), "rnn_forward", 1)
    dhs = np.zeros((B, T, H))
    dhs[:, -1] = rng.standard_normal((B, H))
    grads = expect_keys(
        student.call("rnn_backward", dhs, cache), SEQ_GRADS, "rnn_backward's result"
    )
    ref_grads = ref.rnn_backward(dhs, ref.rnn_forward(**inputs)[1])
    dx = expect_array(grads["dx"], (B, T, D), "dx")
    # reference, 5 seeds of these sizes: |dx[:, 0]| / |dx[:, -1]| = 0.0016..0.022; limit 1e-6
    if np.linalg.norm(dx[:, 0]) <= 1e-6 * np.linalg.norm(ref_grads["dx"][:, -1]):
        raise Fail(
            "with an upstream gradient only at the last step, dx at t = 0 is zero: the "
            "gradient is not carried back through time"
        )
    for k in SEQ_GRADS:
        expect_close(f"{k} with an upstream gradient at the last step only", grads[k], ref_grads[k])


@graded(cell="rnn", kind="integrity", points=1)
def test_rnn_backward_fast(student, ref):
    # B=16, T=20, D=16, H=100: 18420 input entries (Wx 1600, Wh 10000, x 5120, ...). Reference
    # BPTT 0.8 ms, so the budget is the 2 s floor; finite differences need 3.7e4 forward passes
    # of 20 steps (~13 s).
    inputs = seq_inputs(np.random.default_rng(32), 16, 20, 16, 100)
    expect_backward_fast(student, ref, "rnn_forward", "rnn_backward", inputs)


# ------------------------------------------------------------------------ char_rnn_loss (8)
@graded(cell="char_rnn_loss", kind="forward", points=1)
def test_char_rnn_loss_value(student, ref, rng):
    # batch 1, one prediction per sequence (T = 1), and ordinary shapes
    for B, T, V, D, H in [(1, 5, 7, 3, 4), (4, 1, 6, 2, 3), (3, 9, 21, 5, 6)]:
        params = model_params(ref, rng, V, D, H, seed=int(rng.integers(1 << 30)))
        ids = rng.integers(0, V, size=(B, T + 1))
        loss, _ = expect_loss_pair(
            student.call("char_rnn_loss", params, ids), "char_rnn_loss", params
        )
        expect_close(
            f"the loss (B={B}, T={T}, V={V})",
            np.asarray(loss),
            np.asarray(ref.char_rnn_loss(params, ids)[0]),
            tol=1e-10,
        )


@graded(cell="char_rnn_loss", kind="forward", points=1)
def test_char_rnn_loss_is_ln_V_with_zero_readout(student, ref, rng):
    """With Wy = 0 and by = 0 every character has the same score: the loss is ln V exactly,
    whatever the rest of the model and the text."""
    for B, T, V in [(2, 6, 9), (1, 3, 21)]:
        params = model_params(ref, rng, V, 4, 5, seed=int(rng.integers(1 << 30)))
        params["Wy"][:] = 0.0
        params["by"][:] = 0.0
        ids = rng.integers(0, V, size=(B, T + 1))
        loss, _ = expect_loss_pair(
            student.call("char_rnn_loss", params, ids), "char_rnn_loss", params
        )
        expect_close(
            f"the loss with Wy = 0, by = 0 (V={V})", np.asarray(loss), np.log(V), tol=1e-12
        )


def _loss_report(student, ref, memo):
    key = ("02_char_rnn", "loss_report")
    if key not in memo:
        rng = np.random.default_rng(41)
        params = model_params(ref, rng, 7, 4, 5, seed=41)
        ids = rng.integers(0, 7, size=(3, 7))  # 21 characters over 7 symbols: many repeats
        try:
            memo[key] = loss_gradcheck(
                student, ref, "char_rnn_loss", params, ids, n_coords=8, seed=41
            )
        except Exception as exc:  # reported by every case
            memo[key] = exc
    if isinstance(memo[key], Exception):
        raise memo[key]
    return memo[key]


@graded(cell="char_rnn_loss", kind="gradcheck", points=0.5)
@pytest.mark.parametrize("param", PARAMS)
def test_char_rnn_loss_gradcheck(student, ref, memo, param):
    # Whole model (B=3, T=6, V=7, D=4, H=5), 8 sampled coordinates + one random direction per
    # parameter. Reference errors: 1e-10..8e-10 (tolerance 1e-6).
    report = _loss_report(student, ref, memo)
    if not report["loss"].passed:
        raise Fail(f"the loss value of char_rnn_loss: {report['loss'].describe()}")
    check = report[param]
    if not check.passed:
        raise Fail(f"the gradient of char_rnn_loss: {check.describe()}")


@graded(cell="char_rnn_loss", kind="property", points=1)
def test_char_rnn_loss_is_a_mean(student, ref, rng):
    """The loss is the mean over all B * T predictions: the same batch stacked twice gives the
    same loss and the same gradients."""
    V = 8
    params = model_params(ref, rng, V, 3, 4, seed=42)
    ids = rng.integers(0, V, size=(2, 6))
    loss1, g1 = expect_loss_pair(
        student.call("char_rnn_loss", params, ids), "char_rnn_loss", params
    )
    twice = np.concatenate([ids, ids], axis=0)
    loss2, g2 = expect_loss_pair(
        student.call("char_rnn_loss", params, twice), "char_rnn_loss", params
    )
    expect_close(
        "the loss of the batch stacked twice", np.asarray(loss2), np.asarray(loss1), tol=1e-10
    )
    for k in PARAMS:
        expect_close(
            f"grads[{k!r}] for the batch stacked twice (the loss is a mean, not a sum)",
            g2[k],
            expect_array(g1[k], params[k].shape, f"grads[{k!r}]"),
            tol=1e-10,
        )


@graded(cell="char_rnn_loss", kind="training", points=2)
def test_char_rnn_training_loss_falls_and_tracks_reference(student, ref):
    # The bracket grammar (V=21), D=8, H=16, four fixed batches of 8 line-start windows of 21
    # characters, Adam lr 2e-2, clip 5, 40 steps. Reference, this data (corpus seed 5) and init
    # seed 0: loss 3.008 -> 1.067, ratio (mean of last 5 / mean of first 3) 0.355; over 6
    # corpus/window/init seeds: 0.348..0.359 (reference run 0.05..0.16 s). Limit 0.5. An exact
    # gradient follows the reference curve to ~1e-15; the tolerance is 1e-6.
    text, _ = grammar_corpus(3000, seed=5)
    ids = encode(text)
    data = [windows(ids, 8, 21, seed=50 + k) for k in range(4)]
    params = ref.init_char_rnn(len(VOCAB), 8, 16, seed=0)
    steps, lr, clip = 40, 2e-2, 5.0
    # a correct loss call takes ~1-2 ms here; 1 s per call is far beyond any honest implementation
    losses = train_with_student(
        student, "char_rnn_loss", params, lambda s: data[s % 4], steps, lr, clip=clip, timeout=1.0
    )
    ref_losses = train(
        ref.char_rnn_loss,
        {k: v.copy() for k, v in params.items()},
        lambda s: data[s % 4],
        steps,
        lr=lr,
        clip=clip,
    )
    first, last = float(np.mean(losses[:3])), float(np.mean(losses[-5:]))
    if not last < RATIO * first:
        raise Fail(
            f"the training loss did not fall enough: from {first:.3f} to {last:.3f} "
            f"(it should fall below {RATIO:.0%} of the start in {steps} steps)"
        )
    gap = np.abs(np.asarray(losses) - np.asarray(ref_losses))
    if gap.max() > 1e-6:
        k = int(np.argmax(gap > 1e-6))
        raise Fail(
            f"training with your gradients departs from the expected loss curve at step "
            f"{k} (difference {gap[k]:.2e}); an exact gradient follows it to ~1e-15"
        )


RATIO = 0.5  # measured 0.348..0.359 over 6 seeds (see the test above)


# -------------------------------------------------------------------------------- sample (4)
def _sample_params(ref, seed, V=9, D=4, H=6, scale=3.0):
    rng = np.random.default_rng(seed)
    p = model_params(ref, rng, V, D, H, seed=seed)
    p["Wy"] *= scale  # spread the logits so sampling is far from uniform
    return p


@graded(cell="sample", kind="forward", points=1)
def test_sample_greedy_matches_reference(student, ref, rng):
    # temperature 0 is the argmax at every step (no random numbers)
    for B, n in [(1, 1), (3, 12)]:
        p = _sample_params(ref, int(rng.integers(1 << 30)))
        H, V = p["Wy"].shape
        h0 = rng.standard_normal((B, H))
        seed_ix = rng.integers(0, V, size=B)
        got = expect_ids(
            student.call("sample", p, h0, seed_ix, n, 0.0, 0), (B, n), "sample's result"
        )
        if not np.array_equal(got, ref.sample(p, h0, seed_ix, n, 0.0, 0)):
            raise Fail(f"greedy sampling (temperature 0) gives the wrong characters (B={B}, n={n})")


@graded(cell="sample", kind="forward", points=1)
def test_sample_seeded_matches_reference(student, ref, rng):
    # one rng.random(B) per step and inverse-transform sampling, as the docstring asks
    for B, n, tau in [(2, 10, 1.0), (5, 6, 0.6), (1, 8, 1.7)]:
        p = _sample_params(ref, int(rng.integers(1 << 30)))
        H, V = p["Wy"].shape
        h0 = rng.standard_normal((B, H))
        seed_ix = rng.integers(0, V, size=B)
        seed = int(rng.integers(1 << 30))
        got = expect_ids(
            student.call("sample", p, h0, seed_ix, n, tau, seed), (B, n), "sample's result"
        )
        if not np.array_equal(got, ref.sample(p, h0, seed_ix, n, tau, seed)):
            raise Fail(
                f"with a seeded rng, sample (B={B}, n={n}, temperature {tau}) does not give the "
                "expected characters: draw u = rng.random(B) once per step and pick the first "
                "character whose cumulative probability exceeds u"
            )


@graded(cell="sample", kind="property", points=1)
def test_sample_follows_tempered_softmax(student, ref):
    """Over 6000 sequences, the first sampled character follows softmax(logits / temperature)
    (whatever sampling method is used)."""
    B = 6000
    p = _sample_params(ref, 61)
    H, V = p["Wy"].shape
    h0 = np.tile(np.random.default_rng(61).standard_normal(H), (B, 1))
    seed_ix = np.full(B, 2)
    h1 = np.tanh(p["E"][2] @ p["Wx"] + h0[0] @ p["Wh"] + p["b"])
    logits = h1 @ p["Wy"] + p["by"]
    for tau in (0.5, 2.0):
        first = expect_ids(
            student.call("sample", p, h0, seed_ix, 1, tau, 7), (B, 1), "sample's result"
        )[:, 0]
        if first.min() < 0 or first.max() >= V:
            raise Fail("sample returned ids outside [0, V)")
        tv = 0.5 * np.abs(np.bincount(first, minlength=V) / B - softmax(logits / tau)).sum()
        # total variation of 6000 correct draws (reference sampler): over 200 seeds mean
        # 0.005 / 0.013, max 0.012 / 0.027 (tau 0.5 / 2.0); the tempered distributions differ
        # from the untempered one (a sampler that ignores the temperature) by 0.30 / 0.25.
        # Limit 0.05.
        if tv > 0.05:
            raise Fail(
                f"at temperature {tau} the sampled characters do not follow "
                f"softmax(logits / temperature): total variation {tv:.3f}"
            )


@graded(cell="sample", kind="property", points=1)
def test_sample_low_temperature_is_greedy(student, ref):
    """As the temperature goes to 0, sampling becomes greedy decoding."""
    B, n = 4, 10
    p = _sample_params(ref, 62)
    H, V = p["Wy"].shape
    gen = np.random.default_rng(0)
    h0 = gen.standard_normal((B, H))
    seed_ix = gen.integers(0, V, size=B)
    greedy = ref.sample(p, h0, seed_ix, n, 0.0, 0)
    got = expect_ids(student.call("sample", p, h0, seed_ix, n, 1e-3, 3), (B, n), "sample's result")
    # reference at temperature 1e-3, this data: identical to greedy. The closest top-2 logit gap
    # on the greedy path is 0.044, so the runner-up has probability < e^-44 per step.
    if not np.array_equal(got, greedy):
        raise Fail("at temperature 1e-3, sampling should pick the most likely character every time")
