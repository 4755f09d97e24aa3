"""Wrong implementations of 08_order_matters that the hidden tests must catch (test-of-tests),
and correct variants in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward, variant

# ---------------------------------------------------------------- the reference's texts
_ATTEND_BODIES = '''    e = np.einsum("bnh,bh->bn", M, q)                    # (B, n) scores
    e = e - e.max(axis=1, keepdims=True)                 # stable softmax
    w = np.exp(e)
    a = w / w.sum(axis=1, keepdims=True)                 # (B, n)
    r = np.einsum("bn,bnh->bh", a, M)                    # (B, H)
    return r, a, (q, M, a)


def attend_backward(dr, cache):
    """Backward pass of attend_forward (the weights a get no upstream gradient).

    Inputs:
      dr: (B, H)  upstream gradient of r
      cache:      from attend_forward
    Returns a dict with dq: (B, H) and dM: (B, n, H)
    """
    q, M, a = cache
    da = np.einsum("bh,bnh->bn", dr, M)                  # (B, n) through the weights
    de = a * (da - np.sum(a * da, axis=1, keepdims=True))  # (B, n) through the softmax
    dq = np.einsum("bn,bnh->bh", de, M)                  # (B, H)
    dM = a[:, :, None] * dr[:, None, :] + de[:, :, None] * q[:, None, :]  # (B, n, H)
    return {"dq": dq, "dM": dM}'''

_PROCESS_RETURN = """    qstar = np.concatenate([q, r], axis=1)                       # (B, 2H)
    return qstar, attn, (steps, M.shape, W.shape)"""

_PROCESS_BWD_DOC = '''


def process_backward(dqstar, cache):
    """Backward pass of process_forward (attn gets no upstream gradient).

    Inputs:
      dqstar: (B, 2H)  upstream gradient of qstar
      cache:           from process_forward
    Returns a dict with dM: (B, n, H), dW: (2H, 4H), db: (4H,)
    """
'''

_PROCESS_BWD_BODY = """    steps, (B, n, H), W_shape = cache
    dq, dr = dqstar[:, :H], dqstar[:, H:]                        # (B, H) each
    dc = np.zeros((B, H))
    dM, dW, db = np.zeros((B, n, H)), np.zeros(W_shape), np.zeros(W_shape[1])
    for lstm_cache, attend_cache in reversed(steps):
        g = attend_backward(dr, attend_cache)
        dM += g["dM"]
        s = lstm_step_backward(dq + g["dq"], dc, lstm_cache)
        dr, dq, dc = s["dx"], s["dh_prev"], s["dc_prev"]          # to r_{t-1}, q_{t-1}, c_{t-1}
        dW += s["dW"]
        db += s["db"]
    return {"dM": dM, "dW": dW, "db": db}"""

_PROCESS_BACKWARD = _PROCESS_RETURN + _PROCESS_BWD_DOC + _PROCESS_BWD_BODY

_HEAD_BWD_BODY = """    M, ctx, Wm, Wc, v, u = cache
    dv = np.einsum("bna,bn->a", u, ds)                   # (A,)
    dpre = ds[:, :, None] * v * (1.0 - u * u)            # (B, n, A) before the tanh
    dpre_set = dpre.sum(axis=1)                          # (B, A) the context is shared by n
    return {"dM": dpre @ Wm.T, "dctx": dpre_set @ Wc.T,
            "dWm": np.einsum("bnh,bna->ha", M, dpre), "dWc": ctx.T @ dpre_set,
            "dba": dpre.sum(axis=(0, 1)), "dv": dv}"""

_HEAD_BODIES = (
    """    u = np.tanh(M @ Wm + (ctx @ Wc)[:, None, :] + ba)    # (B, n, A)
    return u @ v, (M, ctx, Wm, Wc, v, u)
