"""Wrong implementations of 14_bahdanau_attention that the hidden tests must catch
(test-of-tests), and correct variants in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward_mutant, variant

# ---------------------------------------------------------------- the reference's texts
# Each: the answer cell from the first function's body to the end (the second function's
# docstring included), as in the source notebook.
_BIRNN = """    B, T, _ = x.shape
    H = Wh_f.shape[0]
    hf, hb = np.zeros((B, T, H)), np.zeros((B, T, H))
    h = np.zeros((B, H))
    for t in range(T):
        h = np.tanh(x[:, t] @ Wx_f + h @ Wh_f + b_f)               # (B, H)
        hf[:, t] = h
    h = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        h = np.tanh(x[:, t] @ Wx_b + h @ Wh_b + b_b)               # (B, H)
        hb[:, t] = h
    out = np.concatenate([hf, hb], axis=2)                         # (B, T, 2H)
    return out, (x, hf, hb, Wx_f, Wh_f, Wx_b, Wh_b)


def birnn_backward(dh, cache):
    \"""Backward pass of birnn_forward.

    Inputs:
        dh: (B, T, 2H) upstream gradient of the annotations.
        cache: from birnn_forward.
    Returns:
        dict with 'dx' (B, T, D), 'dWx_f' (D, H), 'dWh_f' (H, H), 'db_f' (H,),
        'dWx_b' (D, H), 'dWh_b' (H, H), 'db_b' (H,).
    \"""
    x, hf, hb, Wx_f, Wh_f, Wx_b, Wh_b = cache
    B, T, _ = x.shape
    H = hf.shape[2]
    zero = np.zeros((B, H))
    dx = np.zeros_like(x)
    grads = {"dWx_f": np.zeros_like(Wx_f), "dWh_f": np.zeros_like(Wh_f), "db_f": np.zeros(H),
             "dWx_b": np.zeros_like(Wx_b), "dWh_b": np.zeros_like(Wh_b), "db_b": np.zeros(H)}
    carry = zero                                                   # from step t + 1
    for t in range(T - 1, -1, -1):
        da = (dh[:, t, :H] + carry) * (1.0 - hf[:, t] ** 2)        # (B, H)
        h_prev = hf[:, t - 1] if t > 0 else zero
        grads["dWx_f"] += x[:, t].T @ da
        grads["dWh_f"] += h_prev.T @ da
        grads["db_f"] += da.sum(axis=0)
        dx[:, t] += da @ Wx_f.T
        carry = da @ Wh_f.T
    carry = zero                                                   # from step t - 1
    for t in range(T):
        da = (dh[:, t, H:] + carry) * (1.0 - hb[:, t] ** 2)        # (B, H)
        h_next = hb[:, t + 1] if t < T - 1 else zero
        grads["dWx_b"] += x[:, t].T @ da
        grads["dWh_b"] += h_next.T @ da
        grads["db_b"] += da.sum(axis=0)
        dx[:, t] += da @ Wx_b.T
        carry = da @ Wh_b.T
    grads["dx"] = dx
    return grads"""

_ATTN = """    u = np.tanh((s @ Wa)[:, None, :] + h @ Ua)                    # (B, T, A)
    e = u @ va                                                     # (B, T)
    alpha = softmax(e, axis=1)                                     # (B, T)
    context = (alpha[:, None, :] @ h)[:, 0, :]                     # (B, 1, T) @ (B, T, D)
    return context, alpha, (s, h, Wa, Ua, va, u, alpha)


def additive_attention_backward(dcontext, cache):
    \"""Backward pass of additive_attention_forward (alpha receives no upstream gradient).

    Inputs:
        dcontext: (B, D) upstream gradient of the context.
        cache: from additive_attention_forward.
    Returns:
        dict with 'ds' (B, n), 'dh' (B, T, D), 'dWa' (n, A), 'dUa' (D, A), 'dva' (A,).
    \"""
    s, h, Wa, Ua, va, u, alpha = cache
    dalpha = (h @ dcontext[:, :, None])[:, :, 0]                  # (B, T)
    dh = alpha[:, :, None] * dcontext[:, None, :]                  # (B, T, D)
    de = alpha * (dalpha - np.sum(alpha * dalpha, axis=1, keepdims=True))  # (B, T)
    dva = np.tensordot(de, u, axes=([0, 1], [0, 1]))               # (A,)
    dz = de[:, :, None] * va * (1.0 - u ** 2)                      # (B, T, A)
    dq = dz.sum(axis=1)                                            # (B, A)
    dUa = np.tensordot(h, dz, axes=([0, 1], [0, 1]))               # (D, A)
    dh = dh + dz @ Ua.T                                            # (B, T, D)
    return {"ds": dq @ Wa.T, "dh": dh, "dWa": s.T @ dq, "dUa": dUa, "dva": dva}"""

