"""Wrong implementations of 15_identity_mappings that the hidden tests must catch (test-of-tests),
and correct implementations in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped). A bug in batchnorm reaches every unit and the stack, which call it, so its entry names
those tests too.
"""

from mutants import mutant, numerical_backward, variant

UNIT_GRADS = ["dx", "dg1", "dbe1", "dW1", "dg2", "dbe2", "dW2"]
_PRE_GRADCHECKS = [f"preact_unit_backward_gradcheck[{g}]" for g in UNIT_GRADS]
_POST_GRADCHECKS = [f"postact_unit_backward_gradcheck[{g}]" for g in UNIT_GRADS]
_STACK_GRADCHECKS = [f"stack_backward_gradcheck[{g}]" for g in UNIT_GRADS]
_PRE_FORWARD = [
    f"preact_unit_forward_matches_reference[{c}]" for c in ("B8_H5", "lam_half", "no_shortcut")
]
_POST_FORWARD = [f"postact_unit_forward_matches_reference[{c}]" for c in ("B8_H5", "lam_half")]
_STACK_FORWARD = [f"stack_forward_matches_reference[{c}]" for c in ("pre", "post", "pre_lam_half")]
_BN_TRAIN_FORWARD = [
    f"batchnorm_train_forward_matches_reference[{c}]"
    for c in ("B8_H5", "batch2", "wide", "constant_column")
]

# ------------------------------------------------------------------ the reference's bodies
_BN_BACKWARD_BODY = """    xhat, inv_std, gamma, train = cache
    dgamma = np.sum(dout * xhat, axis=0)             # (H,)
    dbeta = np.sum(dout, axis=0)                     # (H,)
    dxhat = dout * gamma                             # (B, H)
    if train:  # the mean and the variance depend on every row
        dx = inv_std * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))
    else:      # fixed statistics: a per-feature affine map
        dx = dxhat * inv_std
    return {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}"""

_BN_FORWARD_BODY = """    train = mean is None
    if train:
        mean = x.mean(axis=0)                        # (H,)
        var = ((x - mean) ** 2).mean(axis=0)         # (H,) biased: divided by B
    inv_std = 1.0 / np.sqrt(var + eps)               # (H,)
    xhat = (x - mean) * inv_std                      # (B, H)
    out = gamma * xhat + beta                        # (B, H)
    return out, (xhat, inv_std, gamma, train)"""

# A batchnorm backward by centred differences through batchnorm_forward (tests/mutants.py). The
# cache holds xhat and 1/std, so x is rebuilt up to a shift per column, which changes neither the
# training-mode output's derivatives (it is shift invariant) nor the evaluation mode's (affine).
# It is accurate to ~1e-9 and passes every gradient check; only the time budgets catch it, in
# batchnorm and in everything that calls it.
_BN_NUMERICAL_BACKWARD = numerical_backward(
    """    xhat, inv_std, gamma, train = cache
    args = {"x": xhat / inv_std, "gamma": gamma.copy(), "beta": np.zeros_like(gamma)}
    stats = {} if train else {"mean": np.zeros_like(gamma), "var": 1.0 / inv_std**2 - EPS}""",
    "np.sum(batchnorm_forward(**args, **stats)[0] * dout)",
)

_STACK_BACKWARD_BODY = """    unit, caches = cache
    backward = preact_unit_backward if unit == "pre" else postact_unit_backward
    L = len(caches)
    dlevels = np.array(dxs, dtype=np.float64)        # (L + 1, B, H), filled from the top
    per_unit = []
    for l in reversed(range(L)):
        g = backward(dlevels[l + 1], caches[l])      # dlevels[l + 1] is complete here
        dlevels[l] += g["dx"]
        per_unit.append(g)
    per_unit.reverse()                               # per_unit[l] is unit l's
    grads = {"d" + k: np.stack([g["d" + k] for g in per_unit]) for k in UNIT_KEYS}
    grads["dx"] = dlevels[0].copy()
    grads["dlevels"] = dlevels
    return grads"""

