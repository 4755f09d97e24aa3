"""Wrong implementations of 13_transformer that the hidden tests must catch (test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook.
"""

from mutants import mutant, numerical_backward_mutant, variant

# A backward that differentiates numerically through the forward. Each recovers what its cache
# lacks (the mask from the attention weights, exactly zero where masked; b1 from the
# pre-activations; x from xhat), so it is accurate to ~1e-10 and passes every gradient check:
# only the realistic-size time budget catches it, or, for the FFN, inputs next to a ReLU kink
# (centred differences straddle the kink and return about half the slope).
_PE_CASES = [
    f"positional_encoding_matches_reference[{c}]" for c in ("50-16", "1-4", "7-2", "33-64")
]

MUTANTS = [
    # ---- positional encoding
    mutant(
        "pe_cos_in_even_columns",
        "positional_encoding_code",
        "PE[:, 0::2] = np.sin(angle)",
        "PE[:, 0::2] = np.cos(angle)",
        *_PE_CASES,
        "transformer_lm_forward_matches_reference",
    ),
    mutant(
        "pe_wrong_frequency_exponent",
        "positional_encoding_code",
        "angle = pos / 10000.0 ** (two_i / d)",
        "angle = pos / 10000.0 ** (two_i / (2 * d))",
        _PE_CASES[0],
        _PE_CASES[3],
    ),
    # ---- scaled dot-product attention
    numerical_backward_mutant(
        "sdpa_numerical_backward",
        "sdpa_code",
        "    Q, K, V, A = cache\n    dk = Q.shape[-1]\n    dV = ",
        """    mask = A > 0  # masked weights are exactly zero
    args = {"Q": Q.copy(), "K": K.copy(), "V": V.copy()}""",
        "np.sum(sdpa_forward(mask=mask, **args)[0] * dO)",
        catches=["sdpa_backward_fast"],
    ),
    mutant(
        "sdpa_missing_scale_in_dQ",
        "sdpa_code",
        "dQ = dS @ K / np.sqrt(dk)",
        "dQ = dS @ K",
        "sdpa_backward_gradcheck[dQ]",
        "mha_backward_gradcheck[dWq]",
    ),
    mutant(
        "sdpa_softmax_backward_without_row_sum",
        "sdpa_code",
        "dS = A * (dA - np.sum(dA * A, axis=-1, keepdims=True))",
        "dS = A * dA",
        "sdpa_backward_gradcheck[dQ]",
        "sdpa_backward_gradcheck[dK]",
    ),
    mutant(
        "sdpa_forgotten_mask",
        "sdpa_code",
        "S = np.where(mask, S, -np.inf)",
        "S = S",
        "sdpa_forward_matches_reference",
        "sdpa_attention_rows_sum_to_one_and_are_zero_where_masked",
        "sdpa_masked_keys_get_no_gradient",
        "mha_forward_matches_reference",
        "transformer_lm_causality",
        "transformer_lm_forward_matches_reference",
    ),
    mutant(
        "sdpa_mask_after_softmax_without_renormalising",
        "sdpa_code",
        """    if mask is not None:
        S = np.where(mask, S, -np.inf)
    A = softmax(S, axis=-1)""",
        """    A = softmax(S, axis=-1)
    if mask is not None:
        A = A * mask""",
        "sdpa_forward_matches_reference",
        "sdpa_attention_rows_sum_to_one_and_are_zero_where_masked",
        "sdpa_backward_gradcheck[dQ]",
    ),
    mutant(
        "sdpa_naive_softmax_overflows",
        "sdpa_code",
        "A = softmax(S, axis=-1)",
        "A = np.exp(S) / np.exp(S).sum(axis=-1, keepdims=True)",
        # Scores in the thousands overflow to inf / inf = NaN (each forward test has such a case).
        "sdpa_forward_matches_reference",
        "sdpa_attention_rows_sum_to_one_and_are_zero_where_masked",
        "mha_forward_matches_reference",
    ),
    # ---- multi-head attention
    mutant(
        "mha_reshape_without_transpose",
        "mha_code",
        "Q = (X @ Wq).reshape(B, T, h, dk).transpose(0, 2, 1, 3)",
        "Q = (X @ Wq).reshape(B, h, T, dk)",
        "mha_forward_matches_reference",
        "mha_permutation_equivariance",
    ),
    mutant(
        "mha_dX_only_through_queries",
        "mha_code",
        '"dX": dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T,',
        '"dX": dQ @ Wq.T,',
        "mha_backward_gradcheck[dX]",
        "transformer_lm_loss_gradcheck[embedding]",
        "transformer_lm_training_reduces_loss_like_reference",
    ),
    mutant(
        "mha_transposed_weight_gradient",
        "mha_code",
        '"dWq": X2.T @ dQ.reshape(-1, d),',
        '"dWq": dQ.reshape(-1, d).T @ X2,',
        "mha_backward_gradcheck[dWq]",
        "transformer_lm_loss_gradcheck[attention]",
    ),
    numerical_backward_mutant(
        "mha_numerical_backward",
        "mha_code",
        "    X, Wq, Wk, Wv, Wo, h, Oc, sdpa_cache = cache",
        """    mask = sdpa_cache[3] > 0
    args = {"X": X.copy(), "Wq": Wq.copy(), "Wk": Wk.copy(), "Wv": Wv.copy(), "Wo": Wo.copy()}""",
        "np.sum(mha_forward(n_heads=h, mask=mask, **args)[0] * dY)",
        catches=["mha_backward_fast"],
    ),
    # ---- layer norm
    numerical_backward_mutant(
        "layernorm_numerical_backward",
        "layernorm_code",
        "    xhat, inv_std, gamma = cache\n",
        """    x = xhat / inv_std  # layer norm ignores the mean, so this x gives the same output
    zero = np.zeros_like(gamma)
    args = {"x": x, "gamma": gamma.copy()}""",
        "np.sum(layernorm_forward(beta=zero, **args)[0] * dy)",
        grads='{"dbeta": np.sum(dy, axis=tuple(range(dy.ndim - 1)))}',  # beta enters linearly
        catches=["layernorm_backward_fast"],
    ),
    mutant(
        "layernorm_std_plus_eps",
        "layernorm_code",
        "inv_std = 1.0 / np.sqrt(var + eps)",
        "inv_std = 1.0 / (np.sqrt(var) + eps)",
        "layernorm_forward_matches_reference",
        "layernorm_normalises_and_ignores_shifts",
    ),
    mutant(
        "layernorm_backward_missing_mean_term",
        "layernorm_code",
        "dx = inv_std * (dxhat - dxhat.mean(axis=-1, keepdims=True)",
        "dx = inv_std * (dxhat",
        "layernorm_backward_gradcheck[dx]",
        "layernorm_normalises_and_ignores_shifts",
    ),
    mutant(
        "layernorm_param_grads_summed_over_first_axis_only",
        "layernorm_code",
        "lead = tuple(range(dy.ndim - 1))",
        "lead = 0",
        "layernorm_backward_gradcheck[dgamma]",
        "layernorm_backward_gradcheck[dbeta]",
        "transformer_lm_loss_gradcheck[layernorms]",
    ),
    # ---- feed-forward network
    mutant(
        "ffn_backward_skips_relu_gate",
        "ffn_code",
        'dh = relu_backward(g2["dx"], cache_relu)["dx"]',
        'dh = g2["dx"]',
        "ffn_backward_gradcheck[dx]",
        "ffn_backward_gradcheck[dW1]",
        "ffn_backward_gradcheck[db1]",
        "ffn_backward_at_relu_kinks",
        "transformer_lm_loss_gradcheck[ffn]",
    ),
    mutant(
        "ffn_clipped_backward",
        "ffn_code",
        'return {"dx": g1["dx"], "dW1": g1["dW"],',
        'return {"dx": np.clip(g1["dx"], -1.0, 1.0), "dW1": g1["dW"],',
        "ffn_backward_gradcheck[dx]",
        "ffn_backward_at_relu_kinks",
    ),
    numerical_backward_mutant(
        "ffn_numerical_backward",
        "ffn_code",
        "    cache1, cache_relu, cache2 = cache",
        """    x, W1 = cache1
    W2 = cache2[1]
    b1 = (cache_relu - x @ W1).reshape(-1, W1.shape[1])[0]
    args = {"x": x.copy(), "W1": W1.copy(), "b1": b1.copy(), "W2": W2.copy()}""",
        "np.sum(ffn_forward(b2=np.zeros(W2.shape[1]), **args)[0] * dy)",
        grads='{"db2": dy.reshape(-1, dy.shape[-1]).sum(axis=0)}',  # b2 enters linearly
        catches=["ffn_backward_at_relu_kinks"],
    ),
    # ---- the language model
    mutant(
        "lm_residual_gradient_not_accumulated",
        "transformer_lm_code",
        'dx1 = dx2 + g["dx"]',
        'dx1 = g["dx"]',
        "transformer_lm_loss_gradcheck[attention]",
        "transformer_lm_loss_gradcheck[embedding]",
        "transformer_lm_training_reduces_loss_like_reference",
    ),
    mutant(
        "lm_embedding_gradient_missing_sqrt_d",
        "transformer_lm_code",
        'grads["E"] = embedding_backward(np.sqrt(d) * dx0, c_emb)["dE"]',
        'grads["E"] = embedding_backward(dx0, c_emb)["dE"]',
        # Adam is invariant to a constant rescaling of one parameter's gradient, so training
        # barely notices this bug (curve off by ~1e-6 only at step 45); the gradient check must.
        "transformer_lm_loss_gradcheck[embedding]",
    ),
    mutant(
        "lm_loss_ignores_mask",
        "transformer_lm_code",
        "loss, dlogits = softmax_cross_entropy(logits, targets, mask)",
        "loss, dlogits = softmax_cross_entropy(logits, targets)",
        "transformer_lm_loss_value_matches_reference",
        "transformer_lm_loss_ignores_unmasked_targets",
        "transformer_lm_training_reduces_loss_like_reference",
    ),
    mutant(
        "lm_no_causal_mask",
        "transformer_lm_code",
        "N_HEADS, causal_mask(T))",
        "N_HEADS, None)",
        "transformer_lm_causality",
        "transformer_lm_forward_matches_reference",
    ),
    mutant(
        "lm_forward_forgets_final_layernorm",
        "transformer_lm_code",
        'logits, c_out = affine_forward(xf, p["Wout"], p["bout"])',
        'logits, c_out = affine_forward(x2, p["Wout"], p["bout"])',
        "transformer_lm_forward_matches_reference",
        "transformer_lm_loss_value_matches_reference",
    ),
    # ---- added after the coverage review: every hidden test is named by some mutant
    mutant(
        "ffn_forward_second_layer_reads_preactivations",
        "ffn_code",
        "y, cache2 = affine_forward(r, W2, b2)",
        "y, cache2 = affine_forward(h, W2, b2)",
        "ffn_forward_matches_reference",
    ),
    mutant(
        "ffn_backward_transposed_dW2",
        "ffn_code",
        '"dW2": g2["dW"]',
        '"dW2": g2["dW"].T',
        "ffn_backward_gradcheck[dW2]",
        "transformer_lm_loss_gradcheck[ffn]",
    ),
    mutant(
        "ffn_backward_db2_averaged_over_rows",
        "ffn_code",
        '"db2": g2["db"]',
        '"db2": g2["db"] / dy.reshape(-1, dy.shape[-1]).shape[0]',
        "ffn_backward_gradcheck[db2]",
        "transformer_lm_loss_gradcheck[ffn]",
    ),
    # ---- added with the fair-grading rules: each gradient has a mutant of its own, and a
    # placeholder backward (fast, but wrong) earns nothing on the time budget either
    mutant(
        "sdpa_dV_without_transpose",
        "sdpa_code",
        "dV = np.swapaxes(A, -1, -2) @ dO ",
        "dV = A @ dO ",
        "sdpa_backward_gradcheck[dV]",
        "mha_backward_gradcheck[dWv]",
    ),
    mutant(
        "mha_dWk_from_query_gradient",
        "mha_code",
        '"dWk": X2.T @ dK.reshape(-1, d),',
        '"dWk": X2.T @ dQ.reshape(-1, d),',
        "mha_backward_gradcheck[dWk]",
        "transformer_lm_loss_gradcheck[attention]",
    ),
    mutant(
        "mha_dWo_transposed",
        "mha_code",
        "dWo = Oc.reshape(-1, d).T @ dY.reshape(-1, d)",
        "dWo = dY.reshape(-1, d).T @ Oc.reshape(-1, d)",
        "mha_backward_gradcheck[dWo]",
    ),
    mutant(
        "sdpa_backward_placeholder_zeros",
        "sdpa_code",
        '    return {"dQ": dQ, "dK": dK, "dV": dV}',
        '    return {"dQ": np.zeros_like(Q), "dK": np.zeros_like(K), "dV": np.zeros_like(V)}',
        "sdpa_backward_gradcheck[dQ]",
        "sdpa_backward_gradcheck[dK]",
        "sdpa_backward_gradcheck[dV]",
        "sdpa_backward_fast",
        "mha_backward_gradcheck[dX]",
    ),
    mutant(
        "mha_backward_placeholder_zeros",
        "mha_code",
        "    X, Wq, Wk, Wv, Wo, h, Oc, sdpa_cache = cache\n",
        """    X, Wq, Wk, Wv, Wo, h, Oc, sdpa_cache = cache
    zero = np.zeros_like(Wq)
    return {"dX": np.zeros_like(X), "dWq": zero, "dWk": zero, "dWv": zero, "dWo": zero}
""",
        "mha_backward_gradcheck[dX]",
        "mha_backward_gradcheck[dWo]",
        "mha_backward_fast",
        "transformer_lm_loss_gradcheck[attention]",
    ),
    mutant(
        # The output layer's cache holds the residual stream x2 instead of its input LN_f(x2).
        "lm_output_cache_holds_unnormalised_x2",
        "transformer_lm_code",
        "    cache = (d, c_emb, c_ln1, c_att, c_ln2, c_ffn, c_lnf, c_out)",
        '    cache = (d, c_emb, c_ln1, c_att, c_ln2, c_ffn, c_lnf, (x2, p["Wout"]))',
        "transformer_lm_loss_gradcheck[output]",
    ),
    mutant(
        "layernorm_backward_placeholder_zeros",
        "layernorm_code",
        "    xhat, inv_std, gamma = cache\n",
        """    xhat, inv_std, gamma = cache
    return {"dx": np.zeros_like(dy), "dgamma": np.zeros_like(gamma), "dbeta": np.zeros_like(gamma)}
""",
        "layernorm_backward_gradcheck[dx]",
        "layernorm_backward_gradcheck[dgamma]",
        "layernorm_backward_gradcheck[dbeta]",
        "layernorm_backward_fast",
    ),
]


