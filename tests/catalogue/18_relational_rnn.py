"""Wrong implementations of 18_relational_rnn that the hidden tests must catch (test-of-tests),
and correct variants in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward, numerical_backward_mutant, variant

# ---------------------------------------------------------------- the reference's texts
_ATT_FWD = """    B, N, d = M.shape
    dk = d // n_heads
    Mx = np.concatenate([M, e[:, None, :]], axis=1)                # (B, N + 1, d)
    Q = (M @ Wq).reshape(B, N, n_heads, dk).transpose(0, 2, 1, 3)   # (B, h, N, dk)
    K = (Mx @ Wk).reshape(B, N + 1, n_heads, dk).transpose(0, 2, 1, 3)  # (B, h, N+1, dk)
    V = (Mx @ Wv).reshape(B, N + 1, n_heads, dk).transpose(0, 2, 1, 3)  # (B, h, N+1, dk)
    A = softmax(Q @ K.transpose(0, 1, 3, 2) / np.sqrt(dk), axis=-1)  # (B, h, N, N+1)
    out = (A @ V).transpose(0, 2, 1, 3).reshape(B, N, d)           # (B, N, d)
    return out, (M, Mx, Wq, Wk, Wv, Q, K, V, A)"""

_ATT_BWD = """    M, Mx, Wq, Wk, Wv, Q, K, V, A = cache
    B, h, N, dk = Q.shape
    d = h * dk
    dO = dout.reshape(B, N, h, dk).transpose(0, 2, 1, 3)           # (B, h, N, dk)
    dA = dO @ V.transpose(0, 1, 3, 2)                              # (B, h, N, N+1)
    dV = A.transpose(0, 1, 3, 2) @ dO                              # (B, h, N+1, dk)
    dS = A * (dA - np.sum(A * dA, axis=-1, keepdims=True)) / np.sqrt(dk)  # (B, h, N, N+1)
    dQ = (dS @ K).transpose(0, 2, 1, 3).reshape(B, N, d)           # (B, N, d)
    dK = (dS.transpose(0, 1, 3, 2) @ Q).transpose(0, 2, 1, 3).reshape(B, N + 1, d)
    dV = dV.transpose(0, 2, 1, 3).reshape(B, N + 1, d)             # (B, N+1, d)
    dMx = dK @ Wk.T + dV @ Wv.T                                    # (B, N+1, d)
    Mx2 = Mx.reshape(-1, d)
    return {"dM": dQ @ Wq.T + dMx[:, :N], "de": dMx[:, N],
            "dWq": M.reshape(-1, d).T @ dQ.reshape(-1, d),
            "dWk": Mx2.T @ dK.reshape(-1, d), "dWv": Mx2.T @ dV.reshape(-1, d)}"""

_STEP_RETURN_AND_BWD = """\
    cache = (x, M_prev, W_in, W1, W2, Wgx, Wgm, c_att, c_ln1, c_ln2, Y1, Hm, Tm, ig, fg, C)
    return M, cache


