"""Wrong implementations of 22_scaling_laws that the hidden tests must catch (test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward, variant

# The MLP backward as written in the reference (the body only).
_MLP_BACKWARD_BODY = """    cache_1, cache_h, cache_2 = cache
    g_out = affine_backward(dpred, cache_2)          # dh (B, H), dW2 (H, 1), db2 (1,)
    g_h = tanh_backward(g_out["dx"], cache_h)        # dz (B, H)
    g_in = affine_backward(g_h["dx"], cache_1)       # dx (B, D), dW1 (D, H), db1 (H,)
    return {"dx": g_in["dx"], "dW1": g_in["dW"], "db1": g_in["db"],
            "dW2": g_out["dW"], "db2": g_out["db"]}"""

# A backward that differentiates numerically through the forward (tests/mutants.py). It recovers
# b1 from the cached activations (arctanh), and b2 cancels out of centred differences, so it is
# accurate to ~1e-10 and passes every gradient check; only the realistic-size time budget
# catches it.
_MLP_NUMERICAL_BACKWARD = numerical_backward(
    """    (x, W1), h, (_, W2) = cache
    b1 = (np.arctanh(h) - x @ W1).mean(axis=0)
    args = {"x": x.copy(), "W1": W1.copy(), "b1": b1, "W2": W2.copy(), "b2": np.zeros(1)}""",
    "np.sum(mlp_forward(**args)[0] * dpred)",
)

# The whole mlp cell from the forward's body to the backward's end.
_MLP_CELL_BODIES = (
    """    z, cache_1 = affine_forward(x, W1, b1)       # (B, H)
    h, cache_h = tanh_forward(z)                 # (B, H)
    pred, cache_2 = affine_forward(h, W2, b2)    # (B, 1)
    return pred, (cache_1, cache_h, cache_2)


def mlp_backward(dpred, cache):
    \"\"\"Gradients of mlp_forward.

    Inputs:
      dpred: (B, 1) upstream gradient dL/dpred.
      cache: from mlp_forward.
    Returns:
      dict with 'dx' (B, D), 'dW1' (D, H), 'db1' (H,), 'dW2' (H, 1), 'db2' (1,).
    \"\"\"
