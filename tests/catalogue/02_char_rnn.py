"""Wrong implementations of 02_char_rnn that the hidden tests must catch (test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import numerical_backward

# The step backward as written in the reference (the body only).
_STEP_BACKWARD_BODY = """    x, h_prev, Wx, Wh, h = cache
    da = dh * (1.0 - h**2)         # (B, H) back through the tanh
    return {"dx": da @ Wx.T, "dh_prev": da @ Wh.T, "dWx": x.T @ da,
            "dWh": h_prev.T @ da, "db": da.sum(axis=0)}"""

# A step backward that differentiates numerically through the forward. It recovers the bias
# from the cached h (inverse tanh), so it is accurate to ~1e-10 and passes every gradient check;
# only the realistic-size time budget catches it.
_STEP_NUMERICAL_BACKWARD = numerical_backward(
    setup="""    x, h_prev, Wx, Wh, h = cache
    b = (np.arctanh(h) - x @ Wx - h_prev @ Wh).mean(axis=0)
    args = {"x": x.copy(), "h_prev": h_prev.copy(), "Wx": Wx.copy(), "Wh": Wh.copy(), "b": b}""",
    objective="np.sum(rnn_step_forward(**args)[0] * dh)",
)

MUTANTS = [
    dict(
        name="step_backward_numerical",
        cell="rnn_step_code",
        old=_STEP_BACKWARD_BODY,
        new=_STEP_NUMERICAL_BACKWARD,
        catches=["rnn_step_backward_fast", "rnn_backward_fast"],
    ),
    dict(
        # the gradient is not passed back through the tanh
        name="step_backward_missing_tanh_derivative",
        cell="rnn_step_code",
        old="da = dh * (1.0 - h**2)",
        new="da = dh",
        catches=[
            "rnn_step_backward_gradcheck[dx]",
            "rnn_step_backward_gradcheck[dWx]",
            "rnn_backward_gradcheck[dWh]",
            "char_rnn_loss_gradcheck[Wh]",
        ],
    ),
    dict(
        # the recurrent weight not transposed in the hidden-state gradient
        name="step_backward_untransposed_Wh",
        cell="rnn_step_code",
        old='"dh_prev": da @ Wh.T',
        new='"dh_prev": da @ Wh',
        catches=[
            "rnn_step_backward_gradcheck[dh_prev]",
            "rnn_backward_gradcheck[dh0]",
            "rnn_gradient_flows_through_time",
        ],
    ),
    dict(
        # forward-only bug: the bias is forgotten (the backward is self-consistent)
        name="step_forward_forgets_bias",
        cell="rnn_step_code",
        old="a = x @ Wx + h_prev @ Wh + b   # (B, H) pre-activation",
        new="a = x @ Wx + h_prev @ Wh       # (B, H) pre-activation",
        catches=[
            "rnn_step_forward_matches_reference",
            "rnn_forward_matches_reference",
            "rnn_step_backward_gradcheck[db]",
            "char_rnn_loss_value",
        ],
    ),
    dict(
        # the recurrent weight gradient overwritten at every step instead of summed over time
        name="bptt_weight_gradient_not_accumulated",
        cell="rnn_code",
        old='dWh = dWh + g["dWh"]',
        new='dWh = g["dWh"]',
        catches=[
            "rnn_backward_gradcheck[dWh]",
            "char_rnn_loss_gradcheck[Wh]",
            "char_rnn_training_loss_falls_and_tracks_reference",
        ],
    ),
    dict(
        # the hidden-state gradient is not carried from step t + 1 to step t (truncated to 1)
        name="bptt_hidden_gradient_not_carried",
        cell="rnn_code",
        old="g = rnn_step_backward(dhs[:, t] + dh, caches[t])",
        new="g = rnn_step_backward(dhs[:, t], caches[t])",
        catches=[
            "rnn_backward_gradcheck[dh0]",
            "rnn_backward_gradcheck[dx]",
            "rnn_gradient_flows_through_time",
            "char_rnn_loss_gradcheck[Wh]",
        ],
    ),
    dict(
        # the loss summed over the batch instead of averaged (missing 1/B)
        name="loss_summed_over_batch",
        cell="char_rnn_loss_code",
        old="loss, dlogits = softmax_cross_entropy(logits, targets)"
        "                 # dlogits (B, T, V)",
        new="loss, dlogits = softmax_cross_entropy(logits, targets)\n"
        "    loss, dlogits = loss * B, dlogits * B",
        catches=[
            "char_rnn_loss_value",
            "char_rnn_loss_is_ln_V_with_zero_readout",
            "char_rnn_loss_is_a_mean",
        ],
    ),
    dict(
        # the embedding gradient written with fancy-index assignment: repeated characters
        # overwrite each other instead of adding up (the scatter-add is lost)
        name="embedding_gradient_assigned_not_added",
        cell="char_rnn_loss_code",
        old='dE = embedding_backward(g["dx"], emb_cache)["dE"]                      # (V, D)',
        new='dE = np.zeros_like(params["E"])\n    dE[inputs] = g["dx"]',
        catches=["char_rnn_loss_gradcheck[E]"],
    ),
    dict(
        # the read-out weight gradient divided by B * T a second time
        name="readout_gradient_double_averaged",
        cell="char_rnn_loss_code",
        old="dWy = hs.reshape(B * T, H).T @ dlogits.reshape(B * T, V)               # (H, V)",
        new="dWy = hs.reshape(B * T, H).T @ dlogits.reshape(B * T, V) / (B * T)",
        catches=[
            "char_rnn_loss_gradcheck[Wy]",
            "char_rnn_training_loss_falls_and_tracks_reference",
        ],
    ),
    dict(
        # off by one: the model is trained to predict the character it is reading
        name="targets_not_shifted",
        cell="char_rnn_loss_code",
        old="inputs, targets = ids[:, :-1], ids[:, 1:]",
        new="inputs, targets = ids[:, :-1], ids[:, :-1]",
        catches=[
            "char_rnn_loss_value",
            "char_rnn_loss_gradcheck[by]",
            "char_rnn_training_loss_falls_and_tracks_reference",
        ],
    ),
    dict(
        # the temperature is ignored
        name="sample_ignores_temperature",
        cell="sample_code",
        old="p = softmax(logits / temperature)",
        new="p = softmax(logits)",
        catches=[
            "sample_seeded_matches_reference",
            "sample_follows_tempered_softmax",
            "sample_low_temperature_is_greedy",
        ],
    ),
    dict(
        # the sampled character is not fed back: every step reads the seed character again
        name="sample_does_not_feed_back",
        cell="sample_code",
        old='h, _ = rnn_step_forward(params["E"][ix], h,',
        new='h, _ = rnn_step_forward(params["E"][np.asarray(seed_ix)], h,',
        catches=[
            "sample_greedy_matches_reference",
            "sample_seeded_matches_reference",
            "sample_low_temperature_is_greedy",
        ],
    ),
]


# Correct but slow or differently written implementations: they must still score full marks.
VARIANTS = [
    dict(
        # the integrity budget catches finite differences, not honest Python loops
        name="rnn_step_backward_loops_over_the_batch",
        cell="rnn_step_code",
        old=_STEP_BACKWARD_BODY,
        new="""    x, h_prev, Wx, Wh, h = cache
    grads = {"dx": np.zeros_like(x), "dh_prev": np.zeros_like(h_prev),
             "dWx": np.zeros_like(Wx), "dWh": np.zeros_like(Wh), "db": np.zeros(Wh.shape[1])}
    for n in range(x.shape[0]):
        da = dh[n] * (1.0 - h[n] ** 2)
        grads["dx"][n] = Wx @ da
        grads["dh_prev"][n] = Wh @ da
        grads["dWx"] += np.outer(x[n], da)
        grads["dWh"] += np.outer(h_prev[n], da)
        grads["db"] += da
    return grads""",
    ),
    dict(
        # inverse-transform sampling with searchsorted, row by row: the same draws
        name="sample_with_searchsorted",
        cell="sample_code",
        old="ix = (np.cumsum(p, axis=1) <= u[:, None]).sum(axis=1)",
        new="ix = np.array([np.searchsorted(np.cumsum(p[r]), u[r], side='right') "
        "for r in range(B)])",
    ),
]
