"""Wrong implementations of 04_rnn_regularization that the hidden tests must catch
(test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import fd_loop, numerical_backward

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
    return dict(name=name, cell=cell, old=old, new=new, catches=[budget_test])


MUTANTS = [
    _numerical(
        "dropout_backward_numerical",
        "dropout_code",
        '    scale = cache\n    return {"dx": dy * scale}',
        _DROPOUT_NUMERICAL_BACKWARD,
        "dropout_backward_fast",
    ),
    dict(
        # plain (not inverted) dropout: the kept units are not scaled up by 1 / (1 - p)
        name="dropout_missing_inverted_scale",
        cell="dropout_code",
        old="scale = mask / (1.0 - p)",
        new="scale = mask",
        catches=[
            "dropout_forward_matches_reference",
            "dropout_backward_gradcheck[dx]",
            "dropout_preserves_expected_activation",
            "lstm_lm_forward_matches_reference",
        ],
    ),
    dict(
        # the backward rescales but forgets the mask: dropped units pass gradient back
        name="dropout_backward_forgets_mask",
        cell="dropout_code",
        old="return x * scale, scale",
        new="return x * scale, 1.0 / (1.0 - p)",
        catches=[
            "dropout_backward_gradcheck[dx]",
            "dropout_preserves_expected_activation",
            "lstm_dropout_backward_gradcheck[dh0]",
            "lstm_dropout_mask_blocks_the_recurrent_path",
            "lstm_lm_dropped_units_get_no_gradient",
        ],
    ),
    dict(
        # Zaremba's placement that also drops the recurrent connection
        name="masks_zaremba_also_drops_recurrent",
        cell="masks_code",
        old='return {"x": fresh(D), "y": fresh(H)}',
        new='return {"x": fresh(D), "h": fresh(H), "y": fresh(H)}',
        catches=["masks_keys_and_shapes"],
    ),
    dict(
        # keeps a unit with probability p instead of 1 - p
        name="masks_keep_probability_inverted",
        cell="masks_code",
        old="return (rng.random((B, T, n)) >= p).astype(np.float64)",
        new="return (rng.random((B, T, n)) < p).astype(np.float64)",
        catches=["masks_keep_a_fraction_one_minus_p"],
    ),
    dict(
        # "variational" masks drawn afresh at every step (no tying over time)
        name="masks_variational_not_tied_over_time",
        cell="masks_code",
        old='return {"x": tied(D), "h": tied(H), "y": tied(H)}',
        new='return {"x": fresh(D), "h": fresh(H), "y": fresh(H)}',
        catches=["masks_fresh_per_step_or_tied_over_time"],
    ),
    dict(
        # one mask per batch, shared by every sequence
        name="masks_shared_by_the_whole_batch",
        cell="masks_code",
        old="return (rng.random((B, T, n)) >= p).astype(np.float64)",
        new="return np.repeat((rng.random((1, T, n)) >= p).astype(np.float64), B, axis=0)",
        catches=["masks_follow_the_seed_and_differ_per_sequence"],
    ),
    dict(
        # forward-only bug: the cell state is dropped along with the hidden state
        name="rec_forward_drops_the_cell_state_too",
        cell="rec_code",
        old="            h, drop_cache = dropout_forward(h, p, mask_h[:, t])   # (B, H)",
        new="            h, drop_cache = dropout_forward(h, p, mask_h[:, t])   # (B, H)\n"
        "            c = dropout_forward(c, p, mask_h[:, t])[0]",
        catches=[
            "lstm_dropout_forward_matches_reference",
            "lstm_dropout_backward_gradcheck[dc0]",
            "lstm_lm_forward_matches_reference",
        ],
    ),
    dict(
        # the recurrent gradient is not sent back through the mask of step t + 1
        name="rec_backward_skips_the_recurrent_mask",
        cell="rec_code",
        old='            dh = dropout_backward(dh, drop_cache)["dx"]'
        "   # back through the recurrent mask",
        new="            pass",
        catches=[
            "lstm_dropout_backward_gradcheck[dx]",
            "lstm_dropout_backward_gradcheck[dh0]",
            "lstm_dropout_backward_gradcheck[dc0]",
            "lstm_dropout_backward_gradcheck[dW]",
            "lstm_dropout_backward_gradcheck[db]",
            "lstm_dropout_mask_blocks_the_recurrent_path",
            "lstm_lm_loss_gradcheck[recurrent-W]",
        ],
    ),
    dict(
        # weight gradient overwritten at every step instead of summed over time
        name="rec_weight_gradient_not_accumulated",
        cell="rec_code",
        old='dW = dW + g["dW"]',
        new='dW = g["dW"]',
        catches=[
            "lstm_dropout_backward_gradcheck[dW]",
            "lstm_lm_loss_gradcheck[none-W]",
            "lstm_lm_loss_gradcheck[variational-W]",
            "lstm_lm_training_loss_falls_and_tracks_reference",
        ],
    ),
    _numerical(
        "rec_backward_numerical",
        "rec_code",
        "    return hs, (caches, D)\n\n\ndef lstm_dropout_backward(dhs, cache):",
        _REC_NUMERICAL,
        "lstm_dropout_backward_fast",
    ),
    dict(
        # dropout applied whenever p > 0, with a mask of ones where none is given: evaluation
        # (p > 0, masks = {}) is then scaled by 1 / (1 - p)
        name="lm_scales_inputs_without_a_mask",
        cell="lm_code",
        old='    if "x" in masks:\n        x, drop_x = dropout_forward(x, p, masks["x"])',
        new="    if True:\n"
        '        x, drop_x = dropout_forward(x, p, masks.get("x", np.ones_like(x)))',
        catches=["lstm_lm_forward_matches_reference", "lstm_lm_evaluation_needs_no_rescaling"],
    ),
    dict(
        # no backward through the output mask
        name="lm_backward_skips_the_output_mask",
        cell="lm_code",
        old='        dhs = dropout_backward(dhs, drop_y)["dx"]',
        new="        pass",
        catches=[
            "lstm_lm_loss_gradcheck[zaremba-W]",
            "lstm_lm_loss_gradcheck[zaremba-E]",
            "lstm_lm_loss_gradcheck[variational-b]",
            "lstm_lm_training_loss_falls_and_tracks_reference",
        ],
    ),
    dict(
        # no backward through the input mask
        name="lm_backward_skips_the_input_mask",
        cell="lm_code",
        old='        dx = dropout_backward(dx, drop_x)["dx"]',
        new="        pass",
        catches=[
            "lstm_lm_loss_gradcheck[zaremba-E]",
            "lstm_lm_loss_gradcheck[variational-E]",
            "lstm_lm_dropped_units_get_no_gradient",
        ],
    ),
    dict(
        # the loss summed over time instead of averaged (and its gradient consistently scaled)
        name="lm_loss_summed_over_time",
        cell="lm_code",
        old="    return loss, lstm_lm_backward(dlogits, cache)",
        new="    T = targets.shape[1]\n    return loss * T, lstm_lm_backward(dlogits * T, cache)",
        catches=[
            "lstm_lm_loss_value",
            "lstm_lm_loss_gradcheck[none-E]",
            "lstm_lm_loss_gradcheck[none-W]",
            "lstm_lm_loss_gradcheck[none-b]",
            "lstm_lm_loss_gradcheck[none-Wy]",
            "lstm_lm_loss_gradcheck[none-by]",
            "lstm_lm_loss_gradcheck[zaremba-E]",
            "lstm_lm_loss_gradcheck[zaremba-W]",
            "lstm_lm_loss_gradcheck[zaremba-b]",
            "lstm_lm_loss_gradcheck[zaremba-Wy]",
            "lstm_lm_loss_gradcheck[zaremba-by]",
            "lstm_lm_loss_gradcheck[recurrent-E]",
            "lstm_lm_loss_gradcheck[recurrent-W]",
            "lstm_lm_loss_gradcheck[recurrent-b]",
            "lstm_lm_loss_gradcheck[recurrent-Wy]",
            "lstm_lm_loss_gradcheck[recurrent-by]",
            "lstm_lm_loss_gradcheck[variational-E]",
            "lstm_lm_loss_gradcheck[variational-W]",
            "lstm_lm_loss_gradcheck[variational-b]",
            "lstm_lm_loss_gradcheck[variational-Wy]",
            "lstm_lm_loss_gradcheck[variational-by]",
            "lstm_lm_training_loss_falls_and_tracks_reference",
        ],
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
    dict(
        # dropout's backward one entry at a time (1e5 Python iterations in the integrity test)
        name="dropout_backward_loops_over_every_entry",
        cell="dropout_code",
        old='    scale = cache\n    return {"dx": dy * scale}',
        new="""    scale = cache
    dx = np.empty_like(dy)
    for idx in np.ndindex(dy.shape):
        dx[idx] = dy[idx] * scale[idx]
    return {"dx": dx}""",
    ),
    dict(
        # BPTT that calls the step backward once per sequence of the batch
        name="rec_backward_loops_over_the_batch",
        cell="rec_code",
        old="        g = lstm_step_backward(dhs[:, t] + dh, dc, step_cache)",
        new="""        W_t = step_cache[1]
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
