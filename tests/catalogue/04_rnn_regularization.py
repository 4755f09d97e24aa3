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
    return logits, (emb_cache, drop_x1, lstm1, drop_x2, lstm2, drop_y, out_cache,
                    (ids, saved, p, masks))


def lstm_lm_backward(dlogits, cache):
    ids, args, p, masks = cache[7]

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
        # Zaremba's placement that also drops the recurrent connections
        "masks_zaremba_also_drops_recurrent",
        "masks_code",
        'return {"x1": fresh(D), "x2": fresh(H), "y": fresh(H)}',
        'return {"x1": fresh(D), "x2": fresh(H), "y": fresh(H), "h1": fresh(H), "h2": fresh(H)}',
        "masks_keys_and_shapes",
    ),
    mutant(
        # the one-layer placement: no mask between the layers
        "masks_zaremba_without_the_between_layer_mask",
        "masks_code",
        'return {"x1": fresh(D), "x2": fresh(H), "y": fresh(H)}',
        'return {"x1": fresh(D), "y": fresh(H)}',
        "masks_keys_and_shapes",
    ),
    mutant(
        # the two layers' recurrent masks are one and the same draw
        "masks_recurrent_layers_share_a_mask",
        "masks_code",
        'return {"h1": fresh(H), "h2": fresh(H)}',
        'return {"h1": (h := fresh(H)), "h2": h.copy()}',
        "masks_fresh_per_step_or_tied_over_time",
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
        'return {"x1": tied(D), "x2": tied(H), "y": tied(H), "h1": tied(H), "h2": tied(H)}',
        'return {"x1": fresh(D), "x2": fresh(H), "y": fresh(H), "h1": fresh(H), "h2": fresh(H)}',
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
        "lstm_lm_loss_gradcheck[recurrent-W1]",
        "lstm_lm_loss_gradcheck[recurrent-W2]",
    ),
    mutant(
        # bias gradient overwritten at every step instead of summed over time
        "rec_bias_gradient_not_accumulated",
        "rec_code",
        'db = db + g["db"]',
        'db = g["db"]',
        *["lstm_dropout_backward_gradcheck[db]", "lstm_dropout_backward_fast"]
        + [f"lstm_lm_loss_gradcheck[{mode}-b{layer}]" for mode in MODES for layer in (1, 2)],
    ),
    mutant(
        # weight gradient overwritten at every step instead of summed over time
        "rec_weight_gradient_not_accumulated",
        "rec_code",
        'dW = dW + g["dW"]',
        'dW = g["dW"]',
        "lstm_dropout_backward_gradcheck[dW]",
        "lstm_dropout_backward_fast",  # requires lstm_dropout_backward_gradcheck
        "lstm_lm_loss_gradcheck[none-W1]",
        "lstm_lm_loss_gradcheck[none-W2]",
        "lstm_lm_loss_gradcheck[variational-W2]",
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
        '    if "x1" in masks:\n        x, drop_x1 = dropout_forward(x, p, masks["x1"])',
        "    if True:\n"
        '        x, drop_x1 = dropout_forward(x, p, masks.get("x1", np.ones_like(x)))',
        "lstm_lm_forward_matches_reference",
        "lstm_lm_evaluation_needs_no_rescaling",
    ),
    mutant(
        # no backward through the output mask
        "lm_backward_skips_the_output_mask",
        "lm_code",
        '        dh2 = dropout_backward(dh2, drop_y)["dx"]',
        "        pass",
        "lstm_lm_loss_gradcheck[zaremba-W2]",
        "lstm_lm_loss_gradcheck[zaremba-E]",
        "lstm_lm_loss_gradcheck[variational-b2]",
        "lstm_lm_training_loss_falls_and_tracks_reference",
        "lstm_lm_backward_fast",  # requires lstm_lm_loss_gradcheck
    ),
    mutant(
        # the bug this assignment's second layer is about: no backward through the mask
        # between the layers (layer 1 gets gradient from units layer 2 never saw)
        "lm_backward_skips_the_between_layer_mask",
        "lm_code",
        '        dh1 = dropout_backward(dh1, drop_x2)["dx"]',
        "        pass",
        "lstm_lm_loss_gradcheck[zaremba-E]",
        "lstm_lm_loss_gradcheck[zaremba-W1]",
        "lstm_lm_loss_gradcheck[zaremba-b1]",
        "lstm_lm_loss_gradcheck[variational-W1]",
        "lstm_lm_between_layer_mask",
        "lstm_lm_training_loss_falls_and_tracks_reference",
        "lstm_lm_backward_fast",  # requires lstm_lm_loss_gradcheck
    ),
    mutant(
        # the between-layer dropout is computed, but layer 2 reads the undropped h1 (the
        # backward still goes through the mask, so it no longer matches its own forward)
        "lm_layer2_reads_the_undropped_layer1",
        "lm_code",
        '        h1, drop_x2 = dropout_forward(h1, p, masks["x2"])',
        '        _, drop_x2 = dropout_forward(h1, p, masks["x2"])',
        "lstm_lm_forward_matches_reference",
        "lstm_lm_loss_value",
        "lstm_lm_loss_gradcheck[zaremba-W1]",
        "lstm_lm_loss_gradcheck[variational-W1]",
        "lstm_lm_between_layer_mask",
    ),
    mutant(
        # layer 1's backward is fed layer 2's upstream (dh2) instead of what layer 2 sends down
        "lm_layer1_gets_layer2s_upstream",
        "lm_code",
        '    dh1 = g2["dx"]',
        "    dh1 = dh2",
        *[f"lstm_lm_loss_gradcheck[{mode}-{k}]" for mode in MODES for k in ("E", "W1", "b1")]
        + ["lstm_lm_training_loss_falls_and_tracks_reference", "lstm_lm_backward_fast"],
    ),
    mutant(
        # layer 2 uses layer 1's recurrent mask (a copy-paste slip)
        "lm_layer2_uses_layer1s_recurrent_mask",
        "lm_code",
        """masks.get("h2"))""",
        """masks.get("h1"))""",
        "lstm_lm_forward_matches_reference",
        "lstm_lm_loss_value",
    ),
    mutant(
        # no backward through the input mask
        "lm_backward_skips_the_input_mask",
        "lm_code",
        '        dx = dropout_backward(dx, drop_x1)["dx"]',
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
        '    dE = embedding_backward(dx, emb_cache)["dE"]',
        """    ids, E_shape = emb_cache
    dE = np.zeros(E_shape)
    dE[ids] = dx""",
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
        "    return logits, (emb_cache, drop_x1, lstm1, drop_x2, lstm2, drop_y, out_cache)\n\n\n"
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
_LM_CACHE_SPAN = (
    "    return logits, (emb_cache, drop_x1, lstm1, drop_x2, lstm2, drop_y, out_cache)"
    + '''


def lstm_lm_backward(dlogits, cache):
    """Backward pass of lstm_lm_forward.

    Inputs:
      dlogits: (B, T, V)  upstream gradient of the logits
      cache:              from lstm_lm_forward
    Returns grads, a dict keyed like params: E (V, D), W1 (D + H, 4H), b1 (4H,), W2 (2H, 4H),
    b2 (4H,), Wy (H, V), by (V,)
    """
    emb_cache, drop_x1, lstm1, drop_x2, lstm2, drop_y, out_cache = cache'''
)

# From lstm_lm_forward's body to the end of lstm_lm_backward.
_LM_SPAN = (
    """    B, T = ids.shape
    H = params["Wy"].shape[0]
    zeros = np.zeros((B, H))
    x, emb_cache = embedding_forward(ids, params["E"])                  # (B, T, D)
    drop_x1 = drop_x2 = drop_y = None
    if "x1" in masks:
        x, drop_x1 = dropout_forward(x, p, masks["x1"])                  # input -> layer 1
    h1, lstm1 = lstm_dropout_forward(x, zeros, zeros, params["W1"], params["b1"], p,
                                     masks.get("h1"))                    # (B, T, H)
    if "x2" in masks:
        h1, drop_x2 = dropout_forward(h1, p, masks["x2"])                # layer 1 -> layer 2
    h2, lstm2 = lstm_dropout_forward(h1, zeros, zeros, params["W2"], params["b2"], p,
                                     masks.get("h2"))                    # (B, T, H)
    if "y" in masks:
        h2, drop_y = dropout_forward(h2, p, masks["y"])                  # layer 2 -> softmax
    logits, out_cache = affine_forward(h2, params["Wy"], params["by"])   # (B, T, V)
"""
    + _LM_CACHE_SPAN
    + """
    g_out = affine_backward(dlogits, out_cache)
    dh2 = g_out["dx"]                                                    # (B, T, H)
    if drop_y is not None:
        dh2 = dropout_backward(dh2, drop_y)["dx"]
    g2 = lstm_dropout_backward(dh2, lstm2)
    dh1 = g2["dx"]                                                       # (B, T, H)
    if drop_x2 is not None:
        dh1 = dropout_backward(dh1, drop_x2)["dx"]
    g1 = lstm_dropout_backward(dh1, lstm1)
    dx = g1["dx"]                                                        # (B, T, D)
    if drop_x1 is not None:
        dx = dropout_backward(dx, drop_x1)["dx"]
    dE = embedding_backward(dx, emb_cache)["dE"]                         # (V, D)
    return {"E": dE, "W1": g1["dW"], "b1": g1["db"], "W2": g2["dW"], "b2": g2["db"],
            "Wy": g_out["dW"], "by": g_out["db"]}"""
)

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
        return {"x1": fresh(D), "x2": fresh(H), "y": fresh(H)}
    if mode == "recurrent":
        return {"h1": fresh(H), "h2": fresh(H)}
    if mode == "variational":
        return {"x1": tied(D), "x2": tied(H), "y": tied(H), "h1": tied(H), "h2": tied(H)}
    raise ValueError(f"unknown dropout mode {mode!r}")"""

VARIANTS += [
    variant(
        # another legal order of draws (the notebook: "the order in which you draw is yours to
        # choose"): the output mask first, layer 2 before layer 1, one (B, n) draw per step
        "masks_drawn_step_by_step_in_another_order",
        "masks_code",
        _MASKS_BODY,
        """    rng = np.random.default_rng(seed)
    keys = {"none": [], "zaremba": ["y", "x2", "x1"], "recurrent": ["h2", "h1"],
            "variational": ["y", "h2", "x2", "h1", "x1"]}
    if mode not in keys:
        raise ValueError(f"unknown dropout mode {mode!r}")
    masks = {}
    for k in keys[mode]:
        n = D if k == "x1" else H
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
    placements = {"none": [], "zaremba": ["x1", "x2", "y"], "recurrent": ["h1", "h2"],
                  "variational": ["x1", "h1", "x2", "h2", "y"]}
    if mode not in placements:
        raise ValueError(f"unknown dropout mode {mode!r}")
    sizes = {"x1": D, "x2": H, "y": H, "h1": H, "h2": H}
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
            "    return logits, (emb_cache, drop_x1, lstm1, drop_x2, lstm2, drop_y, out_cache)",
            '    return logits, {"ids": ids, "params": params, "p": p, "masks": masks}',
        ).replace(
            "    emb_cache, drop_x1, lstm1, drop_x2, lstm2, drop_y, out_cache = cache",
            """    ids, params, p, masks = cache["ids"], cache["params"], cache["p"], cache["masks"]
    B, T = ids.shape
    x, emb_cache = embedding_forward(ids, params["E"])
    drop_x1 = drop_x2 = drop_y = None
    if "x1" in masks:
        x, drop_x1 = dropout_forward(x, p, masks["x1"])
    h0 = np.zeros((B, params["Wy"].shape[0]))
    h1, lstm1 = lstm_dropout_forward(x, h0, h0, params["W1"], params["b1"], p, masks.get("h1"))
    if "x2" in masks:
        h1, drop_x2 = dropout_forward(h1, p, masks["x2"])
    h2, lstm2 = lstm_dropout_forward(h1, h0, h0, params["W2"], params["b2"], p, masks.get("h2"))
    if "y" in masks:
        h2, drop_y = dropout_forward(h2, p, masks["y"])
    out_cache = affine_forward(h2, params["Wy"], params["by"])[1]""",
        ),
    ),
    variant(
        # the layers as a stack: one loop over [(W1, b1), (W2, b2)] in the forward and the
        # reverse loop in the backward, with a scale of ones where a mask is missing, and
        # dropout written inline
        "lm_layers_in_a_loop",
        "lm_code",
        _LM_SPAN,
        '''    B, T = ids.shape
    H = params["Wy"].shape[0]

    def scale(key, shape):
        return masks[key] / (1.0 - p) if key in masks else np.ones(shape)

    emb = params["E"][ids]                                              # (B, T, D)
    inp = emb
    layers = []
    for layer in (1, 2):
        s_in = scale(f"x{layer}", inp.shape)                            # (B, T, n_in)
        h0 = np.zeros((B, H))
        hs, c = lstm_dropout_forward(inp * s_in, h0, h0, params[f"W{layer}"],
                                     params[f"b{layer}"], p, masks.get(f"h{layer}"))
        layers.append((s_in, c))
        inp = hs                                                        # (B, T, H)
    s_out = scale("y", inp.shape)
    top = inp * s_out                                                   # (B, T, H)
    logits = top @ params["Wy"] + params["by"]                          # (B, T, V)
    return logits, {"ids": ids, "V": params["E"].shape[0], "layers": layers, "s_out": s_out,
                    "top": top, "Wy": params["Wy"]}


def lstm_lm_backward(dlogits, cache):
    """Backward of lstm_lm_forward: gradients keyed like params."""
    B, T, V = dlogits.shape
    grads = {"Wy": np.einsum("bth,btv->hv", cache["top"], dlogits),
             "by": dlogits.sum(axis=(0, 1))}
    d = (dlogits @ cache["Wy"].T) * cache["s_out"]                      # (B, T, H)
    for layer in (2, 1):
        s_in, c = cache["layers"][layer - 1]
        g = lstm_dropout_backward(d, c)
        grads[f"W{layer}"], grads[f"b{layer}"] = g["dW"], g["db"]
        d = g["dx"] * s_in
    dE = np.zeros((cache["V"], d.shape[2]))
    np.add.at(dE, cache["ids"], d)                                      # (V, D)
    grads["E"] = dE
    return grads''',
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

#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): the class of the error in the gradient of the
#: function the mutant edits, and the factor, axis or tensor it concerns. Mutants not listed are
#: of class "other" (among them the scatter bugs whose wrong rows are the ones the data repeats:
#: they follow the data, not a structure of the code).
BUG_CLASSES = {
    "lm_output_gradients_averaged_again": ("factor", "Wy and by: 1/B, B the batch size"),
    # revised after the first measurement, from the code: dx: right only at the last time step
    # (axis 1) in the sequence check; the recurrent mask only acts on what flows back
    "dropout_backward_forgets_mask": (
        ("other", "slices"),
        "dx: right only at the last time step (axis 1)",
    ),
    # revised after the first measurement, from the code: dx: right only at the last time step
    # (axis 1); the recurrent mask only acts on what flows back
    "rec_backward_skips_the_recurrent_mask": (
        ("other", "slices"),
        "dx: right only at the last time step (axis 1)",
    ),
    # revised after the first measurement, from the code: dx: right only at the last time step
    # (axis 1); the cell path to earlier steps is what changes
    "rec_forward_drops_the_cell_state_too": (
        ("other", "slices"),
        "dx: right only at the last time step (axis 1)",
    ),
}
