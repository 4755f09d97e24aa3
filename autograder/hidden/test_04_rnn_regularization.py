"""Hidden tests for 04_rnn_regularization (Zaremba, Sutskever & Vinyals, "Recurrent Neural
Network Regularization"; variational dropout is Gal & Ghahramani 2016).

Cells and points: dropout 5, masks 4, rec 8, lm 15 (32 in total). The language model has two
LSTM layers (the paper's setting), so Zaremba's placement includes the mask *between* the
layers ('x2'), and the recurrent placements mask both layers ('h1', 'h2').
Thresholds were measured on the reference (the source notebook's own code) and the catalogue's
variants; the numbers are written beside each one. Gradients are judged against numerical
differentiation of the student's own functions. Dropout with a given mask is linear and the LSTM
is smooth (sigmoid, tanh): there are no kinks to probe, so integrity rests on the time budgets,
which count only when the timed function's gradient checks pass (``requires``).

The masks are drawn by the student's code in an order the notebook leaves open, so their tests
check properties only, with sizes that make a correct implementation fail with probability
below 1e-6 whatever its order of draws (the bound is computed beside each test). Every other
test passes masks drawn by the reference (``ref.make_dropout_masks``) or built by hand, so no
verdict depends on the student's order of draws.
"""

import numpy as np
import pytest
from autograder.testing import Fail
from autograder.testing import call_forward
from autograder.testing import expect_array
from autograder.testing import expect_backward_fast
from autograder.testing import expect_close
from autograder.testing import expect_curve_tracks
from autograder.testing import expect_gradient
from autograder.testing import expect_keys
from autograder.testing import expect_loss_decreases
from autograder.testing import expect_loss_pair
from autograder.testing import expect_loss_value
from autograder.testing import expect_params
from autograder.testing import graded
from autograder.testing import layer_gradcheck
from autograder.testing import loss_gradcheck
from autograder.testing import train_both
from autograder.testing.inputs import keep_mask
from autograder.testing.inputs import lstm_seq_inputs
from autograder.testing.inputs import perturbed
from given.recurrent import lstm_backward
from given.recurrent import lstm_forward
from s30kit.data.rnn_regularization import make_topic_language
from s30kit.data.rnn_regularization import sample_topic_text

MODES = ["none", "zaremba", "recurrent", "variational"]
MASK_KEYS = {
    "none": set(),
    "zaremba": {"x1", "x2", "y"},
    "recurrent": {"h1", "h2"},
    "variational": {"x1", "x2", "y", "h1", "h2"},
}
LM_PARAMS = ["E", "W1", "b1", "W2", "b2", "Wy", "by"]


def mask_shapes(B, T, D, H):
    """The shape of every mask of make_dropout_masks."""
    return {"x1": (B, T, D), "x2": (B, T, H), "y": (B, T, H), "h1": (B, T, H), "h2": (B, T, H)}


REC_GRADS = ["dx", "dh0", "dc0", "dW", "db"]


def rec_inputs(rng, B, T, D, H, p=0.3, masked=True, w_scale=0.5):
    """Inputs of lstm_dropout_forward: the LSTM's, then p and a recurrent keep-mask (or None)."""
    inputs = lstm_seq_inputs(rng, B, T, D, H, w_scale)
    return dict(inputs, p=p, mask_h=keep_mask(rng, (B, T, H), p) if masked else None)


def lm_params(ref, V, D, H, seed, noise=0.3):
    """The reference initialiser, with every parameter (biases too) moved off its start."""
    return perturbed(ref.init_lm_params(V, D, H, seed=seed), np.random.default_rng(seed + 1), noise)


def _rec_forward(student, inputs):
    """The student's hs for these inputs (the cache stays in the worker)."""
    return call_forward(student, "lstm_dropout_forward", n_outputs=1, **inputs)


