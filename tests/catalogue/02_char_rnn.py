"""Wrong implementations of 02_char_rnn that the hidden tests must catch (test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward, variant

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
    mutant(
        "step_backward_numerical",
        "rnn_step_code",
        _STEP_BACKWARD_BODY,
        _STEP_NUMERICAL_BACKWARD,
        "rnn_step_backward_fast",
        "rnn_backward_fast",
    ),
    mutant(
        # the gradient is not passed back through the tanh
        "step_backward_missing_tanh_derivative",
        "rnn_step_code",
        "da = dh * (1.0 - h**2)",
        "da = dh",
        "rnn_step_backward_gradcheck[dx]",
        "rnn_step_backward_gradcheck[dWx]",
        "rnn_step_backward_gradcheck[dWh]",
        "rnn_backward_gradcheck[dWx]",
        "rnn_backward_gradcheck[dWh]",
        "char_rnn_loss_gradcheck[Wx]",
        "char_rnn_loss_gradcheck[Wh]",
        # fast, but it counts only when the gradient check passes
        "rnn_step_backward_fast",
    ),
    mutant(
        # the recurrent weight not transposed in the hidden-state gradient
        "step_backward_untransposed_Wh",
        "rnn_step_code",
        '"dh_prev": da @ Wh.T',
        '"dh_prev": da @ Wh',
        "rnn_step_backward_gradcheck[dh_prev]",
        "rnn_backward_gradcheck[dh0]",
        "rnn_gradient_flows_through_time",
    ),
    mutant(
        # forward-only bug: the bias is forgotten (the backward is self-consistent)
        "step_forward_forgets_bias",
        "rnn_step_code",
        "a = x @ Wx + h_prev @ Wh + b   # (B, H) pre-activation",
        "a = x @ Wx + h_prev @ Wh       # (B, H) pre-activation",
        "rnn_step_forward_matches_reference",
        "rnn_forward_matches_reference",
        "rnn_step_backward_gradcheck[db]",
        "char_rnn_loss_value",
    ),
    mutant(
        # the recurrent weight gradient overwritten at every step instead of summed over time
        "bptt_weight_gradient_not_accumulated",
        "rnn_code",
        'dWh = dWh + g["dWh"]',
        'dWh = g["dWh"]',
        "rnn_backward_gradcheck[dWh]",
        "char_rnn_loss_gradcheck[Wh]",
        "char_rnn_training_loss_falls_and_tracks_reference",
    ),
    mutant(
        # the hidden-state gradient is not carried from step t + 1 to step t (truncated to 1)
        "bptt_hidden_gradient_not_carried",
        "rnn_code",
        "g = rnn_step_backward(dhs[:, t] + dh, caches[t])",
        "g = rnn_step_backward(dhs[:, t], caches[t])",
        "rnn_backward_gradcheck[dh0]",
        "rnn_backward_gradcheck[dx]",
        "rnn_gradient_flows_through_time",
        "char_rnn_loss_gradcheck[Wh]",
        "rnn_backward_fast",
    ),
    mutant(
        # the loss summed over the batch instead of averaged (missing 1/B)
        "loss_summed_over_batch",
        "char_rnn_loss_code",
        "loss, dlogits = softmax_cross_entropy(logits, targets)"
        "                 # dlogits (B, T, V)",
        "loss, dlogits = softmax_cross_entropy(logits, targets)\n"
        "    loss, dlogits = loss * B, dlogits * B",
        "char_rnn_loss_value",
        "char_rnn_loss_is_ln_V_with_zero_readout",
        "char_rnn_loss_is_a_mean",
    ),
    mutant(
        # the embedding gradient written with fancy-index assignment: repeated characters
        # overwrite each other instead of adding up (the scatter-add is lost)
        "embedding_gradient_assigned_not_added",
        "char_rnn_loss_code",
        'dE = embedding_backward(g["dx"], emb_cache)["dE"]                      # (V, D)',
        'dE = np.zeros_like(params["E"])\n    dE[inputs] = g["dx"]',
        "char_rnn_loss_gradcheck[E]",
    ),
    mutant(
        # the read-out weight gradient divided by B * T a second time
        "readout_gradient_double_averaged",
        "char_rnn_loss_code",
        "dWy = hs.reshape(B * T, H).T @ dlogits.reshape(B * T, V)               # (H, V)",
        "dWy = hs.reshape(B * T, H).T @ dlogits.reshape(B * T, V) / (B * T)",
        "char_rnn_loss_gradcheck[Wy]",
        "char_rnn_training_loss_falls_and_tracks_reference",
    ),
    mutant(
        # off by one: the model is trained to predict the character it is reading
        "targets_not_shifted",
        "char_rnn_loss_code",
        "inputs, targets = ids[:, :-1], ids[:, 1:]",
        "inputs, targets = ids[:, :-1], ids[:, :-1]",
        # its gradients are exact for the loss it computes: only the loss value (a forward
        # test) and training (which follows the reference's curve) catch it
        "char_rnn_loss_value",
        "char_rnn_training_loss_falls_and_tracks_reference",
    ),
    mutant(
        # the temperature is ignored
        "sample_ignores_temperature",
        "sample_code",
        "p = softmax(logits / temperature)",
        "p = softmax(logits)",
        "sample_seeded_matches_reference",
        "sample_follows_tempered_softmax",
        "sample_low_temperature_is_greedy",
    ),
    mutant(
        # the sampled character is not fed back: every step reads the seed character again
        "sample_does_not_feed_back",
        "sample_code",
        'h, _ = rnn_step_forward(params["E"][ix], h,',
        'h, _ = rnn_step_forward(params["E"][np.asarray(seed_ix)], h,',
        "sample_greedy_matches_reference",
        "sample_seeded_matches_reference",
        "sample_low_temperature_is_greedy",
    ),
    # ---- added for the own-forward gradient checks: bugs each check catches on its own
    mutant(
        # the bias gradient averaged over the batch instead of summed
        "step_backward_bias_gradient_averaged",
        "rnn_step_code",
        '"dWh": h_prev.T @ da, "db": da.sum(axis=0)}',
        '"dWh": h_prev.T @ da, "db": da.mean(axis=0)}',
        "rnn_step_backward_gradcheck[db]",
        "rnn_backward_gradcheck[db]",
        "char_rnn_loss_gradcheck[b]",
        "rnn_step_backward_fast",
    ),
    mutant(
        # forward bug: every step starts again from h0 (the hidden state is not carried), with
        # the reference BPTT kept: the forward tests and the flow-through-time property see it
        "rnn_forward_restarts_from_h0",
        "rnn_code",
        "h, step_cache = rnn_step_forward(x[:, t], h, Wx, Wh, b)",
        "h, step_cache = rnn_step_forward(x[:, t], h0, Wx, Wh, b)",
        "rnn_forward_matches_reference",
        "rnn_gradient_flows_through_time",
        "char_rnn_loss_value",
    ),
    mutant(
        # one uniform number for the whole batch: every sequence samples the same characters
        "sample_one_uniform_for_the_batch",
        "sample_code",
        "u = rng.random(B)                                   # (B,)",
        "u = np.full(B, rng.random())",
        "sample_seeded_matches_reference",
        "sample_follows_tempered_softmax",
    ),
    mutant(
        # the read-out bias gradient averaged over the B * T predictions a second time
        "readout_bias_gradient_double_averaged",
        "char_rnn_loss_code",
        '"by": dlogits.sum(axis=(0, 1))}',
        '"by": dlogits.mean(axis=(0, 1))}',
        "char_rnn_loss_gradcheck[by]",
        "char_rnn_training_loss_falls_and_tracks_reference",
    ),
]


# Correct but slow or differently written implementations: they must still score full marks.
VARIANTS = [
    variant(
        # the integrity budget catches finite differences, not honest Python loops
        "rnn_step_backward_loops_over_the_batch",
        "rnn_step_code",
        _STEP_BACKWARD_BODY,
        """    x, h_prev, Wx, Wh, h = cache
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
    variant(
        # inverse-transform sampling with searchsorted, row by row: the same draws
        "sample_with_searchsorted",
        "sample_code",
        "ix = (np.cumsum(p, axis=1) <= u[:, None]).sum(axis=1)",
        "ix = np.array([np.searchsorted(np.cumsum(p[r]), u[r], side='right') for r in range(B)])",
    ),
]

