"""Wrong implementations of 30_lost_in_the_middle that the hidden tests must catch
(test-of-tests), and correct variants in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import fd_loop, mutant, numerical_backward_mutant, variant

# ---------------------------------------------------------------- the reference's texts
_SCORES_FWD_BODY = """    d = q.shape[1]
    u = q @ W                                                    # (B, d)
    s = np.einsum("bd,bnd->bn", u, K) / np.sqrt(d) + p          # (B, N)
    return s, (q, K, W, u)"""

_SCORES_BWD_BODY = """    q, K, W, u = cache
    d = q.shape[1]
    du = np.einsum("bn,bnd->bd", ds, K) / np.sqrt(d)            # (B, d)
    dK = ds[:, :, None] * u[:, None, :] / np.sqrt(d)            # (B, N, d)
    return {"dq": du @ W.T, "dK": dK, "dW": q.T @ du, "dp": ds.sum(axis=0)}"""

_SCORES_BWD_DOC = '''


def kv_scores_backward(ds, cache):
    """Gradients of kv_scores_forward.

    Inputs:
      ds:    (B, N) upstream gradient dL/ds.
      cache: from kv_scores_forward.
    Returns:
      dict with 'dq' (B, d), 'dK' (B, N, d), 'dW' (d, d), 'dp' (N,).
    """
'''

_SCORES_BODIES = _SCORES_FWD_BODY + _SCORES_BWD_DOC + _SCORES_BWD_BODY

_ATTEND_FWD_BODY = """    a = softmax(s, axis=1)                                 # (B, N) attention
    r = np.einsum("bn,bnc->bc", a, V)                      # (B, C)
    return r, (a, V)"""

_ATTEND_BWD_BODY = """    a, V = cache
    da = np.einsum("bc,bnc->bn", dr, V)                          # (B, N)
    ds = a * (da - np.sum(a * da, axis=1, keepdims=True))        # (B, N)
    dV = a[:, :, None] * dr[:, None, :]                          # (B, N, C)
    return {"ds": ds, "dV": dV}"""

_LOSS_BODY = """    s, cache_s = kv_scores_forward(batch["q"], batch["K"], params["W"], params["p"])
    r, cache_a = attend_forward(s, batch["V"])                  # (B, C); s is (B, N)
    z, cache_o = affine_forward(r, params["Wo"], params["bo"])  # (B, C)
    loss, dz = softmax_cross_entropy(z, batch["y"])
    g_o = affine_backward(dz, cache_o)
    g_a = attend_backward(g_o["dx"], cache_a)
    g_s = kv_scores_backward(g_a["ds"], cache_s)
    return loss, {"W": g_s["dW"], "p": g_s["dp"], "Wo": g_o["dW"], "bo": g_o["db"]}"""

_LOSS_BWD_PART = """    g_o = affine_backward(dz, cache_o)
    g_a = attend_backward(g_o["dx"], cache_a)
    g_s = kv_scores_backward(g_a["ds"], cache_s)
    return loss, {"W": g_s["dW"], "p": g_s["dp"], "Wo": g_o["dW"], "bo": g_o["db"]}"""

_TRAIN_BODY = """    rng = np.random.default_rng(seed)
    params = init_kv_model(rng)
    opt = Adam(lr=LR)
    losses = []
    for t in range(steps):
        opt.lr = cosine_lr(t, steps, LR)
        batch = kv_batch(BATCH, rng, probs)
        loss, grads = kv_model_loss(params, batch)
        losses.append(loss)
        opt.step(params, grads)
    return params, losses"""

_ACC_BODY = """    s, _ = kv_scores_forward(batch["q"], batch["K"], params["W"], params["p"])
    r, _ = attend_forward(s, batch["V"])                                # (B, C); s is (B, N)
    z = r @ params["Wo"] + params["bo"]                                 # (B, C)
    correct = (np.argmax(z, axis=1) == batch["y"]).astype(np.float64)           # (B,)
    n_docs = params["p"].shape[0]
    hits = np.bincount(batch["pos"], weights=correct, minlength=n_docs)         # (N,)
    counts = np.bincount(batch["pos"], minlength=n_docs)                        # (N,)
    with np.errstate(invalid="ignore"):
        return hits / counts"""

# ---------------------------------------------------------------- test names
_SCORES_FWD = [
    f"kv_scores_forward_matches_reference[{c}]"
    for c in ("B4_N10_d8", "batch1_one_document", "B3_N6_d5")
]
_ATTEND_FWD = [
    f"attend_forward_matches_reference[{c}]" for c in ("B4_N10_C16", "one_document", "large_scores")
]
_LOSS_GRADS = [f"kv_model_loss_gradcheck[{p}]" for p in ("W", "p", "Wo", "bo")]

# The whole model's loss, written out for a numerical-gradient mutant.
_LOSS_OBJECTIVE = (
    'softmax_cross_entropy(affine_forward(attend_forward(kv_scores_forward(batch["q"], '
    'batch["K"], P["W"], P["p"])[0], batch["V"])[0], P["Wo"], P["bo"])[0], batch["y"])[0]'
)

MUTANTS = [
    # ---------------------------------------------------------------- kv_scores
    mutant(
        "dp_averaged_over_the_batch",
        "kv_scores_code",
        '"dp": ds.sum(axis=0)',
        '"dp": ds.mean(axis=0)',
        "kv_scores_backward_gradcheck[dp]",
        "kv_model_loss_gradcheck[p]",
    ),
    mutant(
        "dW_transposed",
        "kv_scores_code",
        '"dW": q.T @ du',
        '"dW": du.T @ q',
        "kv_scores_backward_gradcheck[dW]",
        "kv_model_loss_gradcheck[W]",
    ),
    mutant(
        "dq_with_W_not_transposed",
        "kv_scores_code",
        '"dq": du @ W.T',
        '"dq": du @ W',
        "kv_scores_backward_gradcheck[dq]",
    ),
    mutant(
        "dK_misses_the_scale",
        "kv_scores_code",
        "dK = ds[:, :, None] * u[:, None, :] / np.sqrt(d)",
        "dK = ds[:, :, None] * u[:, None, :]",
        "kv_scores_backward_gradcheck[dK]",
    ),
    mutant(
        "bias_inside_the_scaling",
        "kv_scores_code",
        's = np.einsum("bd,bnd->bn", u, K) / np.sqrt(d) + p',
        's = (np.einsum("bd,bnd->bn", u, K) + p) / np.sqrt(d)',
        *_SCORES_FWD,
        "kv_scores_position_enters_only_through_p",
        "kv_scores_backward_gradcheck[dp]",
    ),
    numerical_backward_mutant(
        "kv_scores_numerical_backward",
        "kv_scores_code",
        _SCORES_BWD_BODY,
        '    args = {"q": q.copy(), "K": K.copy(), "W": W.copy(), "p": np.zeros(K.shape[1])}',
        "float(np.sum(kv_scores_forward(**args)[0] * ds))",
        catches=("kv_scores_backward_fast",),
    ),
    # ---------------------------------------------------------------- attend
    mutant(
        "softmax_over_the_batch",
        "attend_code",
        "a = softmax(s, axis=1)",
        "a = softmax(s, axis=0)",
        *_ATTEND_FWD,
        "attend_is_a_stable_convex_combination",
    ),
    mutant(
        "softmax_without_the_max_shift",
        "attend_code",
        "a = softmax(s, axis=1)",
        "a = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)",
        "attend_is_a_stable_convex_combination",
    ),
    mutant(
        "softmax_backward_misses_the_normalisation",
        "attend_code",
        "ds = a * (da - np.sum(a * da, axis=1, keepdims=True))",
        "ds = a * da",
        "attend_backward_gradcheck[ds]",
        "attend_backward_ds_rows_sum_to_zero",
        *_LOSS_GRADS[:2],
    ),
    mutant(
        "dV_uses_the_batch_sum",
        "attend_code",
        "dV = a[:, :, None] * dr[:, None, :]",
        "dV = a[:, :, None] * dr.sum(axis=0)[None, None, :]",
        "attend_backward_gradcheck[dV]",
    ),
    numerical_backward_mutant(
        "attend_numerical_backward",
        "attend_code",
        _ATTEND_BWD_BODY,
        '    args = {"s": np.log(a), "V": V.copy()}',
        "float(np.sum(attend_forward(**args)[0] * dr))",
        catches=("attend_backward_fast",),
    ),
    # ---------------------------------------------------------------- kv_model_loss
    mutant(
        "loss_gradient_divided_by_B_twice",
        "kv_model_loss_code",
        "g_o = affine_backward(dz, cache_o)",
        'g_o = affine_backward(dz / len(batch["y"]), cache_o)',
        *_LOSS_GRADS,
        "kv_model_loss_trains_like_reference",
    ),
    mutant(
        "positional_bias_never_trained",
        "kv_model_loss_code",
        '"p": g_s["dp"]',
        '"p": np.zeros_like(params["p"])',
        "kv_model_loss_gradcheck[p]",
        "train_kv_model_learns_the_placement_prior",
    ),
    mutant(
        "model_ignores_the_positional_bias",
        "kv_model_loss_code",
        'kv_scores_forward(batch["q"], batch["K"], params["W"], params["p"])',
        'kv_scores_forward(batch["q"], batch["K"], params["W"], np.zeros_like(params["p"]))',
        "kv_model_loss_value_matches_reference",
        "kv_model_loss_blind_to_order_without_p",
        "train_kv_model_follows_the_recipe",
    ),
    mutant(
        "kv_model_loss_numerical_gradient",
        "kv_model_loss_code",
        _LOSS_BWD_PART,
        "    P = {k: v.copy() for k, v in params.items()}\n"
        "    grads = {}\n"
        "    for name in P:\n"
        "        arr = P[name]\n" + fd_loop("arr", "g", _LOSS_OBJECTIVE, indent=8) + "\n"
        "        grads[name] = g\n"
        "    return loss, grads",
        "kv_model_loss_fast",
    ),
    # ---------------------------------------------------------------- train_kv_model
    mutant(
        "no_learning_rate_schedule",
        "train_kv_model_code",
        "        opt.lr = cosine_lr(t, steps, LR)\n",
        "",
        "train_kv_model_follows_the_recipe",
    ),
    mutant(
        "placement_ignored",
        "train_kv_model_code",
        "batch = kv_batch(BATCH, rng, probs)",
        'batch = kv_batch(BATCH, rng, placement_probs("uniform"))',
        "train_kv_model_follows_the_recipe",
        "train_kv_model_learns_the_placement_prior",
    ),
    mutant(
        "one_batch_reused_every_step",
        "train_kv_model_code",
        "batch = kv_batch(BATCH, rng, probs)",
        "batch = kv_batch(BATCH, np.random.default_rng(seed), probs)",
        "train_kv_model_follows_the_recipe",
        "train_kv_model_uniform_placement_learns_no_prior",
    ),
    # ---------------------------------------------------------------- accuracy_by_position
    mutant(
        "accuracy_divided_by_all_examples",
        "accuracy_by_position_code",
        "return hits / counts",
        "return hits / len(correct)",
        "accuracy_by_position_matches_reference",
        "accuracy_by_position_any_order_and_empty_positions",
        "accuracy_by_position_a_bias_pointing_at_one_position",
    ),
    mutant(
        "bincount_without_minlength",
        "accuracy_by_position_code",
        'counts = np.bincount(batch["pos"], minlength=n_docs)',
        'counts = np.bincount(batch["pos"])',
        "accuracy_by_position_any_order_and_empty_positions",
    ),
    mutant(
        "accuracy_ignores_the_bias",
        "accuracy_by_position_code",
        's, _ = kv_scores_forward(batch["q"], batch["K"], params["W"], params["p"])',
        's, _ = kv_scores_forward(batch["q"], batch["K"], params["W"], 0.0 * params["p"])',
        "accuracy_by_position_matches_reference",
        "accuracy_by_position_a_bias_pointing_at_one_position",
    ),
]


VARIANTS = [
    variant(
        "kv_scores_with_python_loops_and_a_dict_cache",
        "kv_scores_code",
        _SCORES_BODIES,
        """    B, N, d = K.shape
    s = np.zeros((B, N))
    for b in range(B):
        qW = q[b] @ W
        for n in range(N):
            s[b, n] = qW @ K[b, n] / np.sqrt(d) + p[n]
    return s, {"q": q, "K": K, "W": W}


