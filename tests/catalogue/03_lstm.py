"""Wrong implementations of 03_lstm that the hidden tests must catch (test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward, variant

# The step backward as written in the reference (the body only).
_STEP_BACKWARD_BODY = """    z, W, f, i, g, o, c_prev, tanh_c = cache
    D = z.shape[1] - f.shape[1]
    do = dh * tanh_c                               # (B, H)
    dc_total = dc + dh * o * (1.0 - tanh_c**2)     # (B, H) both paths into c
    df = dc_total * c_prev
    di = dc_total * g
    dg = dc_total * i
    dc_prev = dc_total * f
    da = np.concatenate([df * f * (1.0 - f),       # (B, 4H) through the nonlinearities
                         di * i * (1.0 - i),
                         dg * (1.0 - g**2),
                         do * o * (1.0 - o)], axis=1)
    dz = da @ W.T                                  # (B, D + H)
    return {"dx": dz[:, :D], "dh_prev": dz[:, D:], "dc_prev": dc_prev,
            "dW": z.T @ da, "db": da.sum(axis=0)}"""

# A step backward that differentiates numerically through the forward. It recovers the bias
# exactly enough from the cached gate values (inverse sigmoid / tanh), so it is accurate to
# ~1e-10 and passes every gradient check; only the realistic-size time budget catches it.
_STEP_NUMERICAL_BACKWARD = numerical_backward(
    setup="""    z, W, f, i, g, o, c_prev, tanh_c = cache
    H = f.shape[1]
    D = z.shape[1] - H
    a = np.concatenate([np.log(f / (1 - f)), np.log(i / (1 - i)), np.arctanh(g),
                        np.log(o / (1 - o))], axis=1)
    args = {"x": z[:, :D].copy(), "h_prev": z[:, D:].copy(), "c_prev": c_prev.copy(),
            "W": W.copy(), "b": (a - z @ W).mean(axis=0)}""",
    # the upstream is (dh, dc) for the outputs (h, c)
    objective="sum(np.sum(out * d) for out, d in zip(lstm_step_forward(**args)[:2], (dh, dc)))",
)

MUTANTS = [
    mutant(
        "step_backward_numerical",
        "lstm_step_code",
        _STEP_BACKWARD_BODY,
        _STEP_NUMERICAL_BACKWARD,
        "lstm_step_backward_fast",
        "lstm_backward_fast",
    ),
    mutant(
        # dL/dc through h = o * tanh(c) without the tanh derivative
        "step_backward_missing_tanh_derivative_of_c",
        "lstm_step_code",
        "dc_total = dc + dh * o * (1.0 - tanh_c**2)",
        "dc_total = dc + dh * o",
        "lstm_step_backward_gradcheck[dc_prev]",
        "lstm_step_backward_gradcheck[dW]",
        "lstm_backward_gradcheck[dc0]",
        # fast, but the timing counts only when the gradient check passes
        "lstm_step_backward_fast",
        "lstm_backward_fast",
    ),
    mutant(
        # tanh's derivative used for the (sigmoid) forget gate
        "step_backward_wrong_sigmoid_derivative",
        "lstm_step_code",
        "df * f * (1.0 - f)",
        "df * (1.0 - f**2)",
        "lstm_step_backward_gradcheck[dx]",
        "lstm_step_backward_gradcheck[dh_prev]",
        "lstm_step_backward_gradcheck[dW]",
        "lstm_step_backward_gradcheck[db]",
        "lstm_step_backward_fast",
    ),
    mutant(
        # the cell gradient passed back without the forget gate
        "step_backward_dc_prev_without_forget_gate",
        "lstm_step_code",
        "dc_prev = dc_total * f",
        "dc_prev = dc_total",
        "lstm_step_backward_gradcheck[dc_prev]",
        "lstm_step_forget_path",
        "lstm_backward_gradcheck[dc0]",
    ),
    mutant(
        # forward-only bug: the candidate enters the cell without the input gate
        "step_forward_forgets_input_gate",
        "lstm_step_code",
        "c = f * c_prev + i * g                    # (B, H) additive cell update",
        "c = f * c_prev + g                        # (B, H) additive cell update",
        "lstm_step_forward_matches_reference",
        "lstm_forward_matches_reference",
        "lstm_classifier_loss_value",
        # the reference's backward (with i) is kept, so it is wrong for this forward
        "lstm_step_backward_gradcheck[dW]",
    ),
    mutant(
        # weight gradient overwritten at every step instead of summed over time
        "bptt_weight_gradient_not_accumulated",
        "lstm_code",
        'dW = dW + g["dW"]',
        'dW = g["dW"]',
        "lstm_backward_gradcheck[dW]",
        "lstm_classifier_loss_gradcheck[W]",
        "lstm_training_loss_falls_and_tracks_reference",
    ),
    mutant(
        # the cell gradient is not carried from step t + 1 to step t
        "bptt_cell_gradient_not_carried",
        "lstm_code",
        "g = lstm_step_backward(dhs[:, t] + dh, dc, caches[t])",
        "g = lstm_step_backward(dhs[:, t] + dh, np.zeros_like(dc), caches[t])",
        "lstm_backward_gradcheck[dc0]",
        "lstm_backward_gradcheck[dW]",
        "lstm_cell_state_carousel",
        "lstm_backward_fast",
        # the bias layout is right, so its message points at the BPTT (and, through uses=,
        # at the failing grade cell lstm)
        "forget_bias_opens_the_gradient_path",
    ),
    mutant(
        # the recurrent hidden-state gradient is dropped: only dhs[:, t] reaches step t
        "bptt_recurrent_hidden_gradient_dropped",
        "lstm_code",
        "g = lstm_step_backward(dhs[:, t] + dh, dc, caches[t])",
        "g = lstm_step_backward(dhs[:, t], dc, caches[t])",
        "lstm_backward_gradcheck[dh0]",
        "lstm_backward_gradcheck[dx]",
        "lstm_classifier_loss_gradcheck[W]",
    ),
    mutant(
        # RNN step backward without the tanh derivative
        "rnn_step_backward_missing_tanh_derivative",
        "rnn_code",
        "da = dh * (1.0 - h**2)",
        "da = dh",
        "rnn_step_backward_gradcheck[dx]",
        "rnn_step_backward_gradcheck[dWx]",
        "rnn_step_backward_gradcheck[dWh]",
        "rnn_step_backward_gradcheck[db]",
        "rnn_backward_gradcheck[dx]",
        "rnn_backward_gradcheck[dWx]",
        "rnn_backward_gradcheck[dWh]",
        "rnn_backward_gradcheck[db]",
        "rnn_classifier_loss_gradcheck",
        "rnn_backward_fast",
    ),
    mutant(
        # transposed recurrent weight in the hidden-state gradient
        "rnn_step_backward_transposed_Wh",
        "rnn_code",
        '"dh_prev": da @ Wh.T',
        '"dh_prev": da @ Wh',
        "rnn_step_backward_gradcheck[dh_prev]",
        "rnn_backward_gradcheck[dh0]",
    ),
    mutant(
        # the forget-gate bias written into the input-gate block
        "forget_bias_in_input_gate_block",
        "model_code",
        "b[0:H] = forget_bias",
        "b[H:2 * H] = forget_bias",
        "init_lstm_params_layout",
        "forget_bias_opens_the_gradient_path",
    ),
    mutant(
        # the read-out weight gradient divided by B a second time (the loss is already a mean)
        "readout_gradient_double_averaged",
        "model_code",
        'grads = {"W": g["dW"], "b": g["db"], "Wy": h_last.T @ dlogits,',
        'grads = {"W": g["dW"], "b": g["db"], "Wy": h_last.T @ dlogits / B,',
        "lstm_classifier_loss_gradcheck[Wy]",
        "lstm_training_loss_falls_and_tracks_reference",
    ),
    # ---- added after the coverage review: every hidden test is named by some mutant
    mutant(
        "rnn_step_forward_forgets_bias",
        "rnn_code",
        "h = np.tanh(x @ Wx + h_prev @ Wh + b)",
        "h = np.tanh(x @ Wx + h_prev @ Wh)",
        "rnn_forward_matches_reference",
    ),
    # ---- added for the own-forward gradient checks: bugs each check catches on its own
    mutant(
        # the bias gradient averaged over the batch instead of summed
        "step_backward_bias_gradient_averaged",
        "lstm_step_code",
        '"dW": z.T @ da, "db": da.sum(axis=0)}',
        '"dW": z.T @ da, "db": da.mean(axis=0)}',
        "lstm_step_backward_gradcheck[db]",
        "lstm_backward_gradcheck[db]",
        "lstm_classifier_loss_gradcheck[b]",
        "lstm_step_backward_fast",
    ),
    mutant(
        # forward bug of the RNN classifier: it reads the mean hidden state, not the last one
        # (rnn_classifier_loss has no forward test: its gradient check judges its value)
        "rnn_classifier_reads_mean_state",
        "model_code",
        'params["b"])\n    h_last = hs[:, -1]',
        'params["b"])\n    h_last = hs.mean(axis=1)',
        "rnn_classifier_loss_gradcheck",
    ),
    mutant(
        # the read-out bias gradient averaged over the batch a second time
        "readout_bias_gradient_double_averaged",
        "model_code",
        '"b": g["db"], "Wy": h_last.T @ dlogits, "by": dlogits.sum(axis=0)}',
        '"b": g["db"], "Wy": h_last.T @ dlogits, "by": dlogits.mean(axis=0)}',
        "lstm_classifier_loss_gradcheck[by]",
        "lstm_training_loss_falls_and_tracks_reference",
    ),
]


# Correct but slow implementations: they must still score full marks (the integrity budget
# catches finite differences, not honest Python loops).
VARIANTS = [
    variant(
        "lstm_step_backward_loops_over_the_batch",
        "lstm_step_code",
        "    do = dh * tanh_c ",
        """    dz, dW = np.zeros_like(z), np.zeros_like(W)
    db, dc_prev = np.zeros(W.shape[1]), np.zeros_like(c_prev)
    for n in range(z.shape[0]):
        dct = dc[n] + dh[n] * o[n] * (1.0 - tanh_c[n] ** 2)
        da_n = np.concatenate([dct * c_prev[n] * f[n] * (1.0 - f[n]),
                               dct * g[n] * i[n] * (1.0 - i[n]),
                               dct * i[n] * (1.0 - g[n] ** 2),
                               dh[n] * tanh_c[n] * o[n] * (1.0 - o[n])])
        dc_prev[n] = dct * f[n]
        dz[n] = W @ da_n
        dW += np.outer(z[n], da_n)
        db += da_n
    return {"dx": dz[:, :D], "dh_prev": dz[:, D:], "dc_prev": dc_prev, "dW": dW, "db": db}
    do = dh * tanh_c """,
    ),
]

# The step forward's body through the step backward's body, as in the reference (a variant that
# changes what the cache holds rewrites both functions).
_STEP_FORWARD_AND_BACKWARD = (
    """    H = h_prev.shape[1]
    z = np.concatenate([x, h_prev], axis=1)   # (B, D + H)
    a = z @ W + b                             # (B, 4H)
    f = sigmoid(a[:, 0:H])                    # (B, H) forget gate
    i = sigmoid(a[:, H:2 * H])                # (B, H) input gate
    g = np.tanh(a[:, 2 * H:3 * H])            # (B, H) candidate values
    o = sigmoid(a[:, 3 * H:4 * H])            # (B, H) output gate
    c = f * c_prev + i * g                    # (B, H) additive cell update
    tanh_c = np.tanh(c)                       # (B, H)
    h = o * tanh_c                            # (B, H)
    cache = (z, W, f, i, g, o, c_prev, tanh_c)
    return h, c, cache