def _backward_head(fn: str, dout: str, upstream: str, returns: str) -> str:
    """The reference's text between ``<fn>_forward``'s body and ``<fn>_backward``'s: two blank
    lines, the signature and the docstring (all four backwards here follow one layout)."""
    return f'''


def {fn}_backward({dout}, cache):
    """Backward pass of {fn}_forward.

    Inputs:
        {dout}: {upstream}.
        cache: from {fn}_forward.
    Returns:
        {returns}.
    """
'''


# ------------------------------------------------------------------------------ variants
# Reference text the variants below rewrite whole (function bodies, and the backward's header
# between them, so that a variant may change the cache's layout).
_SDPA_FWD = """    dk = Q.shape[-1]
    S = Q @ np.swapaxes(K, -1, -2) / np.sqrt(dk)                   # (..., Tq, Tk)
    if mask is not None:
        S = np.where(mask, S, -np.inf)
    A = softmax(S, axis=-1)                                        # (..., Tq, Tk)
    O = A @ V                                                      # (..., Tq, dv)
    cache = (Q, K, V, A)
    return O, A, cache"""

_SDPA_BWD_HEAD = _backward_head(
    "sdpa",
    "dO",
    "(..., Tq, dv) upstream gradient of the output O",
    "dict with 'dQ': (..., Tq, dk), 'dK': (..., Tk, dk), 'dV': (..., Tk, dv)",
)