"""
    + '''

def pointer_scores_backward(ds, cache):
    """Backward pass of pointer_scores_forward.

    Inputs:
      ds: (B, n)  upstream gradient of the scores
      cache:      from pointer_scores_forward
    Returns a dict with dM (B, n, H), dctx (B, C), dWm (H, A), dWc (C, A), dba (A,), dv (A,)
    """
'''
    + _HEAD_BWD_BODY
)

_LOSS_BODY = """    B, n = scores.shape
    steps = np.arange(n)
    rank = np.empty((B, n), dtype=int)                   # rank[b, i]: step that writes i
    np.put_along_axis(rank, order, np.broadcast_to(steps, (B, n)), axis=1)
    avail = rank[:, None, :] >= steps[None, :, None]     # (B, n steps, n elements)
    s = np.broadcast_to(scores[:, None, :], avail.shape)
    top = np.where(avail, s, -np.inf).max(axis=2, keepdims=True)       # (B, n, 1), finite
    w = np.where(avail, np.exp(np.where(avail, s - top, 0.0)), 0.0)    # masked: exactly 0
    z = w.sum(axis=2)                                    # (B, n)
    p = w / z[:, :, None]                                # (B, n, n) pointer distributions
    picked = np.take_along_axis(scores, order, axis=1)   # (B, n) score of the right element
    loss = np.mean(top[:, :, 0] + np.log(z) - picked)
    target = np.zeros((B, n, n))
    np.put_along_axis(target, order[:, :, None], 1.0, axis=2)
    return float(loss), (p - target).sum(axis=1) / (B * n)"""

_MODEL_BWD_BODY = """    encoder, read_cache, enc_cache, head_cache, (B, n, H) = cache
    g = pointer_scores_backward(dscores, head_cache)
    if encoder == "set2set":
        ge = process_backward(g["dctx"], enc_cache)
        dM_enc = ge["dM"]
    else:
        dhs = np.zeros((B, n, H))
        dhs[:, -1] = g["dctx"]                           # only the last state is read
        ge = lstm_backward(dhs, enc_cache)
        dM_enc = ge["dx"]
    gr = affine_backward(g["dM"] + dM_enc, read_cache)   # both paths into M
    return {"Wr": gr["dW"], "br": gr["db"], "Wp": ge["dW"], "bp": ge["db"],
            "Wm": g["dWm"], "Wc": g["dWc"], "ba": g["dba"], "v": g["dv"]}"""

# ---------------------------------------------------------------- test names
_ATTEND_GRADS = [f"attend_backward_gradcheck[{g}]" for g in ("dq", "dM")]
_PROCESS_GRADS = [f"process_backward_gradcheck[{g}]" for g in ("dM", "dW", "db")]
_HEAD_GRADS = [
    f"pointer_scores_backward_gradcheck[{g}]" for g in ("dM", "dctx", "dWm", "dWc", "dba", "dv")
]
_PARAMS = ["Wr", "br", "Wp", "bp", "Wm", "Wc", "ba", "v"]


def _model_grads(encoder, *params):
    return [f"order_model_loss_gradcheck[{encoder}-{p}]" for p in (params or _PARAMS)]


_TRAINING = "order_model_training_loss_falls_and_tracks_reference"
_MODEL_FAST = "order_model_backward_fast"

MUTANTS = [
    # ------------------------------------------------------------ attend
    # m_i reaches r along two paths; this backward keeps only the direct one (r = sum a_i m_i
    # with the weights treated as constants) and forgets that m_i also moves its own score.
    mutant(
        "attend_dM_misses_the_score_path",
        "attend_code",
        "    dM = a[:, :, None] * dr[:, None, :] + de[:, :, None] * q[:, None, :]  # (B, n, H)",
        "    dM = a[:, :, None] * dr[:, None, :]                                   # (B, n, H)",
        "attend_backward_gradcheck[dM]",
        "attend_backward_fast",
        "process_backward_gradcheck[dM]",
        "process_backward_fast",
        *_model_grads("set2set", "Wr"),
        _TRAINING,
        _MODEL_FAST,
    ),
    # The softmax normalised over the batch (axis 0) instead of over the elements of each set.
    mutant(
        "attend_softmax_over_the_batch",
        "attend_code",
        "    a = w / w.sum(axis=1, keepdims=True)                 # (B, n)",
        "    a = w / w.sum(axis=0, keepdims=True)                 # (B, n)",
        "attend_forward_matches_reference",
        *_ATTEND_GRADS,
        "attend_weights_follow_their_elements",
        "attend_backward_fast",
        "process_forward_matches_reference",
        *_PROCESS_GRADS,
        "process_qstar_is_permutation_invariant",
        "process_backward_fast",
        "order_model_forward_matches_reference",
        *_model_grads("set2set", "Wr", "br", "Wp", "bp"),
        "order_model_loss_value",
        "order_model_set_encoder_ignores_storage_order",
        _TRAINING,
        _MODEL_FAST,
    ),
    # ------------------------------------------------------------ process
    # The gradient the LSTM step returns for its input slot (r_{t-1}) is dropped: the read of
    # step t-1 is treated as a constant of step t.
    mutant(
        "process_backward_drops_the_read_path",
        "process_code",
        '        dr, dq, dc = s["dx"], s["dh_prev"], s["dc_prev"]',
        '        dr, dq, dc = np.zeros_like(dr), s["dh_prev"], s["dc_prev"]',
        *_PROCESS_GRADS,
        "process_backward_fast",
        *_model_grads("set2set", "Wr", "br", "bp"),
        _MODEL_FAST,
    ),
    # Off by one in time: each step reads the memory with the query of the previous step
    # (attention before the LSTM update); the backward, unchanged, no longer matches.
    mutant(
        "process_reads_with_the_previous_query",
        "process_code",
        """        q, c, lstm_cache = lstm_step_forward(r, q, c, W, b)     # q_t, c_t: (B, H)
        r, a, attend_cache = attend_forward(q, M)                # r_t: (B, H), a_t: (B, n)""",
        """        r_new, a, attend_cache = attend_forward(q, M)            # reads with q_{t-1}
        q, c, lstm_cache = lstm_step_forward(r, q, c, W, b)     # q_t, c_t: (B, H)
        r = r_new""",
        "process_forward_matches_reference",
        *_PROCESS_GRADS,
        "process_backward_fast",
        "order_model_forward_matches_reference",
        *_model_grads("set2set", "Wr", "br", "Wp", "bp"),
        "order_model_loss_value",
        _TRAINING,
        _MODEL_FAST,
    ),
    # A backward by centred differences through the forward (tests/mutants.py); the forward keeps
    # its inputs in the cache for it. Accurate to ~1e-10, it passes every gradient check; only
    # the time budgets catch it.
    mutant(
        "process_numerical_backward",
        "process_code",
        _PROCESS_BACKWARD,
        _PROCESS_RETURN.replace(
            "(steps, M.shape, W.shape)", "(steps, M.shape, W.shape, (M, W, b, K))"
        )
        + _PROCESS_BWD_DOC
        + numerical_backward(
            """    steps, (B, n, H), W_shape, (M, W, b, K) = cache
    args = {"M": M.copy(), "W": W.copy(), "b": b.copy()}""",
            'np.sum(process_forward(args["M"], args["W"], args["b"], K)[0] * dqstar)',
        ),
        "process_backward_fast",
        _TRAINING,
        _MODEL_FAST,
    ),
    # ------------------------------------------------------------ pointer
    # No mask: every step's softmax runs over all n elements, written ones included.
    mutant(
        "pointer_loss_without_the_mask",
        "pointer_code",
        "    avail = rank[:, None, :] >= steps[None, :, None]     # (B, n steps, n elements)",
        "    avail = np.ones((B, n, n), dtype=bool)               # (B, n steps, n elements)",
        "pointer_loss_matches_reference",
        "pointer_loss_is_a_distribution_over_orders",
        "pointer_loss_fast",
        "order_model_loss_value",
        _TRAINING,
    ),
    # The loss is a mean over B x n pointer steps, the gradient divided by B only.
    mutant(
        "pointer_loss_gradient_not_divided_by_n",
        "pointer_code",
        "    return float(loss), (p - target).sum(axis=1) / (B * n)",
        "    return float(loss), (p - target).sum(axis=1) / B",
        "pointer_loss_matches_reference",
        "pointer_loss_gradcheck",
        "pointer_loss_fast",
        *_model_grads("set2set"),
        *_model_grads("lstm"),
        _MODEL_FAST,
    ),
    # The context is broadcast to the n elements of its set; its gradient averages them instead
    # of adding them up.
    mutant(
        "pointer_scores_context_gradient_averaged",
        "pointer_code",
        "    dpre_set = dpre.sum(axis=1)",
        "    dpre_set = dpre.mean(axis=1)",
        "pointer_scores_backward_gradcheck[dctx]",
        "pointer_scores_backward_gradcheck[dWc]",
        "pointer_scores_backward_fast",
        *_model_grads("set2set", "Wr", "br", "Wp", "bp", "Wc"),
        *_model_grads("lstm", "Wr", "br", "Wp", "bp", "Wc"),
        _TRAINING,
        _MODEL_FAST,
    ),
    # tanh' written as 1 - u instead of 1 - u^2.
    mutant(
        "pointer_scores_wrong_tanh_derivative",
        "pointer_code",
        "    dpre = ds[:, :, None] * v * (1.0 - u * u)            # (B, n, A) before the tanh",
        "    dpre = ds[:, :, None] * v * (1.0 - u)                # (B, n, A) before the tanh",
        "pointer_scores_backward_gradcheck[dM]",
        "pointer_scores_backward_gradcheck[dctx]",
        "pointer_scores_backward_gradcheck[dWm]",
        "pointer_scores_backward_gradcheck[dWc]",
        "pointer_scores_backward_gradcheck[dba]",
        "pointer_scores_backward_fast",
        *_model_grads("set2set", "Wr", "br", "Wp", "bp", "Wm", "Wc", "ba"),
        *_model_grads("lstm", "Wr", "br", "Wp", "bp", "Wm", "Wc", "ba"),
        _TRAINING,
        _MODEL_FAST,
    ),
    # ------------------------------------------------------------ model
    # M feeds the encoder and the head; only the encoder's path is carried back to Read.
    mutant(
        "model_misses_the_direct_memory_path",
        "model_code",
        '    gr = affine_backward(g["dM"] + dM_enc, read_cache)   # both paths into M',
        "    gr = affine_backward(dM_enc, read_cache)             # both paths into M",
        *_model_grads("set2set", "Wr", "br"),
        *_model_grads("lstm", "Wr", "br"),
        _TRAINING,
        _MODEL_FAST,
    ),
    # Off by one in time: the LSTM encoder's upstream put on its first state, not its last.
    mutant(
        "model_lstm_upstream_on_the_first_state",
        "model_code",
        '        dhs[:, -1] = g["dctx"]                           # only the last state is read',
        '        dhs[:, 0] = g["dctx"]                            # only the last state is read',
        *_model_grads("lstm", "Wr", "br", "Wp", "bp"),
        _MODEL_FAST,
    ),
]

