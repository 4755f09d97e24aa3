"""Hidden tests for 09_gpipe (Huang et al., GPipe: Efficient Training of Giant Neural Networks
using Pipeline Parallelism).

Grade cells and points: stage 8, model_loss 5, gpipe_step 8, peak_stored_floats 4, simulate 5
(30 in all). Gradient checks compare the student's gradients with numerical differentiation of
the student's own forward (or loss), at the engine's default tolerances (1e-7 per layer, 1e-6
for the whole model), so a wrong forward is charged to the forward tests alone. gpipe_step is
judged against the reference's full-batch loss and gradients: that exactness is the paper's
claim. Every threshold below was measured on the reference (the source notebook's own code) and
on the catalogue's correct variants; the numbers are written beside it.
"""

from __future__ import annotations

import numpy as np
import pytest
from autograder.testing import Fail
from autograder.testing import call_forward
from autograder.testing import expect_array
from autograder.testing import expect_backward_fast
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
from given.gradcheck import rel_error
from given.optim import TrainingDiverged
from given.optim import train

STAGE_GRADS = ["dx", "dW1", "db1", "dW2", "db2"]

# The tests of model_loss and gpipe_step use an 8-layer, 4-stage network like the notebook's, but
# narrow: a stage_backward computed by finite differences (a catalogue mutant) then costs a few
# milliseconds per call instead of tenths of a second, so it cannot use up the submission's call
# budget (the tests of peak_stored_floats and simulate, which do not call it, also run first).
SMALL_DIMS = [4, 6, 6, 6, 6, 6, 6, 6, 1]


# ------------------------------------------------------------------------------ helpers
def _stage_inputs(rng, b, d0, d1, d2, scale=1.0):
    return dict(
        x=rng.standard_normal((b, d0)),
        W1=scale * rng.standard_normal((d0, d1)) / np.sqrt(d0),
        b1=0.5 * rng.standard_normal(d1),
        W2=scale * rng.standard_normal((d1, d2)) / np.sqrt(d1),
        b2=0.5 * rng.standard_normal(d2),
    )


def _problem(ref, seed, n_rows, dims=None):
    """Random weights of an MLP with widths ``dims`` (default SMALL_DIMS) and a batch of
    ``n_rows`` teacher examples (inputs of width dims[0])."""
    dims = SMALL_DIMS if dims is None else dims
    rng = np.random.default_rng(seed)
    params = ref.init_params(dims, rng)
    for name in params:  # nonzero biases, so that a bias gradient bug shows
        if name.startswith("b"):
            params[name] = 0.3 * rng.standard_normal(params[name].shape)
    teacher = ref.make_teacher(d_in=dims[0], hidden=64, seed=seed + 100)
    return params, ref.teacher_batch(teacher, n_rows, rng)


def _loss_and_grads(value, fn, params):
    """(loss, grads) of the student's fn, checked: a finite scalar and finite grads like params."""
    loss, grads = expect_loss_pair(value, fn, params)
    for name, p in params.items():
        expect_array(grads[name], p.shape, f"grads[{name!r}] from {fn}")
    return loss, grads


# ------------------------------------------------------------------------------ stage (8)
STAGE_CASES = {
    "middle_stage": (5, 6, 7, 4, False),
    "last_stage": (5, 6, 7, 1, True),
    "batch1": (1, 3, 4, 2, False),
    "last_stage_wide": (3, 32, 32, 1, True),
}


@graded(cell="stage", kind="forward", points=0.5)
@pytest.mark.parametrize("case", list(STAGE_CASES))
def test_stage_forward_matches_reference(student, ref, rng, case):
    b, d0, d1, d2, last = STAGE_CASES[case]
    inputs = _stage_inputs(rng, b, d0, d1, d2, scale=1.5)
    out, _ = call_forward(student, "stage_forward", n_outputs=1, **inputs, last=last)
    expect_inputs_unchanged(student, "stage_forward")
    expect_close(
        f"out for b={b}, widths ({d0}, {d1}, {d2}), last={last}",
        out,
        ref.stage_forward(**inputs, last=last)[0],
        tol=1e-10,
    )