_BN_BACKWARD_HEAD = '''

def batchnorm_backward(dout, cache):
    """Gradients of batchnorm_forward, in the mode its cache was made in.

    Inputs:
      dout:  (B, H) upstream gradient dL/dout.
      cache: from batchnorm_forward.
    Returns:
      dict with 'dx' (B, H), 'dgamma' (H,), 'dbeta' (H,).
    """
'''
_BN_CELL_BODIES = _BN_FORWARD_BODY + "\n" + _BN_BACKWARD_HEAD + _BN_BACKWARD_BODY

_PRE_FORWARD_BODY = """    a1, c1 = batchnorm_forward(x, g1, be1)           # (B, H)
    r1 = np.maximum(a1, 0.0)                         # (B, H)
    z = r1 @ W1                                      # (B, H)
    a2, c2 = batchnorm_forward(z, g2, be2)           # (B, H)
    r2 = np.maximum(a2, 0.0)                         # (B, H)
    F = r2 @ W2                                      # (B, H) the residual function
    out = lam * x + F                                # (B, H)
    return out, (c1, a1, r1, W1, c2, a2, r2, W2, lam)"""

_PRE_BACKWARD_BODY = """    c1, a1, r1, W1, c2, a2, r2, W2, lam = cache
    dW2 = r2.T @ dout                                # (H, H)
    da2 = (dout @ W2.T) * (a2 > 0)                   # (B, H)
    g2 = batchnorm_backward(da2, c2)                 # dz (B, H), dg2, dbe2 (H,)
    dW1 = r1.T @ g2["dx"]                            # (H, H)
    da1 = (g2["dx"] @ W1.T) * (a1 > 0)               # (B, H)
    g1 = batchnorm_backward(da1, c1)                 # dx through F (B, H), dg1, dbe1 (H,)
    return {"dx": lam * dout + g1["dx"], "dg1": g1["dgamma"], "dbe1": g1["dbeta"], "dW1": dW1,
            "dg2": g2["dgamma"], "dbe2": g2["dbeta"], "dW2": dW2}"""

_PRE_CELL_BODIES = (
    _PRE_FORWARD_BODY
    + '''


def preact_unit_backward(dout, cache):
    """Gradients of preact_unit_forward.

    Inputs:
      dout:  (B, H) upstream gradient dL/dout.
      cache: from preact_unit_forward.
    Returns:
      dict with 'dx' (B, H), 'dg1', 'dbe1', 'dg2', 'dbe2' (H,), 'dW1', 'dW2' (H, H).
    """
'''
    + _PRE_BACKWARD_BODY
)

_POST_BACKWARD_BODY = """    x, W1, c1, a1, r1, W2, c2, s, lam = cache
    ds = dout * (s > 0)                              # (B, H)"""

# Unit backwards by centred differences through the unit's own forward (tests/mutants.py). The
# parameters are read back from the cache (each beta as the mean of a - gamma * xhat; the
# pre-activation unit's x up to a shift per column, which its derivatives do not see). Accurate
# to ~1e-9 away from kinks; the kink tests and the time budgets catch them.
_PRE_NUMERICAL_BACKWARD = numerical_backward(
    """    c1, a1, r1, W1, c2, a2, r2, W2, lam = cache
    (xhat1, inv1, g1, _), (xhat2, _, g2, _) = c1, c2
    args = {"x": xhat1 / inv1, "g1": g1.copy(), "be1": (a1 - g1 * xhat1).mean(axis=0),
            "W1": W1.copy(), "g2": g2.copy(), "be2": (a2 - g2 * xhat2).mean(axis=0),
            "W2": W2.copy()}""",
    "np.sum(preact_unit_forward(**args, lam=lam)[0] * dout)",
)

_POST_NUMERICAL_BACKWARD = numerical_backward(
    """    x, W1, c1, a1, r1, W2, c2, s, lam = cache
    (xhat1, _, g1, _), (xhat2, _, g2, _) = c1, c2
    args = {"x": x.copy(), "g1": g1.copy(), "be1": (a1 - g1 * xhat1).mean(axis=0),
            "W1": W1.copy(), "g2": g2.copy(), "be2": (s - lam * x - g2 * xhat2).mean(axis=0),
            "W2": W2.copy()}""",
    "np.sum(postact_unit_forward(**args, lam=lam)[0] * dout)",
)