def lstm_step_backward(dh, dc, cache):
    \"\"\"Backward pass of lstm_step_forward.

    Inputs:
      dh: (B, H)  upstream gradient dL/dh of the new hidden state
      dc: (B, H)  upstream gradient dL/dc of the new cell state (from the next time step)
      cache:      from lstm_step_forward
    Returns a dict with
      dx: (B, D), dh_prev: (B, H), dc_prev: (B, H), dW: (D + H, 4H), db: (4H,)
    \"\"\"
"""
    + _STEP_BACKWARD_BODY
)

# The sequence forward's body through the BPTT's body, as in the reference.
_SEQ_FORWARD_AND_BACKWARD = '''    B, T, D = x.shape
    H = h0.shape[1]
    hs = np.empty((B, T, H))
    caches = []
    h, c = h0, c0
    for t in range(T):
        h, c, step_cache = lstm_step_forward(x[:, t], h, c, W, b)
        hs[:, t] = h
        caches.append(step_cache)
    return hs, (caches, D)


def lstm_backward(dhs, cache):
    """Backpropagation through time for lstm_forward.

    Inputs:
      dhs: (B, T, H)  upstream gradient of every hidden state in hs
      cache:          from lstm_forward
    Returns a dict with
      dx: (B, T, D), dh0: (B, H), dc0: (B, H), dW: (D + H, 4H), db: (4H,)
    """
    caches, D = cache
    B, T, H = dhs.shape
    dx = np.empty((B, T, D))
    dW, db = 0.0, 0.0
    dh = np.zeros((B, H))   # gradient flowing into h_t from step t + 1
    dc = np.zeros((B, H))   # gradient flowing into c_t from step t + 1
    for t in reversed(range(T)):
        g = lstm_step_backward(dhs[:, t] + dh, dc, caches[t])
        dx[:, t] = g["dx"]
        dh, dc = g["dh_prev"], g["dc_prev"]
        dW = dW + g["dW"]
        db = db + g["db"]
    return {"dx": dx, "dh0": dh, "dc0": dc, "dW": dW, "db": db}'''

# The LSTM classifier loss's body, as in the reference.
_LSTM_LOSS_BODY = """    X, y = batch
    B = X.shape[0]
    H = params["W"].shape[1] // 4
    zeros = np.zeros((B, H))
    hs, cache = lstm_forward(X, zeros, zeros, params["W"], params["b"])   # (B, T, H)"""