MUTANTS += [
    # The head's bias forgotten in the forward: the scores no longer depend on ba.
    mutant(
        "pointer_scores_bias_forgotten",
        "pointer_code",
        "    u = np.tanh(M @ Wm + (ctx @ Wc)[:, None, :] + ba)    # (B, n, A)",
        "    u = np.tanh(M @ Wm + (ctx @ Wc)[:, None, :])         # (B, n, A)",
        "pointer_scores_forward_matches_reference",
        "pointer_scores_backward_gradcheck[dba]",
        "pointer_scores_backward_fast",
        "order_model_forward_matches_reference",
        *_model_grads("set2set", "ba"),
        *_model_grads("lstm", "ba"),
        "order_model_loss_value",
        _TRAINING,
        _MODEL_FAST,
    ),
    # v is shared by every element of every set; its gradient is averaged over the batch.
    mutant(
        "pointer_scores_dv_batch_mean",
        "pointer_code",
        '    dv = np.einsum("bna,bn->a", u, ds)                   # (A,)',
        '    dv = np.einsum("bna,bn->a", u, ds) / len(ds)         # (A,)',
        "pointer_scores_backward_gradcheck[dv]",
        "pointer_scores_backward_fast",
        *_model_grads("set2set", "v"),
        *_model_grads("lstm", "v"),
        _TRAINING,
        _MODEL_FAST,
    ),
    # The Process block started from the first element's memory instead of a zero query: the
    # set embedding now depends on which element is stored first.
    mutant(
        "process_starts_from_the_first_element",
        "process_code",
        "    q, c, r = np.zeros((B, H)), np.zeros((B, H)), np.zeros((B, H))",
        "    q, c, r = M[:, 0].copy(), np.zeros((B, H)), np.zeros((B, H))",
        "process_forward_matches_reference",
        "process_backward_gradcheck[dM]",
        "process_qstar_is_permutation_invariant",
        "process_backward_fast",
        "order_model_forward_matches_reference",
        *_model_grads("set2set", "Wr", "br"),
        "order_model_loss_value",
        "order_model_set_encoder_ignores_storage_order",
        _TRAINING,
        _MODEL_FAST,
    ),
]