_SDPA_BWD = """    Q, K, V, A = cache
    dk = Q.shape[-1]
    dV = np.swapaxes(A, -1, -2) @ dO                               # (..., Tk, dv)
    dA = dO @ np.swapaxes(V, -1, -2)                               # (..., Tq, Tk)
    dS = A * (dA - np.sum(dA * A, axis=-1, keepdims=True))         # (..., Tq, Tk)
    dQ = dS @ K / np.sqrt(dk)                                      # (..., Tq, dk)
    dK = np.swapaxes(dS, -1, -2) @ Q / np.sqrt(dk)                 # (..., Tk, dk)
    return {"dQ": dQ, "dK": dK, "dV": dV}"""

_MHA_FWD = """    B, T, d = X.shape
    h, dk = n_heads, d // n_heads
    Q = (X @ Wq).reshape(B, T, h, dk).transpose(0, 2, 1, 3)       # (B, h, T, dk)
    K = (X @ Wk).reshape(B, T, h, dk).transpose(0, 2, 1, 3)       # (B, h, T, dk)
    V = (X @ Wv).reshape(B, T, h, dk).transpose(0, 2, 1, 3)       # (B, h, T, dk)
    O, A, sdpa_cache = sdpa_forward(Q, K, V, mask)                 # (B, h, T, dk), (B, h, T, T)
    Oc = O.transpose(0, 2, 1, 3).reshape(B, T, d)                  # (B, T, d)
    Y = Oc @ Wo                                                    # (B, T, d)
    cache = (X, Wq, Wk, Wv, Wo, n_heads, Oc, sdpa_cache)
    return Y, A, cache"""

