"""Hidden tests for 02_char_rnn (Karpathy, "The Unreasonable Effectiveness of RNNs").

Cells and points: rnn_step 6, rnn 8, char_rnn_loss 8, sample 4 (26 in total).
Thresholds were measured on the reference (the source notebook's own code); the numbers are
written beside each one. The vanilla RNN is smooth (tanh): there are no kinks to probe. Its
tests are shared with 03_lstm (autograder/hidden/_rnn.py); this file sets their cells, points,
seeds and sizes.
"""

import numpy as np
import pytest
from autograder.hidden._rnn import SEQ_GRADS
from autograder.hidden._rnn import expect_trains_like_reference
from autograder.hidden._rnn import rnn_backward_fast_test
from autograder.hidden._rnn import rnn_forward_test
from autograder.hidden._rnn import rnn_gradcheck_test
from autograder.testing import Fail
from autograder.testing import call_forward
from autograder.testing import expect_array
from autograder.testing import expect_close
from autograder.testing import expect_keys
from autograder.testing import expect_loss_pair
from autograder.testing import expect_matches_numerical
from autograder.testing import expect_params
from autograder.testing import graded
from autograder.testing import loss_gradcheck
from autograder.testing import numerically_flat
from autograder.testing import student_numerical_gradient
from autograder.testing.inputs import perturbed
from autograder.testing.inputs import rnn_seq_inputs
from given.diagnosis import quantities_of
from given.gradcheck import compare
from given.layers import softmax
from s30kit.data.char_rnn import VOCAB
from s30kit.data.char_rnn import encode
from s30kit.data.char_rnn import grammar_corpus
from s30kit.data.char_rnn import windows

PARAMS = ["E", "Wx", "Wh", "b", "Wy", "by"]
# char_rnn_loss runs the student's RNN (grade cells rnn_step and rnn); sample runs rnn_step_forward
LOSS_USES = ("rnn_step", "rnn")
SAMPLE_USES = ("rnn_step",)


def model_params(ref, rng, V, D, H, seed, noise=0.3):
    """The given initialiser plus noise, so that biases are non-zero too."""
    return perturbed(ref.init_char_rnn(V, D, H, seed=seed), rng, noise)


def call_loss(student, params, ids):
    """The student's ``(loss, grads)`` for ``ids``, checked for shape."""
    return expect_loss_pair(student.call("char_rnn_loss", params, ids), "char_rnn_loss", params)