# Reference and the catalogue's variants (a loop over the rows, einsum with a dict cache, a cache
# of the inputs only with the forward recomputed in the backward), upstream seeds 0..9, both
# stage kinds: largest relative error 5.5e-11 (dx), 6.2e-11 (dW1), 5.5e-11 (db1), 2.5e-11 (dW2),
# 6.0e-11 (db2) against centred differences of their own forward (tolerance 1e-7).
@graded(cell="stage", kind="gradcheck", points=0.5)
@pytest.mark.parametrize("last", [False, True], ids=["middle", "last"])
@pytest.mark.parametrize("grad", STAGE_GRADS)
def test_stage_backward_gradcheck(student, ref, memo, grad, last):
    inputs = _stage_inputs(np.random.default_rng(901), 4, 3, 5, 1 if last else 2, scale=1.5)
    inputs["last"] = last
    res = layer_gradcheck(
        student, ref, "stage_forward", "stage_backward", inputs, seed=9, memo=memo
    )
    expect_gradient(res, grad)


# 8 384 parameters + 16 384 inputs: a finite-difference backward needs ~49 500 forward passes
# of 0.2-0.3 ms each (over 10 s); the reference backward takes 0.4-2 ms on the shared 2-core
# machine (load 8-10), the catalogue's slowest variant (a loop over the rows) 40 ms, so the
# budget is the 2 s floor (50 x 2 ms = 0.1 s).
@graded(cell="stage", kind="integrity", points=1.0, requires=("stage_backward_gradcheck",))
def test_stage_backward_fast_at_realistic_size(student, ref):
    inputs = _stage_inputs(np.random.default_rng(902), 256, 64, 64, 64)
    inputs["last"] = False
    expect_backward_fast(student, ref, "stage_forward", "stage_backward", inputs)


# ------------------------------------------------------------------------------ peak (4)
def _peak(student, dims, sizes, remat):
    value = student.call("peak_stored_floats", list(dims), list(sizes), remat)
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise Fail(f"peak_stored_floats should return a number, got a {type(value).__name__}")
    return value


PEAK_CASES = {
    "notebook_M4": (None, [16, 16, 16, 16], False),
    "notebook_M4_remat": (None, [16, 16, 16, 16], True),
    "uneven_remat": ([8, 16, 16, 16, 1], [3, 3, 2, 2], True),
    "one_stage_remat": ([3, 7, 2], [5, 4], True),
}


@graded(cell="peak_stored_floats", kind="forward", points=0.5)
@pytest.mark.parametrize("case", list(PEAK_CASES))
def test_peak_stored_floats_matches_reference(student, ref, case):
    dims, sizes, remat = PEAK_CASES[case]
    dims = list(ref.DIMS) if dims is None else dims
    got = _peak(student, dims, sizes, remat)
    want = ref.peak_stored_floats(dims, sizes, remat)
    # An integer count: exact.
    if got != want:
        raise Fail(
            f"peak_stored_floats(dims={dims}, sizes={sizes}, remat={remat}) returned {got}, "
            "which is not the peak of the counting rule (check what each stage stores, when it "
            "is freed, and the order of the backward passes)"
        )


@graded(cell="peak_stored_floats", kind="property", points=1.0)
def test_peak_without_remat_is_the_whole_batch_for_every_split(student, ref, rng):
    dims = [5, 9, 4, 6, 3, 7, 1]
    for sizes in ([12], [6, 6], [4, 4, 4], [3, 3, 3, 3], [2] * 6, [1] * 12, [5, 4, 3]):
        got = _peak(student, dims, sizes, False)
        want = 12 * (sum(dims) + dims[2] + dims[4])  # every activation of every row, once per stage
        if got != want:
            raise Fail(
                f"without re-materialisation the peak should be the same for every split of 12 "
                f"rows (all activations are stored before the first backward); sizes {sizes} "
                f"gave {got}"
            )


