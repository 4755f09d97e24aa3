"""Wrong implementations of 10_resnet that the hidden tests must catch, and correct variants in
other styles that must keep full marks (test-of-tests).

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward, variant

_LN_BACKWARD_BODY = """    xhat, inv, gamma = cache
    dxhat = dout * gamma                               # (B, H)
    dx = inv * (dxhat - dxhat.mean(axis=1, keepdims=True)
                - xhat * (dxhat * xhat).mean(axis=1, keepdims=True))
    return {"dx": dx, "dgamma": (dout * xhat).sum(axis=0), "dbeta": dout.sum(axis=0)}"""

_PLAIN_BACKWARD_BODY = """    x, W, cache_ln, cache_relu = cache
    dn = relu_backward(dout, cache_relu)["dx"]         # (B, H)
    g = layernorm_backward(dn, cache_ln)               # dz (B, H), dgamma, dbeta (H,)
    return {"dx": g["dx"] @ W.T, "dW": x.T @ g["dx"],
            "dgamma": g["dgamma"], "dbeta": g["dbeta"]}"""

_RES_FORWARD_BODY = """    h, cache_1 = plain_block_forward(x, W1, gamma1, beta1)   # (B, H)
    z2 = h @ W2                                              # (B, H)
    f, cache_ln = layernorm_forward(z2, gamma2, beta2)       # (B, H) the residual F(x)
    out, cache_relu = relu_forward(x + f)                    # (B, H)
    return out, (cache_1, h, W2, cache_ln, cache_relu)"""

_RES_BACKWARD_BODY = """    cache_1, h, W2, cache_ln, cache_relu = cache
    ds = relu_backward(dout, cache_relu)["dx"]               # (B, H) into the sum x + F(x)
    g2 = layernorm_backward(ds, cache_ln)                    # dz2 (B, H), dgamma2, dbeta2
    g1 = plain_block_backward(g2["dx"] @ W2.T, cache_1)      # through h into the branch
    return {"dx": ds + g1["dx"], "dW1": g1["dW"], "dgamma1": g1["dgamma"],
            "dbeta1": g1["dbeta"], "dW2": h.T @ g2["dx"], "dgamma2": g2["dgamma"],
            "dbeta2": g2["dbeta"]}"""

_NET_LOSS_BODY = """    x, y = batch
    plain = "W" in params
    names = ["W", "gamma", "beta"] if plain else ["W1", "gamma1", "beta1", "W2", "gamma2", "beta2"]
    forward = plain_block_forward if plain else residual_block_forward
    backward = plain_block_backward if plain else residual_block_backward
    z, cache_in = affine_forward(x, params["W_in"], params["b_in"])   # (B, H)
    h, cache_relu = relu_forward(z)                                   # (B, H)
    caches = []
    for l in range(params[names[0]].shape[0]):
        h, cache = forward(h, *[params[k][l] for k in names])         # (B, H)
        caches.append(cache)
    logits, cache_out = affine_forward(h, params["W_out"], params["b_out"])  # (B, C)
    loss, dlogits = softmax_cross_entropy(logits, y)

    grads = {k: np.zeros_like(v) for k, v in params.items()}
    g = affine_backward(dlogits, cache_out)
    grads["W_out"], grads["b_out"], dh = g["dW"], g["db"], g["dx"]
    for l in reversed(range(len(caches))):
        g = backward(dh, caches[l])
        for k in names:
            grads[k][l] = g["d" + k]
        dh = g["dx"]                                                  # (B, H)
    g = affine_backward(relu_backward(dh, cache_relu)["dx"], cache_in)
    grads["W_in"], grads["b_in"] = g["dW"], g["db"]
    return loss, grads"""

# From the forward's body to the end of the backward, in the plain and residual cells.
_PLAIN_CELL_BODIES = '''    z = x @ W                                          # (B, H)
    n, cache_ln = layernorm_forward(z, gamma, beta)    # (B, H)
    out, cache_relu = relu_forward(n)                  # (B, H)
    return out, (x, W, cache_ln, cache_relu)


def plain_block_backward(dout, cache):
    """Gradients of plain_block_forward.

    Inputs:
      dout:  (B, H) upstream gradient.
      cache: from plain_block_forward.
    Returns:
      dict with 'dx' (B, H_in), 'dW' (H_in, H), 'dgamma' (H,), 'dbeta' (H,).
    """
    x, W, cache_ln, cache_relu = cache
    dn = relu_backward(dout, cache_relu)["dx"]         # (B, H)
    g = layernorm_backward(dn, cache_ln)               # dz (B, H), dgamma, dbeta (H,)
    return {"dx": g["dx"] @ W.T, "dW": x.T @ g["dx"],
            "dgamma": g["dgamma"], "dbeta": g["dbeta"]}'''

_RES_CELL_BODIES = '''    h, cache_1 = plain_block_forward(x, W1, gamma1, beta1)   # (B, H)
    z2 = h @ W2                                              # (B, H)
    f, cache_ln = layernorm_forward(z2, gamma2, beta2)       # (B, H) the residual F(x)
    out, cache_relu = relu_forward(x + f)                    # (B, H)
    return out, (cache_1, h, W2, cache_ln, cache_relu)


def residual_block_backward(dout, cache):
    """Gradients of residual_block_forward.

    Inputs:
      dout:  (B, H) upstream gradient.
      cache: from residual_block_forward.
    Returns:
      dict with 'dx' (B, H), 'dW1' (H, H), 'dgamma1' (H,), 'dbeta1' (H,), 'dW2' (H, H),
      'dgamma2' (H,), 'dbeta2' (H,).
    """
    cache_1, h, W2, cache_ln, cache_relu = cache
    ds = relu_backward(dout, cache_relu)["dx"]               # (B, H) into the sum x + F(x)
    g2 = layernorm_backward(ds, cache_ln)                    # dz2 (B, H), dgamma2, dbeta2
    g1 = plain_block_backward(g2["dx"] @ W2.T, cache_1)      # through h into the branch
    return {"dx": ds + g1["dx"], "dW1": g1["dW"], "dgamma1": g1["dgamma"],
            "dbeta1": g1["dbeta"], "dW2": h.T @ g2["dx"], "dgamma2": g2["dgamma"],
            "dbeta2": g2["dbeta"]}'''

# A layer-norm backward by centred differences (tests/mutants.py). The cache holds xhat, the
# inverse standard deviation and gamma: xhat / inv has the same centred values and variance as x
# (layer normalisation ignores a row's mean), and the gradient does not depend on beta, so it is
# exact to ~1e-10 and passes every gradient check; only the time budgets catch it (the blocks and
# the network call it too).
_LN_NUMERICAL_BACKWARD = numerical_backward(
    """    xhat, inv, gamma = cache
    args = {"x": xhat / inv, "gamma": gamma.copy(), "beta": np.zeros_like(gamma)}""",
    "np.sum(layernorm_forward(**args)[0] * dout)",
)

MUTANTS = [
    # ---------------------------------------------------------------- layernorm
    mutant(
        "layernorm_numerical_backward",
        "layernorm_code",
        _LN_BACKWARD_BODY,
        _LN_NUMERICAL_BACKWARD,
        "layernorm_ignores_row_shifts_and_dx_rows_sum_to_zero",
        "layernorm_backward_fast",
        "plain_block_backward_fast",
        "residual_block_backward_fast",
        "net_loss_trains_like_reference[residual]",
        "net_loss_trains_like_reference[plain]",
        "net_loss_fast",
    ),
    mutant(
        "layernorm_dx_forgets_the_variance_path",
        "layernorm_code",
        """    dx = inv * (dxhat - dxhat.mean(axis=1, keepdims=True)
                - xhat * (dxhat * xhat).mean(axis=1, keepdims=True))""",
        """    dx = inv * (dxhat - dxhat.mean(axis=1, keepdims=True))""",
        "layernorm_backward_gradcheck[dx]",
        "layernorm_backward_fast",
        "plain_block_backward_gradcheck[dx]",
        "plain_block_backward_gradcheck[dW]",
        "plain_block_backward_at_relu_kinks",
        "plain_block_backward_fast",
        "residual_block_backward_gradcheck[dx]",
        "residual_block_backward_gradcheck[dW1]",
        "residual_block_backward_gradcheck[dgamma1]",
        "residual_block_backward_gradcheck[dbeta1]",
        "residual_block_backward_gradcheck[dW2]",
        "residual_block_backward_at_relu_kinks",
        "residual_block_backward_fast",
        "net_loss_gradcheck[plain]",
        "net_loss_gradcheck[residual]",
        "net_loss_trains_like_reference[residual]",
        "net_loss_trains_like_reference[plain]",
        "net_loss_fast",
    ),
    mutant(
        "layernorm_dx_forgets_the_mean_path",
        "layernorm_code",
        """    dx = inv * (dxhat - dxhat.mean(axis=1, keepdims=True)
                - xhat * (dxhat * xhat).mean(axis=1, keepdims=True))""",
        """    dx = inv * (dxhat - xhat * (dxhat * xhat).mean(axis=1, keepdims=True))""",
        "layernorm_backward_gradcheck[dx]",
        "layernorm_ignores_row_shifts_and_dx_rows_sum_to_zero",
        "layernorm_backward_fast",
        "plain_block_backward_gradcheck[dx]",
        "plain_block_backward_gradcheck[dW]",
        "plain_block_backward_at_relu_kinks",
        "plain_block_backward_fast",
        "residual_block_backward_gradcheck[dx]",
        "residual_block_backward_gradcheck[dW1]",
        "residual_block_backward_gradcheck[dgamma1]",
        "residual_block_backward_gradcheck[dbeta1]",
        "residual_block_backward_gradcheck[dW2]",
        "residual_block_backward_at_relu_kinks",
        "residual_block_backward_fast",
        "net_loss_gradcheck[plain]",
        "net_loss_gradcheck[residual]",
        "net_loss_trains_like_reference[residual]",
        "net_loss_trains_like_reference[plain]",
        "net_loss_fast",
    ),
    mutant(
        "layernorm_normalises_over_the_batch",
        "layernorm_code",
        """    mu = x.mean(axis=1, keepdims=True)                 # (B, 1)
    xc = x - mu                                        # (B, H)
    var = (xc**2).mean(axis=1, keepdims=True)          # (B, 1)""",
        """    mu = x.mean(axis=0, keepdims=True)                 # (1, H) as in batch norm
    xc = x - mu                                        # (B, H)
    var = (xc**2).mean(axis=0, keepdims=True)          # (1, H)""",
        "layernorm_forward_matches_reference[B4_H6]",
        "layernorm_forward_matches_reference[batch1]",
        "layernorm_forward_matches_reference[wide]",
        "layernorm_backward_gradcheck[dx]",
        "layernorm_ignores_row_shifts_and_dx_rows_sum_to_zero",
        "layernorm_backward_fast",
        "plain_block_forward_matches_reference[B5_3to4]",
        "plain_block_forward_matches_reference[batch1_wide]",
        "plain_block_backward_gradcheck[dx]",
        "plain_block_backward_gradcheck[dW]",
        "plain_block_backward_at_relu_kinks",
        "plain_block_backward_fast",
        "residual_block_forward_matches_reference[B5_H4]",
        "residual_block_forward_matches_reference[batch1_H32]",
        "residual_block_backward_gradcheck[dx]",
        "residual_block_backward_gradcheck[dW1]",
        "residual_block_backward_gradcheck[dgamma1]",
        "residual_block_backward_gradcheck[dbeta1]",
        "residual_block_backward_gradcheck[dW2]",
        "residual_block_backward_at_relu_kinks",
        "residual_block_backward_fast",
        "net_loss_value_matches_reference[plain_5]",
        "net_loss_value_matches_reference[residual_6]",
        "net_loss_gradcheck[plain]",
        "net_loss_gradcheck[residual]",
        "net_loss_trains_like_reference[residual]",
        "net_loss_trains_like_reference[plain]",
        "net_loss_fast",
    ),
    mutant(
        "layernorm_dgamma_averaged_over_the_batch",
        "layernorm_code",
        '"dgamma": (dout * xhat).sum(axis=0)',
        '"dgamma": (dout * xhat).mean(axis=0)',
        "layernorm_backward_gradcheck[dgamma]",
        "layernorm_backward_fast",
        "plain_block_backward_gradcheck[dgamma]",
        "plain_block_backward_at_relu_kinks",
        "plain_block_backward_fast",
        "residual_block_backward_gradcheck[dgamma1]",
        "residual_block_backward_gradcheck[dgamma2]",
        "residual_block_backward_at_relu_kinks",
        "residual_block_backward_fast",
        "net_loss_gradcheck[plain]",
        "net_loss_gradcheck[residual]",
        "net_loss_trains_like_reference[residual]",
        "net_loss_trains_like_reference[plain]",
        "net_loss_fast",
    ),
    mutant(
        "layernorm_dbeta_summed_over_the_wrong_axis",
        "layernorm_code",
        '"dbeta": dout.sum(axis=0)',
        '"dbeta": dout.sum(axis=1)',
        # dbeta has shape (B,): the blocks pass it on, and net_loss fails to store it.
        "layernorm_backward_gradcheck[dbeta]",
        "layernorm_backward_fast",
        "plain_block_backward_gradcheck[dbeta]",
        "plain_block_backward_at_relu_kinks",
        "plain_block_backward_fast",
        "residual_block_backward_gradcheck[dbeta1]",
        "residual_block_backward_gradcheck[dbeta2]",
        "residual_block_backward_at_relu_kinks",
        "residual_block_backward_fast",
        "net_loss_value_matches_reference[plain_5]",
        "net_loss_value_matches_reference[residual_6]",
        "net_loss_gradcheck[plain]",
        "net_loss_gradcheck[residual]",
        "net_loss_switched_off_blocks_equal_the_shallow_network",
        "net_loss_trains_like_reference[residual]",
        "net_loss_trains_like_reference[plain]",
        "net_loss_fast",
    ),
    # ---------------------------------------------------------------- plain_block
    mutant(
        "plain_block_relu_mask_treats_tiny_outputs_as_zero",
        "plain_block_code",
        'dn = relu_backward(dout, cache_relu)["dx"]         # (B, H)',
        "dn = dout * ((cache_relu > 0) & ~np.isclose(cache_relu, 0.0))  # 'numerically zero'",
        "plain_block_backward_at_relu_kinks",
    ),
    mutant(
        "plain_block_dW_skips_the_normalisation",
        "plain_block_code",
        '"dW": x.T @ g["dx"]',
        '"dW": x.T @ dn',
        "plain_block_backward_gradcheck[dW]",
        "plain_block_backward_at_relu_kinks",
        "plain_block_backward_fast",
        "residual_block_backward_gradcheck[dW1]",
        "residual_block_backward_at_relu_kinks",
        "residual_block_backward_fast",
        "net_loss_gradcheck[plain]",
        "net_loss_gradcheck[residual]",
        "net_loss_trains_like_reference[residual]",
        "net_loss_trains_like_reference[plain]",
        "net_loss_fast",
    ),
    mutant(
        "plain_block_dW_transposed",
        "plain_block_code",
        '"dW": x.T @ g["dx"]',
        '"dW": g["dx"].T @ x',
        "plain_block_backward_gradcheck[dW]",
        "plain_block_backward_at_relu_kinks",
        "plain_block_backward_fast",
        "residual_block_backward_gradcheck[dW1]",
        "residual_block_backward_at_relu_kinks",
        "residual_block_backward_fast",
        "net_loss_gradcheck[plain]",
        "net_loss_gradcheck[residual]",
        "net_loss_trains_like_reference[residual]",
        "net_loss_trains_like_reference[plain]",
        "net_loss_fast",
    ),
    # ---------------------------------------------------------------- residual_block
    mutant(
        "residual_block_backward_drops_the_shortcut",
        "residual_block_code",
        '"dx": ds + g1["dx"]',
        '"dx": g1["dx"]',
        "residual_block_backward_gradcheck[dx]",
        "residual_block_with_branch_off_is_the_identity",
        "residual_block_backward_at_relu_kinks",
        "residual_block_backward_fast",
        "net_loss_gradcheck[residual]",
        "net_loss_switched_off_blocks_equal_the_shallow_network",
        "net_loss_trains_like_reference[residual]",
        "net_loss_fast",
    ),
    mutant(
        "residual_block_forgets_the_final_relu",
        "residual_block_code",
        "out, cache_relu = relu_forward(x + f)                    # (B, H)",
        "out, cache_relu = x + f, x + f                           # no ReLU after the sum",
        "residual_block_forward_matches_reference[B5_H4]",
        "residual_block_forward_matches_reference[batch1_H32]",
        "residual_block_backward_gradcheck[dx]",
        "residual_block_backward_gradcheck[dW1]",
        "residual_block_backward_gradcheck[dgamma1]",
        "residual_block_backward_gradcheck[dbeta1]",
        "residual_block_backward_gradcheck[dW2]",
        "residual_block_backward_gradcheck[dgamma2]",
        "residual_block_backward_gradcheck[dbeta2]",
        "residual_block_backward_at_relu_kinks",
        "residual_block_backward_fast",
        "net_loss_value_matches_reference[residual_6]",
        "net_loss_gradcheck[residual]",
        "net_loss_trains_like_reference[residual]",
        "net_loss_fast",
    ),
    mutant(
        "residual_block_final_relu_mask_from_the_branch",
        "residual_block_code",
        'ds = relu_backward(dout, cache_relu)["dx"]',
        'ds = relu_backward(dout, cache_ln[0])["dx"]',
        "residual_block_backward_gradcheck[dx]",
        "residual_block_backward_gradcheck[dW1]",
        "residual_block_backward_gradcheck[dgamma1]",
        "residual_block_backward_gradcheck[dbeta1]",
        "residual_block_backward_gradcheck[dW2]",
        "residual_block_backward_gradcheck[dgamma2]",
        "residual_block_backward_gradcheck[dbeta2]",
        "residual_block_with_branch_off_is_the_identity",
        "residual_block_backward_at_relu_kinks",
        "residual_block_backward_fast",
        "net_loss_gradcheck[residual]",
        "net_loss_switched_off_blocks_equal_the_shallow_network",
        "net_loss_trains_like_reference[residual]",
        "net_loss_fast",
    ),
    mutant(
        "residual_block_dW2_from_the_block_input",
        "residual_block_code",
        '"dW2": h.T @ g2["dx"]',
        '"dW2": h.T @ ds',
        "residual_block_backward_gradcheck[dW2]",
        "residual_block_with_branch_off_is_the_identity",
        "residual_block_backward_at_relu_kinks",
        "residual_block_backward_fast",
        "net_loss_gradcheck[residual]",
        "net_loss_trains_like_reference[residual]",
        "net_loss_fast",
    ),
    # ---------------------------------------------------------------- net_loss
    mutant(
        "net_loss_walks_the_blocks_forwards_in_the_backward",
        "net_loss_code",
        "for l in reversed(range(len(caches))):",
        "for l in range(len(caches)):",
        "net_loss_gradcheck[plain]",
        "net_loss_gradcheck[residual]",
        "net_loss_trains_like_reference[residual]",
        "net_loss_trains_like_reference[plain]",
        "net_loss_fast",
    ),
    mutant(
        "net_loss_forgets_the_stem_relu_in_the_backward",
        "net_loss_code",
        'g = affine_backward(relu_backward(dh, cache_relu)["dx"], cache_in)',
        "g = affine_backward(dh, cache_in)",
        "net_loss_gradcheck[plain]",
        "net_loss_gradcheck[residual]",
        "net_loss_switched_off_blocks_equal_the_shallow_network",
        "net_loss_trains_like_reference[residual]",
        "net_loss_trains_like_reference[plain]",
        "net_loss_fast",
    ),
    mutant(
        "net_loss_stem_without_relu",
        "net_loss_code",
        "h, cache_relu = relu_forward(z)                                   # (B, H)",
        "h, cache_relu = z, np.ones_like(z)                                # no ReLU in the stem",
        "net_loss_value_matches_reference[plain_5]",
        "net_loss_value_matches_reference[residual_6]",
        "net_loss_value_matches_reference[no_blocks]",
        "net_loss_switched_off_blocks_equal_the_shallow_network",
        "net_loss_trains_like_reference[residual]",
        "net_loss_trains_like_reference[plain]",
    ),
    mutant(
        "net_loss_sum_instead_of_mean",
        "net_loss_code",
        "loss, dlogits = softmax_cross_entropy(logits, y)",
        "loss, dlogits = softmax_cross_entropy(logits, y)\n"
        "    loss, dlogits = loss * len(y), dlogits * len(y)",
        "net_loss_value_matches_reference[plain_5]",
        "net_loss_value_matches_reference[residual_6]",
        "net_loss_value_matches_reference[no_blocks]",
        "net_loss_trains_like_reference[residual]",
        "net_loss_trains_like_reference[plain]",
    ),
]