# ------------------------------------------------------------------------------- dropout (5)
@graded(cell="dropout", kind="forward", points=1.5)
def test_dropout_forward_matches_reference(student, ref, rng):
    # p = 0 with an all-ones mask (the identity), a 1-element array, and ordinary shapes.
    # Reference and the 10 catalogue variants: exact (error 0); tolerance 1e-8.
    cases = [((1,), 0.0, True), ((3, 4), 0.25, False), ((2, 3, 5), 0.5, False), ((6,), 0.9, False)]
    for shape, p, ones in cases:
        x = rng.standard_normal(shape)
        mask = np.ones(shape) if ones else keep_mask(rng, shape, p)
        y, _ = call_forward(student, "dropout_forward", x, p, mask, n_outputs=1)
        expect_close(f"y (shape {shape}, p={p})", y, ref.dropout_forward(x, p, mask)[0])


@graded(cell="dropout", kind="gradcheck", points=1.5)
@pytest.mark.parametrize("grad", ["dx"])
def test_dropout_backward_gradcheck(student, ref, memo, grad):
    # x (3, 5), p = 0.35, a random mask (the mask is a constant, not checked).
    # Reference error vs numeric over 5 seeds: 7e-12..2.5e-11 (dropout is linear in x).
    rng = np.random.default_rng(401)
    inputs = dict(x=rng.standard_normal((3, 5)), p=0.35, mask=keep_mask(rng, (3, 5), 0.35))
    res = layer_gradcheck(
        student, ref, "dropout_forward", "dropout_backward", inputs, wrt=["x"], seed=401, memo=memo
    )
    expect_gradient(res, grad)


@graded(cell="dropout", kind="property", points=1)
def test_dropout_preserves_expected_activation(student, ref, rng):
    """Inverted dropout: averaged over many masks, y equals x (and the gradient passes 1:1)."""
    n, p = 40000, 0.4
    x_row = rng.standard_normal(7) + 2.0 * np.sign(rng.standard_normal(7))
    x = np.tile(x_row, (n, 1))  # (40000, 7)
    mask = keep_mask(rng, x.shape, p)
    y, cache = call_forward(student, "dropout_forward", x, p, mask, n_outputs=1)
    y = expect_array(y, x.shape, "y")
    # the mean of 40000 masks is 0.6 +- 0.0024 (std), a relative error of 0.4% on average;
    # without the 1/(1-p) scale it is 40% off. Limit: 3% of the largest |x|.
    dev = np.abs(y.mean(axis=0) - x_row).max() / np.abs(x_row).max()
    if dev > 0.03:
        raise Fail(
            f"averaged over 40000 masks with p={p}, dropout changes the activation by "
            f"{100 * dev:.0f}%: inverted dropout must keep the expected value (scale by 1/(1-p))"
        )
    grads = expect_keys(
        # a correct backward takes ~1 ms here; 2 s is far beyond any honest implementation
        student.call("dropout_backward", np.ones_like(x), cache, timeout=2.0),
        ["dx"],
        "dropout_backward",
    )
    dx = expect_array(grads["dx"], x.shape, "dx")
    if abs(dx.mean() - 1.0) > 0.03:
        raise Fail(
            f"with an all-ones upstream, dx should average about 1 over the masks (it averages "
            f"{dx.mean():.3f}): the backward must use the same mask and scale as the forward"
        )


@graded(cell="dropout", kind="integrity", points=1, requires=("dropout_backward_gradcheck",))
def test_dropout_backward_fast(student, ref):
    # x (500, 200): 1e5 entries. Reference backward 0.07 ms (forward 0.6 ms) -> the 2 s floor; a
    # finite-difference backward needs 2e5 forward calls on 1e5 entries (minutes).
    rng = np.random.default_rng(402)
    inputs = dict(x=rng.standard_normal((500, 200)), p=0.3, mask=keep_mask(rng, (500, 200), 0.3))
    expect_backward_fast(student, ref, "dropout_forward", "dropout_backward", inputs)


# --------------------------------------------------------------------------------- masks (4)
def _masks(student, mode, B, T, D, H, p, seed):
    value = student.call("make_dropout_masks", mode, B, T, D, H, p, seed)
    if not isinstance(value, dict):
        raise Fail(f"make_dropout_masks({mode!r}, ...) should return a dict")
    return value


