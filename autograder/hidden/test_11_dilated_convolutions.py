"""Hidden tests for 11_dilated_convolutions (Yu & Koltun, Multi-Scale Context Aggregation by
Dilated Convolutions).

Grade cells and points: dilated_conv1d 9, stack 8, stack_loss 6, receptive_field 6 (29 in all;
the last cell holds input_gradient and receptive_field).
Layout (B, C, N) throughout. Gradient checks compare the student's gradients with numerical
differentiation of the student's OWN forward (or loss), at 1e-7 per layer and 1e-6 for the whole
loss, so a wrong forward is charged to the forward tests alone. Inputs of the stack's checks are
redrawn until every pre-activation is at least 1e-3 from the ReLU's kink (a nudge moves one by
at most ~1e-4 here), so centred differences never straddle it; the kink itself has its own test.
Every threshold was measured on the reference (the source notebook's code) and on the
catalogue's correct variants; the numbers are written beside it. Timings: in-process, one BLAS
thread, on the shared 2-core machine (load average 8-10).
"""

from __future__ import annotations

import numpy as np
import pytest
from autograder.testing import Fail
from autograder.testing import GradResult
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
from autograder.testing import expect_loss_pair
from autograder.testing import expect_params
from autograder.testing import graded
from autograder.testing import layer_gradcheck
from autograder.testing import loss_gradcheck
from autograder.testing import memoised
from autograder.testing import numerically_flat
from autograder.testing import train_with_student
from given.diagnosis import quantities_of
from given.gradcheck import compare
from given.gradcheck import step_size
from given.optim import train


# ------------------------------------------------------------------------------ helpers
def _conv_inputs(rng, B, C, N, F, K, dilation):
    return dict(
        x=rng.standard_normal((B, C, N)),
        w=rng.standard_normal((F, C, K)),
        b=rng.standard_normal(F),
        dilation=dilation,
    )


def _pre_activations(ref, params, x, dilations):
    """Every hidden pre-activation a_l of the reference stack, flattened into one array."""
    h, out = x, []
    for layer, d in enumerate(dilations, start=1):
        a = ref.dilated_conv1d_forward(h, params[f"w{layer}"], params[f"b{layer}"], d)[0]
        out.append(a.ravel())
        h = np.maximum(a, 0.0)
    return np.concatenate(out)


def _stack_problem(ref, seed, dilations, C, K, B, N, margin=1e-3):
    """Stack parameters (nonzero biases) and inputs, redrawn until every pre-activation is
    ``margin`` away from the ReLU's kink."""
    rng = np.random.default_rng(seed)
    while True:
        params = ref.init_stack(dilations, C, K, rng)
        for key in params:
            if key.startswith("b"):
                params[key] = 0.3 * rng.standard_normal(params[key].shape)
        x = rng.standard_normal((B, 1, N))
        if np.abs(_pre_activations(ref, params, x, dilations)).min() > margin:
            return params, x


def _stack_inputs(params, x, dilations):
    return dict(params=params, x=x, dilations=tuple(dilations))


def _logits(student, calls):
    """The student's logits z for each keyword set in ``calls``, in one round trip."""
    out = student.call_many("stack_forward", [((), kw) for kw in calls], pick=(0,))
    if any(not isinstance(r, tuple) or len(r) != 1 for r in out):
        raise Fail("stack_forward should return a tuple (z, cache)")
    return [r[0] for r in out]


def _stack_gradcheck(student, ref, params, x, dilations, seed):
    """Each gradient of the student's stack_backward (random upstream) against centred
    differences of sum(z * dz) of the student's own stack_forward, for x and every parameter."""
    inputs = _stack_inputs(params, x, dilations)
    z_ref, cache_ref = ref.stack_forward(params, x, dilations)
    dz = np.random.default_rng(seed).standard_normal(z_ref.shape)
    ref_grads = ref.stack_backward(dz, cache_ref)
    cache = call_forward(student, "stack_forward", n_outputs=1, **inputs)[-1]
    grads = expect_keys(
        student.call("stack_backward", dz, cache),
        ["dx"] + ["d" + k for k in params],
        "the dict returned by stack_backward",
    )
    results = {}
    for name in ["x"] + list(params):
        arr = x if name == "x" else params[name]
        calls, steps = [], []
        for idx in np.ndindex(arr.shape):
            h = step_size(arr[idx])
            steps.append(h)
            for sign in (1.0, -1.0):
                moved = arr.copy()
                moved[idx] = arr[idx] + sign * h
                if name == "x":
                    calls.append(_stack_inputs(params, moved, dilations))
                else:
                    calls.append(_stack_inputs(dict(params, **{name: moved}), x, dilations))
        zs = _logits(student, calls)
        num = np.empty(arr.shape)
        for k, (idx, h) in enumerate(zip(np.ndindex(arr.shape), steps)):
            f = [
                float(np.sum(expect_array(z, dz.shape, "z of stack_forward") * dz))
                for z in zs[2 * k : 2 * k + 2]
            ]
            num[idx] = (f[0] - f[1]) / (2.0 * h)
        key = "d" + name
        result = GradResult(
            compare(key, grads[key], num, quantities=quantities_of(inputs)),
            compare(key, grads[key], ref_grads[key]),
        )
        if numerically_flat(num, ref_grads[key]):
            result.degenerate = (
                f"cannot be checked: the logits of your stack_forward do not change when {name} "
                "changes (their numerical derivative is zero), so stack_forward is wrong; fix it "
                "first"
            )
        results[key] = result
    return results