_LOSS = """    x, y = batch
    B, L = x.shape
    H = params["Wh_f"].shape[0]
    n = params["Ws"].shape[0]
    h, enc_cache = birnn_forward(np.eye(VOCAB)[x], params["Wx_f"], params["Wh_f"], params["b_f"],
                                 params["Wx_b"], params["Wh_b"], params["b_b"])  # (B, L, 2H)
    s = np.tanh(h[:, 0, H:] @ params["W_init"] + params["b_init"])  # (B, n) s_0
    s0 = s
    fixed = np.concatenate([h[:, -1, :H], h[:, 0, H:]], axis=1)   # (B, 2H)
    y_prev = np.eye(VOCAB + 1)[decoder_inputs(y)]                  # (B, L, VOCAB + 1)
    logits = np.zeros((B, L, VOCAB))
    steps = []
    for i in range(L):
        if attend:
            c, _, att_cache = additive_attention_forward(s, h, params["Wa"], params["Ua"],
                                                         params["va"])  # (B, 2H)
        else:
            c, att_cache = fixed, None
        s_prev = s
        s = np.tanh(y_prev[:, i] @ params["Wy"] + s_prev @ params["Ws"] + c @ params["Wc"]
                    + params["bs"])                                # (B, n)
        o = np.concatenate([s, c], axis=1)                         # (B, n + 2H)
        logits[:, i] = o @ params["Wo"] + params["bo"]
        steps.append((s_prev, s, c, o, att_cache))
    loss, dlogits = softmax_cross_entropy(logits, y)               # dlogits (B, L, VOCAB)

    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dh = np.zeros_like(h)                                          # (B, L, 2H)
    dfixed = np.zeros_like(fixed)
    ds_next = np.zeros((B, n))                                     # from step i + 1
    for i in range(L - 1, -1, -1):
        s_prev, s, c, o, att_cache = steps[i]
        grads["Wo"] += o.T @ dlogits[:, i]
        grads["bo"] += dlogits[:, i].sum(axis=0)
        do = dlogits[:, i] @ params["Wo"].T                        # (B, n + 2H)
        da = (do[:, :n] + ds_next) * (1.0 - s ** 2)                # (B, n)
        grads["Wy"] += y_prev[:, i].T @ da
        grads["Ws"] += s_prev.T @ da
        grads["Wc"] += c.T @ da
        grads["bs"] += da.sum(axis=0)
        dc = do[:, n:] + da @ params["Wc"].T                       # (B, 2H)
        ds_next = da @ params["Ws"].T
        if attend:
            g = additive_attention_backward(dc, att_cache)
            ds_next = ds_next + g["ds"]
            dh += g["dh"]
            for k in ("Wa", "Ua", "va"):
                grads[k] += g["d" + k]
        else:
            dfixed += dc
    da0 = ds_next * (1.0 - s0 ** 2)                                # (B, n)
    grads["W_init"] = h[:, 0, H:].T @ da0
    grads["b_init"] = da0.sum(axis=0)
    dh[:, 0, H:] += da0 @ params["W_init"].T + dfixed[:, H:]
    dh[:, -1, :H] += dfixed[:, :H]
    g = birnn_backward(dh, enc_cache)
    for k in ("Wx_f", "Wh_f", "b_f", "Wx_b", "Wh_b", "b_b"):
        grads[k] = g["d" + k]
    return loss, grads"""