@graded(cell="masks", kind="property", points=1)
def test_masks_keys_and_shapes(student, ref):
    # batch 1, length 1, and ordinary sizes
    for B, T, D, H in [(1, 1, 2, 3), (3, 5, 4, 6), (2, 9, 7, 1)]:
        shapes = mask_shapes(B, T, D, H)
        for mode in MODES:
            m = _masks(student, mode, B, T, D, H, 0.4, 11)
            if set(m) != MASK_KEYS[mode]:
                raise Fail(
                    f"make_dropout_masks({mode!r}) should return the masks "
                    f"{sorted(MASK_KEYS[mode])}, got {sorted(m)}"
                )
            for k, v in m.items():
                arr = expect_array(
                    v, shapes[k], f"mask {k!r} of {mode!r} (B={B}, T={T}, D={D}, H={H})"
                )
                if not np.all((arr == 0.0) | (arr == 1.0)):
                    raise Fail(f"mask {k!r} of {mode!r} should hold only 0.0 and 1.0")


@graded(cell="masks", kind="property", points=1)
def test_masks_keep_a_fraction_one_minus_p(student, ref):
    B, T, D, H = 64, 40, 24, 32
    for p in (0.0, 0.2, 0.5, 0.7):
        for mode in ("zaremba", "recurrent", "variational"):
            for k, v in _masks(student, mode, B, T, D, H, p, 12).items():
                arr = expect_array(v, mask_shapes(B, T, D, H)[k], f"mask {k!r} of {mode!r}")
                indep = arr[:, 0] if mode == "variational" else arr  # entries drawn independently
                if p == 0.0:
                    if not np.all(arr == 1.0):
                        raise Fail(f"with p = 0 every entry of mask {k!r} ({mode!r}) should be 1")
                    continue
                # Chance (the values depend on the implementation's order of draws): by
                # Hoeffding, the mean of n independent Bernoulli(1 - p) draws is off by more than
                # t with probability <= 2 exp(-2 n t^2). t = sqrt(ln(2 / 1e-8) / (2 n)) makes that
                # 1e-8 per mask: t = 0.011..0.013 for fresh masks (n = 61440, 81920) and
                # 0.068..0.079 for variational ones (n = B x 24 or 32 = 1536, 2048). 30 masks are
                # checked (3 values of p > 0, 3 + 2 + 5 masks each): a correct implementation
                # fails with probability <= 3e-7. Keeping with probability p instead of 1 - p is
                # 0.6 off at p = 0.2.
                tol = np.sqrt(np.log(2.0 / 1e-8) / (2.0 * indep.size))
                if abs(indep.mean() - (1 - p)) > tol:
                    raise Fail(
                        f"mask {k!r} of {mode!r} with p={p} keeps a fraction {indep.mean():.3f} "
                        f"of its entries; it should keep about 1 - p = {1 - p:.2f}"
                    )


@graded(cell="masks", kind="property", points=1)
def test_masks_fresh_per_step_or_tied_over_time(student, ref):
    """'zaremba' and 'recurrent' draw a new mask at every step; 'variational' one per sequence.
    Different connections get independent masks (D == H here, so they could be confused)."""
    B, T, D, H, p = 16, 12, 20, 20, 0.5
    for mode in ("zaremba", "recurrent"):
        for k, v in _masks(student, mode, B, T, D, H, p, 13).items():
            arr = expect_array(v, (B, T, H), f"mask {k!r} of {mode!r}")
            # two independent steps differ in 2p(1-p) = 50% of the entries; the same mask: 0%.
            # Chance: with p = 1/2 the 16 x 11 x 20 = 3520 indicators "step t+1 differs from
            # step t" are independent fair coins, so (Hoeffding) a correct implementation stays
            # below 25% with probability <= exp(-2 x 3520 x 0.25^2) = e^-440.
            changed = np.mean(arr[:, 1:] != arr[:, :-1])
            if changed < 0.25:
                raise Fail(
                    f"mask {k!r} of {mode!r} changes in only {100 * changed:.0f}% of its entries "
                    "from one time step to the next: it needs a fresh mask at every step"
                )
    m = _masks(student, "variational", B, T, D, H, p, 13)
    arrs = {k: expect_array(v, (B, T, H), f"mask {k!r} of 'variational'") for k, v in m.items()}
    for k, arr in arrs.items():
        if not np.all(arr == arr[:, :1]):
            raise Fail(f"mask {k!r} of 'variational' must be the same at every time step")
    for mode, keys in (
        ("zaremba", ["x1", "x2", "y"]),
        ("recurrent", ["h1", "h2"]),
        ("variational", ["x1", "x2", "y", "h1", "h2"]),
    ):
        pairs = [(a, b) for i, a in enumerate(keys) for b in keys[i + 1 :]]
        # two independent masks are identical with probability 2^-(independent entries):
        # 2^-320 at least (a variational mask: B x H = 320 entries), x 14 pairs
        mm = arrs if mode == "variational" else _masks(student, mode, B, T, D, H, p, 13)
        for a, b in pairs:
            if a not in mm or b not in mm:
                continue  # a missing mask is test_masks_keys_and_shapes's business
            if np.array_equal(np.asarray(mm[a]), np.asarray(mm[b])):
                raise Fail(f"masks {a!r} and {b!r} of {mode!r} are identical: draw each one anew")