# Correct implementations in other styles: they must keep full marks.
VARIANTS = [
    variant(
        "layernorm_backward_long_form_through_mean_and_variance",
        "layernorm_code",
        _LN_BACKWARD_BODY,
        """    xhat, inv, gamma = cache
    H = xhat.shape[1]
    xc = xhat / inv                                    # x - mean, recovered
    dxhat = dout * gamma
    dvar = np.sum(dxhat * xc, axis=1, keepdims=True) * -0.5 * inv**3
    dmu = -np.sum(dxhat * inv, axis=1, keepdims=True) \\
        + dvar * np.mean(-2.0 * xc, axis=1, keepdims=True)
    dx = dxhat * inv + dvar * 2.0 * xc / H + dmu / H
    return {"dx": dx, "dgamma": np.sum(dout * xhat, axis=0), "dbeta": np.sum(dout, axis=0)}""",
    ),
    variant(
        "layernorm_backward_row_by_row_jacobian",
        "layernorm_code",
        _LN_BACKWARD_BODY,
        """    xhat, inv, gamma = cache
    B, H = xhat.shape
    dx = np.zeros_like(xhat)
    for b in range(B):
        J = inv[b, 0] * (np.eye(H) - 1.0 / H - np.outer(xhat[b], xhat[b]) / H)   # d xhat / d x
        dx[b] = J.T @ (dout[b] * gamma)
    dgamma = np.zeros(H)
    dbeta = np.zeros(H)
    for b in range(B):
        dgamma += dout[b] * xhat[b]
        dbeta += dout[b]
    return {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}""",
    ),
    variant(
        "plain_block_by_hand_with_einsum_and_a_dict_cache",
        "plain_block_code",
        _PLAIN_CELL_BODIES,
        """    z = np.einsum("bi,ih->bh", x, W)
    n, ln_cache = layernorm_forward(z, gamma, beta)
    return np.maximum(n, 0.0), {"x": x, "W": W, "ln": ln_cache, "mask": n > 0}


def plain_block_backward(dout, cache):
    g = layernorm_backward(dout * cache["mask"], cache["ln"])
    return {"dx": np.einsum("bh,ih->bi", g["dx"], cache["W"]),
            "dW": np.einsum("bi,bh->ih", cache["x"], g["dx"]),
            "dgamma": g["dgamma"], "dbeta": g["dbeta"]}""",
    ),
    variant(
        "residual_block_recomputes_its_forward_in_the_backward",
        "residual_block_code",
        _RES_CELL_BODIES,
        """    h, _ = plain_block_forward(x, W1, gamma1, beta1)
    f, _ = layernorm_forward(h @ W2, gamma2, beta2)
    return np.maximum(x + f, 0.0), (x, W1, gamma1, beta1, W2, gamma2, beta2)


def residual_block_backward(dout, cache):
    x, W1, gamma1, beta1, W2, gamma2, beta2 = cache
    n1, c1 = layernorm_forward(x @ W1, gamma1, beta1)
    h = np.maximum(n1, 0.0)
    f, c2 = layernorm_forward(h @ W2, gamma2, beta2)
    ds = dout * (x + f > 0)
    g2 = layernorm_backward(ds, c2)
    g1 = layernorm_backward((g2["dx"] @ W2.T) * (n1 > 0), c1)
    return {"dx": ds + g1["dx"] @ W1.T, "dW1": x.T @ g1["dx"], "dgamma1": g1["dgamma"],
            "dbeta1": g1["dbeta"], "dW2": h.T @ g2["dx"], "dgamma2": g2["dgamma"],
            "dbeta2": g2["dbeta"]}""",
    ),
    variant(
        "net_loss_with_lists_and_a_hand_written_softmax",
        "net_loss_code",
        _NET_LOSS_BODY,
        """    x, y = batch
    keys = [k for k in ("W", "gamma", "beta", "W1", "gamma1", "beta1", "W2", "gamma2", "beta2")
            if k in params]
    if "W" in params:
        fwd, bwd = plain_block_forward, plain_block_backward
    else:
        fwd, bwd = residual_block_forward, residual_block_backward
    z0 = x @ params["W_in"] + params["b_in"]
    h = np.maximum(z0, 0.0)
    caches = []
    for l in range(len(params[keys[0]])):
        h, c = fwd(h, **{k: params[k][l] for k in keys})
        caches.append(c)
    logits = h @ params["W_out"] + params["b_out"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    B = len(y)
    loss = -np.mean(np.log(p[np.arange(B), y]))
    dlogits = p.copy()
    dlogits[np.arange(B), y] -= 1.0
    dlogits /= B
    grads = {"W_out": h.T @ dlogits, "b_out": dlogits.sum(axis=0)}
    dh = dlogits @ params["W_out"].T
    per_layer = []
    for c in caches[::-1]:
        g = bwd(dh, c)
        per_layer.append(g)
        dh = g["dx"]
    per_layer = per_layer[::-1]
    for k in keys:
        grads[k] = np.array([g["d" + k] for g in per_layer]).reshape(params[k].shape)
    dz0 = dh * (z0 > 0)
    grads["W_in"] = x.T @ dz0
    grads["b_in"] = dz0.sum(axis=0)
    return float(loss), grads""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    "layernorm_dgamma_averaged_over_the_batch": (
        "factor",
        "dgamma: 1/B, B the batch size (the blocks' dgamma, dgamma1, dgamma2; net_loss's "
        "gamma, gamma1, gamma2)",
    ),
    "plain_block_dW_transposed": (
        "transpose",
        "residual_block's dW1 (H x H) and net_loss's W / W1 (each block's H x H slice); "
        "plain_block's dW (3 x 4 in the test) has the wrong shape, which the shape check reports",
    ),
}