@graded(cell="peak_stored_floats", kind="property", points=1.0)
def test_peak_with_remat_falls_with_M_towards_the_stored_inputs(student, ref):
    dims = list(ref.DIMS)
    inputs = 64 * sum(dims[2 * k] for k in range(4))
    peaks = [_peak(student, dims, [64 // M] * M, True) for M in (1, 2, 4, 8, 16)]
    # Reference: 8768, 7712, 7184, 6920, 6788 (inputs 6656; the excess 2112 / M).
    excess = [p - inputs for p in peaks]
    if not all(e > 0 for e in excess) or not all(
        abs(a - 2 * b) <= 1e-9 * abs(a) for a, b in zip(excess, excess[1:])
    ):
        raise Fail(
            "with re-materialisation and equal micro-batches, the peak minus the stored stage "
            "inputs (one stage's recomputed activations on one micro-batch) should halve each "
            f"time M doubles; for B = 64 and M = 1, 2, 4, 8, 16 your peaks are {peaks}"
        )


# ------------------------------------------------------------------------------ simulate (5)
def _simulate(student, fwd, bwd, M, remat):
    value = student.call("simulate", np.asarray(fwd, float), np.asarray(bwd, float), M, remat)
    F, Bs, makespan = expect_tuple(value, "simulate", 3, "F_start, B_start, makespan")
    K = len(fwd)
    F = expect_array(F, (K, M), "F_start")
    Bs = expect_array(Bs, (K, M), "B_start")
    makespan = float(expect_array(makespan, (), "makespan"))
    return F, Bs, makespan


SIM_CASES = {
    "uniform_K4_M4": ([1.0] * 4, [2.0] * 4, 4, False),
    "random_K3_M5": ("random", 3, 5, False),
    "random_K4_M3_remat": ("random", 4, 3, True),
    "one_device": ([1.5], [2.5], 3, False),
}


def _sim_case(rng, case):
    spec = SIM_CASES[case]
    if spec[0] == "random":
        _, K, M, remat = spec
        return rng.uniform(0.5, 2.0, K), rng.uniform(0.5, 3.0, K), M, remat
    return spec


@graded(cell="simulate", kind="forward", points=0.5)
@pytest.mark.parametrize("case", list(SIM_CASES))
def test_simulate_matches_reference(student, ref, rng, case):
    fwd, bwd, M, remat = _sim_case(rng, case)
    F, Bs, makespan = _simulate(student, fwd, bwd, M, remat)
    ref_F, ref_B, ref_T = ref.simulate(np.asarray(fwd), np.asarray(bwd), M, remat)
    # Sums of a few costs: the reference and the variants agree to 4.4e-16 (relative).
    for what, got, want in [("F_start", F, ref_F), ("B_start", Bs, ref_B)]:
        bad = np.abs(got - want) > 1e-9 * (1.0 + np.abs(want))
        if bad.any():
            k, m = (int(i) for i in np.argwhere(bad)[0])
            raise Fail(
                f"{what}[{k}, {m}] is not the earliest start the rules allow (K = {len(fwd)}, "
                f"M = {M}, remat = {remat})"
            )
    if abs(makespan - ref_T) > 1e-9 * ref_T:
        raise Fail(f"the makespan is not the end of the last operation (K = {len(fwd)}, M = {M})")


@graded(cell="simulate", kind="property", points=1.5)
def test_simulate_respects_every_dependency(student, ref, rng):
    """Checked on the student's own schedule: devices never overlap, each runs its operations in
    the stated order, every operation waits for its input, and the makespan is the last end."""
    for K, M, remat in [(4, 6, False), (3, 4, True)]:
        fwd, bwd = rng.uniform(0.5, 2.0, K), rng.uniform(0.5, 3.0, K)
        F, Bs, makespan = _simulate(student, fwd, bwd, M, remat)
        b = bwd + (fwd if remat else 0.0)
        eps = 1e-9
        for k in range(K):
            starts = list(F[k]) + list(Bs[k, ::-1])  # the device's order of operations
            costs = [fwd[k]] * M + [b[k]] * M
            for i in range(1, 2 * M):
                if starts[i] < starts[i - 1] + costs[i - 1] - eps:
                    raise Fail(
                        f"device {k} starts an operation before its previous one has finished "
                        f"(or not in the order F_0..F_(M-1), B_(M-1)..B_0), K = {K}, M = {M}"
                    )
            for m in range(M):
                if k > 0 and F[k, m] < F[k - 1, m] + fwd[k - 1] - eps:
                    raise Fail(f"F[{k}, {m}] starts before stage {k - 1}'s forward of it ended")
                if k < K - 1 and Bs[k, m] < Bs[k + 1, m] + b[k + 1] - eps:
                    raise Fail(f"B[{k}, {m}] starts before stage {k + 1}'s backward of it ended")
                if Bs[k, m] < F[k, m] + fwd[k] - eps:
                    raise Fail(f"B[{k}, {m}] starts before its own forward ended")
            if F[k, 0] < -eps:
                raise Fail("an operation starts before time 0")
        end = max(
            (F + fwd[:, None]).max(),
            (Bs + b[:, None]).max(),
        )
        if abs(makespan - end) > eps * end:
            raise Fail(
                f"the makespan should be the time the last operation ends (K = {K}, M = {M}, "
                f"remat = {remat})"
            )


@graded(cell="simulate", kind="property", points=1.5)
def test_simulate_uniform_costs_give_the_bubble_formula(student, ref):
    for K, M, f, b, remat in [
        (4, 4, 1.0, 2.0, False),
        (2, 7, 0.5, 1.5, False),
        (5, 3, 1.0, 2.0, True),
        (3, 16, 2.0, 1.0, True),
    ]:
        _, _, makespan = _simulate(student, [f] * K, [b] * K, M, remat)
        step = f + b + (f if remat else 0.0)
        want = (M + K - 1) * step
        # Exact sums of the costs: reference and variants within 1e-15 relative.
        if abs(makespan - want) > 1e-9 * want:
            bubble = 1 - M * K * step / (K * makespan)
            raise Fail(
                f"with equal stage costs (K = {K}, M = {M}, f = {f}, b = {b}, remat = {remat}) "
                f"the makespan should be (M + K - 1) x (cost of one micro-batch on one stage), "
                f"i.e. a bubble of (K-1)/(M+K-1) = {(K - 1) / (M + K - 1):.3f}; yours gives "
                f"{bubble:.3f}"
            )


# ------------------------------------------------------------------------------ model_loss (5)
@graded(cell="model_loss", kind="forward", points=1.0, uses=("stage",))
def test_model_loss_value_matches_reference(student, ref):
    cases = [(list(ref.DIMS), 9), ([8, 16, 16, 16, 1], 5), ([3, 4, 1], 1)]  # K = 4, 2, 1 stages
    for p, (dims, n_rows) in enumerate(cases):
        params, batch = _problem(ref, 910 + p, n_rows, dims)
        loss, _ = _loss_and_grads(student.call("model_loss", params, batch), "model_loss", params)
        expect_close(
            f"the loss of a {len(params) // 4}-stage network on a batch of {n_rows}",
            np.array(loss),
            np.array(ref.model_loss(params, batch)[0]),
            tol=1e-10,
        )


# Reference and variants, 6 coordinates + a random direction per parameter (tolerance 1e-6):
# coordinate seed 12 on this problem 2.7e-09, seeds 8..15 at most 1.5e-08, problems 921..924 with
# seed 12 at most 3.9e-09. (On the notebook's wider DIMS, coordinate seed 9 drew a direction of
# 2e-5 for the one-element b7, where rounding dominates: 2.3e-06; the fixed seed was checked.)
# Judged against numerical differentiation of the student's own loss.
@graded(cell="model_loss", kind="gradcheck", points=2.0, uses=("stage",))
def test_model_loss_gradcheck(student, ref):
    params, batch = _problem(ref, 920, 5, [4, 5, 5, 5, 1])  # two stages: the chain between them
    report = loss_gradcheck(student, ref, "model_loss", params, batch, n_coords=6, seed=12)
    expect_params(report, list(params), "model_loss")


def _stream(ref, seed, n=20, n_rows=16):
    rng = np.random.default_rng(seed)
    teacher = ref.make_teacher(d_in=SMALL_DIMS[0], hidden=64, seed=3)
    data = [ref.teacher_batch(teacher, n_rows, rng) for _ in range(n)]
    return lambda step: data[step % n]


@graded(cell="model_loss", kind="training", points=2.0, uses=("stage",))
def test_model_loss_trains_like_reference(student, ref):
    batches = _stream(ref, 930)
    params = ref.init_params(SMALL_DIMS, np.random.default_rng(931))
    ref_curve = train(ref.model_loss, {k: v.copy() for k, v in params.items()}, batches, 60, 1e-2)
    curve = train_with_student(student, "model_loss", params, batches, 60, lr=1e-2)
    # Reference (init seeds 931..935, data seeds 930..934): mean of the last 5 losses over the
    # first = 0.045 ... 0.143; this test uses the first pair (0.079).
    expect_loss_decreases(curve, 0.4, 60)
    # The catalogue's variants follow the reference curve to 2.4e-15 (relative) over 60 steps,
    # on all five pairs.
    expect_curve_tracks(curve, ref_curve, 1e-8, what="the training curve with your model_loss")


# ------------------------------------------------------------------------------ gpipe_step (8)
GPIPE_CASES = {
    "B64_M1": (64, 1, False),
    "B64_M2": (64, 2, False),
    "B64_M4": (64, 4, False),
    "B64_M8": (64, 8, False),
    "B64_M2_remat": (64, 2, True),
    "B64_M8_remat": (64, 8, True),
    "uneven_B10_M4": (10, 4, False),
    "uneven_B10_M4_remat": (10, 4, True),
}


def _expect_full_batch(student, ref, params, batch, M, remat, where):
    """The student's gpipe_step against the reference's full-batch loss and gradients."""
    value = student.call("gpipe_step", params, batch, M, remat)
    if not isinstance(value, tuple) or len(value) != 2:
        raise Fail("gpipe_step should return a pair (loss, grads)")
    loss, grads = _loss_and_grads(value, "gpipe_step", params)
    ref_loss, ref_grads = ref.model_loss(params, batch)
    # Reference and variants, 20 problems (seeds 1000..1019) of every case: loss within 4.4e-16,
    # each gradient within 1.9e-15 (norm-wise relative) of the full batch; tolerance 1e-12.
    if abs(loss - ref_loss) > 1e-12 * abs(ref_loss):
        raise Fail(
            f"{where}: the loss of gpipe_step differs from the full-batch mean squared error by "
            f"a relative error of {abs(loss - ref_loss) / abs(ref_loss):.2e} (tolerance 1e-12): "
            "each micro-batch's loss must count in proportion to its number of rows"
        )
    errs = {name: rel_error(grads[name], ref_grads[name]) for name in params}
    worst = max(errs, key=errs.get)
    if errs[worst] > 1e-12:
        bad = sorted(name for name, e in errs.items() if e > 1e-12)
        raise Fail(
            f"{where}: the gradients of gpipe_step differ from the full-batch gradients "
            f"(worst {worst}, relative error {errs[worst]:.2e}, tolerance 1e-12; wrong: "
            f"{', '.join(bad[:8])}). Accumulate every micro-batch's gradients, each in "
            "proportion to its number of rows"
        )


@graded(cell="gpipe_step", kind="property", points=0.5, uses=("stage",))
@pytest.mark.parametrize("case", list(GPIPE_CASES))
def test_gpipe_step_equals_full_batch(student, ref, case):
    n_rows, M, remat = GPIPE_CASES[case]
    params, batch = _problem(ref, 940 + list(GPIPE_CASES).index(case), n_rows)
    _expect_full_batch(
        student, ref, params, batch, M, remat, f"B = {n_rows}, M = {M}, remat = {remat}"
    )


@graded(cell="gpipe_step", kind="property", points=1.0, uses=("stage",))
def test_gpipe_step_other_depths_and_one_row_per_micro_batch(student, ref):
    for p, (dims, n_rows, M, remat) in enumerate(
        [([8, 16, 16, 16, 1], 7, 3, True), ([5, 6, 1], 4, 4, True), (None, 5, 5, False)]
    ):
        params, batch = _problem(ref, 950 + p, n_rows, dims)
        _expect_full_batch(
            student,
            ref,
            params,
            batch,
            M,
            remat,
            f"a {len(params) // 4}-stage network, B = {n_rows}, M = {M}, remat = {remat}",
        )


@graded(cell="gpipe_step", kind="integrity", points=1.0, uses=("stage",))
def test_gpipe_step_leaves_params_and_batch_unchanged(student, ref):
    params, batch = _problem(ref, 960, 12)
    for remat in (False, True):
        student.call("gpipe_step", params, batch, 3, remat)
        expect_inputs_unchanged(student, "gpipe_step")


@graded(cell="gpipe_step", kind="training", points=2.0, uses=("stage",))
def test_gpipe_step_trains_like_the_full_batch(student, ref, memo):
    batches = _stream(ref, 970, n_rows=18)
    params = ref.init_params(SMALL_DIMS, np.random.default_rng(971))

    def student_step(p, batch):
        value = student.call("gpipe_step", p, batch, 4, True)
        if not isinstance(value, tuple) or len(value) != 2:
            raise Fail("gpipe_step should return a pair (loss, grads)")
        return expect_loss_pair(value, "gpipe_step", p)

    try:
        curve = train(student_step, {k: v.copy() for k, v in params.items()}, batches, 40, 1e-2)
    except TrainingDiverged as exc:
        raise Fail(f"training with your gpipe_step failed: {exc}") from None
    ref_curve = train(ref.model_loss, {k: v.copy() for k, v in params.items()}, batches, 40, 1e-2)
    # 18 rows in 4 micro-batches (5, 5, 4, 4). Reference and variants against the full-batch run
    # (the loss falls to 0.05-0.14 of its start), init seeds 971..975 with data seeds 970..974:
    # largest relative difference over 40 steps 2.0e-15; a mean of micro-batch means departs by
    # 0.10-0.23.
    expect_curve_tracks(
        curve,
        ref_curve,
        1e-9,
        what="Adam with your gpipe_step (M = 4, remat) against Adam with the full-batch gradient",
        hint="the pipelined step should give the full-batch gradient at every step",
    )