@graded(cell="masks", kind="property", points=1)
def test_masks_follow_the_seed_and_differ_per_sequence(student, ref):
    """The same seed gives the same masks, another seed other masks, and every sequence of a
    batch its own mask (a mask shared by the batch makes every pair of sequences equal)."""
    # Chance: the values of the masks depend on the order in which an implementation draws them,
    # which the notebook leaves open, so only their distribution is fixed. Every entry is an
    # independent Bernoulli(1 - p) draw; with p = 0.4 two independent entries agree with
    # probability q = p^2 + (1 - p)^2 = 0.52. The sizes make a coincidence astronomically rare:
    # * two sequences with the same mask: a 'variational' mask (tied over time) has n >= 40
    #   independent entries per sequence (D = 48, H = 40): 0.52^40 = 4.3e-12 per pair, x 15 pairs
    #   x 5 masks = 3.2e-10; a fresh mask has T x n >= 320 of them: 0.52^320 < 1e-90;
    # * seeds 21 and 22 giving the same mask: >= B x n = 240 independent entries: 0.52^240 < 1e-68.
    # A correct implementation fails with probability < 4e-10, whatever its order of draws.
    B, T, D, H, p = 6, 8, 48, 40, 0.4
    shapes = mask_shapes(B, T, D, H)
    for mode in ("zaremba", "recurrent", "variational"):
        a = _masks(student, mode, B, T, D, H, p, 21)
        b = _masks(student, mode, B, T, D, H, p, 21)
        c = _masks(student, mode, B, T, D, H, p, 22)
        for k in MASK_KEYS[mode]:
            what = f"mask {k!r} of {mode!r}"
            arr = expect_array(a.get(k), shapes[k], what)
            if not np.array_equal(arr, expect_array(b.get(k), shapes[k], what)):
                raise Fail(f"make_dropout_masks({mode!r}) with the same seed gave different masks")
            if np.array_equal(arr, expect_array(c.get(k), shapes[k], what)):
                raise Fail(f"make_dropout_masks({mode!r}) ignores its seed (mask {k!r})")
            for i in range(B):
                for j in range(i):
                    if np.array_equal(arr[i], arr[j]):
                        raise Fail(
                            f"sequences {j} and {i} of a batch got the same {what}: every "
                            "sequence needs its own mask"
                        )


# ----------------------------------------------------------------------------------- rec (8)
@graded(cell="rec", kind="forward", points=1.5, uses=("dropout",))
def test_lstm_dropout_forward_matches_reference(student, ref, rng):
    # length 1, batch 1, no mask, p = 0 with a mask of ones, and ordinary masked cases.
    # Reference and the 10 catalogue variants: exact (error 0); tolerance 1e-8.
    cases = [
        (2, 1, 3, 4, 0.3, True),
        (1, 6, 2, 3, 0.5, True),
        (3, 7, 4, 5, 0.3, False),
        (2, 4, 3, 2, 0.0, True),
        (4, 5, 1, 3, 0.6, True),
    ]
    for B, T, D, H, p, masked in cases:
        inputs = rec_inputs(rng, B, T, D, H, p, masked)
        hs, _ = _rec_forward(student, inputs)
        what = f"hs (B={B}, T={T}, D={D}, H={H}, p={p}, {'a mask' if masked else 'mask_h=None'})"
        expect_close(what, hs, ref.lstm_dropout_forward(**inputs)[0])


