"""Wrong implementations of 04_rnn_regularization that the hidden tests must catch
(test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import fd_loop, mutant, numerical_backward, variant

MODES = ("none", "zaremba", "recurrent", "variational")

# Dropout's backward by finite differences through the forward. The cache holds only the scale,
# so p and the mask are recovered from it and x is rebuilt as zeros (dropout is linear in x: the
# point does not matter). Exact to ~1e-10, it passes every gradient check; only the time budget
# catches it.
_DROPOUT_NUMERICAL_BACKWARD = numerical_backward(
    setup="""    scale = cache
    kept = scale > 0
    p = 1.0 - 1.0 / scale[kept].max() if kept.any() else 0.0
    mask = kept.astype(np.float64)
    args = {"x": np.zeros_like(dy)}""",
    objective='np.sum(dropout_forward(args["x"], p, mask)[0] * dy)',
)

# BPTT by finite differences: the forward keeps a copy of its inputs in the cache and the backward
# perturbs every input entry. Accurate to ~1e-10; caught by the realistic-size time budget.
_REC_NUMERICAL = """    saved = dict(x=x.copy(), h0=h0.copy(), c0=c0.copy(), W=W.copy(), b=b.copy())
    return hs, (caches, D, saved, p, mask_h)


def lstm_dropout_backward(dhs, cache):
""" + numerical_backward(
    setup="    args, p, mask_h = cache[2:]",
    objective="np.sum(lstm_dropout_forward(p=p, mask_h=mask_h, **args)[0] * dhs)",
)

# The whole language model's backward by finite differences through its forward (its gradients
# are keyed like params, without the "d" of the template's backward).
_LM_NUMERICAL = f"""    saved = {{k: v.copy() for k, v in params.items()}}
    return logits, (emb_cache, drop_x, lstm_cache, drop_y, out_cache, (ids, saved, p, masks))