def expect_ids(value, shape, what):
    """An integer array of the given shape."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iu":
        raise Fail(f"{what} should be an integer NumPy array of shape {shape}")
    if value.shape != tuple(shape):
        raise Fail(f"{what} has shape {value.shape}, expected {tuple(shape)}")
    return value


# ----------------------------------------------------------------------------- rnn_step (6)
# batch 1 / one unit / one input channel, then ordinary shapes
test_rnn_step_forward_matches_reference = rnn_forward_test(
    cell="rnn_step", points=1, step_shapes=[(1, 1, 1), (1, 4, 3), (3, 2, 5), (5, 7, 2)]
)

# B=2, D=3, H=4, random upstream. Reference errors vs numeric: 1e-11..4e-11.
test_rnn_step_backward_gradcheck = rnn_gradcheck_test(
    "rnn_step", cell="rnn_step", points=0.8, seed=21
)

# B=D=H=128: x, h_prev, Wx, Wh have 4 x 16384 entries. Reference backward 0.6 ms (loaded
# machine), so the budget is the 2 s floor; a finite-difference backward needs 1.3e5 forward
# calls of 0.2 ms each (~25 s). Counts only when rnn_step_backward_gradcheck passes.
test_rnn_step_backward_fast = rnn_backward_fast_test(
    "rnn_step", cell="rnn_step", points=1, seed=22, size=(128, 128, 128)
)


# ---------------------------------------------------------------------------------- rnn (8)
# length 1, batch 1, and ordinary shapes; non-zero initial states
test_rnn_forward_matches_reference = rnn_forward_test(
    cell="rnn",
    points=2,
    seq_shapes=[(2, 1, 3, 4), (1, 6, 2, 3), (3, 7, 4, 5), (4, 3, 1, 2)],
    uses=("rnn_step",),
)

# BPTT through T=5 (B=2, D=3, H=4), random upstream at every step.
# Reference errors vs numeric: 2e-11..6e-11 (the default tolerances hold with margin).
test_rnn_backward_gradcheck = rnn_gradcheck_test(
    "rnn", cell="rnn", points=0.8, seed=31, uses=("rnn_step",)
)


@graded(cell="rnn", kind="property", points=1, uses=("rnn_step",))
def test_rnn_gradient_flows_through_time(student, ref):
    """An upstream gradient on the LAST hidden state only: the input at t = 0 still changes
    h_{T-1}, so dx[:, 0] must be non-zero, and every gradient must equal numerical
    differentiation of the student's own rnn_forward with that upstream."""
    B, T, D, H = 3, 8, 2, 5
    rng = np.random.default_rng(33)  # fixed: the tolerances below are measured on these inputs
    inputs = rnn_seq_inputs(rng, B, T, D, H)
    dhs = np.zeros((B, T, H))
    dhs[:, -1] = rng.standard_normal((B, H))
    _, cache = call_forward(student, "rnn_forward", n_outputs=1, **inputs)
    grads = expect_keys(
        student.call("rnn_backward", dhs, cache), SEQ_GRADS, "rnn_backward's result"
    )
    # the reference's gradients only give scales (what "zero" means), never a verdict
    ref_grads = ref.rnn_backward(dhs, ref.rnn_forward(**inputs)[1])
    num = {
        "d" + k: student_numerical_gradient(student, "rnn_forward", inputs, k, [dhs])
        for k in inputs
    }
    # reference, these inputs: |dx[:, 0]| / |dx[:, -1]| = 6.6e-4 (5 other seeds of these sizes:
    # 0.0016..0.022); limit 1e-6, for the student's analytic and numerical dx alike
    scale = np.linalg.norm(ref_grads["dx"][:, -1])
    if np.linalg.norm(num["dx"][:, 0]) <= 1e-6 * scale:
        raise Fail(
            "the last hidden state of your rnn_forward does not change when the input at t = 0 "
            "changes (its numerical derivative is zero): the hidden state is not carried "
            "forward through time; fix rnn_forward first"
        )
    dx = expect_array(grads["dx"], (B, T, D), "dx")
    if np.linalg.norm(dx[:, 0]) <= 1e-6 * scale:
        raise Fail(
            "with an upstream gradient only at the last step, dx at t = 0 is zero: the "
            "gradient is not carried back through time"
        )
    # Reference and the catalogue's variants vs numerical differentiation of their own forward,
    # these inputs: dx, dWx, dWh, db 1.7e-11..5.0e-11 (tolerance 1e-7, as in the gradient
    # checks); dh0 1.6e-8..2.3e-8, because an upstream at the last step only reaches h0 decayed
    # through 8 steps and centred differences keep their absolute round-off (over 60 input
    # seeds up to 2.8e-7): its tolerance is 1e-5. A wrong BPTT is off by 1e-2..1 in every one.
    tols = {"dh0": 1e-5}
    for k in SEQ_GRADS:
        if numerically_flat(num[k], ref_grads[k]):
            raise Fail(
                f"{k} cannot be checked: the outputs of your rnn_forward do not change when "
                f"{k[1:]} changes (their numerical derivative is zero), so rnn_forward is wrong; "
                "fix it first"
            )
        expect_matches_numerical(
            compare(k, grads[k], num[k], tol=tols.get(k, 1e-7), quantities=quantities_of(inputs)),
            k,
            "your own rnn_forward",
            subject=f"with an upstream gradient at the last step only, your backward's {k}",
        )


# B=16, T=20, D=16, H=100: 18420 input entries (Wx 1600, Wh 10000, x 5120, ...). Reference
# BPTT 0.8 ms, so the budget is the 2 s floor; finite differences need 3.7e4 forward passes
# of 20 steps (~13 s). Counts only when rnn_backward_gradcheck passes.
test_rnn_backward_fast = rnn_backward_fast_test(
    "rnn", cell="rnn", points=1, seed=32, size=(16, 20, 16, 100), uses=("rnn_step",)
)


# ------------------------------------------------------------------------ char_rnn_loss (8)
@graded(cell="char_rnn_loss", kind="forward", points=1, uses=LOSS_USES)
def test_char_rnn_loss_value(student, ref, rng):
    # batch 1, one prediction per sequence (T = 1), and ordinary shapes
    for B, T, V, D, H in [(1, 5, 7, 3, 4), (4, 1, 6, 2, 3), (3, 9, 21, 5, 6)]:
        params = model_params(ref, rng, V, D, H, seed=int(rng.integers(1 << 30)))
        ids = rng.integers(0, V, size=(B, T + 1))
        loss, _ = call_loss(student, params, ids)
        expect_close(
            f"the loss (B={B}, T={T}, V={V})", loss, ref.char_rnn_loss(params, ids)[0], tol=1e-10
        )


