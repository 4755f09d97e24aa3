"""Wrong implementations of 09_gpipe that the hidden tests must catch (test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward, variant

# ------------------------------------------------------------------------- reference bodies
_STAGE_FORWARD_BODY = """    z1, cache_1 = affine_forward(x, W1, b1)      # (b, d1)
    h1, cache_h = tanh_forward(z1)               # (b, d1)
    z2, cache_2 = affine_forward(h1, W2, b2)     # (b, d2)
    if last:
        return z2, (cache_1, cache_h, cache_2, None)
    out, cache_out = tanh_forward(z2)            # (b, d2)
    return out, (cache_1, cache_h, cache_2, cache_out)"""

_STAGE_BACKWARD_BODY = """    cache_1, cache_h, cache_2, cache_out = cache
    dz2 = dout if cache_out is None else tanh_backward(dout, cache_out)["dx"]   # (b, d2)
    g2 = affine_backward(dz2, cache_2)               # dh1 (b, d1), dW2 (d1, d2), db2 (d2,)
    dz1 = tanh_backward(g2["dx"], cache_h)["dx"]     # (b, d1)
    g1 = affine_backward(dz1, cache_1)               # dx (b, d0), dW1 (d0, d1), db1 (d1,)
    return {"dx": g1["dx"], "dW1": g1["dW"], "db1": g1["db"], "dW2": g2["dW"], "db2": g2["db"]}"""

# The stage cell from the forward's body to the backward's end.
_STAGE_CELL_BODIES = (
    _STAGE_FORWARD_BODY
    + '''


def stage_backward(dout, cache):
    """Gradients of stage_forward.

    Inputs:
      dout:  (b, d2) upstream gradient dL/dout.
      cache: from stage_forward.
    Returns:
      dict with 'dx' (b, d0), 'dW1' (d0, d1), 'db1' (d1,), 'dW2' (d1, d2), 'db2' (d2,).
    """
'''
    + _STAGE_BACKWARD_BODY
)

# A backward that differentiates numerically through the forward (tests/mutants.py). It rebuilds
# the inputs from the cache (b1 and b2 through arctanh), so it is accurate to ~1e-10 and passes
# every gradient check and both training tests; the realistic-size time budget catches it, and so
# does the pipeline's exactness: gpipe_step must equal the full batch to 1e-12, which gradients
# by finite differences are not.
_STAGE_NUMERICAL_BACKWARD = numerical_backward(
    """    (x, W1), h1, (_, W2), out_cache = cache
    b1 = (np.arctanh(h1) - x @ W1).mean(axis=0)
    last = out_cache is None
    z2 = np.zeros((x.shape[0], W2.shape[1])) if last else np.arctanh(out_cache)
    b2 = np.zeros(W2.shape[1]) if last else (z2 - h1 @ W2).mean(axis=0)
    args = {"x": x.copy(), "W1": W1.copy(), "b1": b1, "W2": W2.copy(), "b2": b2}""",
    "np.sum(stage_forward(**args, last=last)[0] * dout)",
)

_MODEL_LOSS_BODY = """    x, y = batch
    n = n_stages(params)
    a, caches = x, []
    for k in range(n):
        a, cache = stage_forward(a, **stage_params(params, k), last=(k == n - 1))   # (B, d)
        caches.append(cache)
    loss, da = mse_loss(a, y)                      # da: (B, 1)
    grads = {}
    for k in reversed(range(n)):
        g = stage_backward(da, caches[k])
        da = g["dx"]                               # upstream of stage k - 1
        for short, full in stage_names(k).items():
            grads[full] = g["d" + short]
    return loss, grads"""

_GPIPE_BODY = """    x, y = batch
    n, n_rows = n_stages(params), x.shape[0]
    weights = [stage_params(params, k) for k in range(n)]
    xs, ys = np.array_split(x, M), np.array_split(y, M)         # M pieces of (b_m, .)
    kept = [[None] * n for _ in range(M)]                       # per micro-batch, per stage
    preds = []
    for m in range(M):
        a = xs[m]
        for k in range(n):
            out, cache = stage_forward(a, **weights[k], last=(k == n - 1))
            kept[m][k] = a if remat else cache
            a = out
        preds.append(a)                                         # (b_m, 1)
    loss = 0.0
    grads = {name: np.zeros_like(p) for name, p in params.items()}
    for m in reversed(range(M)):
        share = xs[m].shape[0] / n_rows                         # b_m / B
        loss_m, da = mse_loss(preds[m], ys[m])                  # da: (b_m, 1)
        loss += share * loss_m
        da = share * da
        for k in reversed(range(n)):
            cache = kept[m][k]
            if remat:
                _, cache = stage_forward(cache, **weights[k], last=(k == n - 1))
            g = stage_backward(da, cache)
            kept[m][k] = None                                   # stage k is done with m
            da = g["dx"]
            for short, full in stage_names(k).items():
                grads[full] += g["d" + short]
    return float(loss), grads"""

_PEAK_BODY = """    n = (len(dims) - 1) // 2
    inp = [dims[2 * k] for k in range(n)]                           # input width of stage k
    rest = [dims[2 * k + 1] + dims[2 * k + 2] for k in range(n)]    # hidden + output widths
    live = peak = 0
    for b in sizes:                                                 # forward, m = 1..M
        for k in range(n):
            live += b * inp[k] if remat else b * (inp[k] + rest[k])
            peak = max(peak, live)
    for b in reversed(sizes):                                       # backward, m = M..1
        for k in reversed(range(n)):
            if remat:
                live += b * rest[k]                                 # recomputed forward
                peak = max(peak, live)
            live -= b * (inp[k] + rest[k])                          # freed after the backward
    return int(peak)"""

_SIMULATE_BODY = """    f = np.asarray(fwd_cost, dtype=np.float64)
    b = np.asarray(bwd_cost, dtype=np.float64) + (f if remat else 0.0)   # (K,)
    n = f.size
    F_start, B_start = np.zeros((n, M)), np.zeros((n, M))
    free = np.zeros(n)                                       # when each device is next idle
    for m in range(M):
        for k in range(n):
            ready = F_start[k - 1, m] + f[k - 1] if k > 0 else 0.0
            F_start[k, m] = max(free[k], ready)
            free[k] = F_start[k, m] + f[k]
    for m in reversed(range(M)):
        for k in reversed(range(n)):
            ready = B_start[k + 1, m] + b[k + 1] if k < n - 1 else F_start[k, m] + f[k]
            B_start[k, m] = max(free[k], ready)
            free[k] = B_start[k, m] + b[k]
    return F_start, B_start, float(free.max())"""

# ------------------------------------------------------------------------- test name groups
_STAGE_FORWARD_CASES = [
    f"stage_forward_matches_reference[{c}]"
    for c in ("middle_stage", "last_stage", "batch1", "last_stage_wide")
]
_GPIPE_EVEN_SPLITS = [
    f"gpipe_step_equals_full_batch[{c}]"
    for c in ("B64_M2", "B64_M4", "B64_M8", "B64_M2_remat", "B64_M8_remat")
]
_GPIPE_UNEVEN = [
    f"gpipe_step_equals_full_batch[{c}]" for c in ("uneven_B10_M4", "uneven_B10_M4_remat")
]
_GPIPE_ALL = (
    [
        f"gpipe_step_equals_full_batch[{c}]"
        for c in ("B64_M1", "B64_M2", "B64_M4", "B64_M8", "B64_M2_remat", "B64_M8_remat")
    ]
    + _GPIPE_UNEVEN
    + ["gpipe_step_other_depths_and_one_row_per_micro_batch"]
)
_PEAK_ALL = [
    f"peak_stored_floats_matches_reference[{c}]"
    for c in ("notebook_M4", "notebook_M4_remat", "uneven_remat", "one_stage_remat")
]
_SIM_ALL = [
    f"simulate_matches_reference[{c}]"
    for c in ("uniform_K4_M4", "random_K3_M5", "random_K4_M3_remat", "one_device")
]
_SIM_RANDOM = [f"simulate_matches_reference[{c}]" for c in ("random_K3_M5", "random_K4_M3_remat")]


def _grads(*names, last=("middle", "last")):
    return [f"stage_backward_gradcheck[{n}-{w}]" for n in names for w in last]


MUTANTS = [
    # ---------------------------------------------------------------- stage
    mutant(
        "numerical_backward",
        "stage_code",
        _STAGE_BACKWARD_BODY,
        _STAGE_NUMERICAL_BACKWARD,
        "stage_backward_fast_at_realistic_size",
        *_GPIPE_ALL,
    ),
    mutant(
        "inner_tanh_derivative_not_squared",
        "stage_code",
        'dz1 = tanh_backward(g2["dx"], cache_h)["dx"]',
        'dz1 = g2["dx"] * (1.0 - cache_h)',
        *_grads("dx", "dW1", "db1"),
        "model_loss_gradcheck",
        "model_loss_trains_like_reference",
        *_GPIPE_ALL,
        "gpipe_step_trains_like_the_full_batch",
        "stage_backward_fast_at_realistic_size",
    ),
    mutant(
        "last_stage_keeps_its_tanh",
        "stage_code",
        "    if last:\n        return z2, (cache_1, cache_h, cache_2, None)\n",
        "",
        "stage_forward_matches_reference[last_stage]",
        "stage_forward_matches_reference[last_stage_wide]",
        "model_loss_value_matches_reference",
        "model_loss_trains_like_reference",
        *_GPIPE_ALL,
        "gpipe_step_trains_like_the_full_batch",
    ),
    mutant(
        "backward_applies_the_outer_tanh_on_the_last_stage",
        "stage_code",
        "return z2, (cache_1, cache_h, cache_2, None)",
        "return z2, (cache_1, cache_h, cache_2, z2)",
        *_grads("dx", "dW1", "db1", "dW2", "db2", last=("last",)),
        "model_loss_gradcheck",
        "model_loss_trains_like_reference",
        *_GPIPE_ALL,
        "gpipe_step_trains_like_the_full_batch",
        "stage_backward_fast_at_realistic_size",
    ),
    mutant(
        "second_weight_gradient_skips_the_outer_tanh",
        "stage_code",
        '"dW2": g2["dW"]',
        '"dW2": cache_2[0].T @ dout',
        *_grads("dW2", last=("middle",)),
        "model_loss_gradcheck",
        "model_loss_trains_like_reference",
        *_GPIPE_ALL,
        "gpipe_step_trains_like_the_full_batch",
        "stage_backward_fast_at_realistic_size",
    ),
    mutant(
        "output_bias_added_after_the_tanh",
        "stage_code",
        "out, cache_out = tanh_forward(z2)            # (b, d2)",
        "out, cache_out = tanh_forward(z2 - b2)       # (b, d2)\n    out = out + b2",
        # its backward still treats b2 as inside the tanh: db2 is wrong for its own forward
        "stage_forward_matches_reference[middle_stage]",
        "stage_forward_matches_reference[batch1]",
        *_grads("db2", last=("middle",)),
        "stage_backward_fast_at_realistic_size",
        "model_loss_value_matches_reference",
        "model_loss_gradcheck",
        "model_loss_trains_like_reference",
        *_GPIPE_ALL,
        "gpipe_step_trains_like_the_full_batch",
    ),
    mutant(
        "first_bias_gradient_averaged_over_rows",
        "stage_code",
        '"db1": g1["db"]',
        '"db1": g1["db"] / dout.shape[0]',
        *_grads("db1"),
        "model_loss_gradcheck",
        *_GPIPE_ALL,
        "gpipe_step_trains_like_the_full_batch",
        "stage_backward_fast_at_realistic_size",
        "model_loss_trains_like_reference",
    ),
    # ---------------------------------------------------------------- model_loss
    mutant(
        "last_flag_off_by_one",
        "model_loss_code",
        "last=(k == n - 1))   # (B, d)",
        "last=(k == n))   # (B, d)",
        "model_loss_value_matches_reference",
        "model_loss_trains_like_reference",
    ),
    mutant(
        "loss_gradient_missing_1_over_B",
        "model_loss_code",
        "loss, da = mse_loss(a, y)",
        "loss, da = float(np.mean((a - y) ** 2)), 2.0 * (a - y)",
        "model_loss_gradcheck",
        "model_loss_trains_like_reference",
    ),
    mutant(
        "grads_keyed_like_the_backward",
        "model_loss_code",
        'grads[full] = g["d" + short]',
        'grads["d" + full] = g["d" + short]',
        "model_loss_gradcheck",
        "model_loss_trains_like_reference",
        "model_loss_value_matches_reference",
    ),
    # ---------------------------------------------------------------- gpipe_step
    mutant(
        "mean_of_micro_batch_means",
        "gpipe_step_code",
        "share = xs[m].shape[0] / n_rows                         # b_m / B",
        "share = 1.0 / M                                         # 1 / M",
        *_GPIPE_UNEVEN,
        "gpipe_step_other_depths_and_one_row_per_micro_batch",
        "gpipe_step_trains_like_the_full_batch",
    ),
    mutant(
        "sum_of_micro_batch_means",
        "gpipe_step_code",
        "share = xs[m].shape[0] / n_rows                         # b_m / B",
        "share = 1.0",
        *_GPIPE_EVEN_SPLITS,
        *_GPIPE_UNEVEN,
        "gpipe_step_other_depths_and_one_row_per_micro_batch",
        "gpipe_step_trains_like_the_full_batch",
    ),
    mutant(
        "gradients_overwritten_not_accumulated",
        "gpipe_step_code",
        'grads[full] += g["d" + short]',
        'grads[full] = g["d" + short]',
        *_GPIPE_EVEN_SPLITS,
        *_GPIPE_UNEVEN,
        "gpipe_step_other_depths_and_one_row_per_micro_batch",
        "gpipe_step_trains_like_the_full_batch",
    ),
    mutant(
        "accumulator_aliases_the_weights",
        "gpipe_step_code",
        "grads = {name: np.zeros_like(p) for name, p in params.items()}",
        "grads = {name: p for name, p in params.items()}   # += then adds into the weights",
        *_GPIPE_ALL,
        "gpipe_step_leaves_params_and_batch_unchanged",
        "gpipe_step_trains_like_the_full_batch",
    ),
    mutant(
        "remat_keeps_the_stage_output_instead_of_its_input",
        "gpipe_step_code",
        "kept[m][k] = a if remat else cache",
        "kept[m][k] = out if remat else cache",
        "gpipe_step_equals_full_batch[B64_M2_remat]",
        "gpipe_step_equals_full_batch[B64_M8_remat]",
        "gpipe_step_equals_full_batch[uneven_B10_M4_remat]",
        "gpipe_step_other_depths_and_one_row_per_micro_batch",
        "gpipe_step_leaves_params_and_batch_unchanged",
        "gpipe_step_trains_like_the_full_batch",
    ),
    # ---------------------------------------------------------------- peak_stored_floats
    mutant(
        "recompute_counts_the_input_again",
        "peak_stored_floats_code",
        "live += b * rest[k]                                 # recomputed forward",
        "live += b * (inp[k] + rest[k])                      # recomputed forward",
        "peak_stored_floats_matches_reference[notebook_M4_remat]",
        "peak_stored_floats_matches_reference[uneven_remat]",
        "peak_stored_floats_matches_reference[one_stage_remat]",
    ),
    mutant(
        "backward_in_forward_order",
        "peak_stored_floats_code",
        "for b in reversed(sizes):",
        "for b in sizes:",
        "peak_stored_floats_matches_reference[one_stage_remat]",
        "peak_stored_floats_matches_reference[uneven_remat]",
    ),
    mutant(
        "output_not_counted",
        "peak_stored_floats_code",
        "rest = [dims[2 * k + 1] + dims[2 * k + 2] for k in range(n)]",
        "rest = [dims[2 * k + 1] for k in range(n)]",
        *_PEAK_ALL,
        "peak_without_remat_is_the_whole_batch_for_every_split",
    ),
    mutant(
        "remat_peak_only_at_the_end_of_the_forward",
        "peak_stored_floats_code",
        "live += b * rest[k]                                 # recomputed forward\n"
        "                peak = max(peak, live)",
        "live += b * rest[k]                                 # recomputed forward",
        "peak_stored_floats_matches_reference[notebook_M4_remat]",
        "peak_stored_floats_matches_reference[uneven_remat]",
        "peak_stored_floats_matches_reference[one_stage_remat]",
        "peak_with_remat_falls_with_M_towards_the_stored_inputs",
    ),
    # ---------------------------------------------------------------- simulate
    mutant(
        "remat_costs_nothing",
        "simulate_code",
        "b = np.asarray(bwd_cost, dtype=np.float64) + (f if remat else 0.0)",
        "b = np.asarray(bwd_cost, dtype=np.float64)",
        "simulate_matches_reference[random_K4_M3_remat]",
        "simulate_respects_every_dependency",
        "simulate_uniform_costs_give_the_bubble_formula",
    ),
    mutant(
        "backward_does_not_wait_for_the_next_stage",
        "simulate_code",
        "ready = B_start[k + 1, m] + b[k + 1] if k < n - 1 else F_start[k, m] + f[k]",
        "ready = F_start[k, m] + f[k]",
        "simulate_matches_reference[uniform_K4_M4]",
        *_SIM_RANDOM,
        "simulate_respects_every_dependency",
        "simulate_uniform_costs_give_the_bubble_formula",
    ),
    mutant(
        "forward_ignores_the_busy_device",
        "simulate_code",
        "F_start[k, m] = max(free[k], ready)",
        "F_start[k, m] = ready if k > 0 else m * f[0]",
        "simulate_respects_every_dependency",
        "simulate_matches_reference[random_K3_M5]",
    ),
    mutant(
        "makespan_is_the_last_start",
        "simulate_code",
        "return F_start, B_start, float(free.max())",
        "return F_start, B_start, float(B_start.max())",
        *_SIM_ALL,
        "simulate_respects_every_dependency",
        "simulate_uniform_costs_give_the_bubble_formula",
    ),
]


# Correct implementations in other styles: they must score full marks.
VARIANTS = [
    variant(
        "stage_backward_loops_over_the_rows",
        "stage_code",
        "    cache_1, cache_h, cache_2, cache_out = cache\n",
        """    (x, W1), h1, (_, W2), out = cache
    dx, dW1, dW2 = np.zeros_like(x), np.zeros_like(W1), np.zeros_like(W2)
    db1, db2 = np.zeros(W1.shape[1]), np.zeros(W2.shape[1])
    for i in range(x.shape[0]):
        dz2_i = dout[i] if out is None else dout[i] * (1.0 - out[i] ** 2)
        dW2 += np.outer(h1[i], dz2_i)
        db2 += dz2_i
        dz1_i = (W2 @ dz2_i) * (1.0 - h1[i] ** 2)
        dW1 += np.outer(x[i], dz1_i)
        db1 += dz1_i
        dx[i] = W1 @ dz1_i
    return {"dx": dx, "dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
    cache_1, cache_h, cache_2, cache_out = cache
""",
    ),
    variant(
        "stage_by_hand_with_einsum_and_a_dict_cache",
        "stage_code",
        _STAGE_CELL_BODIES,
        """    h1 = np.tanh(np.einsum("bi,ij->bj", x, W1) + b1)
    z2 = np.einsum("bj,jk->bk", h1, W2) + b2
    out = z2 if last else np.tanh(z2)
    return out, {"x": x, "W1": W1, "W2": W2, "h1": h1, "out": out, "last": last}


def stage_backward(dout, cache):
    x, W1, W2, h1 = cache["x"], cache["W1"], cache["W2"], cache["h1"]
    dz2 = dout if cache["last"] else dout * (1 - cache["out"] * cache["out"])
    dz1 = np.einsum("bk,jk->bj", dz2, W2) * (1 - h1 * h1)
    return {
        "dx": np.einsum("bj,ij->bi", dz1, W1),
        "dW1": np.einsum("bi,bj->ij", x, dz1),
        "db1": dz1.sum(axis=0),
        "dW2": np.einsum("bj,bk->jk", h1, dz2),
        "db2": dz2.sum(axis=0),
    }""",
    ),
    variant(
        "stage_cache_keeps_only_the_inputs_and_recomputes",
        "stage_code",
        _STAGE_CELL_BODIES,
        """    out = np.tanh(x @ W1 + b1) @ W2 + b2
    if not last:
        out = np.tanh(out)
    return out, (x, W1, b1, W2, b2, last)


def stage_backward(dout, cache):
    x, W1, b1, W2, b2, last = cache
    h1 = np.tanh(x @ W1 + b1)
    z2 = h1 @ W2 + b2
    dz2 = dout if last else dout / np.cosh(z2) ** 2
    dh1 = dz2 @ W2.T
    dz1 = dh1 / np.cosh(x @ W1 + b1) ** 2
    return dict(dx=dz1 @ W1.T, dW1=x.T @ dz1, db1=np.sum(dz1, axis=0), dW2=h1.T @ dz2,
                db2=np.sum(dz2, axis=0))""",
    ),
    variant(
        "model_loss_with_a_hand_written_mse",
        "model_loss_code",
        _MODEL_LOSS_BODY,
        """    inputs, targets = batch
    K_here = len(params) // 4
    caches = []
    act = inputs
    for k in range(K_here):
        act, c = stage_forward(act, params[f"W{2 * k}"], params[f"b{2 * k}"],
                               params[f"W{2 * k + 1}"], params[f"b{2 * k + 1}"],
                               last=k == K_here - 1)
        caches.append(c)
    diff = act - targets
    loss = float(np.sum(diff**2) / diff.shape[0])
    upstream = 2.0 * diff / diff.shape[0]
    grads = {}
    for k in range(K_here - 1, -1, -1):
        g = stage_backward(upstream, caches[k])
        upstream = g["dx"]
        grads[f"W{2 * k}"], grads[f"b{2 * k}"] = g["dW1"], g["db1"]
        grads[f"W{2 * k + 1}"], grads[f"b{2 * k + 1}"] = g["dW2"], g["db2"]
    return loss, grads""",
    ),
    variant(
        "gpipe_sums_then_divides_by_B_and_recomputes_through_model_loss",
        "gpipe_step_code",
        _GPIPE_BODY,
        """    x, y = batch
    total = x.shape[0]
    idx = np.array_split(np.arange(total), M)
    # Each micro-batch's mean loss, weighted by its size: model_loss on the piece, scaled.
    loss = 0.0
    grads = {name: np.zeros_like(p) for name, p in params.items()}
    order = list(range(M))
    inputs_kept = []
    for m in order:                      # forward: keep each micro-batch's rows only (remat)
        inputs_kept.append((x[idx[m]], y[idx[m]]))
    for m in order:
        piece = inputs_kept[m]
        loss_m, g_m = model_loss(params, piece)
        w = len(idx[m]) / total
        loss += w * loss_m
        for name in grads:
            grads[name] = grads[name] + w * g_m[name]
    return loss, grads""",
    ),
    variant(
        "gpipe_with_a_dict_of_kept_values_and_sum_loss",
        "gpipe_step_code",
        _GPIPE_BODY,
        """    x, y = batch
    K_here = len(params) // 4
    xs, ys = np.array_split(x, M), np.array_split(y, M)
    kept, outputs = {}, {}
    for m, xm in enumerate(xs):
        act = xm
        for k in range(K_here):
            res = stage_forward(act, **stage_params(params, k), last=k == K_here - 1)
            kept[(m, k)] = act.copy() if remat else res[1]
            act = res[0]
        outputs[m] = act
    sq_sum = 0.0
    acc = {name: 0.0 for name in params}
    for m in range(M - 1, -1, -1):
        diff = outputs[m] - ys[m]
        sq_sum += float(np.sum(diff**2))
        up = 2.0 * diff / x.shape[0]
        for k in range(K_here - 1, -1, -1):
            cache = kept.pop((m, k))
            if remat:
                cache = stage_forward(cache, **stage_params(params, k), last=k == K_here - 1)[1]
            g = stage_backward(up, cache)
            up = g["dx"]
            for short, full in stage_names(k).items():
                acc[full] = acc[full] + g["d" + short]
    return sq_sum / x.shape[0], acc""",
    ),
    variant(
        "peak_from_an_event_list",
        "peak_stored_floats_code",
        _PEAK_BODY,
        """    K_here = (len(dims) - 1) // 2
    events = []
    for b in sizes:
        for k in range(K_here):
            a, h, c = dims[2 * k], dims[2 * k + 1], dims[2 * k + 2]
            events.append(b * a if remat else b * (a + h + c))
    for b in sizes[::-1]:
        for k in range(K_here - 1, -1, -1):
            a, h, c = dims[2 * k], dims[2 * k + 1], dims[2 * k + 2]
            if remat:
                events.append(b * (h + c))
            events.append(-b * (a + h + c))
    return int(np.max(np.cumsum(events)))""",
    ),
    variant(
        "simulate_as_longest_paths_with_memoised_recursion",
        "simulate_code",
        _SIMULATE_BODY,
        """    f = [float(c) for c in fwd_cost]
    b = [float(c) + (float(fc) if remat else 0.0) for c, fc in zip(bwd_cost, fwd_cost)]
    K_here = len(f)
    memo = {}

    def end(kind, k, m):
        key = (kind, k, m)
        if key in memo:
            return memo[key]
        if kind == "F":
            prev_dev = end("F", k, m - 1) if m > 0 else 0.0
            prev_in = end("F", k - 1, m) if k > 0 else 0.0
            t = max(prev_dev, prev_in) + f[k]
        else:
            prev_dev = end("B", k, m + 1) if m < M - 1 else end("F", k, M - 1)
            prev_in = end("B", k + 1, m) if k < K_here - 1 else end("F", k, m)
            t = max(prev_dev, prev_in) + b[k]
        memo[key] = t
        return t

    F_start = np.array([[end("F", k, m) - f[k] for m in range(M)] for k in range(K_here)])
    B_start = np.array([[end("B", k, m) - b[k] for m in range(M)] for k in range(K_here)])
    return F_start, B_start, end("B", 0, 0)""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    "first_bias_gradient_averaged_over_rows": (
        "factor",
        "db1: 1/b, b the number of rows (the batch size); in model_loss every stage's first "
        "bias by 1/B",
    ),
    "loss_gradient_missing_1_over_B": (
        "factor",
        "every parameter's gradient: B, the batch size",
    ),
}