VARIANTS += [
    variant(
        # split weights instead of a concatenation, sigmoid written through tanh, a dict cache
        # of the pre-activations; the backward recomputes every gate from them
        "lstm_step_split_weights_dict_cache_recomputes",
        "lstm_step_code",
        _STEP_FORWARD_AND_BACKWARD,
        '''    D, H = x.shape[1], h_prev.shape[1]
    Wx, Wh = W[:D], W[D:]                       # (D, 4H), (H, 4H)
    pre = x @ Wx + h_prev @ Wh + b              # (B, 4H)
    gates = 0.5 * (1.0 + np.tanh(0.5 * pre))    # sigmoid of every block
    f, i, o = gates[:, :H], gates[:, H:2 * H], gates[:, 3 * H:]
    g = np.tanh(pre[:, 2 * H:3 * H])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, {"x": x, "h_prev": h_prev, "c_prev": c_prev, "W": W, "pre": pre, "c": c}


def lstm_step_backward(dh, dc, cache):
    """Backward pass of lstm_step_forward: every gate recomputed from the cached pre-activations."""
    x, h_prev, c_prev, W, pre, c = (cache[k] for k in ("x", "h_prev", "c_prev", "W", "pre", "c"))
    D, H = x.shape[1], h_prev.shape[1]
    sig = 1.0 / (1.0 + np.exp(-pre))
    f, i, o = sig[:, :H], sig[:, H:2 * H], sig[:, 3 * H:]
    g = np.tanh(pre[:, 2 * H:3 * H])
    tc = np.tanh(c)
    dcell = dc + dh * o * (1.0 - tc * tc)
    dpre = np.hstack([
        dcell * c_prev * f * (1.0 - f),
        dcell * g * i * (1.0 - i),
        dcell * i * (1.0 - g * g),
        dh * tc * o * (1.0 - o),
    ])                                          # (B, 4H)
    return {
        "dx": dpre @ W[:D].T,
        "dh_prev": dpre @ W[D:].T,
        "dc_prev": dcell * f,
        "dW": np.vstack([x.T @ dpre, h_prev.T @ dpre]),
        "db": dpre.sum(axis=0),
    }''',
    ),
    variant(
        # stacked arrays over time in the cache and a BPTT written out in place (it does not
        # call lstm_step_backward); the weight gradient summed over time with einsum
        "lstm_bptt_inline_with_stacked_cache",
        "lstm_code",
        _SEQ_FORWARD_AND_BACKWARD,
        '''    B, T, D = x.shape
    H = h0.shape[1]
    hs = np.zeros((B, T + 1, H))                # hs[:, 0] = h0
    cs = np.zeros((B, T + 1, H))                # cs[:, 0] = c0
    hs[:, 0], cs[:, 0] = h0, c0
    for t in range(T):
        hs[:, t + 1], cs[:, t + 1], _ = lstm_step_forward(x[:, t], hs[:, t], cs[:, t], W, b)
    return hs[:, 1:].copy(), {"x": x, "hs": hs, "cs": cs, "W": W, "b": b}


def lstm_backward(dhs, cache):
    """BPTT with the gates recomputed from the stacked states."""
    x, hs, cs, W, b = cache["x"], cache["hs"], cache["cs"], cache["W"], cache["b"]
    B, T, H = dhs.shape
    D = x.shape[2]
    zs = np.concatenate([x, hs[:, :-1]], axis=2)            # (B, T, D + H)
    act = zs @ W + b                                        # (B, T, 4H)
    sg = 1.0 / (1.0 + np.exp(-act))
    f, i, o = sg[..., :H], sg[..., H:2 * H], sg[..., 3 * H:]
    g = np.tanh(act[..., 2 * H:3 * H])
    tc = np.tanh(cs[:, 1:])
    dacts = np.zeros((B, T, 4 * H))
    dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        dht = dhs[:, t] + dh_next
        dct = dc_next + dht * o[:, t] * (1 - tc[:, t] ** 2)
        dacts[:, t, :H] = dct * cs[:, t] * f[:, t] * (1 - f[:, t])
        dacts[:, t, H:2 * H] = dct * g[:, t] * i[:, t] * (1 - i[:, t])
        dacts[:, t, 2 * H:3 * H] = dct * i[:, t] * (1 - g[:, t] ** 2)
        dacts[:, t, 3 * H:] = dht * tc[:, t] * o[:, t] * (1 - o[:, t])
        dz = dacts[:, t] @ W.T
        dh_next, dc_next = dz[:, D:], dct * f[:, t]
    dzs = dacts @ W.T
    return {
        "dx": dzs[..., :D],
        "dh0": dh_next,
        "dc0": dc_next,
        "dW": np.einsum("btk,btj->kj", zs, dacts),
        "db": dacts.sum(axis=(0, 1)),
    }''',
    ),
    variant(
        # another legal draw order (the docstring fixes the distributions, not the order):
        # Wy before W, through rng.normal with a scale
        "init_draws_readout_first",
        "model_code",
        """    W = rng.standard_normal((D + H, 4 * H)) / np.sqrt(D + H)   # (D + H, 4H)
    Wy = rng.standard_normal((H, C)) / np.sqrt(H)              # (H, C)""",
        """    Wy = rng.normal(0.0, 1.0 / np.sqrt(H), size=(H, C))
    W = rng.normal(0.0, 1.0 / np.sqrt(D + H), size=(D + H, 4 * H))""",
    ),
    variant(
        # the LSTM classifier with a hand-written log-softmax (logsumexp) and one-hot targets
        "lstm_classifier_loss_logsumexp",
        "model_code",
        _LSTM_LOSS_BODY
        + """
    h_last = hs[:, -1]                                                   # (B, H)
    logits = h_last @ params["Wy"] + params["by"]                        # (B, C)
    loss, dlogits = softmax_cross_entropy(logits, y)""",
        _LSTM_LOSS_BODY
        + """
    h_last = hs[:, -1]
    s = h_last @ params["Wy"] + params["by"]
    s = s - s.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    Y = np.eye(s.shape[1])[y]
    loss = -(Y * logp).sum() / B
    dlogits = (np.exp(logp) - Y) / B""",
    ),
    variant(
        # the RNN with einsum and a BPTT written out from the stacked states
        "rnn_einsum_inline_bptt",
        "rnn_code",
        '''    B, T, D = x.shape
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

    Inputs: dhs: (B, T, H) upstream gradient of every hidden state; cache from rnn_forward
    Returns a dict with dx: (B, T, D), dh0: (B, H), dWx: (D, H), dWh: (H, H), db: (H,)
    """
    caches, D = cache
    B, T, H = dhs.shape
    dx = np.empty((B, T, D))
    dWx, dWh, db = 0.0, 0.0, 0.0
    dh = np.zeros((B, H))
    for t in reversed(range(T)):
        g = rnn_step_backward(dhs[:, t] + dh, caches[t])
        dx[:, t] = g["dx"]
        dh = g["dh_prev"]
        dWx, dWh, db = dWx + g["dWx"], dWh + g["dWh"], db + g["db"]
    return {"dx": dx, "dh0": dh, "dWx": dWx, "dWh": dWh, "db": db}''',
        '''    B, T, D = x.shape
    states = [h0]
    for t in range(T):
        states.append(np.tanh(np.einsum("bd,dh->bh", x[:, t], Wx) + states[-1] @ Wh + b))
    hs = np.stack(states[1:], axis=1)                       # (B, T, H)
    return hs, (x, np.stack(states, axis=1), Wx, Wh)


def rnn_backward(dhs, cache):
    """BPTT from the stacked states, written out in place."""
    x, states, Wx, Wh = cache                               # states (B, T + 1, H)
    B, T, H = dhs.shape
    dpre = np.zeros((B, T, H))
    dh = np.zeros((B, H))
    for t in reversed(range(T)):
        dpre[:, t] = (dhs[:, t] + dh) * (1.0 - states[:, t + 1] ** 2)
        dh = np.einsum("bh,kh->bk", dpre[:, t], Wh)
    return {
        "dx": np.einsum("bth,dh->btd", dpre, Wx),
        "dh0": dh,
        "dWx": np.einsum("btd,bth->dh", x, dpre),
        "dWh": np.einsum("btk,bth->kh", states[:, :-1], dpre),
        "db": dpre.sum(axis=(0, 1)),
    }''',
    ),
]