@graded(cell="char_rnn_loss", kind="forward", points=1, uses=LOSS_USES)
def test_char_rnn_loss_is_ln_V_with_zero_readout(student, ref, rng):
    """With Wy = 0 and by = 0 every character has the same score: the loss is ln V exactly,
    whatever the rest of the model and the text."""
    for B, T, V in [(2, 6, 9), (1, 3, 21)]:
        params = model_params(ref, rng, V, 4, 5, seed=int(rng.integers(1 << 30)))
        params["Wy"][:] = 0.0
        params["by"][:] = 0.0
        ids = rng.integers(0, V, size=(B, T + 1))
        loss, _ = call_loss(student, params, ids)
        expect_close(f"the loss with Wy = 0, by = 0 (V={V})", loss, np.log(V), tol=1e-12)


@graded(cell="char_rnn_loss", kind="gradcheck", points=0.5, uses=LOSS_USES)
@pytest.mark.parametrize("param", PARAMS)
def test_char_rnn_loss_gradcheck(student, ref, memo, param):
    # Whole model (B=3, T=6, V=7, D=4, H=5), 8 sampled coordinates + one random direction per
    # parameter, against numerical differentiation of the student's own char_rnn_loss.
    # Reference errors: 1e-10..8e-10 (tolerance 1e-6). The loss VALUE is not judged here: a
    # wrong loss with gradients exact for it is charged to the forward tests (char_rnn_loss_value
    # and the others of kind forward), not to these.
    rng = np.random.default_rng(41)
    params = model_params(ref, rng, 7, 4, 5, seed=41)
    ids = rng.integers(0, 7, size=(3, 7))  # 21 characters over 7 symbols: many repeats
    report = loss_gradcheck(
        student, ref, "char_rnn_loss", params, ids, n_coords=8, seed=41, memo=memo
    )
    expect_params(report, [param], "char_rnn_loss")


@graded(cell="char_rnn_loss", kind="property", points=1, uses=LOSS_USES)
def test_char_rnn_loss_is_a_mean(student, ref, rng):
    """The loss is the mean over all B * T predictions: the same batch stacked twice gives the
    same loss and the same gradients."""
    V = 8
    params = model_params(ref, rng, V, 3, 4, seed=42)
    ids = rng.integers(0, V, size=(2, 6))
    loss1, g1 = call_loss(student, params, ids)
    loss2, g2 = call_loss(student, params, np.concatenate([ids, ids], axis=0))
    expect_close("the loss of the batch stacked twice", loss2, loss1, tol=1e-10)
    for k in PARAMS:
        expect_close(
            f"grads[{k!r}] for the batch stacked twice (the loss is a mean, not a sum)",
            g2[k],
            expect_array(g1[k], params[k].shape, f"grads[{k!r}]"),
            tol=1e-10,
        )


@graded(cell="char_rnn_loss", kind="training", points=2, uses=LOSS_USES)
def test_char_rnn_training_loss_falls_and_tracks_reference(student, ref):
    # The bracket grammar (V=21), D=8, H=16, four fixed batches of 8 line-start windows of 21
    # characters, Adam lr 2e-2, clip 5, 40 steps. Reference, this data (corpus seed 5) and init
    # seed 0: loss 3.008 -> 1.067, ratio (mean of last 5 / mean of first 3) 0.355; over 6
    # corpus/window/init seeds: 0.348..0.359 (reference run 0.05..0.16 s). Limit 0.5. An exact
    # gradient follows the reference curve to ~1e-15; the tolerance (the default track_tol) is 1e-6.
    text, _ = grammar_corpus(3000, seed=5)
    ids = encode(text)
    data = [windows(ids, 8, 21, seed=50 + k) for k in range(4)]
    params = ref.init_char_rnn(len(VOCAB), 8, 16, seed=0)
    # a correct loss call takes ~1-2 ms here; 1 s per call (the default timeout) is far beyond
    # any honest implementation
    expect_trains_like_reference(
        student, ref, "char_rnn_loss", params, data, steps=40, lr=2e-2, clip=5.0, ratio=0.5
    )


# -------------------------------------------------------------------------------- sample (4)
def _sample_params(ref, seed, V=9, D=4, H=6, scale=3.0):
    rng = np.random.default_rng(seed)
    p = model_params(ref, rng, V, D, H, seed=seed)
    p["Wy"] *= scale  # spread the logits so sampling is far from uniform
    return p


def _sample_case(ref, rng, B):
    """Parameters (seeded from ``rng``), a random h0 (B, H) and seed characters (B,)."""
    p = _sample_params(ref, int(rng.integers(1 << 30)))
    H, V = p["Wy"].shape
    return p, rng.standard_normal((B, H)), rng.integers(0, V, size=B)


