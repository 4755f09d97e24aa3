"""Wrong implementations of 05_keeping_nn_simple that the hidden tests must catch (test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook.
"""

from mutants import fd_loop, mutant, numerical_backward, variant

# A backward that differentiates numerically through the forward. The bias enters y linearly,
# so its value does not matter for the gradient and 0 is used; the result is accurate to
# ~1e-10 and passes every gradient check. Only the realistic-size time budget catches it. (The
# rest of the original body follows the return, unreached.)
_NOISY_AFFINE_NUMERICAL_BACKWARD = (
    numerical_backward(
        setup="""    aff_cache, x, sigma2, std, eps = cache
    mu = aff_cache[1]
    args = {"x": x.copy(), "mu": mu.copy(), "log_sigma": 0.5 * np.log(sigma2),
            "b": np.zeros(mu.shape[1])}""",
        objective="np.sum(noisy_affine_forward(eps=eps, **args)[0] * dy)",
    )
    + "\n    g = affine_backward(dy, aff_cache)"
)

# The KL's gradients by centred differences of its own value (written out: calling
# kl_diag_gaussian itself would recurse). mu and log_sigma are copies, nudged in place.
_KL_NUMERICAL_GRADIENTS = f"""    mu, log_sigma = mu.copy(), log_sigma.copy()

    def total():
        ratio = np.exp(2.0 * (log_sigma - prior_log_sigma))
        return np.sum(prior_log_sigma - log_sigma + 0.5 * (ratio + mu**2 / prior_var) - 0.5)

{fd_loop("mu", "dmu", "total()")}
{fd_loop("log_sigma", "dlog_sigma", "total()")}
    return float(kl), dmu, dlog_sigma"""

_BACKWARD_DOC = """

def noisy_affine_backward(dy, cache):
    \"\"\"Backward pass of noisy_affine_forward (eps is fixed noise: it gets no gradient).

    Inputs:
        dy: (B, M) upstream gradient of y.
        cache: from noisy_affine_forward.
    Returns:
        dict with 'dx': (B, D), 'dmu': (D, M), 'dlog_sigma': (D, M), 'db': (M,).
    \"\"\"
"""

# The whole body of noisy_affine_forward and noisy_affine_backward (one entry rewrites both).
_NOISY_AFFINE_BODIES = (
    "    mean, aff_cache = affine_forward(x, mu, b)     # (B, M) x mu + b\n"
    "    sigma2 = np.exp(2.0 * log_sigma)               # (D, M) weight variances\n"
    "    var = (x * x) @ sigma2                         # (B, M) variance of each total input\n"
    "    std = np.sqrt(var)                             # (B, M)\n"
    "    y = mean + std * eps                           # (B, M)\n"
    "    cache = (aff_cache, x, sigma2, std, eps)\n"
    "    return y, cache\n" + _BACKWARD_DOC + "    aff_cache, x, sigma2, std, eps = cache\n"
    "    g = affine_backward(dy, aff_cache)             # the mean path: dx, dW = dmu, db\n"
    "    dstd = dy * eps                                # (B, M)\n"
    "    dvar = dstd / (2.0 * std)                      # (B, M)\n"
    "    dsigma2 = (x * x).T @ dvar                     # (D, M)\n"
    '    dx = g["dx"] + 2.0 * x * (dvar @ sigma2.T)     # (B, D) mean path + variance path\n'
    "    dlog_sigma = 2.0 * sigma2 * dsigma2            # (D, M) through sigma^2 = exp(2 rho)\n"
    '    return {"dx": dx, "dmu": g["dW"], "dlog_sigma": dlog_sigma, "db": g["db"]}'
)

# The whole body of prune_weights.
_PRUNE_BODY = """    scores = []
    for layer in "12":
        mu = params["mu" + layer]
        s = np.abs(mu) if score == "magnitude" else np.abs(mu) / np.exp(params["log_sigma" + layer])
        scores.append(s.ravel())
    scores = np.concatenate(scores)                     # (total,)
    k = int(round(fraction * scores.size))
    keep = np.ones(scores.size, dtype=bool)
    keep[np.argsort(scores, kind="stable")[:k]] = False
    pruned = {name: value.copy() for name, value in params.items()}
    start = 0
    for layer in "12":
        mu = params["mu" + layer]
        pruned["mu" + layer] = np.where(keep[start:start + mu.size].reshape(mu.shape), mu, 0.0)
        start += mu.size
    return pruned"""