# ---------------------------------------------------------------- variants
VARIANTS = [
    variant(
        # one set at a time, with Python loops over the batch and the elements
        "attend_loops_over_sets_and_elements",
        "attend_code",
        _ATTEND_BODIES,
        '''    B, n, H = M.shape
    r, a = np.zeros((B, H)), np.zeros((B, n))
    for k in range(B):
        scores = [float(M[k, i] @ q[k]) for i in range(n)]
        top = max(scores)
        w = [np.exp(e - top) for e in scores]
        for i in range(n):
            a[k, i] = w[i] / sum(w)
            r[k] += a[k, i] * M[k, i]
    return r, a, (q, M, a)


def attend_backward(dr, cache):
    """Backward of attend_forward: dq (B, H), dM (B, n, H)."""
    q, M, a = cache
    B, n, H = M.shape
    dq, dM = np.zeros((B, H)), np.zeros((B, n, H))
    for k in range(B):
        da = np.array([dr[k] @ M[k, i] for i in range(n)])     # (n,)
        mean = float(a[k] @ da)
        for i in range(n):
            de = a[k, i] * (da[i] - mean)
            dq[k] += de * M[k, i]
            dM[k, i] = a[k, i] * dr[k] + de * q[k]
    return {"dq": dq, "dM": dM}''',
    ),
    variant(
        # the forward caches only its inputs; the backward runs the forward again, and keeps
        # the per-step gradients in lists that it adds up at the end
        "process_backward_recomputes_the_forward",
        "process_code",
        _PROCESS_BACKWARD,
        _PROCESS_RETURN.replace("(steps, M.shape, W.shape)", "(M, W, b, K)")
        + _PROCESS_BWD_DOC
        + """    M, W, b, K = cache
    B, n, H = M.shape
    q, c, r, steps = np.zeros((B, H)), np.zeros((B, H)), np.zeros((B, H)), []
    for _ in range(K):                                   # the forward again, keeping caches
        q, c, lstm_cache = lstm_step_forward(r, q, c, W, b)
        r, _, attend_cache = attend_forward(q, M)
        steps.append((lstm_cache, attend_cache))
    dq, dr, dc = dqstar[:, :H].copy(), dqstar[:, H:].copy(), np.zeros((B, H))
    dMs, dWs, dbs = [np.zeros_like(M)], [np.zeros_like(W)], [np.zeros_like(b)]
    for t in range(K - 1, -1, -1):
        lstm_cache, attend_cache = steps[t]
        g = attend_backward(dr, attend_cache)
        dMs.append(g["dM"])
        s = lstm_step_backward(dq + g["dq"], dc, lstm_cache)
        dr, dq, dc = s["dx"], s["dh_prev"], s["dc_prev"]
        dWs.append(s["dW"])
        dbs.append(s["db"])
    return {"dM": sum(dMs), "dW": sum(dWs), "db": sum(dbs)}""",
    ),
    variant(
        # step by step: a boolean array of the elements still to write, one masked softmax per
        # step, the gradient accumulated as it goes
        "pointer_loss_step_by_step",
        "pointer_code",
        _LOSS_BODY,
        """    B, n = scores.shape
    left = np.ones((B, n), dtype=bool)                   # not written yet
    rows = np.arange(B)
    total, dscores = 0.0, np.zeros((B, n))
    for t in range(n):
        chosen = order[:, t]                             # (B,)
        masked = np.where(left, scores, -np.inf)
        top = masked.max(axis=1, keepdims=True)          # the largest available score
        w = np.exp(np.where(left, scores - top, -1.0)) * left
        z = w.sum(axis=1, keepdims=True)
        p = w / z
        total += np.sum(scores[rows, chosen] - top[:, 0] - np.log(z[:, 0]))   # log p, stably
        dscores += p
        dscores[rows, chosen] -= 1.0
        left[rows, chosen] = False
    return float(-total / (B * n)), dscores / (B * n)""",
    ),
    variant(
        # einsum everywhere; the cache keeps the pre-activation and the backward recomputes tanh
        "pointer_scores_einsum_and_preactivation_cache",
        "pointer_code",
        _HEAD_BODIES,
        '''    pre = np.einsum("bnh,ha->bna", M, Wm) + np.einsum("bc,ca->ba", ctx, Wc)[:, None] + ba
    return np.einsum("bna,a->bn", np.tanh(pre), v), {"pre": pre, "M": M, "ctx": ctx,
                                                     "Wm": Wm, "Wc": Wc, "v": v}


def pointer_scores_backward(ds, cache):
    """Backward of pointer_scores_forward."""
    u = np.tanh(cache["pre"])
    dpre = np.einsum("bn,a,bna->bna", ds, cache["v"], 1.0 - u**2)
    return {"dM": np.einsum("bna,ha->bnh", dpre, cache["Wm"]),
            "dctx": np.einsum("bna,ca->bc", dpre, cache["Wc"]),
            "dWm": np.einsum("bnh,bna->ha", cache["M"], dpre),
            "dWc": np.einsum("bc,bna->ca", cache["ctx"], dpre),
            "dba": np.einsum("bna->a", dpre), "dv": np.einsum("bn,bna->a", ds, u)}''',
    ),
    variant(
        # the LSTM encoder's backward written with the given step backward, reading only the
        # last state; the read layer's gradients written out
        "model_backward_own_bptt_and_read",
        "model_code",
        _MODEL_BWD_BODY,
        """    encoder, read_cache, enc_cache, head_cache, (B, n, H) = cache
    g = pointer_scores_backward(dscores, head_cache)
    dM = g["dM"].copy()
    if encoder == "set2set":
        ge = process_backward(g["dctx"], enc_cache)
        dM += ge["dM"]
        dWp, dbp = ge["dW"], ge["db"]
    else:
        step_caches, _ = enc_cache
        dh, dc = g["dctx"], np.zeros((B, H))
        dWp, dbp = 0.0, 0.0
        for t in range(n - 1, -1, -1):
            st = lstm_step_backward(dh, dc, step_caches[t])
            dM[:, t] += st["dx"]
            dh, dc = st["dh_prev"], st["dc_prev"]
            dWp, dbp = dWp + st["dW"], dbp + st["db"]
    x, _ = read_cache
    return {"Wr": np.einsum("bnd,bnh->dh", x, dM), "br": dM.sum(axis=(0, 1)), "Wp": dWp,
            "bp": dbp, "Wm": g["dWm"], "Wc": g["dWc"], "ba": g["dba"], "v": g["dv"]}""",
    ),
]

#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): the class of the error in the gradient of the
#: function the mutant edits, and the factor, axis or tensor it concerns. Mutants not listed are
#: of class "other" (among them the scatter bugs whose wrong rows are the ones the data repeats:
#: they follow the data, not a structure of the code).
BUG_CLASSES = {
    "pointer_loss_gradient_not_divided_by_n": (
        "factor",
        "dscores (and every model parameter): n, the number of elements of a set",
    ),
    "pointer_scores_dv_batch_mean": ("factor", "dv (and v): 1/B, B the batch size"),
    "pointer_scores_context_gradient_averaged": ("factor", "dctx, dWc: 1/n, n the set size"),
}