def _stack_loss(student, params, batch, dilations):
    return expect_loss_pair(
        student.call("stack_loss", params, batch, tuple(dilations)), "stack_loss", params
    )


# ------------------------------------------------------------------------ dilated_conv1d (9)
CONV_CASES = {
    "K3_d1": (2, 3, 10, 4, 3, 1),
    "K3_d4": (2, 2, 12, 3, 3, 4),
    "K5_d2_batch1": (1, 2, 9, 2, 5, 2),
    "padding_longer_than_signal": (2, 1, 5, 2, 3, 7),
    "K1": (3, 4, 6, 5, 1, 3),
}


@graded(cell="dilated_conv1d", kind="forward", points=0.4)
@pytest.mark.parametrize("case", list(CONV_CASES))
def test_dilated_conv1d_forward_matches_reference(student, ref, rng, case):
    B, C, N, F, K, d = CONV_CASES[case]
    inputs = _conv_inputs(rng, B, C, N, F, K, d)
    out, _ = call_forward(student, "dilated_conv1d_forward", n_outputs=1, **inputs)
    expect_inputs_unchanged(student, "dilated_conv1d_forward")
    expect_close(
        f"out for x {(B, C, N)}, w {(F, C, K)}, dilation {d}",
        out,
        ref.dilated_conv1d_forward(**inputs)[0],
        tol=1e-10,
    )


@graded(cell="dilated_conv1d", kind="property", points=1.0)
def test_dilation_equals_a_spread_filter(student, ref, rng):
    # A filter with dilation d is the undilated filter of (K - 1) d + 1 taps that has the K taps
    # d apart and zeros in between (the paper's definition). Both through the student's forward.
    for K, d in [(3, 2), (3, 5), (5, 3)]:
        x, w, b = rng.standard_normal((2, 3, 17)), rng.standard_normal((2, 3, K)), np.zeros(2)
        spread = np.zeros((2, 3, (K - 1) * d + 1))
        spread[:, :, ::d] = w
        dilated, _ = call_forward(student, "dilated_conv1d_forward", x, w, b, d, n_outputs=1)
        plain, _ = call_forward(student, "dilated_conv1d_forward", x, spread, b, 1, n_outputs=1)
        dilated = expect_array(dilated, (2, 2, 17), "out")
        plain = expect_array(plain, (2, 2, 17), "out")
        # Reference and the catalogue's variants: difference exactly 0 on these inputs.
        if np.abs(dilated - plain).max() > 1e-10 * max(1.0, np.abs(plain).max()):
            raise Fail(
                f"with K = {K} taps and dilation {d} your dilated_conv1d_forward differs from "
                f"the same function with dilation 1 and the {(K - 1) * d + 1}-tap filter that "
                f"has the taps {d} apart and zeros between them; a dilation spreads the taps, "
                "centred on the output position"
            )


@graded(cell="dilated_conv1d", kind="property", points=0.5)
def test_dilated_conv1d_one_tap_shifts_the_signal(student, ref, rng):
    # A 1 on the last of 3 taps, dilation 3: out[n] = x[n + 3] (not flipped), 0 past the end.
    x = rng.standard_normal((2, 1, 11))
    w = np.zeros((1, 1, 3))
    w[0, 0, 2] = 1.0
    out, _ = call_forward(student, "dilated_conv1d_forward", x, w, np.zeros(1), 3, n_outputs=1)
    out = expect_array(out, (2, 1, 11), "out")
    expected = np.zeros_like(x)
    expected[:, :, :-3] = x[:, :, 3:]
    if np.abs(out - expected).max() > 1e-12:
        raise Fail(
            "a filter whose only nonzero tap is the last of 3, with dilation 3, should read the "
            "input 3 samples to the right (out[n] = x[n + 3], zero where that is past the end); "
            "is the filter flipped, the padding one-sided, or the tap offset not scaled by the "
            "dilation?"
        )