MUTANTS = [
    # ---- the noisy layer
    mutant(
        "noisy_affine_numerical_backward",
        "noisy_affine_code",
        "    aff_cache, x, sigma2, std, eps = cache\n    g = affine_backward(dy, aff_cache)",
        _NOISY_AFFINE_NUMERICAL_BACKWARD,
        "noisy_affine_backward_fast",
        "mdl_loss_fast_at_realistic_size",
    ),
    mutant(
        "noisy_affine_dlog_sigma_without_chain_rule_through_exp",
        "noisy_affine_code",
        "dlog_sigma = 2.0 * sigma2 * dsigma2",
        "dlog_sigma = dsigma2",
        "noisy_affine_backward_gradcheck[dlog_sigma]",
        "noisy_affine_backward_fast",  # requires the gradient check
        "mdl_loss_gradcheck[log_sigma1]",
        "mdl_loss_gradcheck[log_sigma2]",
        "mdl_loss_training_reduces_description_length_like_reference",
        "mdl_loss_fast_at_realistic_size",  # requires mdl_loss_gradcheck
    ),
    mutant(
        "noisy_affine_sigma_used_as_variance",
        "noisy_affine_code",
        "sigma2 = np.exp(2.0 * log_sigma)",
        "sigma2 = np.exp(log_sigma)",
        "noisy_affine_forward_matches_reference",
        "noisy_affine_noise_scales_with_sigma",
        "noisy_affine_backward_gradcheck[dlog_sigma]",
        "noisy_mlp_forward_matches_reference",
    ),
    mutant(
        "noisy_affine_variance_used_as_std",
        "noisy_affine_code",
        "std = np.sqrt(var)",
        "std = var",
        "noisy_affine_forward_matches_reference",
        "noisy_affine_noise_scales_with_sigma",
    ),
    mutant(
        "noisy_affine_dx_only_through_the_mean",
        "noisy_affine_code",
        'dx = g["dx"] + 2.0 * x * (dvar @ sigma2.T)',
        'dx = g["dx"]',
        "noisy_affine_backward_gradcheck[dx]",
        "mdl_loss_gradcheck[mu1]",
        "mdl_loss_gradcheck[log_sigma1]",
        "mdl_loss_gradcheck[b1]",
    ),
    mutant(
        "noisy_affine_dx_variance_path_missing_factor_2",
        "noisy_affine_code",
        "2.0 * x * (dvar @ sigma2.T)",
        "x * (dvar @ sigma2.T)",
        "noisy_affine_backward_gradcheck[dx]",
    ),
    mutant(
        "noisy_affine_dmu_averaged_over_the_batch",
        "noisy_affine_code",
        'return {"dx": dx, "dmu": g["dW"],',
        'return {"dx": dx, "dmu": g["dW"] / x.shape[0],',
        "noisy_affine_backward_gradcheck[dmu]",
        "mdl_loss_gradcheck[mu1]",
        "mdl_loss_gradcheck[mu2]",
    ),
    mutant(
        "noisy_affine_db_mean_instead_of_sum",
        "noisy_affine_code",
        '"db": g["db"]}',
        '"db": dy.mean(axis=0)}',
        "noisy_affine_backward_gradcheck[db]",
        "mdl_loss_gradcheck[b1]",
        "mdl_loss_gradcheck[b2]",
    ),
    mutant(
        "noisy_affine_forgets_bias",
        "noisy_affine_code",
        "mean, aff_cache = affine_forward(x, mu, b)",
        "mean, aff_cache = affine_forward(x, mu, 0.0 * b)",
        "noisy_affine_forward_matches_reference",
        "noisy_affine_zero_noise_is_the_mean_network",
    ),
    # ---- the KL
    mutant(
        "kl_dlog_sigma_missing_minus_one",
        "kl_code",
        "dlog_sigma = ratio - 1.0",
        "dlog_sigma = ratio",
        "kl_gradcheck[dlog_sigma]",
        "kl_is_zero_at_the_prior_and_never_negative",
        "kl_fast_at_realistic_size",  # requires kl_gradcheck
        "mdl_loss_gradcheck[log_sigma1]",
        "mdl_loss_kl_weight_separates_misfit_and_weight_cost",
    ),
    mutant(
        "kl_mean_term_missing_one_half",
        "kl_code",
        "0.5 * (ratio + mu**2 / prior_var)",
        "0.5 * ratio + mu**2 / prior_var",
        # The returned dmu is the true KL's gradient but not that of the KL it returns (whose mu
        # term is twice too large): the value and dmu are caught, the latter against numerical
        # differentiation of the student's own KL.
        "kl_value_matches_reference",
        "kl_gradcheck[dmu]",
        "kl_fast_at_realistic_size",  # requires the KL's value and gradient tests
        "mdl_loss_value_matches_reference",
    ),
    mutant(
        "kl_dmu_forgets_the_one_half",
        "kl_code",
        "dmu = mu / prior_var",
        "dmu = 2.0 * mu / prior_var",
        "kl_gradcheck[dmu]",
        "mdl_loss_gradcheck[mu1]",
        "mdl_loss_gradcheck[mu2]",
    ),
    mutant(
        "kl_log_sigma_treated_as_log_variance",
        "kl_code",
        "ratio = np.exp(2.0 * (log_sigma - prior_log_sigma))",
        "ratio = np.exp(log_sigma - prior_log_sigma)",
        "kl_value_matches_reference",
        "kl_gradcheck[dlog_sigma]",
    ),
    mutant(
        "kl_numerical_gradients",
        "kl_code",
        "    dmu = mu / prior_var\n    dlog_sigma = ratio - 1.0\n    return float(kl), dmu, dlog_sigma",  # noqa: E501
        _KL_NUMERICAL_GRADIENTS,
        "kl_fast_at_realistic_size",
    ),
    # ---- the network and its loss
    mutant(
        "mdl_weight_cost_not_divided_by_n",
        "mdl_loss_code",
        "N = X.shape[0]",
        "N = 1",
        # consistent: its gradients are those of the (wrong) loss it returns
        "mdl_loss_value_matches_reference",
        "mdl_loss_kl_weight_separates_misfit_and_weight_cost",
        "mdl_loss_is_per_training_case",
        "mdl_loss_training_reduces_description_length_like_reference",
    ),
    mutant(
        "mdl_misfit_summed_instead_of_mean",
        "mdl_loss_code",
        "nll, dlogits = softmax_cross_entropy(logits, y)",
        "nll, dlogits = softmax_cross_entropy(logits, y)\n    nll, dlogits = nll * N, dlogits * N",  # noqa: E501
        # its gradients are exact for the loss it returns, so the gradient checks pass
        "mdl_loss_value_matches_reference",
        "mdl_loss_is_per_training_case",
        "mdl_loss_kl_weight_separates_misfit_and_weight_cost",
        "mdl_loss_fast_at_realistic_size",  # requires mdl_loss_value_matches_reference
    ),
    mutant(
        "mdl_no_weight_cost_gradient_for_log_sigma",
        "mdl_loss_code",
        'grads["log_sigma" + layer] = g["dlog_sigma"] + kl_weight / N * dlog_sigma',
        'grads["log_sigma" + layer] = g["dlog_sigma"]',
        "mdl_loss_gradcheck[log_sigma1]",
        "mdl_loss_gradcheck[log_sigma2]",
        "mdl_loss_kl_weight_separates_misfit_and_weight_cost",
        "mdl_loss_training_reduces_description_length_like_reference",
    ),
    mutant(
        "mdl_kl_weight_ignored_in_gradient",
        "mdl_loss_code",
        'grads["mu" + layer] = g["dmu"] + kl_weight / N * dmu',
        'grads["mu" + layer] = g["dmu"] + 1.0 / N * dmu',
        "mdl_loss_kl_weight_separates_misfit_and_weight_cost",
    ),
    mutant(
        "mdl_backward_skips_tanh",
        "mdl_loss_code",
        'da = tanh_backward(g2["dx"], cache_h)["dx"]',
        'da = g2["dx"]',
        "mdl_loss_gradcheck[mu1]",
        "mdl_loss_gradcheck[log_sigma1]",
        "mdl_loss_gradcheck[b1]",
        "mdl_loss_training_reduces_description_length_like_reference",
    ),
    mutant(
        "mdl_forward_second_layer_reads_preactivations",
        "mdl_loss_code",
        'noisy_affine_forward(h, params["mu2"]',
        'noisy_affine_forward(a, params["mu2"]',
        "noisy_mlp_forward_matches_reference",
        "mdl_loss_value_matches_reference",
    ),
    # ---- pruning
    mutant(
        "prune_snr_multiplies_by_sigma",
        "prune_code",
        'np.abs(mu) / np.exp(params["log_sigma" + layer])',
        'np.abs(mu) * np.exp(params["log_sigma" + layer])',
        "prune_weights_matches_reference",
        "prune_weights_removes_exactly_the_lowest_scores",
    ),
    mutant(
        "prune_truncates_instead_of_rounding",
        "prune_code",
        "k = int(round(fraction * scores.size))",
        "k = int(fraction * scores.size)",
        "prune_weights_matches_reference",
        "prune_weights_removes_exactly_the_lowest_scores",
    ),
    mutant(
        # a new dict, but holding the caller's arrays: the pruning zeroes the caller's means too
        # (the notebook's own check fails on it, and Part 8 prunes the same networks again)
        "prune_modifies_its_input_in_place",
        "prune_code",
        """    pruned = {name: value.copy() for name, value in params.items()}
    start = 0
    for layer in "12":
        mu = params["mu" + layer]
        pruned["mu" + layer] = np.where(keep[start:start + mu.size].reshape(mu.shape), mu, 0.0)
        start += mu.size""",
        """    pruned = dict(params)
    start = 0
    for layer in "12":
        mu = pruned["mu" + layer]
        mu[~keep[start:start + mu.size].reshape(mu.shape)] = 0.0
        start += mu.size""",
        "prune_weights_leaves_the_rest_and_its_input_alone",
    ),
    mutant(
        "prune_also_removes_the_noise",
        "prune_code",
        "        start += mu.size",
        """        pruned["log_sigma" + layer] = np.where(
            keep[start:start + mu.size].reshape(mu.shape), params["log_sigma" + layer], -30.0)
        start += mu.size""",
        "prune_weights_matches_reference",
        "prune_weights_leaves_the_rest_and_its_input_alone",
    ),
    # ---- iterative pruning: one round
    mutant(
        "prune_remaining_counts_all_weights",
        "prune_remaining_code",
        "k = int(round(fraction * remaining.size))",
        "k = int(round(fraction * alive.size))",
        "prune_remaining_matches_reference",
        "prune_remaining_removes_the_lowest_of_the_remaining",
        "prune_remaining_follows_the_schedule",
        "prune_and_retrain_keeps_the_accuracy_at_high_sparsity",
    ),
    mutant(
        # ranks every weight, the removed ones (mu = 0 after retraining) included: the k lowest
        # are mostly weights that were already gone
        "prune_remaining_ranks_the_removed_weights_too",
        "prune_remaining_code",
        'keep[remaining[np.argsort(scores[remaining], kind="stable")[:k]]] = False',
        'keep[np.argsort(scores, kind="stable")[:k]] = False',
        "prune_remaining_matches_reference",
        "prune_remaining_removes_the_lowest_of_the_remaining",
        "prune_remaining_follows_the_schedule",
        "prune_and_retrain_keeps_the_accuracy_at_high_sparsity",
    ),
    mutant(
        "prune_remaining_forgets_the_old_removals",
        "prune_remaining_code",
        "keep = alive.copy()",
        "keep = np.ones_like(alive)",
        "prune_remaining_matches_reference",
        "prune_remaining_removes_the_lowest_of_the_remaining",
        "prune_remaining_follows_the_schedule",
        "prune_and_retrain_keeps_the_accuracy_at_high_sparsity",
    ),
    mutant(
        "prune_remaining_removes_the_highest_scores",
        "prune_remaining_code",
        'np.argsort(scores[remaining], kind="stable")[:k]',
        'np.argsort(-scores[remaining], kind="stable")[:k]',
        "prune_remaining_matches_reference",
        "prune_remaining_removes_the_lowest_of_the_remaining",
        "prune_and_retrain_keeps_the_accuracy_at_high_sparsity",
    ),
    mutant(
        "prune_remaining_updates_the_masks_in_place",
        "prune_remaining_code",
        """    new_masks, start = {}, 0
    for layer in "12":
        shape = masks["mu" + layer].shape
        new_masks["mu" + layer] = keep[start:start + int(np.prod(shape))].reshape(shape)
        start += int(np.prod(shape))
    return new_masks""",
        """    start = 0
    for layer in "12":
        m = masks["mu" + layer]
        m[...] = keep[start:start + m.size].reshape(m.shape)
        start += m.size
    return masks""",
        "prune_remaining_removes_the_lowest_of_the_remaining",
    ),
    # ---- iterative pruning: retraining with the removed weights held at zero
    mutant(
        "retrain_masked_update_ignores_the_masks",
        "retrain_masked_code",
        """        for layer in "12":  # a zero gradient: Adam leaves them alone
            grads["mu" + layer] = grads["mu" + layer] * masks["mu" + layer]
            grads["log_sigma" + layer] = grads["log_sigma" + layer] * masks["mu" + layer]
""",
        "",
        "retrain_masked_keeps_removed_weights_removed",
        "retrain_masked_matches_reference",
    ),
    mutant(
        "retrain_masked_masks_mu_but_not_log_sigma",
        "retrain_masked_code",
        """            grads["log_sigma" + layer] = grads["log_sigma" + layer] * masks["mu" + layer]
""",
        "",
        "retrain_masked_keeps_removed_weights_removed",
        "retrain_masked_matches_reference",
    ),
    mutant(
        # the gradients are masked, but the removed weights are never set to mu = 0 first
        "retrain_masked_does_not_remove_before_training",
        "retrain_masked_code",
        """        p["mu" + layer][gone] = 0.0
        p["log_sigma" + layer][gone] = PRUNED_LOG_SIGMA
""",
        "",
        "retrain_masked_keeps_removed_weights_removed",
        "retrain_masked_matches_reference",
    ),
    mutant(
        "retrain_masked_trains_the_callers_params",
        "retrain_masked_code",
        "p = {name: value.copy() for name, value in params.items()}",
        "p = params",
        "retrain_masked_leaves_its_inputs_alone",
    ),
    mutant(
        "retrain_masked_ignores_kl_weight",
        "retrain_masked_code",
        "loss, grads = mdl_loss(p, (X, y, eps), kl_weight)",
        "loss, grads = mdl_loss(p, (X, y, eps))",
        "retrain_masked_matches_reference",
    ),
    mutant(
        "retrain_masked_new_adam_every_step",
        "retrain_masked_code",
        "    opt = Adam(lr=lr)\n    losses = []\n    for eps in eps_steps:\n",
        "    losses = []\n    for eps in eps_steps:\n        opt = Adam(lr=lr)\n",
        "retrain_masked_matches_reference",
    ),
]