# The step forward's body through the step backward's body, as in the reference (a variant that
# changes what the cache holds rewrites both functions).
_STEP_FORWARD_AND_BACKWARD = (
    '''    a = x @ Wx + h_prev @ Wh + b   # (B, H) pre-activation
    h = np.tanh(a)                 # (B, H)
    return h, (x, h_prev, Wx, Wh, h)


def rnn_step_backward(dh, cache):
    """Backward pass of rnn_step_forward.

    Inputs:
      dh:    (B, H)  upstream gradient dL/dh of the new hidden state
      cache:         from rnn_step_forward
    Returns a dict with
      dx: (B, D), dh_prev: (B, H), dWx: (D, H), dWh: (H, H), db: (H,)
    """
'''
    + _STEP_BACKWARD_BODY
)

# The sequence forward's body through the BPTT's body, as in the reference.
_SEQ_FORWARD_AND_BACKWARD = '''    B, T, D = x.shape
    hs = np.empty((B, T, h0.shape[1]))
    caches = []
    h = h0
    for t in range(T):
        h, step_cache = rnn_step_forward(x[:, t], h, Wx, Wh, b)
        hs[:, t] = h
        caches.append(step_cache)
    return hs, (caches, D)


def rnn_backward(dhs, cache):
    """Backpropagation through time for rnn_forward.

    Inputs:
      dhs:   (B, T, H)  upstream gradient of every hidden state in hs
      cache:            from rnn_forward
    Returns a dict with
      dx: (B, T, D), dh0: (B, H), dWx: (D, H), dWh: (H, H), db: (H,)
    """
    caches, D = cache
    B, T, H = dhs.shape
    dx = np.empty((B, T, D))
    dWx, dWh, db = 0.0, 0.0, 0.0
    dh = np.zeros((B, H))          # gradient flowing into h_t from step t + 1
    for t in reversed(range(T)):
        g = rnn_step_backward(dhs[:, t] + dh, caches[t])
        dx[:, t] = g["dx"]
        dh = g["dh_prev"]
        dWx = dWx + g["dWx"]
        dWh = dWh + g["dWh"]
        db = db + g["db"]
    return {"dx": dx, "dh0": dh, "dWx": dWx, "dWh": dWh, "db": db}'''