_MHA_BWD_HEAD = _backward_head(
    "mha",
    "dY",
    "(B, T, d) upstream gradient of Y",
    "dict with 'dX': (B, T, d) and 'dWq', 'dWk', 'dWv', 'dWo': (d, d)",
)

_MHA_BWD = """    X, Wq, Wk, Wv, Wo, h, Oc, sdpa_cache = cache
    B, T, d = X.shape
    dk = d // h
    dWo = Oc.reshape(-1, d).T @ dY.reshape(-1, d)                  # (d, d)
    dOc = dY @ Wo.T                                                # (B, T, d)
    dO = dOc.reshape(B, T, h, dk).transpose(0, 2, 1, 3)            # (B, h, T, dk)
    g = sdpa_backward(dO, sdpa_cache)
    dQ = g["dQ"].transpose(0, 2, 1, 3).reshape(B, T, d)            # (B, T, d)
    dK = g["dK"].transpose(0, 2, 1, 3).reshape(B, T, d)            # (B, T, d)
    dV = g["dV"].transpose(0, 2, 1, 3).reshape(B, T, d)            # (B, T, d)
    X2 = X.reshape(-1, d)                                          # (B*T, d)
    return {
        "dX": dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T,
        "dWq": X2.T @ dQ.reshape(-1, d),
        "dWk": X2.T @ dK.reshape(-1, d),
        "dWv": X2.T @ dV.reshape(-1, d),
        "dWo": dWo,
    }"""