MUTANTS = [
    # ---------------------------------------------------------------- batchnorm
    mutant(
        "batchnorm_numerical_backward",
        "batchnorm_code",
        _BN_BACKWARD_BODY,
        _BN_NUMERICAL_BACKWARD,
        "batchnorm_train_dx_columns_sum_to_zero",
        "batchnorm_train_backward_fast",
        "batchnorm_eval_backward_fast",
    ),
    mutant(
        "batchnorm_unbiased_variance",
        "batchnorm_code",
        "var = ((x - mean) ** 2).mean(axis=0)",
        "var = ((x - mean) ** 2).sum(axis=0) / (x.shape[0] - 1)",
        *_BN_TRAIN_FORWARD,
        "batchnorm_train_gradcheck[dx]",
        "batchnorm_train_output_is_normalised_and_shift_invariant",
        "batchnorm_eval_rows_independent_and_own_statistics_match_training",
        "batchnorm_train_backward_fast",
        *_PRE_FORWARD,
        "preact_unit_backward_gradcheck[dx]",
        "preact_unit_backward_gradcheck[dg1]",
        "preact_unit_backward_gradcheck[dbe1]",
        "preact_unit_backward_gradcheck[dW1]",
        "preact_unit_backward_at_relu_kinks",
        "preact_unit_backward_fast",
        *_POST_FORWARD,
        "postact_unit_backward_gradcheck[dx]",
        "postact_unit_backward_gradcheck[dg1]",
        "postact_unit_backward_gradcheck[dbe1]",
        "postact_unit_backward_gradcheck[dW1]",
        "postact_unit_backward_gradcheck[dW2]",
        "postact_unit_backward_at_relu_kinks",
        "postact_unit_backward_fast",
        *_STACK_FORWARD,
        *_STACK_GRADCHECKS,
        "stack_backward_gradcheck_post",
        "stack_dlevels_is_the_total_gradient_at_every_level",
        "stack_trains_like_reference",
        "stack_backward_fast",
    ),
    mutant(
        "batchnorm_backward_treats_batch_statistics_as_constants",
        "batchnorm_code",
        "dx = inv_std * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))",
        "dx = dxhat * inv_std",
        "batchnorm_train_gradcheck[dx]",
        "batchnorm_train_dx_columns_sum_to_zero",
        "batchnorm_train_backward_fast",
        "preact_unit_backward_gradcheck[dx]",
        "preact_unit_backward_gradcheck[dg1]",
        "preact_unit_backward_gradcheck[dbe1]",
        "preact_unit_backward_gradcheck[dW1]",
        "preact_unit_backward_at_relu_kinks",
        "preact_unit_backward_fast",
        "postact_unit_backward_gradcheck[dx]",
        "postact_unit_backward_gradcheck[dg1]",
        "postact_unit_backward_gradcheck[dbe1]",
        "postact_unit_backward_gradcheck[dW1]",
        "postact_unit_backward_gradcheck[dW2]",
        "postact_unit_backward_at_relu_kinks",
        "postact_unit_backward_fast",
        *_STACK_GRADCHECKS,
        "stack_backward_gradcheck_post",
        "stack_dlevels_is_the_total_gradient_at_every_level",
        "stack_trains_like_reference",
        "stack_backward_fast",
    ),
    mutant(
        "batchnorm_dgamma_averaged_over_the_batch",
        "batchnorm_code",
        "dgamma = np.sum(dout * xhat, axis=0)",
        "dgamma = np.mean(dout * xhat, axis=0)",
        "batchnorm_train_gradcheck[dgamma]",
        "batchnorm_eval_gradcheck[dgamma]",
        "batchnorm_train_backward_fast",
        "batchnorm_eval_backward_fast",
        "preact_unit_backward_gradcheck[dg1]",
        "preact_unit_backward_gradcheck[dg2]",
        "preact_unit_backward_at_relu_kinks",
        "preact_unit_backward_fast",
        "postact_unit_backward_gradcheck[dg1]",
        "postact_unit_backward_gradcheck[dg2]",
        "postact_unit_backward_at_relu_kinks",
        "postact_unit_backward_fast",
        "stack_backward_gradcheck[dg1]",
        "stack_backward_gradcheck[dg2]",
        "stack_backward_gradcheck_post",
        "stack_trains_like_reference",
        "stack_backward_fast",
    ),
    mutant(
        "batchnorm_dbeta_averaged_over_the_batch",
        "batchnorm_code",
        "dbeta = np.sum(dout, axis=0)",
        "dbeta = np.mean(dout, axis=0)",
        "batchnorm_train_gradcheck[dbeta]",
        "batchnorm_eval_gradcheck[dbeta]",
        "batchnorm_train_backward_fast",
        "batchnorm_eval_backward_fast",
        "preact_unit_backward_gradcheck[dbe1]",
        "preact_unit_backward_gradcheck[dbe2]",
        "preact_unit_backward_at_relu_kinks",
        "preact_unit_backward_fast",
        "postact_unit_backward_gradcheck[dbe1]",
        "postact_unit_backward_gradcheck[dbe2]",
        "postact_unit_backward_at_relu_kinks",
        "postact_unit_backward_fast",
        "stack_backward_gradcheck[dbe1]",
        "stack_backward_gradcheck[dbe2]",
        "stack_backward_gradcheck_post",
        "stack_trains_like_reference",
        "stack_backward_fast",
    ),
    mutant(
        "batchnorm_ignores_the_given_statistics",
        "batchnorm_code",
        "train = mean is None",
        "train = True",
        "batchnorm_eval_forward_matches_reference[B7_H4]",
        "batchnorm_eval_forward_matches_reference[batch1]",
        "batchnorm_eval_rows_independent_and_own_statistics_match_training",
    ),
    mutant(
        "batchnorm_eval_backward_uses_the_training_formula",
        "batchnorm_code",
        "    if train:  # the mean and the variance depend on every row",
        "    if True:",
        "batchnorm_eval_gradcheck[dx]",
        "batchnorm_eval_backward_fast",
    ),
    # ---------------------------------------------------------------- preact_unit
    mutant(
        "preact_numerical_backward",
        "preact_unit_code",
        _PRE_BACKWARD_BODY,
        _PRE_NUMERICAL_BACKWARD,
        "preact_unit_with_zero_last_weights_is_the_identity",
        "preact_unit_shortcut_passes_the_upstream_on",
        "preact_unit_backward_at_relu_kinks",
        "preact_unit_backward_fast",
        "stack_with_zero_last_weights_unrolls_exactly",
        "stack_trains_like_reference",
        "stack_backward_fast",
    ),
    mutant(
        "preact_backward_drops_the_shortcut",
        "preact_unit_code",
        '"dx": lam * dout + g1["dx"]',
        '"dx": g1["dx"]',
        "preact_unit_backward_gradcheck[dx]",
        "preact_unit_with_zero_last_weights_is_the_identity",
        "preact_unit_shortcut_passes_the_upstream_on",
        "preact_unit_backward_at_relu_kinks",
        "preact_unit_backward_fast",
        *_STACK_GRADCHECKS,
        "stack_dlevels_is_the_total_gradient_at_every_level",
        "stack_with_zero_last_weights_unrolls_exactly",
        "stack_trains_like_reference",
        "stack_backward_fast",
    ),
    mutant(
        "preact_shortcut_gradient_not_scaled_by_lam",
        "preact_unit_code",
        '"dx": lam * dout + g1["dx"]',
        '"dx": dout + g1["dx"]',
        "preact_unit_backward_gradcheck[dx]",
        "preact_unit_with_zero_last_weights_is_the_identity",
        "preact_unit_shortcut_passes_the_upstream_on",
        "preact_unit_backward_at_relu_kinks",
        "preact_unit_backward_fast",
        *_STACK_GRADCHECKS,
        "stack_with_zero_last_weights_unrolls_exactly",
        "stack_backward_fast",
    ),
    mutant(
        "preact_scales_the_residual_instead_of_the_shortcut",
        "preact_unit_code",
        "out = lam * x + F",
        "out = x + lam * F",
        "preact_unit_forward_matches_reference[lam_half]",
        "preact_unit_forward_matches_reference[no_shortcut]",
        *_PRE_GRADCHECKS,
        "preact_unit_with_zero_last_weights_is_the_identity",
        "preact_unit_output_is_lam_x_plus_residual",
        "preact_unit_backward_at_relu_kinks",
        "preact_unit_backward_fast",
        "stack_forward_matches_reference[pre_lam_half]",
        *_STACK_GRADCHECKS,
        "stack_with_zero_last_weights_unrolls_exactly",
        "stack_levels_unroll_as_sum_of_residual_functions",
        "stack_backward_fast",
    ),
    mutant(
        "preact_relu_derivative_by_centred_differences",
        "preact_unit_code",
        "da2 = (dout @ W2.T) * (a2 > 0)",
        "da2 = (dout @ W2.T) * (np.maximum(a2 + 1e-6, 0) - np.maximum(a2 - 1e-6, 0)) / 2e-6",
        "preact_unit_backward_at_relu_kinks",
        "stack_trains_like_reference",
    ),
    mutant(
        "preact_dW1_transposed",
        "preact_unit_code",
        'dW1 = r1.T @ g2["dx"]',
        'dW1 = g2["dx"].T @ r1',
        "preact_unit_backward_gradcheck[dW1]",
        "preact_unit_backward_at_relu_kinks",
        "preact_unit_backward_fast",
        "stack_backward_gradcheck[dW1]",
        "stack_trains_like_reference",
        "stack_backward_fast",
    ),
    # ---------------------------------------------------------------- postact_unit
    mutant(
        "postact_numerical_backward",
        "postact_unit_code",
        _POST_BACKWARD_BODY,
        _POST_NUMERICAL_BACKWARD + "\n    ds = dout * (s > 0)",
        "postact_unit_with_zero_last_weights_is_not_the_identity",
        "postact_unit_backward_at_relu_kinks",
        "postact_unit_backward_fast",
    ),
    mutant(
        "postact_shortcut_gradient_skips_the_final_relu",
        "postact_unit_code",
        'dx = lam * ds + g1["dx"] @ W1.T',
        'dx = lam * dout + g1["dx"] @ W1.T',
        "postact_unit_backward_gradcheck[dx]",
        "postact_unit_with_zero_last_weights_is_not_the_identity",
        "postact_unit_backward_at_relu_kinks",
        "postact_unit_backward_fast",
        "stack_backward_gradcheck_post",
        "stack_backward_fast",
    ),
    mutant(
        "postact_relu_derivative_by_centred_differences",
        "postact_unit_code",
        "ds = dout * (s > 0)",
        "ds = dout * (np.maximum(s + 1e-6, 0) - np.maximum(s - 1e-6, 0)) / 2e-6",
        "postact_unit_with_zero_last_weights_is_not_the_identity",
        "postact_unit_backward_at_relu_kinks",
    ),
    mutant(
        "postact_normalises_before_the_first_weights",
        "postact_unit_code",
        "    z1 = x @ W1                                      # (B, H)\n"
        "    a1, c1 = batchnorm_forward(z1, g1, be1)          # (B, H)",
        "    a1, c1 = batchnorm_forward(x, g1, be1)           # (B, H) BN first, as in pre\n"
        "    a1 = np.maximum(a1, 0.0) @ W1",
        *_POST_FORWARD,
        "postact_unit_backward_gradcheck[dx]",
        "postact_unit_backward_gradcheck[dg1]",
        "postact_unit_backward_gradcheck[dbe1]",
        "postact_unit_backward_gradcheck[dW1]",
        "postact_unit_backward_at_relu_kinks",
        "postact_unit_backward_fast",
        "stack_forward_matches_reference[post]",
        "stack_backward_gradcheck_post",
        "stack_backward_fast",
    ),
    # ---------------------------------------------------------------- stack
    mutant(
        "stack_backward_drops_the_direct_upstream_of_lower_levels",
        "stack_code",
        'dlevels[l] += g["dx"]',
        'dlevels[l] = g["dx"]',
        *_STACK_GRADCHECKS,
        "stack_backward_gradcheck_post",
        "stack_dlevels_is_the_total_gradient_at_every_level",
        "stack_backward_fast",
    ),
    mutant(
        "stack_parameter_gradients_in_reverse_unit_order",
        "stack_code",
        "    per_unit.reverse()                               # per_unit[l] is unit l's\n",
        "",
        "stack_backward_gradcheck[dg1]",
        "stack_backward_gradcheck[dbe1]",
        "stack_backward_gradcheck[dW1]",
        "stack_backward_gradcheck[dg2]",
        "stack_backward_gradcheck[dbe2]",
        "stack_backward_gradcheck[dW2]",
        "stack_backward_gradcheck_post",
        "stack_trains_like_reference",
        "stack_backward_fast",
    ),
    mutant(
        "stack_always_uses_the_preact_backward",
        "stack_code",
        'backward = preact_unit_backward if unit == "pre" else postact_unit_backward',
        "backward = preact_unit_backward",
        "stack_backward_gradcheck_post",
        "stack_backward_fast",
    ),
    mutant(
        "stack_every_unit_uses_the_first_units_weights",
        "stack_code",
        "forward(levels[-1], g1[l], be1[l], W1[l], g2[l], be2[l], W2[l], lam=lam)",
        "forward(levels[-1], g1[l], be1[l], W1[0], g2[l], be2[l], W2[0], lam=lam)",
        *_STACK_FORWARD,
        "stack_backward_gradcheck[dW1]",
        "stack_backward_gradcheck[dW2]",
        "stack_backward_gradcheck_post",
        "stack_dlevels_is_the_total_gradient_at_every_level",
        "stack_levels_unroll_as_sum_of_residual_functions",
        "stack_trains_like_reference",
        "stack_backward_fast",
    ),
]

