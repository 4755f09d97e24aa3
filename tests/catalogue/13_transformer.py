"""Wrong implementations of 13_transformer that the hidden tests must catch (test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook.
"""

from mutants import numerical_backward_mutant

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
    dict(
        name="pe_cos_in_even_columns",
        cell="positional_encoding_code",
        old="PE[:, 0::2] = np.sin(angle)",
        new="PE[:, 0::2] = np.cos(angle)",
        catches=[*_PE_CASES, "transformer_lm_forward_matches_reference"],
    ),
    dict(
        name="pe_wrong_frequency_exponent",
        cell="positional_encoding_code",
        old="angle = pos / 10000.0 ** (two_i / d)",
        new="angle = pos / 10000.0 ** (two_i / (2 * d))",
        catches=[_PE_CASES[0], _PE_CASES[3]],
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
    dict(
        name="sdpa_missing_scale_in_dQ",
        cell="sdpa_code",
        old="dQ = dS @ K / np.sqrt(dk)",
        new="dQ = dS @ K",
        catches=["sdpa_backward_gradcheck[dQ]", "mha_backward_gradcheck[dWq]"],
    ),
    dict(
        name="sdpa_softmax_backward_without_row_sum",
        cell="sdpa_code",
        old="dS = A * (dA - np.sum(dA * A, axis=-1, keepdims=True))",
        new="dS = A * dA",
        catches=["sdpa_backward_gradcheck[dQ]", "sdpa_backward_gradcheck[dK]"],
    ),
    dict(
        name="sdpa_forgotten_mask",
        cell="sdpa_code",
        old="S = np.where(mask, S, -np.inf)",
        new="S = S",
        catches=[
            "sdpa_forward_matches_reference",
            "sdpa_attention_rows_sum_to_one_and_are_zero_where_masked",
            "sdpa_masked_keys_get_no_gradient",
            "sdpa_backward_gradcheck[dQ]",
            "mha_forward_matches_reference",
            "transformer_lm_causality",
        ],
    ),
    dict(
        name="sdpa_mask_after_softmax_without_renormalising",
        cell="sdpa_code",
        old="""    if mask is not None:
        S = np.where(mask, S, -np.inf)
    A = softmax(S, axis=-1)""",
        new="""    A = softmax(S, axis=-1)
    if mask is not None:
        A = A * mask""",
        catches=[
            "sdpa_forward_matches_reference",
            "sdpa_attention_rows_sum_to_one_and_are_zero_where_masked",
            "sdpa_backward_gradcheck[dQ]",
        ],
    ),
    dict(
        name="sdpa_naive_softmax_overflows",
        cell="sdpa_code",
        old="A = softmax(S, axis=-1)",
        new="A = np.exp(S) / np.exp(S).sum(axis=-1, keepdims=True)",
        catches=["sdpa_attention_rows_sum_to_one_and_are_zero_where_masked"],
    ),
    # ---- multi-head attention
    dict(
        name="mha_reshape_without_transpose",
        cell="mha_code",
        old="Q = (X @ Wq).reshape(B, T, h, dk).transpose(0, 2, 1, 3)",
        new="Q = (X @ Wq).reshape(B, h, T, dk)",
        catches=["mha_forward_matches_reference", "mha_permutation_equivariance"],
    ),
    dict(
        name="mha_dX_only_through_queries",
        cell="mha_code",
        old='"dX": dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T,',
        new='"dX": dQ @ Wq.T,',
        catches=[
            "mha_backward_gradcheck[dX]",
            "transformer_lm_loss_gradcheck[embedding]",
            "transformer_lm_training_reduces_loss_like_reference",
        ],
    ),
    dict(
        name="mha_transposed_weight_gradient",
        cell="mha_code",
        old='"dWq": X2.T @ dQ.reshape(-1, d),',
        new='"dWq": dQ.reshape(-1, d).T @ X2,',
        catches=["mha_backward_gradcheck[dWq]", "transformer_lm_loss_gradcheck[attention]"],
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
    dict(
        name="layernorm_std_plus_eps",
        cell="layernorm_code",
        old="inv_std = 1.0 / np.sqrt(var + eps)",
        new="inv_std = 1.0 / (np.sqrt(var) + eps)",
        catches=["layernorm_forward_matches_reference", "layernorm_normalises_and_ignores_shifts"],
    ),
    dict(
        name="layernorm_backward_missing_mean_term",
        cell="layernorm_code",
        old="dx = inv_std * (dxhat - dxhat.mean(axis=-1, keepdims=True)",
        new="dx = inv_std * (dxhat",
        catches=["layernorm_backward_gradcheck[dx]", "layernorm_normalises_and_ignores_shifts"],
    ),
    dict(
        name="layernorm_param_grads_summed_over_first_axis_only",
        cell="layernorm_code",
        old="lead = tuple(range(dy.ndim - 1))",
        new="lead = 0",
        catches=[
            "layernorm_backward_gradcheck[dgamma]",
            "layernorm_backward_gradcheck[dbeta]",
            "transformer_lm_loss_gradcheck[layernorms]",
        ],
    ),
    # ---- feed-forward network
    dict(
        name="ffn_backward_skips_relu_gate",
        cell="ffn_code",
        old='dh = relu_backward(g2["dx"], cache_relu)["dx"]',
        new='dh = g2["dx"]',
        catches=[
            "ffn_backward_gradcheck[dx]",
            "ffn_backward_gradcheck[dW1]",
            "ffn_backward_gradcheck[db1]",
            "ffn_backward_at_relu_kinks",
        ],
    ),
    dict(
        name="ffn_clipped_backward",
        cell="ffn_code",
        old='return {"dx": g1["dx"], "dW1": g1["dW"],',
        new='return {"dx": np.clip(g1["dx"], -1.0, 1.0), "dW1": g1["dW"],',
        catches=["ffn_backward_gradcheck[dx]", "ffn_backward_at_relu_kinks"],
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
    dict(
        name="lm_residual_gradient_not_accumulated",
        cell="transformer_lm_code",
        old='dx1 = dx2 + g["dx"]',
        new='dx1 = g["dx"]',
        catches=[
            "transformer_lm_loss_gradcheck[attention]",
            "transformer_lm_loss_gradcheck[embedding]",
            "transformer_lm_training_reduces_loss_like_reference",
        ],
    ),
    dict(
        name="lm_embedding_gradient_missing_sqrt_d",
        cell="transformer_lm_code",
        old='grads["E"] = embedding_backward(np.sqrt(d) * dx0, c_emb)["dE"]',
        new='grads["E"] = embedding_backward(dx0, c_emb)["dE"]',
        # Adam is invariant to a constant rescaling of one parameter's gradient, so training
        # barely notices this bug (curve off by ~1e-6 only at step 45); the gradient check must.
        catches=["transformer_lm_loss_gradcheck[embedding]"],
    ),
    dict(
        name="lm_loss_ignores_mask",
        cell="transformer_lm_code",
        old="loss, dlogits = softmax_cross_entropy(logits, targets, mask)",
        new="loss, dlogits = softmax_cross_entropy(logits, targets)",
        catches=[
            "transformer_lm_loss_value_matches_reference",
            "transformer_lm_loss_ignores_unmasked_targets",
            "transformer_lm_loss_gradcheck[output]",
            "transformer_lm_training_reduces_loss_like_reference",
        ],
    ),
    dict(
        name="lm_no_causal_mask",
        cell="transformer_lm_code",
        old="N_HEADS, causal_mask(T))",
        new="N_HEADS, None)",
        catches=["transformer_lm_causality", "transformer_lm_forward_matches_reference"],
    ),
    dict(
        name="lm_forward_forgets_final_layernorm",
        cell="transformer_lm_code",
        old='logits, c_out = affine_forward(xf, p["Wout"], p["bout"])',
        new='logits, c_out = affine_forward(x2, p["Wout"], p["bout"])',
        catches=[
            "transformer_lm_forward_matches_reference",
            "transformer_lm_loss_value_matches_reference",
        ],
    ),
    # ---- added after the coverage review: every hidden test is named by some mutant
    dict(
        name="ffn_forward_second_layer_reads_preactivations",
        cell="ffn_code",
        old="y, cache2 = affine_forward(r, W2, b2)",
        new="y, cache2 = affine_forward(h, W2, b2)",
        catches=["ffn_forward_matches_reference"],
    ),
    dict(
        name="ffn_backward_transposed_dW2",
        cell="ffn_code",
        old='"dW2": g2["dW"]',
        new='"dW2": g2["dW"].T',
        catches=["ffn_backward_gradcheck[dW2]"],
    ),
    dict(
        name="ffn_backward_db2_averaged_over_rows",
        cell="ffn_code",
        old='"db2": g2["db"]',
        new='"db2": g2["db"] / dy.reshape(-1, dy.shape[-1]).shape[0]',
        catches=["ffn_backward_gradcheck[db2]"],
    ),
]


# Correct but slow implementations: they must still score full marks (the integrity budget
# catches finite differences, not honest Python loops).
VARIANTS = [
    dict(
        name="sdpa_backward_loops_over_batch_heads_and_queries",
        cell="sdpa_code",
        old="    dV = np.swapaxes(A, -1, -2) @ dO ",
        new="""    dQ, dK, dV = np.zeros_like(Q), np.zeros_like(K), np.zeros_like(V)
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
]