_LN_FWD = """    mu = x.mean(axis=-1, keepdims=True)                            # (..., 1)
    xc = x - mu                                                    # (..., d)
    var = np.mean(xc**2, axis=-1, keepdims=True)                   # (..., 1)
    inv_std = 1.0 / np.sqrt(var + eps)                             # (..., 1)
    xhat = xc * inv_std                                            # (..., d)
    y = gamma * xhat + beta
    cache = (xhat, inv_std, gamma)
    return y, cache"""

_LN_BWD_HEAD = _backward_head(
    "layernorm",
    "dy",
    "(..., d) upstream gradient",
    "dict with 'dx': (..., d), 'dgamma': (d,), 'dbeta': (d,)",
)

_LN_BWD = """    xhat, inv_std, gamma = cache
    dxhat = dy * gamma                                             # (..., d)
    dx = inv_std * (dxhat - dxhat.mean(axis=-1, keepdims=True)
                    - xhat * np.mean(dxhat * xhat, axis=-1, keepdims=True))
    lead = tuple(range(dy.ndim - 1))                               # every axis but the last
    return {"dx": dx, "dgamma": np.sum(dy * xhat, axis=lead), "dbeta": np.sum(dy, axis=lead)}"""

_FFN_FWD = """    h, cache1 = affine_forward(x, W1, b1)                          # (..., d_ff)
    r, cache_relu = relu_forward(h)                                # (..., d_ff)
    y, cache2 = affine_forward(r, W2, b2)                          # (..., d)
    return y, (cache1, cache_relu, cache2)"""