def lstm_lm_backward(dlogits, cache):
    ids, args, p, masks = cache[5]

    def objective():
        return np.sum(lstm_lm_forward(ids, args, p, masks)[0] * dlogits)

    grads = {{}}
    for name, arr in args.items():
{fd_loop("arr", "g", "objective()", indent=8)}
        grads[name] = g
    return grads"""


def _numerical(name, cell, old, new, budget_test):
    """A mutant whose backward differentiates numerically: only `budget_test` must catch it (it
    may also run out of time elsewhere)."""
    return mutant(name, cell, old, new, budget_test)


MUTANTS = [
    _numerical(
        "dropout_backward_numerical",
        "dropout_code",
        '    scale = cache\n    return {"dx": dy * scale}',
        _DROPOUT_NUMERICAL_BACKWARD,
        "dropout_backward_fast",
    ),
    mutant(
        # plain (not inverted) dropout: the kept units are not scaled up by 1 / (1 - p)
        "dropout_missing_inverted_scale",
        "dropout_code",
        "scale = mask / (1.0 - p)",
        "scale = mask",
        # forward only: its backward is exact for this forward, so the gradient checks pass
        "dropout_forward_matches_reference",
        "dropout_preserves_expected_activation",
        "lstm_dropout_forward_matches_reference",
        "lstm_lm_forward_matches_reference",
    ),
    mutant(
        # the backward rescales but forgets the mask: dropped units pass gradient back
        "dropout_backward_forgets_mask",
        "dropout_code",
        "return x * scale, scale",
        "return x * scale, 1.0 / (1.0 - p)",
        "dropout_backward_gradcheck[dx]",
        "dropout_backward_fast",  # requires dropout_backward_gradcheck
        "dropout_preserves_expected_activation",
        "lstm_dropout_backward_gradcheck[dh0]",
        "lstm_dropout_mask_blocks_the_recurrent_path",
        "lstm_lm_dropped_units_get_no_gradient",
    ),
    mutant(
        # Zaremba's placement that also drops the recurrent connection
        "masks_zaremba_also_drops_recurrent",
        "masks_code",
        'return {"x": fresh(D), "y": fresh(H)}',
        'return {"x": fresh(D), "h": fresh(H), "y": fresh(H)}',
        "masks_keys_and_shapes",
    ),
    mutant(
        # keeps a unit with probability p instead of 1 - p
        "masks_keep_probability_inverted",
        "masks_code",
        "return (rng.random((B, T, n)) >= p).astype(np.float64)",
        "return (rng.random((B, T, n)) < p).astype(np.float64)",
        "masks_keep_a_fraction_one_minus_p",
    ),
    mutant(
        # "variational" masks drawn afresh at every step (no tying over time)
        "masks_variational_not_tied_over_time",
        "masks_code",
        'return {"x": tied(D), "h": tied(H), "y": tied(H)}',
        'return {"x": fresh(D), "h": fresh(H), "y": fresh(H)}',
        "masks_fresh_per_step_or_tied_over_time",
    ),
    mutant(
        # one mask per batch, shared by every sequence
        "masks_shared_by_the_whole_batch",
        "masks_code",
        "return (rng.random((B, T, n)) >= p).astype(np.float64)",
        "return np.repeat((rng.random((1, T, n)) >= p).astype(np.float64), B, axis=0)",
        "masks_follow_the_seed_and_differ_per_sequence",
    ),
    mutant(
        # forward-only bug: the cell state is dropped along with the hidden state
        "rec_forward_drops_the_cell_state_too",
        "rec_code",
        "            h, drop_cache = dropout_forward(h, p, mask_h[:, t])   # (B, H)",
        "            h, drop_cache = dropout_forward(h, p, mask_h[:, t])   # (B, H)\n"
        "            c = dropout_forward(c, p, mask_h[:, t])[0]",
        "lstm_dropout_forward_matches_reference",
        "lstm_dropout_backward_gradcheck[dc0]",
        "lstm_lm_forward_matches_reference",
    ),
    mutant(
        # the recurrent gradient is not sent back through the mask of step t + 1
        "rec_backward_skips_the_recurrent_mask",
        "rec_code",
        '            dh = dropout_backward(dh, drop_cache)["dx"]'
        "   # back through the recurrent mask",
        "            pass",
        "lstm_dropout_backward_gradcheck[dx]",
        "lstm_dropout_backward_gradcheck[dh0]",
        "lstm_dropout_backward_gradcheck[dc0]",
        "lstm_dropout_backward_gradcheck[dW]",
        "lstm_dropout_backward_gradcheck[db]",
        "lstm_dropout_mask_blocks_the_recurrent_path",
        "lstm_lm_loss_gradcheck[recurrent-W]",
    ),
    mutant(
        # bias gradient overwritten at every step instead of summed over time
        "rec_bias_gradient_not_accumulated",
        "rec_code",
        'db = db + g["db"]',
        'db = g["db"]',
        *["lstm_dropout_backward_gradcheck[db]", "lstm_dropout_backward_fast"]
        + [f"lstm_lm_loss_gradcheck[{mode}-b]" for mode in MODES],
    ),
    mutant(
        # weight gradient overwritten at every step instead of summed over time
        "rec_weight_gradient_not_accumulated",
        "rec_code",
        'dW = dW + g["dW"]',
        'dW = g["dW"]',
        "lstm_dropout_backward_gradcheck[dW]",
        "lstm_dropout_backward_fast",  # requires lstm_dropout_backward_gradcheck
        "lstm_lm_loss_gradcheck[none-W]",
        "lstm_lm_loss_gradcheck[variational-W]",
        "lstm_lm_training_loss_falls_and_tracks_reference",
    ),
    _numerical(
        "rec_backward_numerical",
        "rec_code",
        "    return hs, (caches, D)\n\n\ndef lstm_dropout_backward(dhs, cache):",
        _REC_NUMERICAL,
        "lstm_dropout_backward_fast",
    ),
    mutant(
        # dropout applied whenever p > 0, with a mask of ones where none is given: evaluation
        # (p > 0, masks = {}) is then scaled by 1 / (1 - p)
        "lm_scales_inputs_without_a_mask",
        "lm_code",
        '    if "x" in masks:\n        x, drop_x = dropout_forward(x, p, masks["x"])',
        '    if True:\n        x, drop_x = dropout_forward(x, p, masks.get("x", np.ones_like(x)))',
        "lstm_lm_forward_matches_reference",
        "lstm_lm_evaluation_needs_no_rescaling",
    ),
    mutant(
        # no backward through the output mask
        "lm_backward_skips_the_output_mask",
        "lm_code",
        '        dhs = dropout_backward(dhs, drop_y)["dx"]',
        "        pass",
        "lstm_lm_loss_gradcheck[zaremba-W]",
        "lstm_lm_loss_gradcheck[zaremba-E]",
        "lstm_lm_loss_gradcheck[variational-b]",
        "lstm_lm_training_loss_falls_and_tracks_reference",
        "lstm_lm_backward_fast",  # requires lstm_lm_loss_gradcheck
    ),
    mutant(
        # no backward through the input mask
        "lm_backward_skips_the_input_mask",
        "lm_code",
        '        dx = dropout_backward(dx, drop_x)["dx"]',
        "        pass",
        "lstm_lm_loss_gradcheck[zaremba-E]",
        "lstm_lm_loss_gradcheck[variational-E]",
        "lstm_lm_dropped_units_get_no_gradient",
    ),
    mutant(
        # the loss summed over time instead of averaged (and its gradient consistently scaled)
        "lm_loss_summed_over_time",
        "lm_code",
        "    return loss, lstm_lm_backward(dlogits, cache)",
        "    T = targets.shape[1]\n    return loss * T, lstm_lm_backward(dlogits * T, cache)",
        # its gradients are exact for the loss it returns: only the value and training catch it
        "lstm_lm_loss_value",
        "lstm_lm_training_loss_falls_and_tracks_reference",
    ),
    mutant(
        # the embedding's gradient assigned instead of scatter-added: a token that occurs
        # several times keeps only the gradient of its last occurrence
        "lm_embedding_gradient_overwrites_repeated_tokens",
        "lm_code",
        '    dE = embedding_backward(dx, emb_cache)["dE"]                        # (V, D)',
        """    ids, E_shape = emb_cache
    dE = np.zeros(E_shape)
    dE[ids] = dx                                                        # (V, D)""",
        "lstm_lm_loss_gradcheck[none-E]",
        "lstm_lm_loss_gradcheck[zaremba-E]",
        "lstm_lm_loss_gradcheck[recurrent-E]",
        "lstm_lm_loss_gradcheck[variational-E]",
        "lstm_lm_training_loss_falls_and_tracks_reference",
        "lstm_lm_backward_fast",  # requires every lstm_lm_loss_gradcheck
    ),
    mutant(
        # the output layer's gradients divided by the batch size once more (dlogits is already
        # the gradient of a mean)
        "lm_output_gradients_averaged_again",
        "lm_code",
        '"Wy": g_out["dW"], "by": g_out["db"]}',
        '"Wy": g_out["dW"] / len(dlogits), "by": g_out["db"] / len(dlogits)}',
        *[f"lstm_lm_loss_gradcheck[{mode}-{p}]" for mode in MODES for p in ("Wy", "by")]
        + ["lstm_lm_training_loss_falls_and_tracks_reference"],
    ),
    _numerical(
        "lm_backward_numerical",
        "lm_code",
        "    return logits, (emb_cache, drop_x, lstm_cache, drop_y, out_cache)\n\n\n"
        "def lstm_lm_backward(dlogits, cache):",
        _LM_NUMERICAL,
        "lstm_lm_backward_fast",
    ),
]