# Correct implementations written differently, some slow: they must still score full marks (the
# integrity budgets catch finite differences, not honest Python loops; the tolerances accept
# other arithmetic).
VARIANTS = [
    variant(
        "noisy_affine_backward_loops_over_the_batch",
        "noisy_affine_code",
        "    g = affine_backward(dy, aff_cache)             # the mean path",
        """    mu = aff_cache[1]
    dx, dmu, dlog_sigma = np.zeros_like(x), np.zeros_like(mu), np.zeros_like(sigma2)
    for n in range(x.shape[0]):
        dvar_n = dy[n] * eps[n] / (2.0 * std[n])                 # (M,)
        dmu += np.outer(x[n], dy[n])
        dlog_sigma += 2.0 * sigma2 * np.outer(x[n] ** 2, dvar_n)
        dx[n] = mu @ dy[n] + 2.0 * x[n] * (sigma2 @ dvar_n)
    return {"dx": dx, "dmu": dmu, "dlog_sigma": dlog_sigma, "db": dy.sum(axis=0)}
    g = affine_backward(dy, aff_cache)             # the mean path""",
    ),
    variant(
        "kl_in_the_papers_form",
        "kl_code",
        "    kl = np.sum(prior_log_sigma - log_sigma + 0.5 * (ratio + mu**2 / prior_var) - 0.5)",  # noqa: E501
        """    sigma, sigma_p = np.exp(log_sigma), np.exp(prior_log_sigma)
    kl = np.sum(np.log(sigma_p / sigma) + (sigma**2 + mu**2 - sigma_p**2) / (2 * sigma_p**2))""",
    ),
    variant(
        "kl_loops_over_every_weight",
        "kl_code",
        "    return float(kl), dmu, dlog_sigma",
        """    kl = 0.0
    dmu, dlog_sigma = np.zeros_like(mu), np.zeros_like(log_sigma)
    for idx in np.ndindex(mu.shape):
        r = np.exp(2.0 * (log_sigma[idx] - prior_log_sigma))
        kl += prior_log_sigma - log_sigma[idx] + 0.5 * (r + mu[idx] ** 2 / prior_var) - 0.5
        dmu[idx] = mu[idx] / prior_var
        dlog_sigma[idx] = r - 1.0
    return float(kl), dmu, dlog_sigma""",
    ),
    variant(
        # einsum everywhere, a dict cache of the inputs, and the standard deviation recomputed
        # in the backward instead of cached
        "noisy_affine_einsum_dict_cache_recomputes_std",
        "noisy_affine_code",
        _NOISY_AFFINE_BODIES,
        """    sigma2 = np.exp(2.0 * log_sigma)
    std = np.sqrt(np.einsum("bd,dm->bm", x**2, sigma2))
    y = np.einsum("bd,dm->bm", x, mu) + b + std * eps
    return y, {"x": x, "mu": mu, "log_sigma": log_sigma, "eps": eps}
"""
        + _BACKWARD_DOC
        + """    x, mu, eps = cache["x"], cache["mu"], cache["eps"]
    sigma2 = np.exp(2.0 * cache["log_sigma"])
    std = np.sqrt(np.einsum("bd,dm->bm", x**2, sigma2))
    dvar = dy * eps / (2.0 * std)
    dx = np.einsum("bm,dm->bd", dy, mu) + 2.0 * x * np.einsum("bm,dm->bd", dvar, sigma2)
    dmu = np.einsum("bd,bm->dm", x, dy)
    dlog_sigma = 2.0 * sigma2 * np.einsum("bd,bm->dm", x**2, dvar)
    return {"dx": dx, "dmu": dmu, "dlog_sigma": dlog_sigma, "db": dy.sum(axis=0)}""",
    ),
    variant(
        # the cross-entropy and its gradient written out with a log-softmax (max-shifted
        # logsumexp) instead of the given softmax_cross_entropy
        "mdl_loss_own_log_softmax",
        "mdl_loss_code",
        """    logits, (cache1, cache_h, cache2) = noisy_mlp_forward(params, X, eps_list)
    nll, dlogits = softmax_cross_entropy(logits, y)     # mean over the N cases""",
        """    logits, cache = noisy_mlp_forward(params, X, eps_list)
    cache1, cache_h, cache2 = cache
    shifted = logits - logits.max(axis=1, keepdims=True)                 # (N, C)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    nll = -log_probs[np.arange(N), y].mean()
    dlogits = np.exp(log_probs)                                          # softmax (N, C)
    dlogits[np.arange(N), y] -= 1.0
    dlogits /= N""",
    ),
    variant(
        # prune by a threshold: everything at or below the k-th smallest score goes (the same
        # weights when no two scores tie), zeroed in place on copies
        "prune_by_threshold_on_copies",
        "prune_code",
        _PRUNE_BODY,
        """    layers = ("1", "2")
    if score == "snr":
        scores = [np.abs(params["mu" + l]) / np.exp(params["log_sigma" + l]) for l in layers]
    else:
        scores = [np.abs(params["mu" + l]) for l in layers]
    flat = np.concatenate([s.ravel() for s in scores])
    k = int(round(fraction * flat.size))
    pruned = {key: np.copy(val) for key, val in params.items()}
    if k == 0:
        return pruned
    threshold = np.sort(flat)[k - 1]
    for l, s in zip(layers, scores):
        pruned["mu" + l][s <= threshold] = 0.0
    return pruned""",
    ),
    variant(
        # a Python list of (score, layer, index), sorted, the first k zeroed one at a time
        "prune_sorts_a_python_list",
        "prune_code",
        _PRUNE_BODY,
        """    entries = []
    for layer in "12":
        mu, ls = params["mu" + layer], params["log_sigma" + layer]
        for idx in np.ndindex(mu.shape):
            s = abs(mu[idx]) if score == "magnitude" else abs(mu[idx]) / np.exp(ls[idx])
            entries.append((s, layer, idx))
    entries.sort(key=lambda e: e[0])
    k = int(round(fraction * len(entries)))
    pruned = {name: value.copy() for name, value in params.items()}
    for _, layer, idx in entries[:k]:
        pruned["mu" + layer][idx] = 0.0
    return pruned""",
    ),
    variant(
        # removed weights get an infinite score, then the k lowest of all are removed
        "prune_remaining_infinite_score_for_the_removed",
        "prune_remaining_code",
        """    remaining = np.flatnonzero(alive)                   # indices still there
    k = int(round(fraction * remaining.size))
    keep = alive.copy()
    keep[remaining[np.argsort(scores[remaining], kind="stable")[:k]]] = False""",
        """    k = int(round(fraction * np.count_nonzero(alive)))
    ranked = np.argsort(np.where(alive, scores, np.inf))
    keep = alive.copy()
    keep[ranked[:k]] = False""",
    ),
    variant(
        # a Python list of (score, layer, index) over the weights still there
        "prune_remaining_python_list",
        "prune_remaining_code",
        """    scores, alive = [], []
    for layer in "12":""",
        """    entries = []
    for layer in "12":
        mu, ls, m = params["mu" + layer], params["log_sigma" + layer], masks["mu" + layer]
        for idx in np.ndindex(mu.shape):
            if m[idx]:
                s = abs(mu[idx]) if score == "magnitude" else abs(mu[idx]) / np.exp(ls[idx])
                entries.append((s, layer, idx))
    entries.sort(key=lambda e: e[0])
    new_masks = {name: np.array(m, dtype=bool, copy=True) for name, m in masks.items()}
    for _, layer, idx in entries[: int(round(fraction * len(entries)))]:
        new_masks["mu" + layer][idx] = False
    return new_masks
    scores, alive = [], []
    for layer in "12":""",
    ),
    variant(
        # the removed weights are put back in place after every step instead of getting a zero
        # gradient (Adam is elementwise, so the kept weights follow the same path)
        "retrain_masked_resets_after_each_step",
        "retrain_masked_code",
        """        for layer in "12":  # a zero gradient: Adam leaves them alone
            grads["mu" + layer] = grads["mu" + layer] * masks["mu" + layer]
            grads["log_sigma" + layer] = grads["log_sigma" + layer] * masks["mu" + layer]
        opt.step(p, grads)""",
        """        opt.step(p, grads)
        for layer in "12":
            p["mu" + layer] = np.where(masks["mu" + layer], p["mu" + layer], 0.0)
            p["log_sigma" + layer] = np.where(masks["mu" + layer], p["log_sigma" + layer],
                                              PRUNED_LOG_SIGMA)""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): the class of the error in the gradient of the
#: function the mutant edits, and the factor, axis or tensor it concerns. Mutants not listed are
#: of class "other". (Further from the bug, mdl_loss adds the KL's gradient to the misfit's in mu
#: and log_sigma, so those tensors share no class with the edited one.)
BUG_CLASSES = {
    "noisy_affine_db_mean_instead_of_sum": (
        "factor",
        "db: 1/B, B the batch size (mdl_loss's b1 and b2: 1/N, N the training cases)",
    ),
    "mdl_kl_weight_ignored_in_gradient": (
        "zero",
        "mu1, mu2 of the weight-cost check (grads at kl_weight 1 minus grads at kl_weight 0): "
        "0 everywhere (at kl_weight 1 itself the gradients are right)",
    ),
    "noisy_affine_sigma_used_as_variance": ("factor", "noisy_affine's dlog_sigma: 2"),
    "noisy_affine_dmu_averaged_over_the_batch": ("factor", "noisy_affine's dmu: 1/B"),
    "kl_mean_term_missing_one_half": ("factor", "the KL's dmu: 1/2"),
    "kl_dmu_forgets_the_one_half": ("factor", "the KL's dmu: 2"),
    # revised after the first measurement, from the code: like
    # mdl_kl_weight_ignored_in_gradient, the weight cost's gradient is missing
    "mdl_no_weight_cost_gradient_for_log_sigma": (
        "zero",
        "log_sigma1, log_sigma2 of the weight-cost check: 0 everywhere",
    ),
}