def rmc_step_backward(dM, cache):
    \"""Backward pass of rmc_step_forward.

    Inputs:
        dM: (B, N, d) upstream gradient of the new memory.
        cache: from rmc_step_forward.
    Returns:
        dict with 'dx' (B, D), 'dM_prev' (B, N, d) and 'dW_in', 'dWq', 'dWk', 'dWv', 'dW1',
        'db1', 'dW2', 'db2', 'dWgx', 'dWgm', 'dbg', each of its parameter's shape.
    \"""
    x, M_prev, W_in, W1, W2, Wgx, Wgm, c_att, c_ln1, c_ln2, Y1, Hm, Tm, ig, fg, C = cache
    d = M_prev.shape[2]
    dG = np.concatenate([dM * C * ig * (1.0 - ig),
                         dM * M_prev * fg * (1.0 - fg)], axis=2)   # (B, N, 2d)
    dM_prev = dM * fg + (dG @ Wgm.T) * (1.0 - Tm ** 2)             # (B, N, d)
    dx = dG.sum(axis=1) @ Wgx.T                                    # (B, D)
    dY2 = dM * ig * (1.0 - C ** 2)                                 # (B, N, d)
    dZ2 = layernorm_backward(dY2, c_ln2)["dx"]                     # (B, N, d)
    dHm = dZ2 @ W2.T                                               # (B, N, d)
    dP1 = dHm * (1.0 - Hm ** 2)                                    # (B, N, d)
    dY1 = dZ2 + dP1 @ W1.T                                         # (B, N, d)
    dZ1 = layernorm_backward(dY1, c_ln1)["dx"]                     # (B, N, d)
    g = memory_attention_backward(dZ1, c_att)
    dM_prev = dM_prev + dZ1 + g["dM"]
    dx = dx + g["de"] @ W_in.T
    flat = lambda a: a.reshape(-1, a.shape[-1])                    # noqa: E731
    return {"dx": dx, "dM_prev": dM_prev, "dW_in": x.T @ g["de"],
            "dWq": g["dWq"], "dWk": g["dWk"], "dWv": g["dWv"],
            "dW1": flat(Y1).T @ flat(dP1), "db1": flat(dP1).sum(axis=0),
            "dW2": flat(Hm).T @ flat(dZ2), "db2": flat(dZ2).sum(axis=0),
            "dWgx": x.T @ dG.sum(axis=1), "dWgm": flat(Tm).T @ flat(dG),
            "dbg": flat(dG).sum(axis=0)}"""

_MODEL_BWD = """    (kind, steps), final, params, T = cache
    grads = {"dWo": final.T @ dlogits, "dbo": dlogits.sum(axis=0)}
    dfinal = dlogits @ params["Wo"].T                              # (B, N*d) or (B, H)
    B = dlogits.shape[0]
    if kind == "rmc":
        dM = dfinal.reshape((B,) + params["M0"].shape)             # (B, N, d)
        for k in RMC_STEP_PARAMS:
            grads["d" + k] = np.zeros_like(params[k])
        dx = []
        for t in range(T - 1, -1, -1):
            g = rmc_step_backward(dM, steps[t])
            dM = g["dM_prev"]
            dx.append(g["dx"])
            for k in RMC_STEP_PARAMS:
                grads["d" + k] += g["d" + k]
        grads["dM0"] = dM.sum(axis=0)
        grads["dx"] = np.stack(dx[::-1], axis=1)                   # (B, T, D)"""

# ---------------------------------------------------------------- test names
_ATT_FWD_T = [
    f"memory_attention_forward_matches_reference[{c}]"
    for c in ("B2_N3_two_heads", "one_slot_one_head")
]
_STEP_FWD_T = [
    f"rmc_step_forward_matches_reference[{c}]" for c in ("B2_N3_two_heads", "one_slot_one_head")
]
_MODEL_FWD_T = [f"seq_model_forward_matches_reference[{c}]" for c in ("rmc", "lstm")]


def _att_grads(*names):
    return [f"memory_attention_backward_gradcheck[{g}]" for g in names]


def _step_grads(*names):
    return [f"rmc_step_backward_gradcheck[{g}]" for g in names]


def _loss_grads(*groups):
    return [f"seq_model_loss_gradcheck[{g}]" for g in groups]


_RMC_LOSS_GROUPS = ("rmc-memory-and-embedding", "rmc-attention", "rmc-mlp", "rmc-gates-and-readout")