# Correct but slow implementations: they must still score full marks (the integrity budgets
# catch finite differences, not honest Python loops).
VARIANTS = [
    variant(
        # dropout's backward one entry at a time (1e5 Python iterations in the integrity test)
        "dropout_backward_loops_over_every_entry",
        "dropout_code",
        '    scale = cache\n    return {"dx": dy * scale}',
        """    scale = cache
    dx = np.empty_like(dy)
    for idx in np.ndindex(dy.shape):
        dx[idx] = dy[idx] * scale[idx]
    return {"dx": dx}""",
    ),
    variant(
        # BPTT that calls the step backward once per sequence of the batch
        "rec_backward_loops_over_the_batch",
        "rec_code",
        "        g = lstm_step_backward(dhs[:, t] + dh, dc, step_cache)",
        """        W_t = step_cache[1]
        g = {"dx": np.empty((B, D)), "dh_prev": np.empty((B, H)), "dc_prev": np.empty((B, H)),
             "dW": np.zeros_like(W_t), "db": np.zeros(W_t.shape[1])}
        for n in range(B):
            one = tuple(a if a is W_t else a[n:n + 1] for a in step_cache)
            g_n = lstm_step_backward(dhs[n:n + 1, t] + dh[n:n + 1], dc[n:n + 1], one)
            for k in ("dx", "dh_prev", "dc_prev"):
                g[k][n] = g_n[k][0]
            g["dW"] += g_n["dW"]
            g["db"] += g_n["db"]""",
    ),
]

# The end of dropout_forward, dropout_backward's signature and docstring, and its body.
_DROPOUT_SPAN = '''    return x * scale, scale


def dropout_backward(dy, cache):
    """Backward pass of dropout_forward.

    Inputs:
      dy: (...)  upstream gradient, same shape as x
      cache:     from dropout_forward
    Returns a dict with dx: (...) same shape as x
    """
    scale = cache
    return {"dx": dy * scale}'''