_DECODE = """    B, L = x.shape
    H = params["Wh_f"].shape[0]
    h, _ = birnn_forward(np.eye(VOCAB)[x], params["Wx_f"], params["Wh_f"], params["b_f"],
                         params["Wx_b"], params["Wh_b"], params["b_b"])  # (B, L, 2H)
    s = np.tanh(h[:, 0, H:] @ params["W_init"] + params["b_init"])  # (B, n)
    fixed = np.concatenate([h[:, -1, :H], h[:, 0, H:]], axis=1)   # (B, 2H)
    tokens = np.zeros((B, L), dtype=np.int64)
    alphas = np.zeros((B, L, L))
    prev = np.full(B, BOS)
    for i in range(L):
        if y_in is not None:
            prev = y_in[:, i]
        if attend:
            c, alphas[:, i], _ = additive_attention_forward(s, h, params["Wa"], params["Ua"],
                                                            params["va"])
        else:
            c = fixed
        s = np.tanh(params["Wy"][prev] + s @ params["Ws"] + c @ params["Wc"] + params["bs"])
        logits = np.concatenate([s, c], axis=1) @ params["Wo"] + params["bo"]  # (B, VOCAB)
        tokens[:, i] = np.argmax(logits, axis=1)
        prev = tokens[:, i]
    return tokens, alphas"""

_BIRNN_BWD_DOC = """


def birnn_backward(dh, cache):
    \"""Backward pass of birnn_forward.

    Inputs:
        dh: (B, T, 2H) upstream gradient of the annotations.
        cache: from birnn_forward.
    Returns:
        dict with 'dx' (B, T, D), 'dWx_f' (D, H), 'dWh_f' (H, H), 'db_f' (H,),
        'dWx_b' (D, H), 'dWh_b' (H, H), 'db_b' (H,).
    \"""
"""

_ATTN_BWD_DOC = """


def additive_attention_backward(dcontext, cache):
    \"""Backward pass of additive_attention_forward (alpha receives no upstream gradient).

    Inputs:
        dcontext: (B, D) upstream gradient of the context.
        cache: from additive_attention_forward.
    Returns:
        dict with 'ds' (B, n), 'dh' (B, T, D), 'dWa' (n, A), 'dUa' (D, A), 'dva' (A,).
    \"""
"""

# ---------------------------------------------------------------- test names
_BIRNN_FWD = [f"birnn_forward_matches_reference[{c}]" for c in ("B2_T5", "one_step_T1")]
_BIRNN_GRADS = [
    f"birnn_backward_gradcheck[{g}]"
    for g in ("dx", "dWx_f", "dWh_f", "db_f", "dWx_b", "dWh_b", "db_b")
]
_ATT_FWD = [
    f"additive_attention_forward_matches_reference[{c}]" for c in ("B2_T6", "one_position_T1")
]
_ATT_GRADS = [
    f"additive_attention_backward_gradcheck[{g}]" for g in ("ds", "dh", "dWa", "dUa", "dva")
]
_LOSS_VALUE = [
    f"attn_decoder_loss_value_matches_reference[{m}]" for m in ("attention", "fixed_vector")
]
_LOSS_GRADS = [
    f"attn_decoder_loss_gradcheck[{g}]"
    for g in (
        "attention-encoder",
        "attention-alignment",
        "attention-decoder",
        "fixed_vector-encoder",
        "fixed_vector-decoder",
    )
]
_DECODE_FWD = [
    "greedy_decode_matches_reference[attention]",
    "greedy_decode_matches_reference[fixed_vector]",
    "greedy_decode_teacher_forced_matches_reference",
]