_FFN_BWD_HEAD = _backward_head(
    "ffn",
    "dy",
    "(..., d) upstream gradient",
    "dict with 'dx': (..., d), 'dW1': (d, d_ff), 'db1': (d_ff,), 'dW2': (d_ff, d), 'db2': (d,)",
)

_FFN_BWD = """    cache1, cache_relu, cache2 = cache
    g2 = affine_backward(dy, cache2)
    dh = relu_backward(g2["dx"], cache_relu)["dx"]                 # (..., d_ff)
    g1 = affine_backward(dh, cache1)
    return {"dx": g1["dx"], "dW1": g1["dW"], "db1": g1["db"], "dW2": g2["dW"], "db2": g2["db"]}"""

_LM_LOSS = """    inputs, targets, mask = batch
    logits, _, cache = transformer_lm_forward(params, inputs, use_pe)
    loss, dlogits = softmax_cross_entropy(logits, targets, mask)
    return loss, transformer_lm_backward(dlogits, cache)"""

_PE = """    pos = np.arange(T, dtype=np.float64)[:, None]                 # (T, 1)
    two_i = np.arange(0, d, 2, dtype=np.float64)[None, :]          # (1, d/2)
    angle = pos / 10000.0 ** (two_i / d)                           # (T, d/2)
    PE = np.zeros((T, d))
    PE[:, 0::2] = np.sin(angle)
    PE[:, 1::2] = np.cos(angle)
    return PE"""