GRAD_CONV_INPUTS = {
    "d2": dict(B=2, C=2, N=9, F=3, K=3, dilation=2),
    "d4_pad_longer_than_signal": dict(B=2, C=2, N=5, F=2, K=3, dilation=4),
}


# Reference, upstream seeds 0..9: dx 3.3e-11, dw 3.2e-11, db 7.7e-11 at worst over both inputs
# (tolerance 1e-7); the catalogue's variants (loops, im2col with einsum): at most 4.2e-11,
# 4.2e-11, 6.5e-11.
@graded(cell="dilated_conv1d", kind="gradcheck", points=1.5)
@pytest.mark.parametrize("grad", ["dx", "dw", "db"])
def test_dilated_conv1d_backward_gradcheck(student, ref, memo, grad):
    for seed, shape in enumerate(GRAD_CONV_INPUTS.values()):
        inputs = _conv_inputs(np.random.default_rng(1100 + seed), **shape)
        res = layer_gradcheck(
            student,
            ref,
            "dilated_conv1d_forward",
            "dilated_conv1d_backward",
            inputs,
            wrt=["x", "w", "b"],
            seed=11,
            memo=memo,
        )
        expect_gradient(res, grad)


# Size: x (8, 16, 256) = 32 768 inputs, w (16, 16, 3), dilation 4. The reference backward
# takes 0.3-2.4 ms (budget: the 2 s floor); the catalogue's loop variant (Python loops over
# positions and taps) 14 ms; centred differences need 2 x 33 536 forward calls of 0.2-0.9 ms
# (over 10 s). Measured at a load average of 8-10.
@graded(
    cell="dilated_conv1d",
    kind="integrity",
    points=1.0,
    requires=("dilated_conv1d_backward_gradcheck",),
)
def test_dilated_conv1d_backward_fast(student, ref):
    inputs = _conv_inputs(np.random.default_rng(1102), 8, 16, 256, 16, 3, 4)
    expect_backward_fast(student, ref, "dilated_conv1d_forward", "dilated_conv1d_backward", inputs)


# ------------------------------------------------------------------------------ stack (8)
STACK_USES = ("dilated_conv1d",)
STACK_CASES = {
    "three_layers": (1100, (1, 2, 4), 4, 3, 3, 20),
    "one_layer_K5": (1101, (2,), 2, 5, 1, 7),
}


@graded(cell="stack", kind="forward", points=0.75, uses=STACK_USES)
@pytest.mark.parametrize("case", list(STACK_CASES))
def test_stack_forward_matches_reference(student, ref, case):
    seed, dil, C, K, B, N = STACK_CASES[case]
    params, x = _stack_problem(ref, seed, dil, C, K, B, N)
    z, _ = call_forward(student, "stack_forward", n_outputs=1, **_stack_inputs(params, x, dil))
    expect_inputs_unchanged(student, "stack_forward")
    expect_close(
        f"z for dilations {dil}, {C} channels, {K} taps, x {(B, 1, N)}",
        z,
        ref.stack_forward(params, x, dil)[0],
        tol=1e-10,
    )


STACK_GRADS = ["dx", "dw1", "db1", "dw2", "db2", "dw_out", "db_out"]


# Reference, upstream seeds 0..9 on this problem (dilations (1, 3), 3 channels): every gradient
# 5.5e-10 at worst (tolerance 1e-7); the catalogue's variants at most 5.5e-10.
@graded(cell="stack", kind="gradcheck", points=0.5, uses=STACK_USES)
@pytest.mark.parametrize("grad", STACK_GRADS)
def test_stack_backward_gradcheck(student, ref, memo, grad):
    params, x = _stack_problem(ref, 1103, (1, 3), 3, 3, 2, 11)
    results = memoised(
        memo,
        ("stack_gradcheck",),
        lambda: _stack_gradcheck(student, ref, params, x, (1, 3), seed=11),
    )
    expect_gradient(results, grad)