@graded(cell="rec", kind="gradcheck", points=0.8, uses=("dropout",))
@pytest.mark.parametrize("grad", REC_GRADS)
def test_lstm_dropout_backward_gradcheck(student, ref, memo, grad):
    # BPTT through T=5 (B=2, D=3, H=4), p = 0.3, a random recurrent mask, random upstream at
    # every step. Reference errors vs numeric over 6 seeds: dx 2.6e-11..5.7e-11, dh0 ..5.0e-11,
    # dc0 ..7.4e-11, dW 5.6e-11..2.1e-10, db ..3.3e-10 (default tolerances 1e-7 / 1e-8).
    inputs = rec_inputs(np.random.default_rng(411), 2, 5, 3, 4, p=0.3)
    res = layer_gradcheck(
        student,
        ref,
        "lstm_dropout_forward",
        "lstm_dropout_backward",
        inputs,
        wrt=["x", "h0", "c0", "W", "b"],
        seed=411,
        memo=memo,
    )
    expect_gradient(res, grad)


@graded(cell="rec", kind="property", points=1, uses=("dropout",))
def test_lstm_dropout_mask_blocks_the_recurrent_path(student, ref, rng):
    """Without a mask it is the plain LSTM (forward and BPTT); with the recurrent connection
    dropped at step 0 for every unit, h0 has no influence and dh0 is exactly zero."""
    # against s30kit's LSTM: reference and variants 9.5e-17 at worst (tolerance 1e-10)
    B, T, D, H = 3, 6, 2, 4
    dhs = rng.standard_normal((B, T, H))
    inputs = rec_inputs(rng, B, T, D, H, masked=False)
    hs, cache = _rec_forward(student, inputs)
    plain = {k: inputs[k] for k in ("x", "h0", "c0", "W", "b")}
    hs_ref, cache_ref = lstm_forward(**plain)
    expect_close("hs with mask_h=None (should be the plain LSTM)", hs, hs_ref, tol=1e-10)
    grads = expect_keys(
        student.call("lstm_dropout_backward", dhs, cache), REC_GRADS, "lstm_dropout_backward"
    )
    g_ref = lstm_backward(dhs, cache_ref)
    for k in REC_GRADS:
        expect_close(f"{k} with mask_h=None (should be plain BPTT)", grads[k], g_ref[k], tol=1e-10)

    inputs = rec_inputs(rng, B, T, D, H, p=0.5)
    inputs["mask_h"][:, 0] = 0.0
    hs, cache = _rec_forward(student, inputs)
    other = dict(inputs, h0=rng.standard_normal((B, H)))
    hs2, _ = _rec_forward(student, other)
    hs = expect_array(hs, (B, T, H), "hs")
    if np.abs(expect_array(hs2, (B, T, H), "hs") - hs).max() > 1e-12:
        raise Fail("with mask_h[:, 0] = 0, changing h0 changed hs: step 0 must read the dropped h0")
    grads = expect_keys(
        student.call("lstm_dropout_backward", dhs, cache), ["dh0"], "lstm_dropout_backward"
    )
    dh0 = expect_array(grads["dh0"], (B, H), "dh0")
    if np.abs(dh0).max() > 1e-12:
        raise Fail(
            "with mask_h[:, 0] = 0 (every unit dropped at step 0), dh0 should be exactly zero: "
            "the gradient must go back through the recurrent mask"
        )


@graded(
    cell="rec",
    kind="integrity",
    points=1.5,
    uses=("dropout",),
    requires=("lstm_dropout_backward_gradcheck",),
)
def test_lstm_dropout_backward_fast(student, ref):
    # B=16, T=20, D=16, H=64: W has 80 x 256 = 20480 entries. Reference BPTT 1.8 ms (forward
    # 2.2 ms) -> the 2 s floor; a finite-difference backward needs > 4e4 forward passes (> 80 s).
    inputs = rec_inputs(np.random.default_rng(412), 16, 20, 16, 64, p=0.4, w_scale=0.15)
    expect_backward_fast(student, ref, "lstm_dropout_forward", "lstm_dropout_backward", inputs)