def kv_scores_backward(ds, cache):
    q, K, W = cache["q"], cache["K"], cache["W"]
    B, N, d = K.shape
    c = 1.0 / np.sqrt(d)
    dq, dK, dW, dp = np.zeros_like(q), np.zeros_like(K), np.zeros_like(W), np.zeros(N)
    for b in range(B):
        qW = q[b] @ W
        for n in range(N):
            dp[n] += ds[b, n]
            dK[b, n] = c * ds[b, n] * qW
            dq[b] += c * ds[b, n] * (W @ K[b, n])
            dW += c * ds[b, n] * np.outer(q[b], K[b, n])
    return {"dq": dq, "dK": dK, "dW": dW, "dp": dp}""",
    ),
    variant(
        "kv_scores_by_matmul_recomputing_the_query_map",
        "kv_scores_code",
        _SCORES_BODIES,
        """    scale = 1.0 / np.sqrt(q.shape[-1])
    s = scale * (K @ (q @ W)[:, :, None])[:, :, 0] + p[None, :]
    return s, (q, K, W)


def kv_scores_backward(ds, cache):
    q, K, W = cache
    scale = 1.0 / np.sqrt(q.shape[-1])
    qW = q @ W                                                   # recomputed, (B, d)
    g = scale * (ds[:, None, :] @ K)[:, 0, :]                    # (B, d)
    return {"dq": g @ W.T, "dK": scale * ds[:, :, None] * qW[:, None, :],
            "dW": np.einsum("bi,bj->ij", q, g), "dp": np.sum(ds, axis=0)}""",
    ),
    variant(
        "attend_by_hand_with_a_jacobian_per_example",
        "attend_code",
        _ATTEND_FWD_BODY
        + '''


def attend_backward(dr, cache):
    """Gradients of attend_forward.

    Inputs:
      dr:    (B, C) upstream gradient dL/dr.
      cache: from attend_forward.
    Returns:
      dict with 'ds' (B, N) and 'dV' (B, N, C).
    """
'''
        + _ATTEND_BWD_BODY,
        """    z = s - s.max(axis=1, keepdims=True)
    e = np.exp(z)
    a = e / e.sum(axis=1, keepdims=True)
    r = (a[:, :, None] * V).sum(axis=1)
    return r, {"a": a, "V": V}