# Compared with the reference's analytic gradients at the reference's forward, so it counts only
# when the forward matches and the backward passes its gradient check.
@graded(
    cell="stack",
    kind="integrity",
    points=1.0,
    uses=STACK_USES,
    requires=("stack_forward_matches_reference", "stack_backward_gradcheck"),
)
def test_stack_backward_at_kinks(student, ref, rng):
    # Channel 0 of layer 1 and channel 1 of layer 2 get zero weights and a bias of +-1e-8: their
    # pre-activations sit 1e-8 from the kink at every position (one on each side). An analytic
    # backward is exact there; centred differences straddle the kink and return half the slope.
    params, x = _stack_problem(ref, 1104, (1, 2), 3, 3, 2, 12)
    params["w1"][0] = 0.0
    params["b1"][0] = 1e-8
    params["w2"][1] = 0.0
    params["b2"][1] = -1e-8
    dz = rng.standard_normal((2, 12))
    expect_backward_like_reference(
        student,
        ref,
        "stack_forward",
        "stack_backward",
        _stack_inputs(params, x, (1, 2)),
        [dz],
        ["dx"] + ["d" + k for k in params],
        "with pre-activations 1e-8 from the ReLU's kink",
    )


@graded(cell="stack", kind="property", points=1.0, uses=STACK_USES)
def test_stack_output_sees_only_its_receptive_field(student, ref, rng):
    # Dilations (1, 2, 4), K = 3: z[:, n] depends on x[:, 0, n - 7 .. n + 7] only. Changing every
    # sample outside that span leaves z[:, n] exactly unchanged; changing the samples at n - 7
    # and n + 7 (reached only through the outermost taps of every layer) changes it.
    dil, n = (1, 2, 4), 20
    params, x = _stack_problem(ref, 1105, dil, 4, 3, 3, 40)
    outside, edge = x.copy(), x.copy()
    far = np.ones(40, dtype=bool)
    far[n - 7 : n + 8] = False
    outside[:, 0, far] += rng.standard_normal((3, int(far.sum())))
    edge[:, 0, [n - 7, n + 7]] += 1.0
    z = _logits(student, [_stack_inputs(params, v, dil) for v in (x, outside, edge)])
    z0, z_out, z_edge = (expect_array(v, (3, 40), "z of stack_forward") for v in z)
    if np.abs(z_out[:, n] - z0[:, n]).max() > 1e-12:
        raise Fail(
            f"with dilations {dil} and 3 taps, z[:, {n}] changed when only inputs more than 7 "
            f"samples away from position {n} changed; it should see 1 + 2 (1 + 2 + 4) = 15 "
            "samples only"
        )
    # Reference: the two outermost samples move z[:, 20] by 0.025, 0.50, 0.042 here.
    if np.abs(z_edge[:, n] - z0[:, n]).max() < 1e-9:
        raise Fail(
            f"with dilations {dil} and 3 taps, z[:, {n}] did not change when the inputs 7 samples "
            "to either side changed; each layer should widen the field by 2 x its dilation"
        )


# Size: dilations (1, 2, 4, 8), 8 channels, x (16, 1, 512): 641 parameters and 8 192 inputs.
# The reference backward takes 11-23 ms (budget: the 2 s floor); the catalogue's loop variant
# 0.16 s; centred differences need 2 x 8 833 forward calls of 9-13 ms (minutes).
@graded(
    cell="stack",
    kind="integrity",
    points=1.0,
    uses=STACK_USES,
    requires=("stack_backward_gradcheck",),
)
def test_stack_backward_fast(student, ref):
    dil = (1, 2, 4, 8)
    rng = np.random.default_rng(1106)
    params = ref.init_stack(dil, 8, 3, rng)
    x = rng.standard_normal((16, 1, 512))
    expect_backward_fast(
        student, ref, "stack_forward", "stack_backward", _stack_inputs(params, x, dil)
    )


# ------------------------------------------------------------------------------ stack_loss (6)
LOSS_USES = ("dilated_conv1d", "stack")


def _loss_problem(ref, seed, dil=(1, 2), C=3, B=2, N=10):
    params, x = _stack_problem(ref, seed, dil, C, 3, B, N)
    y = ref.window_labels(x, 5)
    return params, (x, y), dil