# Correct implementations in other styles: they must score full marks (the integrity budgets
# catch finite differences, not honest Python loops; forward checks allow any equivalent
# arithmetic; the cache is the student's business).
VARIANTS = [
    variant(
        "sdpa_backward_loops_over_batch_heads_and_queries",
        "sdpa_code",
        "    dV = np.swapaxes(A, -1, -2) @ dO ",
        """    dQ, dK, dV = np.zeros_like(Q), np.zeros_like(K), np.zeros_like(V)
    for idx in np.ndindex(*Q.shape[:-2]):
        a, v, q, k, do = A[idx], V[idx], Q[idx], K[idx], dO[idx]
        for t in range(a.shape[0]):
            dV[idx] += np.outer(a[t], do[t])
            da = v @ do[t]
            ds = a[t] * (da - a[t] @ da)
            dQ[idx][t] += ds @ k / np.sqrt(dk)
            dK[idx] += np.outer(ds, q[t]) / np.sqrt(dk)
    return {"dQ": dQ, "dK": dK, "dV": dV}
    dV = np.swapaxes(A, -1, -2) @ dO """,
    ),
    # einsum throughout, a -1e30 mask instead of -inf, its own log-sum-exp softmax, a dict cache.
    variant(
        "sdpa_einsum_logsumexp_dict_cache",
        "sdpa_code",
        _SDPA_FWD + _SDPA_BWD_HEAD + _SDPA_BWD,
        """    scale = 1.0 / np.sqrt(Q.shape[-1])
    S = np.einsum("...qd,...kd->...qk", Q, K) * scale               # (..., Tq, Tk)
    if mask is not None:
        S = np.where(mask, S, -1e30)                               # exp(-1e30) is exactly 0
    m = S.max(axis=-1, keepdims=True)
    lse = m + np.log(np.exp(S - m).sum(axis=-1, keepdims=True))    # (..., Tq, 1)
    A = np.exp(S - lse)                                            # (..., Tq, Tk)
    O = np.einsum("...qk,...kv->...qv", A, V)                      # (..., Tq, dv)
    return O, A, {"Q": Q, "K": K, "V": V, "A": A, "scale": scale}"""
        + _SDPA_BWD_HEAD
        + """    Q, K, V, A, scale = (cache[k] for k in ("Q", "K", "V", "A", "scale"))
    dV = np.einsum("...qk,...qv->...kv", A, dO)                    # (..., Tk, dv)
    dA = np.einsum("...qv,...kv->...qk", dO, V)                    # (..., Tq, Tk)
    dS = A * (dA - np.einsum("...qk,...qk->...q", dA, A)[..., None])
    dQ = np.einsum("...qk,...kd->...qd", dS, K) * scale            # (..., Tq, dk)
    dK = np.einsum("...qk,...qd->...kd", dS, Q) * scale            # (..., Tk, dk)
    return {"dQ": dQ, "dK": dK, "dV": dV}""",
    ),
    # One head at a time on column slices of the projections, a list of per-head caches.
    variant(
        "mha_loop_over_heads",
        "mha_code",
        _MHA_FWD + _MHA_BWD_HEAD + _MHA_BWD,
        """    B, T, d = X.shape
    dk = d // n_heads
    if mask is not None:
        mask = np.broadcast_to(mask, (B, n_heads, T, T))
    outs, weights, caches = [], [], []
    for i in range(n_heads):
        cols = slice(i * dk, (i + 1) * dk)
        q, k, v = X @ Wq[:, cols], X @ Wk[:, cols], X @ Wv[:, cols]  # (B, T, dk) each
        o, a, c = sdpa_forward(q, k, v, None if mask is None else mask[:, i])
        outs.append(o)
        weights.append(a)
        caches.append(c)
    concat = np.concatenate(outs, axis=-1)                         # (B, T, d)
    Y = concat @ Wo
    return Y, np.stack(weights, axis=1), (X, Wq, Wk, Wv, Wo, concat, caches)"""
        + _MHA_BWD_HEAD
        + """    X, Wq, Wk, Wv, Wo, concat, caches = cache
    dk = X.shape[-1] // len(caches)
    dWo = np.einsum("btd,bte->de", concat, dY)
    dconcat = dY @ Wo.T                                            # (B, T, d)
    dX = np.zeros_like(X)
    dWq, dWk, dWv = np.zeros_like(Wq), np.zeros_like(Wk), np.zeros_like(Wv)
    for i, c in enumerate(caches):
        cols = slice(i * dk, (i + 1) * dk)
        g = sdpa_backward(dconcat[:, :, cols], c)
        dWq[:, cols] = np.einsum("btd,bte->de", X, g["dQ"])
        dWk[:, cols] = np.einsum("btd,bte->de", X, g["dK"])
        dWv[:, cols] = np.einsum("btd,bte->de", X, g["dV"])
        dX += g["dQ"] @ Wq[:, cols].T + g["dK"] @ Wk[:, cols].T + g["dV"] @ Wv[:, cols].T
    return {"dX": dX, "dWq": dWq, "dWk": dWk, "dWv": dWv, "dWo": dWo}""",
    ),
    # np.var, a cache of the inputs only, and the backward recomputed by the textbook chain rule
    # through the variance and the mean.
    variant(
        "layernorm_recompute_chain_rule",
        "layernorm_code",
        _LN_FWD + _LN_BWD_HEAD + _LN_BWD,
        """    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    y = gamma * (x - mu) / np.sqrt(var + eps) + beta
    return y, {"x": x, "gamma": gamma, "eps": eps}"""
        + _LN_BWD_HEAD
        + """    x, gamma, eps = cache["x"], cache["gamma"], cache["eps"]
    D = x.shape[-1]
    xc = x - x.mean(axis=-1, keepdims=True)
    std = np.sqrt((xc**2).mean(axis=-1, keepdims=True) + eps)
    dxhat = dy * gamma
    dvar = -0.5 * np.sum(dxhat * xc, axis=-1, keepdims=True) / std**3
    dmu = -np.sum(dxhat, axis=-1, keepdims=True) / std - 2.0 * dvar * xc.mean(-1, keepdims=True)
    dx = dxhat / std + dvar * 2.0 * xc / D + dmu / D
    flat_dy = dy.reshape(-1, D)
    flat_xhat = (xc / std).reshape(-1, D)
    return {"dx": dx, "dgamma": (flat_dy * flat_xhat).sum(axis=0), "dbeta": flat_dy.sum(axis=0)}""",
    ),
    # No helpers: rows flattened to a matrix, the ReLU as a boolean mask, a dict cache.
    variant(
        "ffn_plain_numpy_dict_cache",
        "ffn_code",
        _FFN_FWD + _FFN_BWD_HEAD + _FFN_BWD,
        """    lead = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1])                                # (N, d)
    h = x2 @ W1 + b1                                               # (N, d_ff)
    active = h > 0
    r = np.where(active, h, 0.0)
    y = r @ W2 + b2                                                # (N, d)
    cache = {"x2": x2, "r": r, "active": active, "W1": W1, "W2": W2, "lead": lead}
    return y.reshape(*lead, -1), cache"""
        + _FFN_BWD_HEAD
        + """    dy2 = dy.reshape(-1, dy.shape[-1])                             # (N, d)
    dh = (dy2 @ cache["W2"].T) * cache["active"]                   # (N, d_ff)
    return {
        "dx": (dh @ cache["W1"].T).reshape(*cache["lead"], -1),
        "dW1": cache["x2"].T @ dh,
        "db1": dh.sum(axis=0),
        "dW2": cache["r"].T @ dy2,
        "db2": dy2.sum(axis=0),
    }""",
    ),
    # The masked cross-entropy written out (log-softmax, one-hot targets) instead of the helper.
    variant(
        "lm_loss_own_masked_cross_entropy",
        "transformer_lm_code",
        _LM_LOSS,
        """    inputs, targets, mask = batch
    logits, _, cache = transformer_lm_forward(params, inputs, use_pe)
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))       # (B, T, V)
    onehot = np.eye(logits.shape[-1])[targets]                     # (B, T, V)
    w = mask[..., None] / mask.sum()                               # (B, T, 1)
    loss = -np.sum(w * onehot * logp)
    dlogits = w * (np.exp(logp) - onehot)
    return float(loss), transformer_lm_backward(dlogits, cache)""",
    ),
    # Python loops over positions and frequencies, 10000**(-2i/d) as exp(-2i ln(10000) / d).
    variant(
        "positional_encoding_loops",
        "positional_encoding_code",
        _PE,
        """    PE = np.empty((T, d))
    for pos in range(T):
        for i in range(0, d, 2):
            angle = pos * np.exp(-i * np.log(10000.0) / d)
            PE[pos, i] = np.sin(angle)
            PE[pos, i + 1] = np.cos(angle)
    return PE""",
    ),
]