MUTANTS = [
    # ------------------------------------------------------------ memory_attention
    # A backward by centred differences through the forward (tests/mutants.py): accurate to
    # ~1e-10, it passes every gradient check; only the time budgets catch it (the loss's too:
    # the notebook-size loss calls it four times on 13 000 inputs).
    numerical_backward_mutant(
        "attention_numerical_backward",
        "memory_attention_code",
        "    M, Mx, Wq, Wk, Wv, Q, K, V, A = cache\n",
        """    args = {"M": M.copy(), "e": Mx[:, -1].copy(), "Wq": Wq.copy(), "Wk": Wk.copy(),
            "Wv": Wv.copy()}
    n_heads = Q.shape[1]""",
        "np.sum(memory_attention_forward(**args, n_heads=n_heads)[0] * dout)",
        catches=["memory_attention_backward_fast", "seq_model_loss_fast"],
    ),
    # The 1/sqrt(dk) of the scores forgotten in the backward.
    mutant(
        "attention_backward_missing_scale",
        "memory_attention_code",
        "keepdims=True)) / np.sqrt(dk)  # (B, h, N, N+1)",
        "keepdims=True))  # (B, h, N, N+1)",
        *_att_grads("dM", "de", "dWq", "dWk"),
        "memory_attention_backward_fast",
        *_step_grads("dx", "dM_prev", "dW_in", "dWq", "dWk"),
        *_loss_grads(*_RMC_LOSS_GROUPS[:2]),
        "seq_model_trains_like_reference",
        "seq_model_loss_fast",
    ),
    # The softmax taken over the slots (the queries) instead of over the N + 1 rows of keys.
    mutant(
        "attention_softmax_over_queries",
        "memory_attention_code",
        "/ np.sqrt(dk), axis=-1)  # (B, h, N, N+1)",
        "/ np.sqrt(dk), axis=-2)  # (B, h, N, N+1)",
        *_ATT_FWD_T,
        "memory_attention_uniform_when_Wq_is_zero",
        *_STEP_FWD_T,
        _MODEL_FWD_T[0],
        "seq_model_loss_value_matches_reference[rmc]",
        "seq_model_trains_like_reference",
    ),
    # The input row's gradient dropped: e is treated as a constant.
    mutant(
        "attention_de_forgotten",
        "memory_attention_code",
        '"de": dMx[:, N],',
        '"de": np.zeros_like(dMx[:, N]),',
        *_att_grads("de"),
        "memory_attention_backward_fast",
        *_step_grads("dx", "dW_in"),
        *_loss_grads("rmc-memory-and-embedding"),
        "seq_model_backward_reaches_the_first_input[rmc]",
        "seq_model_trains_like_reference",
        "seq_model_loss_fast",
    ),
    # The heads merged without undoing the transpose: heads and slots get mixed up.
    mutant(
        "attention_heads_merged_without_transpose",
        "memory_attention_code",
        "    out = (A @ V).transpose(0, 2, 1, 3).reshape(B, N, d)  ",
        "    out = (A @ V).reshape(B, N, d)                        ",
        _ATT_FWD_T[0],
        "memory_attention_slots_are_permutation_equivariant",
        _STEP_FWD_T[0],
        "rmc_step_slots_are_permutation_equivariant",
        _MODEL_FWD_T[0],
        "seq_model_loss_value_matches_reference[rmc]",
        "seq_model_trains_like_reference",
    ),
    # The values' weight gradient collected over the memory rows only, not the input row.
    mutant(
        "attention_dWv_misses_input_row",
        "memory_attention_code",
        '"dWv": Mx2.T @ dV.reshape(-1, d)}',
        '"dWv": M.reshape(-1, d).T @ dV[:, :N].reshape(-1, d)}',
        *_att_grads("dWv"),
        "memory_attention_backward_fast",
        *_step_grads("dWv"),
        *_loss_grads("rmc-attention"),
        "seq_model_loss_fast",
    ),
    # M reaches the output through the queries too; that route is forgotten in dM.
    mutant(
        "attention_query_path_to_memory_missing",
        "memory_attention_code",
        '"dM": dQ @ Wq.T + dMx[:, :N]',
        '"dM": dMx[:, :N]',
        *_att_grads("dM"),
        "memory_attention_backward_fast",
        *_step_grads("dM_prev"),
        *_loss_grads("rmc-memory-and-embedding"),
        "seq_model_trains_like_reference",
        "seq_model_loss_fast",
    ),
    # ------------------------------------------------------------ rmc_step
    # A backward by centred differences through the forward (tests/mutants.py); the forward
    # caches its inputs for it. Accurate to ~1e-10, it passes every gradient check; only the
    # time budgets catch it.
    mutant(
        "step_numerical_backward",
        "rmc_step_code",
        _STEP_RETURN_AND_BWD,
        """    return M, dict(x=x, M_prev=M_prev, W_in=W_in, Wq=Wq, Wk=Wk, Wv=Wv, W1=W1, b1=b1,
                   W2=W2, b2=b2, Wgx=Wgx, Wgm=Wgm, bg=bg, n_heads=n_heads)


def rmc_step_backward(dM, cache):
"""
        + numerical_backward(
            """    n_heads = cache["n_heads"]
    args = {k: np.array(v, dtype=np.float64) for k, v in cache.items() if k != "n_heads"}""",
            "np.sum(rmc_step_forward(**args, n_heads=n_heads)[0] * dM)",
        ),
        "rmc_step_backward_fast",
        "seq_model_loss_fast",
    ),
    # The candidate and the previous memory swapped in the gates' gradient.
    mutant(
        "step_gate_gradients_swapped",
        "rmc_step_code",
        """    dG = np.concatenate([dM * C * ig * (1.0 - ig),
                         dM * M_prev * fg * (1.0 - fg)], axis=2)   # (B, N, 2d)""",
        """    dG = np.concatenate([dM * M_prev * ig * (1.0 - ig),
                         dM * C * fg * (1.0 - fg)], axis=2)        # (B, N, 2d)""",
        *_step_grads("dx", "dM_prev", "dWgx", "dWgm", "dbg"),
        "rmc_step_backward_fast",
        *_loss_grads("rmc-gates-and-readout"),
        "seq_model_trains_like_reference",
        "seq_model_loss_fast",
    ),
    # The residual path Y1 -> Z2 forgotten in the backward: only the MLP's route reaches Y1.
    mutant(
        "step_residual_into_second_norm_missing",
        "rmc_step_code",
        "    dY1 = dZ2 + dP1 @ W1.T ",
        "    dY1 = dP1 @ W1.T       ",
        *_step_grads("dx", "dM_prev", "dW_in", "dWq", "dWk", "dWv"),
        "rmc_step_backward_fast",
        *_loss_grads("rmc-attention"),
        "seq_model_trains_like_reference",
        "seq_model_loss_fast",
    ),
    # The second layer norm skipped in the backward (its output gradient used as its input's).
    mutant(
        "step_second_layernorm_not_backpropagated",
        "rmc_step_code",
        '    dZ2 = layernorm_backward(dY2, c_ln2)["dx"]  ',
        "    dZ2 = dY2                                  ",
        *_step_grads("dx", "dM_prev", "dW1", "db1", "dW2", "db2"),
        "rmc_step_backward_fast",
        *_loss_grads("rmc-mlp"),
        "seq_model_trains_like_reference",
        "seq_model_loss_fast",
    ),
    # The tanh in front of the gates' memory weights not differentiated.
    mutant(
        "step_gate_tanh_derivative_missing",
        "rmc_step_code",
        "    dM_prev = dM * fg + (dG @ Wgm.T) * (1.0 - Tm ** 2)             # (B, N, d)",
        "    dM_prev = dM * fg + (dG @ Wgm.T)                               # (B, N, d)",
        *_step_grads("dM_prev"),
        "rmc_step_backward_fast",
        *_loss_grads("rmc-memory-and-embedding"),
        "seq_model_trains_like_reference",
        "seq_model_loss_fast",
    ),
    # ------------------------------------------------------------ seq_model
    # Truncated BPTT: the memory's gradient is not carried back to the earlier steps.
    mutant(
        "model_bptt_truncated_to_one_step",
        "seq_model_code",
        '            dM = g["dM_prev"]\n',
        "            dM = np.zeros_like(dM)\n",
        *_loss_grads(*_RMC_LOSS_GROUPS[:3]),
        "seq_model_backward_reaches_the_first_input[rmc]",
        "seq_model_trains_like_reference",
        "seq_model_loss_fast",
    ),
    # M0 is shared by the whole batch, but its gradient is averaged instead of summed.
    mutant(
        "model_dM0_batch_mean",
        "seq_model_code",
        'grads["dM0"] = dM.sum(axis=0)',
        'grads["dM0"] = dM.mean(axis=0)',
        *_loss_grads("rmc-memory-and-embedding"),
        "seq_model_loss_fast",
    ),
    # (Adam rescales each parameter's gradient, so the training curve cannot see a gradient
    # that is off by a constant factor: only the gradient check catches this one.)
    # The LSTM's upstream given to every step instead of the last one only.
    mutant(
        "model_lstm_upstream_at_every_step",
        "seq_model_code",
        "        dhs[:, -1] = dfinal\n",
        "        dhs[:] = dfinal[:, None, :]\n",
        *_loss_grads("lstm"),
        "seq_model_backward_reaches_the_first_input[lstm]",
        "seq_model_loss_fast",
    ),
    # The LSTM answers from its first state instead of its last.
    mutant(
        "model_lstm_reads_out_first_state",
        "seq_model_code",
        "        final = hs[:, -1]  ",
        "        final = hs[:, 0]   ",
        _MODEL_FWD_T[1],
        "seq_model_loss_value_matches_reference[lstm]",
        *_loss_grads("lstm"),
    ),
    # Off by one in time: the last input is never read.
    mutant(
        "model_last_step_skipped",
        "seq_model_code",
        "        for t in range(T):\n",
        "        for t in range(T - 1):\n",
        _MODEL_FWD_T[0],
        "seq_model_loss_value_matches_reference[rmc]",
        "seq_model_trains_like_reference",
        "seq_model_loss_fast",
    ),
]