MUTANTS = [
    # ------------------------------------------------------------ birnn
    # A backward by centred differences through the forward (tests/mutants.py), the biases
    # recovered from the first states through the inverse tanh: accurate to ~1e-10, it passes
    # every gradient check; only the time budgets catch it.
    numerical_backward_mutant(
        "birnn_numerical_backward",
        "birnn_code",
        "    x, hf, hb, Wx_f, Wh_f, Wx_b, Wh_b = cache\n",
        """    b_f = np.arctanh(hf[0, 0]) - x[0, 0] @ Wx_f
    b_b = np.arctanh(hb[0, -1]) - x[0, -1] @ Wx_b
    args = {"x": x.copy(), "Wx_f": Wx_f.copy(), "Wh_f": Wh_f.copy(), "b_f": b_f,
            "Wx_b": Wx_b.copy(), "Wh_b": Wh_b.copy(), "b_b": b_b}""",
        "np.sum(birnn_forward(**args)[0] * dh)",
        catches=["birnn_backward_fast", "attn_decoder_loss_fast"],
    ),
    # The gradient is not carried back through time in the forward direction (truncated BPTT
    # of one step).
    mutant(
        "birnn_forward_direction_not_carried",
        "birnn_code",
        "        carry = da @ Wh_f.T\n",
        "        carry = zero\n",
        *_BIRNN_GRADS[:4],
        "birnn_backward_fast",
        "attn_decoder_loss_gradcheck[attention-encoder]",
        "attn_decoder_loss_gradcheck[fixed_vector-encoder]",
        "attn_decoder_loss_trains_like_reference",
        "attn_decoder_loss_fast",
    ),
    # The tanh's derivative taken at the previous state: off by one in time.
    mutant(
        "birnn_tanh_derivative_of_previous_state",
        "birnn_code",
        "        da = (dh[:, t, :H] + carry) * (1.0 - hf[:, t] ** 2)        # (B, H)",
        "        da = (dh[:, t, :H] + carry) * (1.0 - hf[:, t - 1] ** 2)    # (B, H)",
        *_BIRNN_GRADS[:4],
        "birnn_backward_fast",
        "attn_decoder_loss_gradcheck[attention-encoder]",
        "attn_decoder_loss_gradcheck[fixed_vector-encoder]",
        "attn_decoder_loss_trains_like_reference",
        "attn_decoder_loss_fast",
    ),
    # The backward direction reads the sequence from the start, like the forward one.
    mutant(
        "birnn_backward_direction_reads_forwards",
        "birnn_code",
        "    for t in range(T - 1, -1, -1):\n        h = np.tanh(x[:, t] @ Wx_b",
        "    for t in range(T):\n        h = np.tanh(x[:, t] @ Wx_b",
        _BIRNN_FWD[0],
        "birnn_directions_read_the_right_inputs",
        "birnn_time_reversal_swaps_the_directions",
        _BIRNN_GRADS[0],
        *_BIRNN_GRADS[4:],
        "birnn_backward_fast",
        *_LOSS_VALUE,
        _LOSS_GRADS[0],
        _LOSS_GRADS[3],
        "attn_decoder_loss_trains_like_reference",
        "attn_decoder_loss_fast",
        *_DECODE_FWD,
    ),
    # The two halves of the annotation in the wrong order.
    mutant(
        "birnn_halves_swapped",
        "birnn_code",
        "    out = np.concatenate([hf, hb], axis=2)",
        "    out = np.concatenate([hb, hf], axis=2)",
        *_BIRNN_FWD,
        "birnn_directions_read_the_right_inputs",
        *_BIRNN_GRADS,
        "birnn_backward_fast",
        *_LOSS_VALUE,
        _LOSS_GRADS[0],
        _LOSS_GRADS[3],
        "attn_decoder_loss_trains_like_reference",
        "attn_decoder_loss_fast",
        *_DECODE_FWD,
    ),
    # ------------------------------------------------------------ additive_attention
    # A backward by centred differences through the forward (tests/mutants.py).
    numerical_backward_mutant(
        "attention_numerical_backward",
        "additive_attention_code",
        "    s, h, Wa, Ua, va, u, alpha = cache\n",
        """    args = {"s": s.copy(), "h": h.copy(), "Wa": Wa.copy(), "Ua": Ua.copy(),
            "va": va.copy()}""",
        "np.sum(additive_attention_forward(**args)[0] * dcontext)",
        catches=["additive_attention_backward_fast", "attn_decoder_loss_fast"],
    ),
    # The annotations' gradient through the scores forgotten: only the averaging path.
    mutant(
        "attention_dh_missing_score_path",
        "additive_attention_code",
        "    dh = dh + dz @ Ua.T                                            # (B, T, D)",
        "    dh = dh                                                        # (B, T, D)",
        "additive_attention_backward_gradcheck[dh]",
        "additive_attention_backward_fast",
        _LOSS_GRADS[0],
        "attn_decoder_loss_trains_like_reference",
        "attn_decoder_loss_fast",
    ),
    # The softmax's Jacobian taken as its diagonal only.
    mutant(
        "attention_softmax_jacobian_diagonal_only",
        "additive_attention_code",
        "    de = alpha * (dalpha - np.sum(alpha * dalpha, axis=1, keepdims=True))  # (B, T)",
        "    de = alpha * dalpha                                            # (B, T)",
        *_ATT_GRADS,
        "additive_attention_backward_fast",
        *_LOSS_GRADS[:3],
        "attn_decoder_loss_trains_like_reference",
        "attn_decoder_loss_fast",
    ),
    # The softmax taken over the batch instead of the positions.
    mutant(
        "attention_softmax_over_batch",
        "additive_attention_code",
        "    alpha = softmax(e, axis=1)                                     # (B, T)",
        "    alpha = softmax(e, axis=0)                                     # (B, T)",
        *_ATT_FWD,
        "additive_attention_is_permutation_equivariant",
        "additive_attention_uniform_when_va_is_zero",
        *_ATT_GRADS,
        "additive_attention_backward_fast",
        _LOSS_VALUE[0],
        *_LOSS_GRADS[:3],
        "attn_decoder_loss_examples_are_independent",
        "attn_decoder_loss_trains_like_reference",
        "attn_decoder_loss_fast",
        "greedy_decode_matches_reference[attention]",
        "greedy_decode_teacher_forced_matches_reference",
    ),
    # ------------------------------------------------------------ attn_decoder_loss
    # The query path forgotten: s_{i-1} gets no gradient through the attention of step i.
    mutant(
        "loss_query_path_missing",
        "attn_decoder_loss_code",
        '            ds_next = ds_next + g["ds"]',
        "            ds_next = ds_next",
        *_LOSS_GRADS[:3],
        "attn_decoder_loss_trains_like_reference",
        "attn_decoder_loss_fast",
    ),
    # The context's gradient from the read-out forgotten (only through the recurrence).
    mutant(
        "loss_context_readout_path_missing",
        "attn_decoder_loss_code",
        '        dc = do[:, n:] + da @ params["Wc"].T                       # (B, 2H)',
        '        dc = da @ params["Wc"].T                                   # (B, 2H)',
        *_LOSS_GRADS[:4],
        "attn_decoder_loss_trains_like_reference",
        "attn_decoder_loss_fast",
    ),
    # The first decoder state's gradient never reaches the encoder.
    mutant(
        "loss_initial_state_not_backpropagated",
        "attn_decoder_loss_code",
        '    dh[:, 0, H:] += da0 @ params["W_init"].T + dfixed[:, H:]',
        "    dh[:, 0, H:] += dfixed[:, H:]",
        _LOSS_GRADS[0],
        _LOSS_GRADS[3],
        "attn_decoder_loss_trains_like_reference",
        "attn_decoder_loss_fast",
    ),
    # Without attention, the forward half of the fixed vector's gradient sent to t = 0 instead
    # of the last position.
    mutant(
        "loss_fixed_vector_gradient_at_wrong_end",
        "attn_decoder_loss_code",
        "    dh[:, -1, :H] += dfixed[:, :H]",
        "    dh[:, 0, :H] += dfixed[:, :H]",
        _LOSS_GRADS[3],
        "attn_decoder_loss_fast",
    ),
    # The "fixed vector" taken as one attention read with the first decoder state (it then
    # depends on the alignment model), its backward still that of the two final states.
    mutant(
        "loss_fixed_vector_read_by_attention_once",
        "attn_decoder_loss_code",
        "    fixed = np.concatenate([h[:, -1, :H], h[:, 0, H:]], axis=1)   # (B, 2H)",
        '    fixed = additive_attention_forward(s, h, params["Wa"], params["Ua"], params["va"])[0]',
        _LOSS_VALUE[1],
        *_LOSS_GRADS[3:],
        "fixed_vector_ignores_the_alignment_model",
        "attn_decoder_loss_fast",
    ),
    # Teacher forcing off by one: the decoder is fed the symbol it must predict.
    mutant(
        "loss_decoder_fed_the_target",
        "attn_decoder_loss_code",
        "    y_prev = np.eye(VOCAB + 1)[decoder_inputs(y)]                  # (B, L, VOCAB + 1)",
        "    y_prev = np.eye(VOCAB + 1)[y]                                  # (B, L, VOCAB + 1)",
        *_LOSS_VALUE,
        "attn_decoder_loss_trains_like_reference",
        "attn_decoder_loss_fast",
    ),
    # ------------------------------------------------------------ greedy_decode
    # Greedy decoding never feeds its prediction back: BOS at every step.
    mutant(
        "decode_never_feeds_back",
        "greedy_decode_code",
        "        tokens[:, i] = np.argmax(logits, axis=1)\n        prev = tokens[:, i]",
        "        tokens[:, i] = np.argmax(logits, axis=1)",
        *_DECODE_FWD[:2],
        "greedy_decode_is_teacher_forcing_on_its_own_output",
    ),
    # Teacher forcing reads the symbol one step ahead.
    mutant(
        "decode_teacher_forcing_one_ahead",
        "greedy_decode_code",
        "            prev = y_in[:, i]",
        "            prev = y_in[:, min(i + 1, L - 1)]",
        "greedy_decode_teacher_forced_matches_reference",
        "greedy_decode_is_teacher_forcing_on_its_own_output",
        "greedy_decode_teacher_forcing_is_causal",
    ),
]