# ------------------------------------------------------------------------------------ lm (15)
@graded(cell="lm", kind="forward", points=2, uses=("dropout", "rec"))
def test_lstm_lm_forward_matches_reference(student, ref, rng):
    # every placement; batch 1 and length 1 included. Reference and the catalogue variants:
    # exact (error 0); tolerance 1e-9.
    shapes = [(2, 5, 7, 3, 4), (1, 4, 5, 2, 3), (3, 1, 6, 4, 5), (2, 6, 9, 5, 2)]
    for (B, T, V, D, H), mode in zip(shapes, MODES):
        for mode_ in (mode, MODES[(MODES.index(mode) + 1) % 4]):
            params = lm_params(ref, V, D, H, seed=int(rng.integers(1 << 30)))
            ids = rng.integers(0, V, size=(B, T))
            masks = ref.make_dropout_masks(mode_, B, T, D, H, 0.4, int(rng.integers(1 << 30)))
            logits, _ = call_forward(
                student, "lstm_lm_forward", ids, params, 0.4, masks, n_outputs=1
            )
            expect_close(
                f"logits ({mode_!r} masks, B={B}, T={T}, V={V}, D={D}, H={H})",
                logits,
                ref.lstm_lm_forward(ids, params, 0.4, masks)[0],
                tol=1e-9,
            )


def _lm_report(student, ref, memo, mode):
    """The whole-model check with this placement's masks (once per placement and submission)."""
    V, D, H, B, T, p = 5, 3, 4, 2, 4, 0.4
    seed = 420 + MODES.index(mode)
    rng = np.random.default_rng(seed)
    params = lm_params(ref, V, D, H, seed)
    masks = ref.make_dropout_masks(mode, B, T, D, H, p, seed)
    batch = (rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T)), p, masks)
    return loss_gradcheck(student, ref, "lstm_lm_loss", params, batch, seed=seed, memo=memo)


@graded(cell="lm", kind="gradcheck", points=0.25, uses=("dropout", "rec"))
@pytest.mark.parametrize("param", LM_PARAMS)
@pytest.mark.parametrize("mode", MODES)
def test_lstm_lm_loss_gradcheck(student, ref, memo, mode, param):
    # Whole two-layer model (V=5, D=3, H=4, B=2, T=4, p=0.4) with this placement's masks: 8
    # sampled coordinates plus one random direction per parameter. Reference errors, 4
    # placements x 3 seeds (420.., 520.., 620..), every coordinate of all 7 parameters: none
    # 1.6e-11..2.1e-9, zaremba ..1.4e-9, recurrent ..1.7e-9, variational ..3.7e-9 (tolerance 1e-6).
    report = _lm_report(student, ref, memo, mode)
    expect_params(report, [param], f"lstm_lm_loss with {mode!r} masks")


@graded(cell="lm", kind="forward", points=0.5, uses=("dropout", "rec"))
def test_lstm_lm_loss_value(student, ref, memo):
    for mode in MODES:
        expect_loss_value(_lm_report(student, ref, memo, mode), f"lstm_lm_loss with {mode!r} masks")


def _lm_grads(student, params, batch, V, D, H):
    """The student's gradients of lstm_lm_loss, each checked for its shape."""
    fn = "lstm_lm_loss"
    _, grads = expect_loss_pair(student.call(fn, params, batch), fn, params)
    return {k: expect_array(grads[k], params[k].shape, f"grads[{k!r}]") for k in LM_PARAMS}