VARIANTS = [
    # A Python loop over the heads, each head on its own column block; cache per head.
    variant(
        "attention_loop_over_heads",
        "memory_attention_code",
        _ATT_FWD
        + """


def memory_attention_backward(dout, cache):
    \"""Backward pass of memory_attention_forward.

    Inputs:
        dout: (B, N, d) upstream gradient of out.
        cache: from memory_attention_forward.
    Returns:
        dict with 'dM' (B, N, d), 'de' (B, d), 'dWq' (d, d), 'dWk' (d, d), 'dWv' (d, d).
    \"""
"""
        + _ATT_BWD,
        """    B, N, d = M.shape
    dk = d // n_heads
    Mx = np.concatenate([M, e[:, None, :]], axis=1)
    Q, K, V = M @ Wq, Mx @ Wk, Mx @ Wv
    out = np.zeros((B, N, d))
    heads = []
    for j in range(n_heads):
        cols = slice(j * dk, (j + 1) * dk)
        s = np.matmul(Q[:, :, cols], np.swapaxes(K[:, :, cols], 1, 2)) / np.sqrt(dk)
        s = s - s.max(axis=2, keepdims=True)
        a = np.exp(s) / np.exp(s).sum(axis=2, keepdims=True)
        out[:, :, cols] = np.matmul(a, V[:, :, cols])
        heads.append(a)
    return out, {"M": M, "Mx": Mx, "W": (Wq, Wk, Wv), "QKV": (Q, K, V), "A": heads}


def memory_attention_backward(dout, cache):
    \"""Loop over heads.\"""
    M, Mx = cache["M"], cache["Mx"]
    Wq, Wk, Wv = cache["W"]
    Q, K, V = cache["QKV"]
    B, N, d = M.shape
    n_heads = len(cache["A"])
    dk = d // n_heads
    dQ, dK, dV = np.zeros_like(Q), np.zeros_like(K), np.zeros_like(V)
    for j, a in enumerate(cache["A"]):
        cols = slice(j * dk, (j + 1) * dk)
        do = dout[:, :, cols]
        da = np.matmul(do, np.swapaxes(V[:, :, cols], 1, 2))
        dV[:, :, cols] = np.matmul(np.swapaxes(a, 1, 2), do)
        ds = a * (da - (a * da).sum(axis=2, keepdims=True)) / np.sqrt(dk)
        dQ[:, :, cols] = np.matmul(ds, K[:, :, cols])
        dK[:, :, cols] = np.matmul(np.swapaxes(ds, 1, 2), Q[:, :, cols])
    dMx = dK @ Wk.T + dV @ Wv.T
    dWq = sum(M[b].T @ dQ[b] for b in range(B))
    dWk = sum(Mx[b].T @ dK[b] for b in range(B))
    dWv = sum(Mx[b].T @ dV[b] for b in range(B))
    return {"dM": dQ @ Wq.T + dMx[:, :N], "de": dMx[:, N], "dWq": dWq, "dWk": dWk, "dWv": dWv}""",
    ),
    # einsum throughout the forward, the same cache.
    variant(
        "attention_forward_einsum",
        "memory_attention_code",
        _ATT_FWD,
        """    B, N, d = M.shape
    dk = d // n_heads
    Mx = np.concatenate([M, e[:, None, :]], axis=1)
    Q = np.einsum("bnd,dk->bnk", M, Wq).reshape(B, N, n_heads, dk).transpose(0, 2, 1, 3)
    K = np.einsum("bnd,dk->bnk", Mx, Wk).reshape(B, N + 1, n_heads, dk).transpose(0, 2, 1, 3)
    V = np.einsum("bnd,dk->bnk", Mx, Wv).reshape(B, N + 1, n_heads, dk).transpose(0, 2, 1, 3)
    S = np.einsum("bhik,bhjk->bhij", Q, K) / np.sqrt(dk)
    A = np.exp(S - S.max(axis=-1, keepdims=True))
    A = A / A.sum(axis=-1, keepdims=True)
    out = np.einsum("bhij,bhjk->bihk", A, V).reshape(B, N, d)
    return out, (M, Mx, Wq, Wk, Wv, Q, K, V, A)""",
    ),
    # The softmax's Jacobian built as a matrix per row.
    variant(
        "attention_softmax_jacobian_matrix",
        "memory_attention_code",
        "    dS = A * (dA - np.sum(A * dA, axis=-1, keepdims=True)) / np.sqrt(dk)"
        "  # (B, h, N, N+1)",
        """    J = np.einsum("bhij,jk->bhijk", A, np.eye(A.shape[-1])) - np.einsum(
        "bhij,bhik->bhijk", A, A)                                 # (B, h, N, N+1, N+1)
    dS = np.einsum("bhijk,bhij->bhik", J, dA) / np.sqrt(dk)""",
    ),
    # The step's backward recomputes its forward from the inputs (a minimal cache) and
    # accumulates with einsum.
    variant(
        "step_recompute_from_inputs",
        "rmc_step_code",
        _STEP_RETURN_AND_BWD,
        """    return M, (x, M_prev, W_in, Wq, Wk, Wv, W1, b1, W2, b2, Wgx, Wgm, bg, n_heads)


def rmc_step_backward(dM, cache):
    \"""Recomputes the forward's intermediates from the inputs.\"""
    x, M_prev, W_in, Wq, Wk, Wv, W1, b1, W2, b2, Wgx, Wgm, bg, n_heads = cache
    d = M_prev.shape[2]
    e = x @ W_in
    att, c_att = memory_attention_forward(M_prev, e, Wq, Wk, Wv, n_heads)
    Y1, c_ln1 = layernorm_forward(M_prev + att)
    Hm = np.tanh(Y1 @ W1 + b1)
    Y2, c_ln2 = layernorm_forward(Y1 + Hm @ W2 + b2)
    Tm = np.tanh(M_prev)
    G = (x @ Wgx)[:, None, :] + Tm @ Wgm + bg
    ig, fg = sigmoid(G[..., :d]), sigmoid(G[..., d:])
    C = np.tanh(Y2)
    dGi = dM * C * ig * (1.0 - ig)
    dGf = dM * M_prev * fg * (1.0 - fg)
    dG = np.concatenate([dGi, dGf], axis=-1)
    dZ2 = layernorm_backward(dM * ig * (1.0 - C * C), c_ln2)["dx"]
    dP1 = (dZ2 @ W2.T) * (1.0 - Hm * Hm)
    dZ1 = layernorm_backward(dZ2 + dP1 @ W1.T, c_ln1)["dx"]
    g = memory_attention_backward(dZ1, c_att)
    return {
        "dx": np.einsum("bnk,dk->bd", dG, Wgx) + g["de"] @ W_in.T,
        "dM_prev": dM * fg + np.einsum("bnk,dk->bnd", dG, Wgm) * (1.0 - Tm * Tm) + dZ1 + g["dM"],
        "dW_in": np.einsum("bi,bd->id", x, g["de"]),
        "dWq": g["dWq"], "dWk": g["dWk"], "dWv": g["dWv"],
        "dW1": np.einsum("bni,bnj->ij", Y1, dP1), "db1": np.einsum("bnj->j", dP1),
        "dW2": np.einsum("bni,bnj->ij", Hm, dZ2), "db2": np.einsum("bnj->j", dZ2),
        "dWgx": np.einsum("bi,bnk->ik", x, dG), "dWgm": np.einsum("bni,bnk->ik", Tm, dG),
        "dbg": np.einsum("bnk->k", dG),
    }""",
    ),
    # BPTT with preallocated dx, reversed(range(T)) and M0's gradient by einsum.
    variant(
        "model_preallocated_reversed",
        "seq_model_code",
        _MODEL_BWD,
        """    (kind, steps), final, params, T = cache
    grads = {"dWo": np.einsum("bi,bc->ic", final, dlogits), "dbo": np.einsum("bc->c", dlogits)}
    dfinal = dlogits @ params["Wo"].T
    B = dlogits.shape[0]
    if kind == "rmc":
        N, d = params["M0"].shape
        dM = dfinal.reshape(B, N, d)
        grads.update({"d" + k: 0.0 for k in RMC_STEP_PARAMS})
        grads["dx"] = np.zeros((B, T, steps[0][0].shape[1]))
        for t in reversed(range(T)):
            g = rmc_step_backward(dM, steps[t])
            grads["dx"][:, t] = g["dx"]
            dM = g["dM_prev"]
            for k in RMC_STEP_PARAMS:
                grads["d" + k] = grads["d" + k] + g["d" + k]
        grads["dM0"] = np.einsum("bnd->nd", dM)""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): the class of the error in the gradient of the
#: function the mutant edits, and the factor, axis or tensor it concerns. Mutants not listed are
#: of class "other".
#: (Further from the bug, rmc_step's dx keeps its gate path and dM, de mix scaled and unscaled
#: paths: no single class there.)
BUG_CLASSES = {
    "model_dM0_batch_mean": ("factor", "M0: 1/B, B the batch size"),
    "attention_de_forgotten": ("zero", "memory_attention's de: 0"),
    "attention_backward_missing_scale": ("factor", "dWq and dWk: sqrt(d_k)"),
    # revised after the first measurement, from the code: dx: right only at the last time step
    # (axis 1); a path through the memory to earlier steps is wrong, the last step has none
    "attention_query_path_to_memory_missing": (
        ("other", "slices"),
        "dx: right only at the last time step (axis 1)",
    ),
    # revised after the first measurement, from the code: dx: right only at the last time step
    # (axis 1); the upstream is wrong only for the steps before the last
    "model_lstm_upstream_at_every_step": (
        ("other", "slices"),
        "dx: right only at the last time step (axis 1)",
    ),
    # revised after the first measurement, from the code: dx: right only at the last time step
    # (axis 1); tanh(M)'s derivative only acts on what flows back to earlier steps
    "step_gate_tanh_derivative_missing": (
        ("other", "slices"),
        "dx: right only at the last time step (axis 1)",
    ),
    # revised after the first measurement, from the code: M0 and dx at earlier steps: 0 (the path
    # back through time is missing)
    "model_bptt_truncated_to_one_step": ("zero", "M0 and dx at earlier steps: 0"),
}