VARIANTS = [
    # One direction as a helper run twice, the backward direction on the time-reversed input;
    # per-step caches in lists.
    variant(
        "birnn_one_direction_helper_on_flipped_input",
        "birnn_code",
        _BIRNN,
        """    def run(seq, Wx, Wh, b):
        states, h = [], np.zeros((seq.shape[0], Wh.shape[0]))
        for t in range(seq.shape[1]):
            h = np.tanh(seq[:, t] @ Wx + h @ Wh + b)
            states.append(h)
        return np.stack(states, axis=1)

    fwd = run(x, Wx_f, Wh_f, b_f)
    bwd = run(x[:, ::-1], Wx_b, Wh_b, b_b)[:, ::-1]
    cache = {"x": x, "f": (fwd, Wx_f, Wh_f), "b": (bwd, Wx_b, Wh_b)}
    return np.concatenate([fwd, bwd], axis=2), cache"""
        + _BIRNN_BWD_DOC
        + """    def back(seq, states, Wx, Wh, dstates):
        B, T, _ = seq.shape
        dseq = np.zeros_like(seq)
        dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
        g = np.zeros((B, Wh.shape[0]))
        for t in reversed(range(T)):
            da = (dstates[:, t] + g) * (1 - states[:, t] * states[:, t])
            dWx += np.einsum("bd,bh->dh", seq[:, t], da)
            if t > 0:
                dWh += np.einsum("bk,bh->kh", states[:, t - 1], da)
            db += np.einsum("bh->h", da)
            dseq[:, t] = da @ Wx.T
            g = da @ Wh.T
        return dseq, dWx, dWh, db

    x = cache["x"]
    fwd, Wx_f, Wh_f = cache["f"]
    bwd, Wx_b, Wh_b = cache["b"]
    H = fwd.shape[2]
    dx1, dWx_f, dWh_f, db_f = back(x, fwd, Wx_f, Wh_f, dh[:, :, :H])
    dx2, dWx_b, dWh_b, db_b = back(x[:, ::-1], bwd[:, ::-1], Wx_b, Wh_b, dh[:, ::-1, H:])
    return {"dx": dx1 + dx2[:, ::-1], "dWx_f": dWx_f, "dWh_f": dWh_f, "db_f": db_f,
            "dWx_b": dWx_b, "dWh_b": dWh_b, "db_b": db_b}""",
    ),
    # A loop over the positions, the softmax's Jacobian built as a (T, T) matrix per example.
    variant(
        "attention_loops_and_jacobian",
        "additive_attention_code",
        _ATTN,
        """    B, T, D = h.shape
    q = s @ Wa
    scores = np.zeros((B, T))
    us = []
    for t in range(T):
        u_t = np.tanh(q + h[:, t] @ Ua)
        us.append(u_t)
        scores[:, t] = u_t @ va
    z = np.exp(scores - scores.max(axis=1, keepdims=True))
    alpha = z / z.sum(axis=1, keepdims=True)
    context = np.zeros((B, D))
    for t in range(T):
        context += alpha[:, t:t + 1] * h[:, t]
    return context, alpha, {"inputs": (s, h, Wa, Ua, va), "us": us, "alpha": alpha}"""
        + _ATTN_BWD_DOC
        + """    s, h, Wa, Ua, va = cache["inputs"]
    us, alpha = cache["us"], cache["alpha"]
    B, T, D = h.shape
    dalpha = np.einsum("bd,btd->bt", dcontext, h)
    jac = np.einsum("bt,tk->btk", alpha, np.eye(T)) - np.einsum("bt,bk->btk", alpha, alpha)
    de = np.einsum("btk,bt->bk", jac, dalpha)
    ds, dh = np.zeros_like(s), np.zeros_like(h)
    dWa, dUa, dva = np.zeros_like(Wa), np.zeros_like(Ua), np.zeros_like(va)
    for t in range(T):
        dh[:, t] += alpha[:, t:t + 1] * dcontext
        dva += us[t].T @ de[:, t]
        dz = np.outer(de[:, t], va) * (1 - us[t] ** 2)
        ds += dz @ Wa.T
        dWa += s.T @ dz
        dUa += h[:, t].T @ dz
        dh[:, t] += dz @ Ua.T
    return {"ds": ds, "dh": dh, "dWa": dWa, "dUa": dUa, "dva": dva}""",
    ),
    # Its own log-softmax, one-hot products instead of row lookups, per-step dicts, and the
    # read-out's gradients in one einsum after the loop.
    variant(
        "loss_own_log_softmax_and_einsum",
        "attn_decoder_loss_code",
        _LOSS,
        """    x, y = batch
    B, L = x.shape
    P = params
    H = P["Wh_f"].shape[0]
    src = (x[:, :, None] == np.arange(VOCAB)).astype(float)
    h, enc = birnn_forward(src, P["Wx_f"], P["Wh_f"], P["b_f"], P["Wx_b"], P["Wh_b"], P["b_b"])
    s_init = np.tanh(h[:, 0, H:] @ P["W_init"] + P["b_init"])
    c_fixed = np.concatenate([h[:, L - 1, :H], h[:, 0, H:]], axis=1)
    inp = (decoder_inputs(y)[:, :, None] == np.arange(VOCAB + 1)).astype(float)
    s = s_init
    rec = []
    for i in range(L):
        c, ac = (additive_attention_forward(s, h, P["Wa"], P["Ua"], P["va"])[0::2]
                 if attend else (c_fixed, None))
        s_new = np.tanh(inp[:, i] @ P["Wy"] + s @ P["Ws"] + c @ P["Wc"] + P["bs"])
        rec.append({"s_prev": s, "s": s_new, "c": c, "ac": ac})
        s = s_new
    O = np.stack([np.concatenate([r["s"], r["c"]], axis=1) for r in rec], axis=1)
    Z = O @ P["Wo"] + P["bo"]
    m = Z.max(axis=2, keepdims=True)
    logp = Z - m - np.log(np.exp(Z - m).sum(axis=2, keepdims=True))
    onehot_y = (y[:, :, None] == np.arange(VOCAB)).astype(float)
    loss = -np.sum(logp * onehot_y) / (B * L)
    dZ = (np.exp(logp) - onehot_y) / (B * L)
    grads = {k: np.zeros_like(v) for k, v in P.items()}
    grads["Wo"] = np.einsum("bio,biv->ov", O, dZ)
    grads["bo"] = dZ.sum(axis=(0, 1))
    dO = dZ @ P["Wo"].T
    n = P["Ws"].shape[0]
    dh = np.zeros_like(h)
    dc_fixed = 0.0
    g = 0.0
    for i in reversed(range(L)):
        r = rec[i]
        da = (dO[:, i, :n] + g) * (1 - r["s"] ** 2)
        grads["Wy"] += inp[:, i].T @ da
        grads["Ws"] += r["s_prev"].T @ da
        grads["Wc"] += r["c"].T @ da
        grads["bs"] += da.sum(axis=0)
        dc = dO[:, i, n:] + da @ P["Wc"].T
        g = da @ P["Ws"].T
        if attend:
            ga = additive_attention_backward(dc, r["ac"])
            g = g + ga["ds"]
            dh = dh + ga["dh"]
            grads["Wa"] += ga["dWa"]
            grads["Ua"] += ga["dUa"]
            grads["va"] += ga["dva"]
        else:
            dc_fixed = dc_fixed + dc
    da0 = g * (1 - s_init ** 2)
    grads["W_init"] = h[:, 0, H:].T @ da0
    grads["b_init"] = da0.sum(axis=0)
    dh[:, 0, H:] += da0 @ P["W_init"].T
    if not attend:
        dh[:, L - 1, :H] += dc_fixed[:, :H]
        dh[:, 0, H:] += dc_fixed[:, H:]
    ge = birnn_backward(dh, enc)
    for k in ("Wx_f", "Wh_f", "b_f", "Wx_b", "Wh_b", "b_b"):
        grads[k] = ge["d" + k]
    return float(loss), grads""",
    ),
    # One-hot products instead of row lookups, teacher forcing as its own branch, the read-out
    # split into its state and context blocks.
    variant(
        "decode_onehot_and_split_readout",
        "greedy_decode_code",
        _DECODE,
        """    B, L = x.shape
    P = params
    H = P["Wh_f"].shape[0]
    n = P["Ws"].shape[0]
    src = np.zeros((B, L, VOCAB))
    src[np.arange(B)[:, None], np.arange(L)[None, :], x] = 1.0
    h, _ = birnn_forward(src, P["Wx_f"], P["Wh_f"], P["b_f"], P["Wx_b"], P["Wh_b"], P["b_b"])
    s = np.tanh(h[:, 0, H:] @ P["W_init"] + P["b_init"])
    out = np.zeros((B, L), dtype=np.int64)
    alphas = np.zeros((B, L, L))
    feed = np.full(B, BOS)
    for i in range(L):
        if y_in is not None:
            feed = y_in[:, i]
        if attend:
            c, a, _ = additive_attention_forward(s, h, P["Wa"], P["Ua"], P["va"])
            alphas[:, i] = a
        else:
            c = np.concatenate([h[:, L - 1, :H], h[:, 0, H:]], axis=1)
        onehot = np.eye(VOCAB + 1)[feed]
        s = np.tanh(onehot @ P["Wy"] + s @ P["Ws"] + c @ P["Wc"] + P["bs"])
        logits = s @ P["Wo"][:n] + c @ P["Wo"][n:] + P["bo"]
        out[:, i] = logits.argmax(axis=1)
        if y_in is None:
            feed = out[:, i]
    return out, alphas""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): the class of the error in the gradient of the
#: function the mutant edits, and the factor, axis or tensor it concerns. Mutants not listed are
#: of class "other".
#: (birnn_forward_direction_not_carried: the sums over time, dWx_f, dWh_f, db_f, are wrong in no
#: single class.)
BUG_CLASSES = {
    "birnn_forward_direction_not_carried": (
        "slices",
        "dx: right only at the last time step (axis 1)",
    ),
    # revised after the first measurement, from the code: Wh_f: 0 everywhere (the fixed vector's
    # gradient enters where the forward direction has no recurrence left)
    "loss_fixed_vector_gradient_at_wrong_end": (("other", "zero"), "Wh_f: 0 everywhere"),
}