# From lstm_dropout_forward's body to the end of lstm_dropout_backward.
_REC_SPAN = '''    B, T, D = x.shape
    hs = np.empty((B, T, h0.shape[1]))
    caches = []
    h, c = h0, c0
    for t in range(T):
        drop_cache = None
        if mask_h is not None:
            h, drop_cache = dropout_forward(h, p, mask_h[:, t])   # (B, H)
        h, c, step_cache = lstm_step_forward(x[:, t], h, c, W, b)
        hs[:, t] = h
        caches.append((drop_cache, step_cache))
    return hs, (caches, D)


def lstm_dropout_backward(dhs, cache):
    """Backpropagation through time for lstm_dropout_forward.

    Inputs:
      dhs: (B, T, H)  upstream gradient of every hidden state in hs
      cache:          from lstm_dropout_forward
    Returns a dict with
      dx: (B, T, D), dh0: (B, H), dc0: (B, H), dW: (D + H, 4H), db: (4H,)
    """
    caches, D = cache
    B, T, H = dhs.shape
    dx = np.empty((B, T, D))
    dW, db = 0.0, 0.0
    dh = np.zeros((B, H))   # gradient reaching h_t from step t + 1
    dc = np.zeros((B, H))   # gradient reaching c_t from step t + 1
    for t in reversed(range(T)):
        drop_cache, step_cache = caches[t]
        g = lstm_step_backward(dhs[:, t] + dh, dc, step_cache)
        dx[:, t] = g["dx"]
        dh, dc = g["dh_prev"], g["dc_prev"]
        if drop_cache is not None:
            dh = dropout_backward(dh, drop_cache)["dx"]   # back through the recurrent mask
        dW = dW + g["dW"]
        db = db + g["db"]
    return {"dx": dx, "dh0": dh, "dc0": dc, "dW": dW, "db": db}'''

# The end of lstm_lm_forward and the start of lstm_lm_backward (its docstring, its cache).
_LM_CACHE_SPAN = '''    return logits, (emb_cache, drop_x, lstm_cache, drop_y, out_cache)


def lstm_lm_backward(dlogits, cache):
    """Backward pass of lstm_lm_forward.

    Inputs:
      dlogits: (B, T, V)  upstream gradient of the logits
      cache:              from lstm_lm_forward
    Returns grads, a dict keyed like params: E (V, D), W (D + H, 4H), b (4H,), Wy (H, V), by (V,)
    """
    emb_cache, drop_x, lstm_cache, drop_y, out_cache = cache'''

# The body of make_dropout_masks.
_MASKS_BODY = """    rng = np.random.default_rng(seed)

    def fresh(n):        # a new mask at every step: (B, T, n)
        return (rng.random((B, T, n)) >= p).astype(np.float64)

    def tied(n):         # one mask per sequence, repeated over time: (B, T, n)
        keep = (rng.random((B, 1, n)) >= p).astype(np.float64)   # (B, 1, n)
        return np.repeat(keep, T, axis=1)

    if mode == "none":
        return {}
    if mode == "zaremba":
        return {"x": fresh(D), "y": fresh(H)}
    if mode == "recurrent":
        return {"h": fresh(H)}
    if mode == "variational":
        return {"x": tied(D), "h": tied(H), "y": tied(H)}
    raise ValueError(f"unknown dropout mode {mode!r}")"""