# The loss's body, as in the reference.
_LOSS_BODY = """    ids = batch
    inputs, targets = ids[:, :-1], ids[:, 1:]            # (B, T) each
    B, T = inputs.shape
    H, V = params["Wy"].shape
    x, emb_cache = embedding_forward(inputs, params["E"])                  # (B, T, D)
    hs, rnn_cache = rnn_forward(x, np.zeros((B, H)), params["Wx"], params["Wh"], params["b"])
    logits = hs @ params["Wy"] + params["by"]                              # (B, T, V)
    loss, dlogits = softmax_cross_entropy(logits, targets)                 # dlogits (B, T, V)
    dhs = dlogits @ params["Wy"].T                                         # (B, T, H)
    g = rnn_backward(dhs, rnn_cache)
    dE = embedding_backward(g["dx"], emb_cache)["dE"]                      # (V, D)
    dWy = hs.reshape(B * T, H).T @ dlogits.reshape(B * T, V)               # (H, V)
    return loss, {"E": dE, "Wx": g["dWx"], "Wh": g["dWh"], "b": g["db"],
                  "Wy": dWy, "by": dlogits.sum(axis=(0, 1))}"""

VARIANTS += [
    variant(
        # a dict cache holding the pre-activation; the backward recomputes tanh, with einsum
        "rnn_step_einsum_dict_cache_recomputes_tanh",
        "rnn_step_code",
        _STEP_FORWARD_AND_BACKWARD,
        '''    pre = np.einsum("bd,dh->bh", x, Wx) + np.einsum("bk,kh->bh", h_prev, Wh) + b
    return np.tanh(pre), {"x": x, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "pre": pre}


def rnn_step_backward(dh, cache):
    """Backward pass of rnn_step_forward (dict cache, tanh recomputed)."""
    dpre = dh / np.cosh(cache["pre"]) ** 2          # d tanh(a) / da = sech^2(a)
    return {
        "dx": np.einsum("bh,dh->bd", dpre, cache["Wx"]),
        "dh_prev": np.einsum("bh,kh->bk", dpre, cache["Wh"]),
        "dWx": np.einsum("bd,bh->dh", cache["x"], dpre),
        "dWh": np.einsum("bk,bh->kh", cache["h_prev"], dpre),
        "db": np.einsum("bh->h", dpre),
    }''',
    ),
    variant(
        # the whole sequence in the cache as stacked arrays; BPTT written out in place (it does
        # not call rnn_step_backward) and the weight gradients summed over time in one product
        "rnn_bptt_inline_with_stacked_cache",
        "rnn_code",
        _SEQ_FORWARD_AND_BACKWARD,
        '''    B, T, D = x.shape
    H = h0.shape[1]
    hs = np.zeros((B, T + 1, H))          # hs[:, 0] is h0, hs[:, t + 1] the state after step t
    hs[:, 0] = h0
    for t in range(T):
        hs[:, t + 1] = rnn_step_forward(x[:, t], hs[:, t], Wx, Wh, b)[0]
    return hs[:, 1:].copy(), dict(x=x, hs=hs, Wx=Wx, Wh=Wh)


def rnn_backward(dhs, cache):
    """BPTT from the stacked states (no per-step caches)."""
    x, hs, Wx, Wh = cache["x"], cache["hs"], cache["Wx"], cache["Wh"]
    B, T, H = dhs.shape
    das = np.zeros((B, T, H))             # gradient of every pre-activation
    carry = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        das[:, t] = (dhs[:, t] + carry) * (1 - hs[:, t + 1] ** 2)
        carry = das[:, t] @ Wh.T
    return {
        "dx": das @ Wx.T,
        "dh0": carry,
        "dWx": np.tensordot(x, das, axes=([0, 1], [0, 1])),
        "dWh": np.tensordot(hs[:, :-1], das, axes=([0, 1], [0, 1])),
        "db": das.sum(axis=(0, 1)),
    }''',
    ),
    variant(
        # one-hot embedding (a matrix product) and a hand-written log-softmax (logsumexp)
        "char_rnn_loss_onehot_and_logsumexp",
        "char_rnn_loss_code",
        _LOSS_BODY,
        """    V = params["E"].shape[0]
    H = params["Wh"].shape[0]
    xs, ys = batch[:, :-1], batch[:, 1:]
    B, T = xs.shape
    onehot = np.eye(V)[xs]                                  # (B, T, V)
    emb = onehot @ params["E"]                              # (B, T, D)
    hs, cache = rnn_forward(emb, np.zeros((B, H)), params["Wx"], params["Wh"], params["b"])
    scores = hs @ params["Wy"] + params["by"]               # (B, T, V)
    m = scores.max(axis=-1, keepdims=True)
    logz = m + np.log(np.exp(scores - m).sum(axis=-1, keepdims=True))
    logp = scores - logz                                    # log-softmax
    N = B * T
    loss = -np.take_along_axis(logp, ys[..., None], axis=-1).sum() / N
    dscores = (np.exp(logp) - np.eye(V)[ys]) / N            # (B, T, V)
    g = rnn_backward(dscores @ params["Wy"].T, cache)
    grads = {
        "E": np.einsum("btv,btd->vd", onehot, g["dx"]),
        "Wx": g["dWx"],
        "Wh": g["dWh"],
        "b": g["db"],
        "Wy": np.einsum("bth,btv->hv", hs, dscores),
        "by": dscores.sum(axis=(0, 1)),
    }
    return float(loss), grads""",
    ),
    variant(
        # the docstring's draws through rng.choice, one row at a time: choice(V, p=row) takes
        # one uniform number per call and picks by the same cumulative rule
        "sample_with_rng_choice_per_row",
        "sample_code",
        """            u = rng.random(B)                                   # (B,)
            ix = (np.cumsum(p, axis=1) <= u[:, None]).sum(axis=1)
            ix = np.minimum(ix, p.shape[1] - 1)""",
        """            ix = np.array([rng.choice(p.shape[1], p=p[r]) for r in range(B)])""",
    ),
    variant(
        # a stable tempered softmax written out, and a Python loop over the rows
        "sample_hand_written_softmax_row_loop",
        "sample_code",
        """            p = softmax(logits / temperature)                   # (B, V)
            u = rng.random(B)                                   # (B,)
            ix = (np.cumsum(p, axis=1) <= u[:, None]).sum(axis=1)
            ix = np.minimum(ix, p.shape[1] - 1)""",
        """            z = logits / temperature
            w = np.exp(z - z.max(axis=1, keepdims=True))
            probs = w / w.sum(axis=1, keepdims=True)
            u = rng.random(B)
            ix = np.zeros(B, dtype=np.int64)
            for r in range(B):
                c, acc = 0, probs[r, 0]
                while acc <= u[r] and c < probs.shape[1] - 1:
                    c += 1
                    acc += probs[r, c]
                ix[r] = c""",
    ),
]