@graded(cell="stack_loss", kind="forward", points=1.0, uses=LOSS_USES)
def test_stack_loss_value_matches_reference(student, ref):
    for seed, dil, N in [(1110, (1, 2), 10), (1111, (1, 1, 3), 16)]:
        params, batch, dil = _loss_problem(ref, seed, dil=dil, N=N)
        params["b_out"] = np.array([2.5])  # logits far from 0: the two classes weigh unevenly
        loss, _ = _stack_loss(student, params, batch, dil)
        # Reference against a direct -mean(y log p + (1 - y) log(1 - p)): 4e-16 and 0.
        expect_close(
            f"the loss for dilations {dil} and a batch of {batch[0].shape[0]} sequences of "
            f"{batch[0].shape[2]}",
            np.array(loss),
            np.array(ref.stack_loss(params, batch, dil)[0]),
            tol=1e-10,
        )


# 6 sampled coordinates of every parameter (all of b1, b2, w_out, b_out) and one random
# direction, against centred differences of the student's own loss. Reference, every
# coordinate, problems of seeds 1112..1121: 2.7e-10 at worst (tolerance 1e-6, the engine's
# default for a whole model); the catalogue's variants the same (2.7e-10).
@graded(cell="stack_loss", kind="gradcheck", points=2.0, uses=LOSS_USES)
def test_stack_loss_gradcheck(student, ref):
    params, batch, dil = _loss_problem(ref, 1112)
    report = loss_gradcheck(student, ref, "stack_loss", params, batch, 6, seed=11, args=(dil,))
    expect_params(report, list(params), "stack_loss")


@graded(cell="stack_loss", kind="training", points=2.0, uses=LOSS_USES)
def test_stack_loss_trains_like_reference(student, ref):
    dil, steps, lr = (1, 2, 4), 40, 3e-2
    data = ref.fixed_batches(8, 4, 24, 7, seed=1113)  # 8 batches of 4 sequences of 24, window 7
    params = ref.init_stack(dil, 3, 3, np.random.default_rng(1114))
    batches = lambda step: data[step % len(data)]  # noqa: E731
    ref_curve = train(
        lambda p, b: ref.stack_loss(p, b, dil),
        {k: v.copy() for k, v in params.items()},
        batches,
        steps,
        lr=lr,
    )
    # Stopped after 5 s: the reference's 40 steps take 0.3-0.5 s with the worker's round trips
    # at a load average of 8-10, the loop variant 0.9 s.
    curve = train_with_student(
        student, "stack_loss", params, batches, steps, lr, max_seconds=5.0, args=(dil,)
    )
    # Reference, init seeds 1114..1123 with data seeds 1113..1122: mean of the last 5 losses
    # over the first = 0.29-0.56; this test's 0.38.
    expect_loss_decreases(curve, 0.75, steps)
    # The catalogue's variants (loop and einsum convolutions, another cache layout, another
    # form of the loss), the 10 seeds above: largest relative difference from the reference
    # curve 5.6e-16. A backward by centred differences departs by ~1e-6 within a few steps.
    expect_curve_tracks(curve, ref_curve, 1e-6, what="the training curve with your stack_loss")


# Size: dilations (1, 2, 4, 8), 16 channels, a batch of 8 sequences of 256. The reference
# stack_loss takes 11-13 ms (budget: the 2 s floor); the catalogue's loop variant 0.12 s;
# centred differences over its 2 433 parameters need 4 866 forward passes of 0.9-9 ms (4-40 s).
@graded(
    cell="stack_loss",
    kind="integrity",
    points=1.0,
    uses=LOSS_USES,
    requires=("stack_loss_value_matches_reference", "stack_loss_gradcheck"),
)
def test_stack_loss_fast(student, ref):
    dil = (1, 2, 4, 8)
    rng = np.random.default_rng(1115)
    params = ref.init_stack(dil, 16, 3, rng)
    batch = ref.noise_batch(8, 256, 31, rng)
    expect_call_fast(student, ref, "stack_loss", (params, batch, dil))


# ------------------------------------------------------------------------ receptive_field (6)
RF_USES = ("dilated_conv1d", "stack")


def _offsets(student, params, x, dil, position):
    value = student.call("receptive_field", params, x, tuple(dil), position)
    if not isinstance(value, np.ndarray) or value.ndim != 1 or value.dtype.kind not in "iu":
        raise Fail("receptive_field should return a 1-D NumPy array of integer offsets")
    return value.astype(np.int64)


RF_CASES = {
    "dilations_1_2_4_8_centre": ((1, 2, 4, 8), 4, 3, (4, 1, 48), 24),
    "K5_dilations_1_3": ((1, 3), 4, 5, (3, 1, 40), 20),
    "near_the_left_end": ((1, 2, 4), 4, 3, (3, 1, 20), 2),
    "at_the_right_end": ((2, 1), 4, 3, (3, 1, 16), 15),
}