def attend_backward(dr, cache):
    a, V = cache["a"], cache["V"]
    B, N = a.shape
    ds = np.zeros((B, N))
    dV = np.zeros_like(V)
    for b in range(B):
        J = np.diag(a[b]) - np.outer(a[b], a[b])      # (N, N) softmax Jacobian
        ds[b] = J @ (V[b] @ dr[b])
        dV[b] = np.outer(a[b], dr[b])
    return {"ds": ds, "dV": dV}""",
    ),
    variant(
        "kv_model_loss_by_hand",
        "kv_model_loss_code",
        _LOSS_BODY,
        """    W, p, Wo, bo = params["W"], params["p"], params["Wo"], params["bo"]
    y = batch["y"]
    B = y.shape[0]
    s, cs = kv_scores_forward(batch["q"], batch["K"], W, p)
    r, ca = attend_forward(s, batch["V"])
    logits = r @ Wo + bo
    logits = logits - logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    loss = -np.mean(logp[np.arange(B), y])
    dlogits = np.exp(logp)
    dlogits[np.arange(B), y] -= 1.0
    dlogits /= B
    ga = attend_backward(dlogits @ Wo.T, ca)
    gs = kv_scores_backward(ga["ds"], cs)
    return float(loss), {"W": gs["dW"], "p": gs["dp"], "Wo": r.T @ dlogits,
                         "bo": dlogits.sum(axis=0)}""",
    ),
    variant(
        "train_kv_model_other_loop",
        "train_kv_model_code",
        _TRAIN_BODY,
        """    gen = np.random.default_rng(seed)
    model = init_kv_model(gen)
    adam = Adam(lr=LR)
    history = []
    t = 0
    while t < steps:
        data = kv_batch(BATCH, gen, probs)
        value, g = kv_model_loss(model, data)
        adam.lr = cosine_lr(t, steps, LR)
        adam.step(model, g)
        history.append(float(value))
        t += 1
    return model, history""",
    ),
    variant(
        "accuracy_by_position_with_a_loop_over_positions",
        "accuracy_by_position_code",
        _ACC_BODY,
        """    N = len(params["p"])
    scores, _ = kv_scores_forward(batch["q"], batch["K"], params["W"], params["p"])
    readout, _ = attend_forward(scores, batch["V"])
    answer = np.argmax(readout @ params["Wo"] + params["bo"], axis=1)
    acc = np.full(N, np.nan)
    for n in range(N):
        here = batch["pos"] == n
        if here.any():
            acc[n] = np.mean(answer[here] == batch["y"][here])
    return acc""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    "dp_averaged_over_the_batch": ("factor", "dp (and kv_model_loss's p): 1/B, B the batch size"),
    "dW_transposed": ("transpose", "dW (d, d) (and kv_model_loss's W)"),
    "dK_misses_the_scale": ("factor", "dK: sqrt(d), d the key width"),
    "bias_inside_the_scaling": (
        "factor",
        "dp (and kv_model_loss's p): sqrt(d), d the key width (the forward divides the bias by "
        "sqrt(d) too)",
    ),
    "loss_gradient_divided_by_B_twice": (
        "factor",
        "W, p, Wo, bo: 1/B, B the batch size",
    ),
    "positional_bias_never_trained": ("zero", "p: all zeros (never filled)"),
}