#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): the class of the error in the gradient of the
#: function the mutant edits, and the factor, axis or tensor it concerns. Mutants not listed are
#: of class "other" (among them the scatter bugs whose wrong rows are the ones the data repeats:
#: they follow the data, not a structure of the code).
BUG_CLASSES = {
    "readout_gradient_double_averaged": ("factor", "Wy: 1/B, B the batch size"),
    "step_backward_bias_gradient_averaged": ("factor", "db (and b): 1/B, B the batch size"),
    "readout_bias_gradient_double_averaged": ("factor", "by: 1/B, B the batch size"),
    "bptt_recurrent_hidden_gradient_dropped": (
        "slices",
        "dx: right only at the last time step (axis 1)",
    ),
    "bptt_cell_gradient_not_carried": ("slices", "dx: right only at the last time step (axis 1)"),
    # revised after the first measurement, from the code: only what flows back through Wh is
    # wrong, and the last step receives none
    "rnn_step_backward_transposed_Wh": ("slices", "dx: right only at the last time step (axis 1)"),
    # revised after the first measurement, from the code: only the cell path to earlier steps
    # is wrong
    "step_backward_dc_prev_without_forget_gate": (
        "slices",
        "dx: right only at the last time step (axis 1)",
    ),
    # revised after the first measurement, from the code: the output gate's block does not go
    # through tanh(c)'s derivative
    "step_backward_missing_tanh_derivative_of_c": (
        "slices",
        "dW, db: wrong only in the f, i, g gate blocks (axis 1)",
    ),
    # revised after the first measurement, from the code: only the gate whose derivative is
    # miswritten is wrong
    "step_backward_wrong_sigmoid_derivative": (
        "slices",
        "dW, db: wrong only in one gate block (axis 1)",
    ),
    # revised after the first measurement, from the code: the forward's error touches the
    # input gate's and candidate's columns only
    "step_forward_forgets_input_gate": (
        "slices",
        "dW, db: wrong only in the i and g gate blocks (axis 1)",
    ),
}