#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): the class of the error in the gradient of the
#: function the mutant edits, and the factor, axis or tensor it concerns. Mutants not listed are
#: of class "other" (among them the scatter bugs whose wrong rows are the ones the data repeats:
#: they follow the data, not a structure of the code).
BUG_CLASSES = {
    "step_backward_bias_gradient_averaged": ("factor", "db (and b): 1/B, B the batch size"),
    "readout_gradient_double_averaged": (
        "factor",
        "Wy: 1/(B*T), B the batch size, T the number of predicted positions",
    ),
    "readout_bias_gradient_double_averaged": (
        "factor",
        "by: 1/(B*T), B the batch size, T the number of predicted positions",
    ),
    "bptt_hidden_gradient_not_carried": ("slices", "dx: right only at the last time step (axis 1)"),
    # revised after the first measurement, from the code: the last step's overwrite leaves
    # only the first step's term, zero with h0 = 0
    "bptt_weight_gradient_not_accumulated": (
        ("other", "zero"),
        "the loss check's Wh: 0 everywhere (h0 = 0 there)",
    ),
    # revised after the first measurement, from the code: the recurrent path is missing from
    # the forward, so only the last step's dx agrees
    "rnn_forward_restarts_from_h0": ("slices", "dx: right only at the last time step (axis 1)"),
    # revised after the first measurement, from the code: only what flows back through Wh is
    # wrong, and the last step receives none
    "step_backward_untransposed_Wh": ("slices", "dx: right only at the last time step (axis 1)"),
}