@graded(cell="lm", kind="property", points=1, uses=("dropout", "rec"))
def test_lstm_lm_dropped_units_get_no_gradient(student, ref, rng):
    """A unit of layer 2 dropped on its way to the softmax at every position gives its row of Wy
    no gradient; an input dropped at the only position where a token occurs gives that token's
    embedding no gradient."""
    V, D, H, B, T, p = 8, 4, 5, 3, 6, 0.4
    params = lm_params(ref, V, D, H, seed=430)
    ids = rng.integers(1, V, size=(B, T))
    ids[1, 3] = 0  # token 0 occurs only here
    targets = rng.integers(0, V, size=(B, T))
    masks = ref.make_dropout_masks("variational", B, T, D, H, p, 430)
    masks["y"][:, :, 2] = 0.0
    masks["y"][:, :, 3] = 1.0
    masks["x1"][1, 3, :] = 0.0
    grads = _lm_grads(student, params, (ids, targets, p, masks), V, D, H)
    if np.abs(grads["Wy"][2]).max() > 1e-14:
        raise Fail(
            "unit 2 was dropped before the softmax at every position, yet Wy[2] got a gradient"
        )
    if np.abs(grads["Wy"][3]).max() == 0.0:
        raise Fail("unit 3 was kept everywhere, yet Wy[3] got no gradient")
    if np.abs(grads["E"][0]).max() > 1e-14:
        raise Fail(
            "the input at the only position of token 0 was dropped, yet E[0] got a gradient: "
            "the backward must go through the input mask 'x1'"
        )


@graded(cell="lm", kind="property", points=1.5, uses=("dropout", "rec"))
def test_lstm_lm_between_layer_mask(student, ref, rng):
    """The mask between the layers ('x2'): with every unit of layer 1 dropped at every position,
    layer 2 never sees layer 1, so E, W1 and b1 change nothing and get exactly zero gradient;
    with one unit of layer 1 dropped at every position, the row of W2 that reads that unit gets
    exactly zero gradient (and the rows of kept units do not)."""
    V, D, H, B, T, p = 7, 3, 5, 3, 6, 0.4
    params = lm_params(ref, V, D, H, seed=432)
    ids, targets = rng.integers(0, V, size=(B, T)), rng.integers(0, V, size=(B, T))
    masks = ref.make_dropout_masks("zaremba", B, T, D, H, p, 432)
    masks["x2"][:] = 0.0
    logits, _ = call_forward(student, "lstm_lm_forward", ids, params, p, masks, n_outputs=1)
    other = dict(params)
    for k in ("E", "W1", "b1"):
        other[k] = rng.standard_normal(params[k].shape)
    logits2, _ = call_forward(student, "lstm_lm_forward", ids, other, p, masks, n_outputs=1)
    logits = expect_array(logits, (B, T, V), "logits")
    if np.abs(expect_array(logits2, (B, T, V), "logits") - logits).max() > 1e-12:
        raise Fail(
            "with mask 'x2' all zero, changing E, W1 and b1 changed the logits of "
            "lstm_lm_forward: layer 2 must read layer 1's output through the mask 'x2'"
        )
    grads = _lm_grads(student, params, (ids, targets, p, masks), V, D, H)
    for k in ("E", "W1", "b1"):
        if np.abs(grads[k]).max() > 1e-14:
            raise Fail(
                f"with mask 'x2' all zero (layer 1 cut off from layer 2), grads[{k!r}] of "
                "lstm_lm_loss is not zero: the backward must go through the between-layer mask"
            )
    masks = ref.make_dropout_masks("variational", B, T, D, H, p, 433)
    masks["x2"][:, :, 1] = 0.0  # unit 1 of layer 1 never reaches layer 2
    masks["x2"][:, :, 2] = 1.0  # unit 2 always does
    grads = _lm_grads(student, params, (ids, targets, p, masks), V, D, H)
    # W2 is (2H, 4H): rows 0..H-1 read the (dropped) output of layer 1, rows H..2H-1 h2_{t-1}
    if np.abs(grads["W2"][1]).max() > 1e-14:
        raise Fail(
            "unit 1 of layer 1 was dropped on its way into layer 2 at every position, yet the row "
            "W2[1] that reads it got a gradient"
        )
    if np.abs(grads["W2"][2]).max() == 0.0 or np.abs(grads["W1"]).max() == 0.0:
        raise Fail(
            "unit 2 of layer 1 was kept at every position, yet W2[2] (or all of W1) got no "
            "gradient: the gradient must reach layer 1 through the kept units"
        )