def call_sample(student, p, h0, seed_ix, n, temperature, seed):
    """The student's ``sample(...)``, checked to be (B, n) integer ids."""
    got = student.call("sample", p, h0, seed_ix, n, temperature, seed)
    return expect_ids(got, (len(seed_ix), n), "sample's result")


@graded(cell="sample", kind="forward", points=1, uses=SAMPLE_USES)
def test_sample_greedy_matches_reference(student, ref, rng):
    # temperature 0 is the argmax at every step (no random numbers; ties between the two best
    # logits have probability 0 with these continuous random parameters)
    for B, n in [(1, 1), (3, 12)]:
        p, h0, seed_ix = _sample_case(ref, rng, B)
        got = call_sample(student, p, h0, seed_ix, n, 0.0, 0)
        if not np.array_equal(got, ref.sample(p, h0, seed_ix, n, 0.0, 0)):
            raise Fail(f"greedy sampling (temperature 0) gives the wrong characters (B={B}, n={n})")


@graded(cell="sample", kind="forward", points=1, uses=SAMPLE_USES)
def test_sample_seeded_matches_reference(student, ref, rng):
    # The docstring fixes the draws: one u = rng.random(B) per step, and in each row the first
    # id whose cumulative probability exceeds u. Equivalent codes (a cumsum comparison,
    # np.searchsorted, rng.choice(V, p=...) row by row, a stable softmax) differ only when some u
    # falls within ~1e-15 of a cumulative probability: probability < 9 x 1e-15 per draw, < 1e-12
    # over the 58 draws here.
    for B, n, tau in [(2, 10, 1.0), (5, 6, 0.6), (1, 8, 1.7)]:
        p, h0, seed_ix = _sample_case(ref, rng, B)
        seed = int(rng.integers(1 << 30))
        got = call_sample(student, p, h0, seed_ix, n, tau, seed)
        if not np.array_equal(got, ref.sample(p, h0, seed_ix, n, tau, seed)):
            raise Fail(
                f"with a seeded rng, sample (B={B}, n={n}, temperature {tau}) does not give the "
                "expected characters: as the docstring says, draw u = rng.random(B) once per "
                "step and pick, in each row, the first character whose cumulative probability "
                "exceeds u"
            )


@graded(cell="sample", kind="property", points=1, uses=SAMPLE_USES)
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
        first = call_sample(student, p, h0, seed_ix, 1, tau, 7)[:, 0]
        if first.min() < 0 or first.max() >= V:
            raise Fail("sample returned ids outside [0, V)")
        tv = 0.5 * np.abs(np.bincount(first, minlength=V) / B - softmax(logits / tau)).sum()
        # total variation of 6000 correct draws (reference sampler): over 200 seeds mean
        # 0.005 / 0.013, max 0.012 / 0.027 (tau 0.5 / 2.0); the tempered distributions differ
        # from the untempered one (a sampler that ignores the temperature) by 0.30 / 0.25.
        # Limit 0.05. False-failure bound for ANY correct sampler (whatever its draws), by the
        # Bretagnolle-Huber-Carol inequality P(|freq - p|_1 >= eps) <= 2^V exp(-B eps^2 / 2)
        # with V = 9, B = 6000, eps = 2 x 0.05: 512 e^-30 = 4.8e-11 per temperature, < 1e-10
        # for both.
        if tv > 0.05:
            raise Fail(
                f"at temperature {tau} the sampled characters do not follow "
                f"softmax(logits / temperature): total variation {tv:.3f}"
            )


@graded(cell="sample", kind="property", points=1, uses=SAMPLE_USES)
def test_sample_low_temperature_is_greedy(student, ref):
    """As the temperature goes to 0, sampling becomes greedy decoding."""
    B, n = 4, 10
    p = _sample_params(ref, 62)
    H, V = p["Wy"].shape
    gen = np.random.default_rng(0)
    h0 = gen.standard_normal((B, H))
    seed_ix = gen.integers(0, V, size=B)
    greedy = ref.sample(p, h0, seed_ix, n, 0.0, 0)
    got = call_sample(student, p, h0, seed_ix, n, 1e-3, 3)
    # reference at temperature 1e-3, this data: identical to greedy. The closest top-2 logit gap
    # on the greedy path is 0.044, so at temperature 1e-3 a non-greedy pick has probability
    # < (V - 1) e^-44 = 8 x 7.8e-20 per draw: any correct sampler fails this test with
    # probability < 40 draws x 6.3e-19 = 2.5e-17.
    if not np.array_equal(got, greedy):
        raise Fail("at temperature 1e-3, sampling should pick the most likely character every time")