VARIANTS += [
    variant(
        # another legal order of draws (the notebook: "the order in which you draw does not
        # matter"): the output mask first, one (B, n) draw per time step
        "masks_drawn_step_by_step_in_another_order",
        "masks_code",
        _MASKS_BODY,
        """    rng = np.random.default_rng(seed)
    keys = {"none": "", "zaremba": "yx", "recurrent": "h", "variational": "yhx"}
    if mode not in keys:
        raise ValueError(f"unknown dropout mode {mode!r}")
    masks = {}
    for k in keys[mode]:
        n = D if k == "x" else H
        if mode == "variational":
            keep = rng.random((B, n)) >= p                                  # (B, n)
            masks[k] = np.repeat(keep[:, None, :], T, axis=1).astype(np.float64)
        else:
            steps = [rng.random((B, n)) >= p for _ in range(T)]            # T x (B, n)
            masks[k] = np.stack(steps, axis=1).astype(np.float64)          # (B, T, n)
    return masks""",
    ),
    variant(
        # yet another order: one sequence at a time, all of its masks before the next one's
        "masks_drawn_one_sequence_at_a_time",
        "masks_code",
        _MASKS_BODY,
        """    rng = np.random.default_rng(seed)
    placements = {"none": [], "zaremba": ["x", "y"], "recurrent": ["h"],
                  "variational": ["x", "h", "y"]}
    if mode not in placements:
        raise ValueError(f"unknown dropout mode {mode!r}")
    sizes = {"x": D, "h": H, "y": H}
    masks = {k: np.zeros((B, T, sizes[k])) for k in placements[mode]}
    for i in range(B):
        for k, m in masks.items():
            if mode == "variational":
                m[i, :, :] = rng.uniform(size=sizes[k]) >= p        # same units at every step
            else:
                m[i] = rng.uniform(size=(T, sizes[k])) >= p
    return masks""",
    ),
    variant(
        # the cache holds the mask and p; the backward recomputes the scale
        "dropout_cache_keeps_mask_and_p",
        "dropout_code",
        _DROPOUT_SPAN,
        _DROPOUT_SPAN.replace(
            "    return x * scale, scale",
            "    return x * scale, (mask, p)",
        ).replace(
            '    scale = cache\n    return {"dx": dy * scale}',
            '    mask, p = cache\n    return {"dx": dy * mask / (1.0 - p)}',
        ),
    ),
    variant(
        # recurrent dropout written inline (no call to dropout_forward/backward), a dict cache,
        # a scale of ones when there is no mask
        "rec_inline_dropout_and_dict_cache",
        "rec_code",
        _REC_SPAN,
        '''    B, T, D = x.shape
    H = h0.shape[1]
    hs = np.empty((B, T, H))
    cache = {"steps": [], "scales": [], "D": D}
    h, c = h0, c0
    for t in range(T):
        scale = np.ones((B, H)) if mask_h is None else mask_h[:, t] / (1.0 - p)
        h, c, step_cache = lstm_step_forward(x[:, t], h * scale, c, W, b)
        hs[:, t] = h
        cache["steps"].append(step_cache)
        cache["scales"].append(scale)
    return hs, cache


def lstm_dropout_backward(dhs, cache):
    """BPTT for lstm_dropout_forward: dx (B, T, D), dh0, dc0 (B, H), dW (D + H, 4H), db (4H,)"""
    B, T, H = dhs.shape
    dx = np.zeros((B, T, cache["D"]))
    dW = db = None
    dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        g = lstm_step_backward(dhs[:, t] + dh_next, dc_next, cache["steps"][t])
        dx[:, t] = g["dx"]
        dh_next = g["dh_prev"] * cache["scales"][t]
        dc_next = g["dc_prev"]
        dW = g["dW"] if dW is None else dW + g["dW"]
        db = g["db"] if db is None else db + g["db"]
    return {"dx": dx, "dh0": dh_next, "dc0": dc_next, "dW": dW, "db": db}''',
    ),
    variant(
        # the forward caches only its inputs; the backward runs the forward again
        "lm_backward_recomputes_the_forward",
        "lm_code",
        _LM_CACHE_SPAN,
        _LM_CACHE_SPAN.replace(
            "    return logits, (emb_cache, drop_x, lstm_cache, drop_y, out_cache)",
            '    return logits, {"ids": ids, "params": params, "p": p, "masks": masks}',
        ).replace(
            "    emb_cache, drop_x, lstm_cache, drop_y, out_cache = cache",
            """    ids, params, p, masks = cache["ids"], cache["params"], cache["p"], cache["masks"]
    B, T = ids.shape
    x, emb_cache = embedding_forward(ids, params["E"])
    drop_x = drop_y = None
    if "x" in masks:
        x, drop_x = dropout_forward(x, p, masks["x"])
    h0 = np.zeros((B, params["Wy"].shape[0]))
    hs, lstm_cache = lstm_dropout_forward(x, h0, h0, params["W"], params["b"], p,
                                          masks.get("h"))
    if "y" in masks:
        hs, drop_y = dropout_forward(hs, p, masks["y"])
    out_cache = affine_forward(hs, params["Wy"], params["by"])[1]""",
        ),
    ),
    variant(
        # the cross-entropy written out with a max-shifted logsumexp over the flattened
        # positions instead of the given softmax_cross_entropy
        "lm_loss_own_logsumexp",
        "lm_code",
        "    loss, dlogits = softmax_cross_entropy(logits, targets)",
        """    B, T, V = logits.shape
    z = logits.reshape(B * T, V)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))       # (B T, V)
    rows, cols = np.arange(B * T), targets.reshape(-1)
    loss = -log_p[rows, cols].mean()
    dz = np.exp(log_p)
    dz[rows, cols] -= 1.0
    dlogits = (dz / (B * T)).reshape(B, T, V)""",
    ),
]