@graded(cell="receptive_field", kind="forward", points=1.0, uses=RF_USES)
def test_input_gradient_matches_reference(student, ref):
    for dil, C, K, shape, position in [((1, 3), 3, 3, (3, 1, 20), 9), ((2,), 2, 5, (2, 1, 9), 0)]:
        params, x = _stack_problem(ref, 1130 + K, dil, C, K, shape[0], shape[2])
        got = student.call("input_gradient", params, x, dil, position)
        expect_inputs_unchanged(student, "input_gradient")
        # Reference against centred differences of its own logits: 1e-10; the catalogue's
        # variants against the reference: identical or within 2e-16.
        expect_close(
            f"the input gradient for dilations {dil}, {K} taps, position {position} of {shape[2]}",
            got,
            ref.input_gradient(params, x, dil, position),
            tol=1e-10,
        )


# Exact comparison of offset sets: outside the field nothing reaches the input, so every
# analytic implementation returns exact zeros there, and inside an exact zero needs a sum of
# nonzero products to cancel to 0.0 (or a dead path for every input of the batch, which the
# reference sees too). No correct variant differed from the reference on any case.
@graded(cell="receptive_field", kind="forward", points=0.5, uses=RF_USES)
@pytest.mark.parametrize("case", list(RF_CASES))
def test_receptive_field_matches_reference(student, ref, rng, case):
    dil, C, K, shape, position = RF_CASES[case]
    params = ref.init_stack(dil, C, K, rng)
    x = rng.standard_normal(shape)
    got = _offsets(student, params, x, dil, position)
    expected = ref.receptive_field(params, x, dil, position)
    if not np.array_equal(got, expected):
        raise Fail(
            f"for dilations {dil}, {K} taps, position {position} of {shape[2]}: your "
            f"receptive_field returns {len(got)} offsets ({got.min() if got.size else '-'} .. "
            f"{got.max() if got.size else '-'}), not the {len(expected)} offsets at which the "
            "input gradient of that output is nonzero for some input of the batch (in "
            "increasing order, relative to the position)"
        )


@graded(cell="receptive_field", kind="property", points=1.5, uses=RF_USES)
def test_receptive_field_grows_as_the_formula_says(student, ref):
    # 1 + (K - 1) sum(d), every offset in between reached: doubling dilations with K = 3
    # (2^(L+1) - 1 for L = 2, 4, 5), and K = 5 with dilations 1, 4, 16 (85 samples). Every bias
    # is 2, so (almost) every ReLU is on and two inputs reveal the whole field (reference, 20
    # draws of such stacks: 119 of 120 complete; these seeds: all).
    configs = [((1, 2), 3), ((1, 2, 4, 8), 3), ((1, 2, 4, 8, 16), 3), ((1, 4, 16), 5)]
    x = np.random.default_rng(1120).standard_normal((2, 1, 90))
    for k, (dil, K) in enumerate(configs):
        params = ref.init_stack(dil, 4, K, np.random.default_rng(1121 + k))
        for key in params:
            if key.startswith("b"):
                params[key][:] = 2.0
        half = (K - 1) * sum(dil) // 2
        got = _offsets(student, params, x, dil, 45)
        if not np.array_equal(got, np.arange(-half, half + 1)):
            raise Fail(
                f"for dilations {dil} and {K} taps the receptive field should be every offset "
                f"from {-half} to {half} (1 + (K - 1) sum(d) = {2 * half + 1} samples); your "
                f"receptive_field returns {len(got)} offsets"
            )


@graded(cell="receptive_field", kind="property", points=1.5, uses=RF_USES)
def test_receptive_field_takes_the_union_over_the_batch(student, ref):
    # A narrow stack (2 channels, dilations 1, 2, 4, 8): each of these 6 inputs alone leaves
    # some offsets with an exact zero gradient (dead ReLU paths; the reference finds 5-19 of 31
    # per input), their union reaches all 31.
    dil = (1, 2, 4, 8)
    params = ref.init_stack(dil, 2, 3, np.random.default_rng(103))
    x = np.random.default_rng(12).standard_normal((6, 1, 48))
    got = _offsets(student, params, x, dil, 24)
    if not np.array_equal(got, np.arange(-15, 16)):
        raise Fail(
            f"on a stack where single inputs leave dead paths, your receptive_field returns "
            f"{len(got)} offsets, not all 31 from -15 to 15: an offset belongs to the field when "
            "the gradient is nonzero for at least one input of the batch (the union)"
        )