#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): the class of the error in the gradient of the
#: function the mutant edits, and the factor, axis or tensor it concerns. Mutants not listed are
#: of class "other" (among them the scatter bugs whose wrong rows are the ones the data repeats:
#: they follow the data, not a structure of the code).
BUG_CLASSES = {
    "mha_transposed_weight_gradient": ("transpose", "dWq (and Wq)"),
    "lm_embedding_gradient_missing_sqrt_d": ("factor", "E: 1/sqrt(d), d the model width"),
    "ffn_backward_db2_averaged_over_rows": (
        "factor",
        "db2 (and b2): 1/N, N the number of rows of x (the product of its leading axes)",
    ),
    "mha_dWo_transposed": ("transpose", "dWo (and Wo)"),
    "layernorm_backward_placeholder_zeros": (
        "zero",
        "dx, dgamma, dbeta zero everywhere (in the model every parameter but Wout, bout)",
    ),
    "sdpa_missing_scale_in_dQ": ("factor", "sdpa's dQ: sqrt(d_k)"),
    "sdpa_backward_placeholder_zeros": ("zero", "sdpa's gradients everywhere"),
    "mha_backward_placeholder_zeros": ("zero", "mha's gradients everywhere"),
    # revised after the first measurement, from the code: key 0 is never masked, so its
    # gradient is right
    "sdpa_mask_after_softmax_without_renormalising": (
        "slices",
        "dK: wrong only at the key positions the causal mask hides from some query (axis 2)",
    ),
}