# ------------------------------------------------------------------ correct variants
VARIANTS = [
    variant(
        "batchnorm_step_by_step_graph_with_a_dict_cache",
        "batchnorm_code",
        _BN_CELL_BODIES,
        """    B = x.shape[0]
    if mean is None:
        mu = np.sum(x, axis=0) / B
        xc = x - mu
        var_b = np.sum(xc * xc, axis=0) / B
        fixed = False
    else:
        mu, var_b, fixed = mean, var, True
        xc = x - mu
    std = np.sqrt(var_b + eps)
    istd = 1.0 / std
    xn = xc * istd
    return gamma * xn + beta, {"xc": xc, "istd": istd, "xn": xn, "gamma": gamma, "fixed": fixed}


def batchnorm_backward(dout, cache):
    xc, istd, xn, gamma, fixed = (cache[k] for k in ("xc", "istd", "xn", "gamma", "fixed"))
    B = dout.shape[0]
    dgamma = np.einsum("bh,bh->h", dout, xn)
    dbeta = dout.sum(axis=0)
    dxn = dout * gamma
    if fixed:
        return {"dx": dxn * istd, "dgamma": dgamma, "dbeta": dbeta}
    dxc = dxn * istd                                   # the direct path
    distd = np.sum(dxn * xc, axis=0)                   # through 1/std
    dvar = distd * (-0.5) * istd**3                    # 1/std = (var + eps)^(-1/2)
    dxc = dxc + 2.0 * xc * dvar / B                    # var = sum(xc^2) / B
    dmu = -np.sum(dxc, axis=0)                         # xc = x - mu
    dx = dxc + dmu / B
    return {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}""",
    ),
    variant(
        "batchnorm_recomputed_from_x_feature_by_feature",
        "batchnorm_code",
        _BN_CELL_BODIES,
        """    if mean is None:
        mu, v, train = np.mean(x, axis=0), np.var(x, axis=0), True
    else:
        mu, v, train = mean, var, False
    out = gamma * (x - mu) / np.sqrt(v + eps) + beta
    return out, (x, gamma, mu, v, eps, train)


def batchnorm_backward(dout, cache):
    x, gamma, mu, v, eps, train = cache
    B, H = x.shape
    dx, dgamma, dbeta = np.zeros_like(x), np.zeros(H), np.zeros(H)
    for j in range(H):                                 # one feature at a time
        s = 1.0 / np.sqrt(v[j] + eps)
        xh = (x[:, j] - mu[j]) * s
        g = dout[:, j]
        dgamma[j] = g @ xh
        dbeta[j] = g.sum()
        d = g * gamma[j]
        if train:
            dx[:, j] = s * (d - d.mean() - xh * (d @ xh) / B)
        else:
            dx[:, j] = s * d
    return {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}""",
    ),
    variant(
        "preact_unit_with_a_dict_cache_and_masks",
        "preact_unit_code",
        _PRE_CELL_BODIES,
        """    cache = {"lam": lam, "W1": W1, "W2": W2}
    a1, cache["bn1"] = batchnorm_forward(x, g1, be1)
    cache["m1"] = a1 > 0
    r1 = np.where(cache["m1"], a1, 0.0)
    a2, cache["bn2"] = batchnorm_forward(r1 @ W1, g2, be2)
    cache["m2"] = a2 > 0
    r2 = np.where(cache["m2"], a2, 0.0)
    cache["r1"], cache["r2"] = r1, r2
    return r2 @ W2 + lam * x, cache


def preact_unit_backward(dout, cache):
    c = cache
    dr2 = dout @ c["W2"].T
    gb2 = batchnorm_backward(np.where(c["m2"], dr2, 0.0), c["bn2"])
    dr1 = gb2["dx"] @ c["W1"].T
    gb1 = batchnorm_backward(np.where(c["m1"], dr1, 0.0), c["bn1"])
    return {"dx": gb1["dx"] + c["lam"] * dout, "dW2": np.einsum("bi,bj->ij", c["r2"], dout),
            "dW1": np.einsum("bi,bj->ij", c["r1"], gb2["dx"]), "dg1": gb1["dgamma"],
            "dbe1": gb1["dbeta"], "dg2": gb2["dgamma"], "dbe2": gb2["dbeta"]}""",
    ),
    variant(
        "postact_unit_weight_gradients_by_loops_over_the_batch",
        "postact_unit_code",
        """    dW2 = r1.T @ g2["dx"]                            # (H, H)""",
        """    dW2 = np.zeros_like(W2)
    for b in range(r1.shape[0]):
        dW2 += np.outer(r1[b], g2["dx"][b])""",
    ),
    variant(
        "stack_with_lists_and_a_running_gradient",
        "stack_code",
        _STACK_BACKWARD_BODY,
        """    unit, caches = cache
    step_back = {"pre": preact_unit_backward, "post": postact_unit_backward}[unit]
    L = len(caches)
    running = dxs[L]
    totals = [running]
    grads = {"d" + k: [None] * L for k in UNIT_KEYS}
    for l in range(L - 1, -1, -1):
        g = step_back(running, caches[l])
        for k in UNIT_KEYS:
            grads["d" + k][l] = g["d" + k]
        running = g["dx"] + dxs[l]
        totals.append(running)
    out = {k: np.array(v) for k, v in grads.items()}
    out["dlevels"] = np.array(totals[::-1])
    out["dx"] = running
    return out""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    "batchnorm_dgamma_averaged_over_the_batch": (
        "factor",
        "dgamma: 1/B, B the batch size (the units' and the stack's dg1 and dg2 too)",
    ),
    "batchnorm_dbeta_averaged_over_the_batch": (
        "factor",
        "dbeta: 1/B, B the batch size (the units' and the stack's dbe1 and dbe2 too)",
    ),
    "preact_dW1_transposed": (
        "transpose",
        "preact_unit's dW1 (H x H); stack_backward's dW1, each unit's H x H slice transposed",
    ),
    # revised after the first measurement, from the code: the unit's parameter gradients: exactly
    # 2 = 1/lam (the labeller's note)
    "preact_scales_the_residual_instead_of_the_shortcut": (
        ("other", "factor"),
        "the unit's parameters: 2",
    ),
}