@graded(cell="lm", kind="property", points=0.5, uses=("dropout", "rec"))
def test_lstm_lm_evaluation_needs_no_rescaling(student, ref, rng):
    """Inverted dropout: with no masks, p changes nothing; all-ones masks with p = 0 change
    nothing either."""
    # reference and the catalogue variants: exact (error 0); tolerance 1e-10
    V, D, H, B, T = 6, 3, 4, 2, 5
    params = lm_params(ref, V, D, H, seed=431)
    ids = rng.integers(0, V, size=(B, T))
    base = ref.lstm_lm_forward(ids, params, 0.0, {})[0]
    ones = {k: np.ones(shape) for k, shape in mask_shapes(B, T, D, H).items()}
    for p, masks, what in [
        (0.5, {}, "p = 0.5 and no masks"),
        (0.0, ones, "p = 0 and all-ones masks"),
    ]:
        logits, _ = call_forward(student, "lstm_lm_forward", ids, params, p, masks, n_outputs=1)
        expect_close(f"logits with {what} (should equal no dropout)", logits, base, tol=1e-10)


# Training on fixed data: a topic language (seed 7), 4 fixed batches of 16 sequences of 12 tokens,
# V=20, D=8, H=16 (two layers), 'zaremba' masks with p=0.3 drawn by the reference for every step
# (seed 500 + step), Adam lr 2e-2, clip 1, 80 steps. Reference, mean of the last 5 losses / mean of
# the first 3, over language/init seeds 7, 8, 9, 10, 11: 0.789, 0.751, 0.735, 0.701, 0.756 (from
# ~2.95 to ~2.2 nats) -> threshold 0.85; a zero gradient gives 1.0. Exact gradients in another
# operation order (the catalogue's variants) track the reference curve to ~1e-15 relative; the
# tolerance is 1e-6. The reference takes 0.17 s of CPU in-process (80 steps).
TRAIN_STEPS, TRAIN_LR, TRAIN_RATIO, TRACK_TOL = 80, 2e-2, 0.85, 1e-6


def _train_problem(ref, seed=7):
    lang = make_topic_language(16, 4, alpha=0.1, seed=seed)
    data = [sample_topic_text(lang, 16, 12, seed=100 * seed + k) for k in range(4)]
    masks = [
        ref.make_dropout_masks("zaremba", 16, 11, 8, 16, 0.3, 500 + s) for s in range(TRAIN_STEPS)
    ]

    def batches(step):
        seqs = data[step % 4]
        return seqs[:, :-1], seqs[:, 1:], 0.3, masks[step]

    return ref.init_lm_params(20, 8, 16, seed=seed), batches


@graded(cell="lm", kind="training", points=1.5, uses=("dropout", "rec"))
def test_lstm_lm_training_loss_falls_and_tracks_reference(student, ref):
    params, batches = _train_problem(ref)
    losses, ref_losses = train_both(
        student,
        ref,
        "lstm_lm_loss",
        params,
        batches,
        TRAIN_STEPS,
        TRAIN_LR,
        clip=1.0,
        timeout=2.0,
        max_seconds=10.0,
    )
    expect_loss_decreases(losses, TRAIN_RATIO, TRAIN_STEPS, head=3)  # vs the first three
    expect_curve_tracks(
        losses,
        ref_losses,
        TRACK_TOL,
        what="the loss curve of training with your gradients",
        hint="exact gradients follow it to ~1e-15",
    )


@graded(
    cell="lm",
    kind="integrity",
    points=1,
    uses=("dropout", "rec"),
    requires=("lstm_lm_loss_gradcheck",),
)
def test_lstm_lm_backward_fast(student, ref):
    # B=16, T=20, V=20, D=16, H=64, two layers, variational masks: W1 and W2 alone have 45056
    # entries. Reference forward 3.8 ms, backward 5.2 ms (single-threaded BLAS) -> the 2 s
    # floor; finite differences need > 9e4 forward passes (> 5 min).
    rng = np.random.default_rng(440)
    params = ref.init_lm_params(20, 16, 64, seed=440)
    inputs = dict(
        ids=rng.integers(0, 20, size=(16, 20)),
        params=params,
        p=0.4,
        masks=ref.make_dropout_masks("variational", 16, 20, 16, 64, 0.4, 440),
    )
    expect_backward_fast(student, ref, "lstm_lm_forward", "lstm_lm_backward", inputs)