"""
    + _MLP_BACKWARD_BODY
)

_MLP_LOSS_BODY = """    x, y = batch
    pred, cache = mlp_forward(x, **params)     # (B, 1)
    loss, dpred = mse_loss(pred, y)            # dpred: (B, 1)
    g = mlp_backward(dpred, cache)
    return loss, {name: g["d" + name] for name in params}"""

_TRAIN_STUDENT_BODY = """    rng = np.random.default_rng(seed)
    params = init_mlp(D_IN, width, rng)
    opt = Adam(lr=LR)
    losses = []
    for step in range(steps):
        opt.lr = cosine_lr(step, steps, LR)
        loss, grads = mlp_loss(params, teacher_batch(teacher, BATCH, rng))
        opt.step(params, grads)
        losses.append(float(loss))
    x_test, y_test = teacher_batch(teacher, N_TEST, np.random.default_rng(TEST_SEED))
    pred, _ = mlp_forward(x_test, **params)                  # (N_TEST, 1)
    test_mse = float(np.mean((pred - y_test) ** 2))
    return test_mse, losses"""

_FIT_LOSS_BODY = """    log_a, alpha, log_c = theta
    log_N = np.log(N)                        # (K,)
    u = log_a - alpha * log_N                # (K,) log of the power-law term
    p = np.logaddexp(u, log_c)               # (K,) log of the prediction
    r = p - np.log(L)                        # (K,) residuals in log space
    loss = float(np.mean(r**2))
    g = 2.0 * r / r.size                     # (K,) d loss / d r
    s = np.exp(u - p)                        # (K,) share of the power-law term
    dtheta = np.array([np.sum(g * s), -np.sum(g * s * log_N), np.sum(g * (1.0 - s))])
    return loss, dtheta"""

_FIT_POWERLAW_BODY = """    N = np.asarray(N, dtype=np.float64)
    L = np.asarray(L, dtype=np.float64)
    i = int(np.argmin(N))
    alpha0 = 0.5
    c0 = 0.5 * L.min()
    a0 = (L[i] - c0) * N[i] ** alpha0
    params = {"theta": np.array([np.log(a0), alpha0, np.log(c0)])}
    opt = Adam(lr=lr)
    losses = []
    for step in range(steps):
        opt.lr = cosine_lr(step, steps, lr)
        loss, dtheta = powerlaw_fit_loss(params["theta"], N, L)
        losses.append(float(loss))
        opt.step(params, {"theta": dtheta})
    return params["theta"], losses"""

_FRONTIER_BODY = """    N = np.asarray(N, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    L = np.asarray(L, dtype=np.float64)
    log_C = np.log(np.asarray(C, dtype=np.float64))                # (Q,)
    L_opt = np.full(log_C.shape, np.inf)                           # (Q,)
    N_opt = np.full(log_C.shape, np.nan)                           # (Q,)
    for i in np.argsort(N, kind="stable"):                         # smaller N first wins ties
        log_Ci = np.log(6.0 * N[i] * D)                            # (K,) compute of its runs
        curve = np.exp(np.interp(log_C, log_Ci, np.log(L[i])))     # (Q,)
        exists = (log_C >= log_Ci[0]) & (log_C <= log_Ci[-1])      # (Q,) no extrapolation
        better = exists & (curve < L_opt)
        L_opt[better] = curve[better]
        N_opt[better] = N[i]
    return L_opt, N_opt"""

_FRONTIER_CASES = [
    f"compute_frontier_matches_reference[{case}]"
    for case in ("grid_4x4", "unsorted_5x3", "one_model_two_runs")
]

_MLP_FORWARD_CASES = [
    f"mlp_forward_matches_reference[{case}]" for case in ("B5_D8_H16", "batch1", "D1_H1", "wide")
]
_FIT_GRADCHECKS = [f"powerlaw_fit_loss_gradcheck[{g}]" for g in ("dlog_a", "dalpha", "dlog_c")]

MUTANTS = [
    # ---------------------------------------------------------------- mlp
    mutant(
        "numerical_backward",
        "mlp_code",
        _MLP_BACKWARD_BODY,
        _MLP_NUMERICAL_BACKWARD,
        "mlp_backward_fast_at_realistic_size",
    ),
    mutant(
        "tanh_derivative_not_squared",
        "mlp_code",
        'g_h = tanh_backward(g_out["dx"], cache_h)        # dz (B, H)',
        'g_h = {"dx": g_out["dx"] * (1.0 - cache_h)}      # 1 - h instead of 1 - h^2',
        "mlp_backward_gradcheck[dx]",
        "mlp_backward_gradcheck[dW1]",
        "mlp_backward_gradcheck[db1]",
        "mlp_loss_gradcheck",
        "mlp_loss_trains_like_reference",
    ),
    mutant(
        "transposed_output_weight_gradient",
        "mlp_code",
        '"dW2": g_out["dW"]',
        '"dW2": g_out["dW"].T',
        "mlp_backward_gradcheck[dW2]",
        "mlp_loss_gradcheck",
        "mlp_loss_trains_like_reference",
    ),
    mutant(
        "hidden_bias_gradient_skips_tanh",
        "mlp_code",
        '"db1": g_in["db"]',
        '"db1": g_out["dx"].sum(axis=0)',
        "mlp_backward_gradcheck[db1]",
        "mlp_loss_gradcheck",
    ),
    mutant(
        "forward_forgets_output_bias",
        "mlp_code",
        "pred, cache_2 = affine_forward(h, W2, b2)",
        "pred, cache_2 = affine_forward(h, W2, 0.0 * b2)",
        *_MLP_FORWARD_CASES,
        "mlp_loss_value_matches_reference",
        "mlp_loss_gradcheck",
    ),
    # ---------------------------------------------------------------- mlp_loss
    mutant(
        "loss_gradient_missing_1_over_B",
        "mlp_loss_code",
        "loss, dpred = mse_loss(pred, y)",
        "loss, dpred = float(np.mean((pred - y) ** 2)), 2.0 * (pred - y)",
        # Adam is invariant to the scale of the gradient, so training alone cannot see this.
        "mlp_loss_gradcheck",
    ),
    mutant(
        "sum_instead_of_mean_squared_error",
        "mlp_loss_code",
        "loss, dpred = mse_loss(pred, y)",
        "loss, dpred = float(np.sum((pred - y) ** 2)), 2.0 * (pred - y)",
        # Its gradients are right for the loss it returns, so the gradient check (against its
        # own loss) passes; the value and the training curve give it away.
        "mlp_loss_value_matches_reference",
        "mlp_loss_trains_like_reference",
    ),
    mutant(
        "grads_keyed_like_backward",
        "mlp_loss_code",
        'return loss, {name: g["d" + name] for name in params}',
        'return loss, {"d" + name: g["d" + name] for name in params}',
        "mlp_loss_gradcheck",
        "mlp_loss_trains_like_reference",
    ),
    # ---------------------------------------------------------------- train_student
    mutant(
        "same_batch_every_step",
        "train_student_code",
        "mlp_loss(params, teacher_batch(teacher, BATCH, rng))",
        "mlp_loss(params, teacher_batch(teacher, BATCH, np.random.default_rng(seed)))",
        "train_student_follows_the_recipe",
        "train_student_reaches_reference_quality",
    ),
    mutant(
        "width_ignored",
        "train_student_code",
        "params = init_mlp(D_IN, width, rng)",
        "params = init_mlp(D_IN, 16, rng)",
        "train_student_follows_the_recipe",
        "train_student_reaches_reference_quality",
        "train_student_bigger_is_better",
    ),
    mutant(
        "no_learning_rate_schedule",
        "train_student_code",
        "opt.lr = cosine_lr(step, steps, LR)",
        "opt.lr = LR",
        "train_student_follows_the_recipe",
    ),
    # ---------------------------------------------------------------- powerlaw_fit_loss
    mutant(
        "alpha_gradient_sign",
        "powerlaw_fit_loss_code",
        "-np.sum(g * s * log_N)",
        "np.sum(g * s * log_N)",
        "powerlaw_fit_loss_gradcheck[dalpha]",
        "fit_powerlaw_recovers_known_exponent",
        "fit_powerlaw_reaches_the_minimum",
    ),
    mutant(
        "log_c_gradient_misses_the_log",
        "powerlaw_fit_loss_code",
        "np.sum(g * (1.0 - s))",
        "np.sum(g * np.exp(log_c))",
        "powerlaw_fit_loss_gradcheck[dlog_c]",
    ),
    mutant(
        "share_not_divided_by_prediction",
        "powerlaw_fit_loss_code",
        "s = np.exp(u - p)",
        "s = np.exp(u)",
        *_FIT_GRADCHECKS,
    ),
    mutant(
        "fit_gradient_missing_1_over_K",
        "powerlaw_fit_loss_code",
        "g = 2.0 * r / r.size",
        "g = 2.0 * r",
        *_FIT_GRADCHECKS,
    ),
    mutant(
        "fit_loss_in_linear_space",
        "powerlaw_fit_loss_code",
        "loss = float(np.mean(r**2))",
        "loss = float(np.mean((np.exp(p) - L) ** 2))",
        "powerlaw_fit_loss_value_matches_reference",
    ),
    # ---------------------------------------------------------------- fit_powerlaw
    mutant(
        "fit_steps_uphill",
        "fit_powerlaw_code",
        'opt.step(params, {"theta": dtheta})',
        'opt.step(params, {"theta": -dtheta})',
        "fit_powerlaw_recovers_known_exponent",
        "fit_powerlaw_reaches_the_minimum",
    ),
    # ---- added after the coverage review: every hidden test is named by some mutant
    mutant(
        "mlp_db2_averaged_over_the_batch",
        "mlp_code",
        '"db2": g_out["db"]',
        '"db2": g_out["db"] / dpred.shape[0]',
        "mlp_backward_gradcheck[db2]",
    ),
    mutant(
        "start_amplitude_ignores_N",
        "fit_powerlaw_code",
        "a0 = (L[i] - c0) * N[i] ** alpha0",
        "a0 = L[i] - c0",
        # The start no longer moves with the unit of N; 2000 steps from it still recover alpha
        # to 0.01 and reach the minimum to 0.5 %, but the fit depends on the unit (alpha moves
        # by 8e-3, log c by 2e-2 between N and 1000 N).
        "fit_powerlaw_is_unit_invariant",
    ),
    mutant(
        "fit_loss_compares_with_log10_of_L",
        "powerlaw_fit_loss_code",
        "r = p - np.log(L)",
        "r = p - np.log10(L)",
        "powerlaw_fit_loss_zero_on_exact_law_and_unit_invariant",
    ),
]


MUTANTS += [
    # ---------------------------------------------------------------- compute_frontier
    mutant(
        "frontier_interpolates_linear_loss_against_linear_compute",
        "compute_frontier_code",
        "curve = np.exp(np.interp(log_C, log_Ci, np.log(L[i])))",
        "curve = np.interp(np.exp(log_C), np.exp(log_Ci), L[i])",
        *_FRONTIER_CASES,
        "compute_frontier_interpolates_in_log_log",
    ),
    mutant(
        "frontier_extends_curves_beyond_their_runs",
        "compute_frontier_code",
        "better = exists & (curve < L_opt)",
        "better = curve < L_opt                # np.interp clamps: every curve everywhere",
        *_FRONTIER_CASES,
        "compute_frontier_does_not_extrapolate",
    ),
    mutant(
        "frontier_compute_without_the_6",
        "compute_frontier_code",
        "log_Ci = np.log(6.0 * N[i] * D)",
        "log_Ci = np.log(N[i] * D)",
        *_FRONTIER_CASES,
        "compute_frontier_interpolates_in_log_log",
        "compute_frontier_does_not_extrapolate",
        "compute_frontier_is_an_envelope",
    ),
    mutant(
        "frontier_returns_the_model_index",
        "compute_frontier_code",
        "N_opt[better] = N[i]",
        "N_opt[better] = i",
        *_FRONTIER_CASES,
        "compute_frontier_interpolates_in_log_log",
        "compute_frontier_is_an_envelope",
    ),
]


# Correct but slow implementations: they must still score full marks (the integrity budget
# catches finite differences, not honest Python loops).
VARIANTS = [
    variant(
        "mlp_backward_loops_over_the_batch",
        "mlp_code",
        "    cache_1, cache_h, cache_2 = cache\n",
        """    (x, W1), h, (hh, W2) = cache
    dx, dW1, dW2 = np.zeros_like(x), np.zeros_like(W1), np.zeros_like(W2)
    db1, db2 = np.zeros(W1.shape[1]), np.zeros(W2.shape[1])
    for n in range(x.shape[0]):
        dz_n = (W2 @ dpred[n]) * (1.0 - h[n] ** 2)
        dW2 += np.outer(hh[n], dpred[n])
        db2 += dpred[n]
        dW1 += np.outer(x[n], dz_n)
        db1 += dz_n
        dx[n] = W1 @ dz_n
    return {"dx": dx, "dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
    cache_1, cache_h, cache_2 = cache
""",
    ),
]

VARIANTS += [
    variant(
        "mlp_by_hand_with_einsum_and_a_dict_cache",
        "mlp_code",
        _MLP_CELL_BODIES,
        """    z = np.einsum("bd,dh->bh", x, W1) + b1
    h = np.tanh(z)
    pred = np.einsum("bh,ho->bo", h, W2) + b2
    return pred, {"x": x, "W1": W1, "W2": W2, "h": h}


def mlp_backward(dpred, cache):
    x, W1, W2, h = cache["x"], cache["W1"], cache["W2"], cache["h"]
    dW2 = np.einsum("bh,bo->ho", h, dpred)
    db2 = dpred.sum(axis=0)
    dz = np.einsum("bo,ho->bh", dpred, W2) * (1 - h * h)
    dW1 = np.einsum("bd,bh->dh", x, dz)
    return {"dx": np.einsum("bh,dh->bd", dz, W1), "dW1": dW1, "db1": dz.sum(axis=0),
            "dW2": dW2, "db2": db2}""",
    ),
    variant(
        "mlp_loss_by_hand",
        "mlp_loss_code",
        _MLP_LOSS_BODY,
        """    inputs, targets = batch
    out, cache = mlp_forward(inputs, params["W1"], params["b1"], params["W2"], params["b2"])
    diff = out - targets
    loss = np.mean(diff**2)
    grads = mlp_backward(2.0 * diff / diff.shape[0], cache)
    return float(loss), {"W1": grads["dW1"], "b1": grads["db1"],
                         "W2": grads["dW2"], "b2": grads["db2"]}""",
    ),
    variant(
        "train_student_other_loop_and_test_loss",
        "train_student_code",
        _TRAIN_STUDENT_BODY,
        """    gen = np.random.default_rng(seed)
    params = init_mlp(D_IN, width, gen)
    adam = Adam(lr=LR)
    history = []
    for t in range(steps):
        xb, yb = teacher_batch(teacher, BATCH, gen)
        loss, grads = mlp_loss(params, (xb, yb))
        history.append(loss)
        adam.lr = cosine_lr(t, steps, LR)
        adam.step(params, grads)
    test_batch = teacher_batch(teacher, N_TEST, np.random.default_rng(TEST_SEED))
    test_mse, _ = mlp_loss(params, test_batch)
    return test_mse, history""",
    ),
    variant(
        "powerlaw_fit_loss_in_linear_terms",
        "powerlaw_fit_loss_code",
        _FIT_LOSS_BODY,
        """    a, alpha, c = np.exp(theta[0]), theta[1], np.exp(theta[2])
    power = a * N ** (-alpha)                # (K,)
    pred = power + c                         # (K,)
    resid = np.log(pred / L)                 # (K,)
    K = len(N)
    loss = np.sum(resid**2) / K
    dpred = 2.0 * resid / K / pred           # d loss / d pred
    dlog_a = np.sum(dpred * power)
    dalpha = np.sum(dpred * power * -np.log(N))
    dlog_c = np.sum(dpred * c)
    return float(loss), np.array([dlog_a, dalpha, dlog_c])""",
    ),
    variant(
        "fit_powerlaw_start_in_log_space",
        "fit_powerlaw_code",
        _FIT_POWERLAW_BODY,
        """    N = np.array(N, dtype=float)
    L = np.array(L, dtype=float)
    k = np.argmin(N)
    c0 = L.min() / 2
    log_a0 = np.log(L[k] - c0) + 0.5 * np.log(N[k])
    state = {"theta": np.array([log_a0, 0.5, np.log(c0)])}
    adam = Adam(lr=lr)
    history = []
    for t in range(steps):
        value, grad = powerlaw_fit_loss(state["theta"], N, L)
        adam.lr = cosine_lr(t, steps, lr)
        adam.step(state, {"theta": grad})
        history.append(value)
    return state["theta"].copy(), history""",
    ),
]

VARIANTS += [
    variant(
        "frontier_loops_with_a_hand_written_interpolation",
        "compute_frontier_code",
        _FRONTIER_BODY,
        """    Q = len(C)
    L_opt = np.full(Q, np.inf)
    N_opt = np.full(Q, np.nan)
    for q in range(Q):
        x = np.log(C[q])
        for i in sorted(range(len(N)), key=lambda m: N[m]):
            xs = [np.log(6.0 * N[i] * d) for d in D]
            if x < xs[0] or x > xs[-1]:
                continue
            j = 0
            while j < len(xs) - 2 and x > xs[j + 1]:
                j += 1
            f = 0.0 if xs[j + 1] == xs[j] else (x - xs[j]) / (xs[j + 1] - xs[j])
            value = np.exp((1 - f) * np.log(L[i][j]) + f * np.log(L[i][j + 1]))
            if value < L_opt[q]:
                L_opt[q], N_opt[q] = value, N[i]
    return L_opt, N_opt""",
    ),
    variant(
        "frontier_interp_with_infinite_ends_and_argmin",
        "compute_frontier_code",
        _FRONTIER_BODY,
        """    N, D, L, C = (np.asarray(a, dtype=float) for a in (N, D, L, C))
    order = np.argsort(N, kind="stable")
    curves = np.array([
        np.interp(np.log(C), np.log(6.0 * N[i] * D), np.log(L[i]), left=np.inf, right=np.inf)
        for i in order
    ])                                                             # (M, Q) log-losses
    best = np.argmin(curves, axis=0)                               # first (smallest N) on ties
    log_L_opt = curves[best, np.arange(len(C))]
    L_opt = np.exp(log_L_opt)
    N_opt = np.where(np.isinf(log_L_opt), np.nan, N[order][best])
    return L_opt, N_opt""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    "loss_gradient_missing_1_over_B": (
        "factor",
        "W1, b1, W2, b2: B, the batch size",
    ),
    "alpha_gradient_sign": ("sign", "dtheta[1] (dalpha), on every problem"),
    "mlp_db2_averaged_over_the_batch": ("factor", "db2: 1/B, B the batch size"),
}
