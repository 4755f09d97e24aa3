"""Wrong implementations of 05_keeping_nn_simple that the hidden tests must catch (test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook.
"""

from mutants import fd_loop, numerical_backward

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
    dict(
        name="noisy_affine_numerical_backward",
        cell="noisy_affine_code",
        old="    aff_cache, x, sigma2, std, eps = cache\n    g = affine_backward(dy, aff_cache)",
        new=_NOISY_AFFINE_NUMERICAL_BACKWARD,
        catches=["noisy_affine_backward_fast", "mdl_loss_fast_at_realistic_size"],
    ),
    dict(
        name="noisy_affine_dlog_sigma_without_chain_rule_through_exp",
        cell="noisy_affine_code",
        old="dlog_sigma = 2.0 * sigma2 * dsigma2",
        new="dlog_sigma = dsigma2",
        catches=[
            "noisy_affine_backward_gradcheck[dlog_sigma]",
            "noisy_affine_backward_fast",  # requires the gradient check
            "mdl_loss_gradcheck[log_sigma1]",
            "mdl_loss_gradcheck[log_sigma2]",
            "mdl_loss_training_reduces_description_length_like_reference",
            "mdl_loss_fast_at_realistic_size",  # requires mdl_loss_gradcheck
        ],
    ),
    dict(
        name="noisy_affine_sigma_used_as_variance",
        cell="noisy_affine_code",
        old="sigma2 = np.exp(2.0 * log_sigma)",
        new="sigma2 = np.exp(log_sigma)",
        catches=[
            "noisy_affine_forward_matches_reference",
            "noisy_affine_noise_scales_with_sigma",
            "noisy_affine_backward_gradcheck[dlog_sigma]",
            "noisy_mlp_forward_matches_reference",
        ],
    ),
    dict(
        name="noisy_affine_variance_used_as_std",
        cell="noisy_affine_code",
        old="std = np.sqrt(var)",
        new="std = var",
        catches=["noisy_affine_forward_matches_reference", "noisy_affine_noise_scales_with_sigma"],
    ),
    dict(
        name="noisy_affine_dx_only_through_the_mean",
        cell="noisy_affine_code",
        old='dx = g["dx"] + 2.0 * x * (dvar @ sigma2.T)',
        new='dx = g["dx"]',
        catches=[
            "noisy_affine_backward_gradcheck[dx]",
            "mdl_loss_gradcheck[mu1]",
            "mdl_loss_gradcheck[log_sigma1]",
            "mdl_loss_gradcheck[b1]",
        ],
    ),
    dict(
        name="noisy_affine_dx_variance_path_missing_factor_2",
        cell="noisy_affine_code",
        old="2.0 * x * (dvar @ sigma2.T)",
        new="x * (dvar @ sigma2.T)",
        catches=["noisy_affine_backward_gradcheck[dx]"],
    ),
    dict(
        name="noisy_affine_dmu_averaged_over_the_batch",
        cell="noisy_affine_code",
        old='return {"dx": dx, "dmu": g["dW"],',
        new='return {"dx": dx, "dmu": g["dW"] / x.shape[0],',
        catches=[
            "noisy_affine_backward_gradcheck[dmu]",
            "mdl_loss_gradcheck[mu1]",
            "mdl_loss_gradcheck[mu2]",
        ],
    ),
    dict(
        name="noisy_affine_db_mean_instead_of_sum",
        cell="noisy_affine_code",
        old='"db": g["db"]}',
        new='"db": dy.mean(axis=0)}',
        catches=[
            "noisy_affine_backward_gradcheck[db]",
            "mdl_loss_gradcheck[b1]",
            "mdl_loss_gradcheck[b2]",
        ],
    ),
    dict(
        name="noisy_affine_forgets_bias",
        cell="noisy_affine_code",
        old="mean, aff_cache = affine_forward(x, mu, b)",
        new="mean, aff_cache = affine_forward(x, mu, 0.0 * b)",
        catches=[
            "noisy_affine_forward_matches_reference",
            "noisy_affine_zero_noise_is_the_mean_network",
        ],
    ),
    # ---- the KL
    dict(
        name="kl_dlog_sigma_missing_minus_one",
        cell="kl_code",
        old="dlog_sigma = ratio - 1.0",
        new="dlog_sigma = ratio",
        catches=[
            "kl_gradcheck[dlog_sigma]",
            "kl_is_zero_at_the_prior_and_never_negative",
            "kl_fast_at_realistic_size",  # requires kl_gradcheck
            "mdl_loss_gradcheck[log_sigma1]",
            "mdl_loss_kl_weight_separates_misfit_and_weight_cost",
        ],
    ),
    dict(
        name="kl_mean_term_missing_one_half",
        cell="kl_code",
        old="0.5 * (ratio + mu**2 / prior_var)",
        new="0.5 * ratio + mu**2 / prior_var",
        # The returned dmu is the true KL's gradient but not that of the KL it returns (whose mu
        # term is twice too large): the value and dmu are caught, the latter against numerical
        # differentiation of the student's own KL.
        catches=[
            "kl_value_matches_reference",
            "kl_gradcheck[dmu]",
            "kl_fast_at_realistic_size",  # requires the KL's value and gradient tests
            "mdl_loss_value_matches_reference",
        ],
    ),
    dict(
        name="kl_dmu_forgets_the_one_half",
        cell="kl_code",
        old="dmu = mu / prior_var",
        new="dmu = 2.0 * mu / prior_var",
        catches=["kl_gradcheck[dmu]", "mdl_loss_gradcheck[mu1]", "mdl_loss_gradcheck[mu2]"],
    ),
    dict(
        name="kl_log_sigma_treated_as_log_variance",
        cell="kl_code",
        old="ratio = np.exp(2.0 * (log_sigma - prior_log_sigma))",
        new="ratio = np.exp(log_sigma - prior_log_sigma)",
        catches=["kl_value_matches_reference", "kl_gradcheck[dlog_sigma]"],
    ),
    dict(
        name="kl_numerical_gradients",
        cell="kl_code",
        old="    dmu = mu / prior_var\n    dlog_sigma = ratio - 1.0\n    return float(kl), dmu, dlog_sigma",  # noqa: E501
        new=_KL_NUMERICAL_GRADIENTS,
        catches=["kl_fast_at_realistic_size"],
    ),
    # ---- the network and its loss
    dict(
        name="mdl_weight_cost_not_divided_by_n",
        cell="mdl_loss_code",
        old="N = X.shape[0]",
        new="N = 1",
        # consistent: its gradients are those of the (wrong) loss it returns
        catches=[
            "mdl_loss_value_matches_reference",
            "mdl_loss_kl_weight_separates_misfit_and_weight_cost",
            "mdl_loss_is_per_training_case",
            "mdl_loss_training_reduces_description_length_like_reference",
        ],
    ),
    dict(
        name="mdl_misfit_summed_instead_of_mean",
        cell="mdl_loss_code",
        old="nll, dlogits = softmax_cross_entropy(logits, y)",
        new="nll, dlogits = softmax_cross_entropy(logits, y)\n    nll, dlogits = nll * N, dlogits * N",  # noqa: E501
        # its gradients are exact for the loss it returns, so the gradient checks pass
        catches=[
            "mdl_loss_value_matches_reference",
            "mdl_loss_is_per_training_case",
            "mdl_loss_kl_weight_separates_misfit_and_weight_cost",
            "mdl_loss_fast_at_realistic_size",  # requires mdl_loss_value_matches_reference
        ],
    ),
    dict(
        name="mdl_no_weight_cost_gradient_for_log_sigma",
        cell="mdl_loss_code",
        old='grads["log_sigma" + layer] = g["dlog_sigma"] + kl_weight / N * dlog_sigma',
        new='grads["log_sigma" + layer] = g["dlog_sigma"]',
        catches=[
            "mdl_loss_gradcheck[log_sigma1]",
            "mdl_loss_gradcheck[log_sigma2]",
            "mdl_loss_kl_weight_separates_misfit_and_weight_cost",
            "mdl_loss_training_reduces_description_length_like_reference",
        ],
    ),
    dict(
        name="mdl_kl_weight_ignored_in_gradient",
        cell="mdl_loss_code",
        old='grads["mu" + layer] = g["dmu"] + kl_weight / N * dmu',
        new='grads["mu" + layer] = g["dmu"] + 1.0 / N * dmu',
        catches=["mdl_loss_kl_weight_separates_misfit_and_weight_cost"],
    ),
    dict(
        name="mdl_backward_skips_tanh",
        cell="mdl_loss_code",
        old='da = tanh_backward(g2["dx"], cache_h)["dx"]',
        new='da = g2["dx"]',
        catches=[
            "mdl_loss_gradcheck[mu1]",
            "mdl_loss_gradcheck[log_sigma1]",
            "mdl_loss_gradcheck[b1]",
            "mdl_loss_training_reduces_description_length_like_reference",
        ],
    ),
    dict(
        name="mdl_forward_second_layer_reads_preactivations",
        cell="mdl_loss_code",
        old='noisy_affine_forward(h, params["mu2"]',
        new='noisy_affine_forward(a, params["mu2"]',
        catches=["noisy_mlp_forward_matches_reference", "mdl_loss_value_matches_reference"],
    ),
    # ---- pruning
    dict(
        name="prune_snr_multiplies_by_sigma",
        cell="prune_code",
        old='np.abs(mu) / np.exp(params["log_sigma" + layer])',
        new='np.abs(mu) * np.exp(params["log_sigma" + layer])',
        catches=[
            "prune_weights_matches_reference",
            "prune_weights_removes_exactly_the_lowest_scores",
        ],
    ),
    dict(
        name="prune_truncates_instead_of_rounding",
        cell="prune_code",
        old="k = int(round(fraction * scores.size))",
        new="k = int(fraction * scores.size)",
        catches=[
            "prune_weights_matches_reference",
            "prune_weights_removes_exactly_the_lowest_scores",
        ],
    ),
    dict(
        # a new dict, but holding the caller's arrays: the pruning zeroes the caller's means too
        # (the notebook's own check fails on it, and Part 8 prunes the same networks again)
        name="prune_modifies_its_input_in_place",
        cell="prune_code",
        old="""    pruned = {name: value.copy() for name, value in params.items()}
    start = 0
    for layer in "12":
        mu = params["mu" + layer]
        pruned["mu" + layer] = np.where(keep[start:start + mu.size].reshape(mu.shape), mu, 0.0)
        start += mu.size""",
        new="""    pruned = dict(params)
    start = 0
    for layer in "12":
        mu = pruned["mu" + layer]
        mu[~keep[start:start + mu.size].reshape(mu.shape)] = 0.0
        start += mu.size""",
        catches=["prune_weights_leaves_the_rest_and_its_input_alone"],
    ),
    dict(
        name="prune_also_removes_the_noise",
        cell="prune_code",
        old="        start += mu.size",
        new="""        pruned["log_sigma" + layer] = np.where(
            keep[start:start + mu.size].reshape(mu.shape), params["log_sigma" + layer], -30.0)
        start += mu.size""",
        catches=[
            "prune_weights_matches_reference",
            "prune_weights_leaves_the_rest_and_its_input_alone",
        ],
    ),
]


# Correct implementations written differently, some slow: they must still score full marks (the
# integrity budgets catch finite differences, not honest Python loops; the tolerances accept
# other arithmetic).
VARIANTS = [
    dict(
        name="noisy_affine_backward_loops_over_the_batch",
        cell="noisy_affine_code",
        old="    g = affine_backward(dy, aff_cache)             # the mean path",
        new="""    mu = aff_cache[1]
    dx, dmu, dlog_sigma = np.zeros_like(x), np.zeros_like(mu), np.zeros_like(sigma2)
    for n in range(x.shape[0]):
        dvar_n = dy[n] * eps[n] / (2.0 * std[n])                 # (M,)
        dmu += np.outer(x[n], dy[n])
        dlog_sigma += 2.0 * sigma2 * np.outer(x[n] ** 2, dvar_n)
        dx[n] = mu @ dy[n] + 2.0 * x[n] * (sigma2 @ dvar_n)
    return {"dx": dx, "dmu": dmu, "dlog_sigma": dlog_sigma, "db": dy.sum(axis=0)}
    g = affine_backward(dy, aff_cache)             # the mean path""",
    ),
    dict(
        name="kl_in_the_papers_form",
        cell="kl_code",
        old="    kl = np.sum(prior_log_sigma - log_sigma + 0.5 * (ratio + mu**2 / prior_var) - 0.5)",  # noqa: E501
        new="""    sigma, sigma_p = np.exp(log_sigma), np.exp(prior_log_sigma)
    kl = np.sum(np.log(sigma_p / sigma) + (sigma**2 + mu**2 - sigma_p**2) / (2 * sigma_p**2))""",
    ),
    dict(
        name="kl_loops_over_every_weight",
        cell="kl_code",
        old="    return float(kl), dmu, dlog_sigma",
        new="""    kl = 0.0
    dmu, dlog_sigma = np.zeros_like(mu), np.zeros_like(log_sigma)
    for idx in np.ndindex(mu.shape):
        r = np.exp(2.0 * (log_sigma[idx] - prior_log_sigma))
        kl += prior_log_sigma - log_sigma[idx] + 0.5 * (r + mu[idx] ** 2 / prior_var) - 0.5
        dmu[idx] = mu[idx] / prior_var
        dlog_sigma[idx] = r - 1.0
    return float(kl), dmu, dlog_sigma""",
    ),
    dict(
        # einsum everywhere, a dict cache of the inputs, and the standard deviation recomputed
        # in the backward instead of cached
        name="noisy_affine_einsum_dict_cache_recomputes_std",
        cell="noisy_affine_code",
        old=_NOISY_AFFINE_BODIES,
        new="""    sigma2 = np.exp(2.0 * log_sigma)
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
    dict(
        # the cross-entropy and its gradient written out with a log-softmax (max-shifted
        # logsumexp) instead of the given softmax_cross_entropy
        name="mdl_loss_own_log_softmax",
        cell="mdl_loss_code",
        old="""    logits, (cache1, cache_h, cache2) = noisy_mlp_forward(params, X, eps_list)
    nll, dlogits = softmax_cross_entropy(logits, y)     # mean over the N cases""",
        new="""    logits, cache = noisy_mlp_forward(params, X, eps_list)
    cache1, cache_h, cache2 = cache
    shifted = logits - logits.max(axis=1, keepdims=True)                 # (N, C)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    nll = -log_probs[np.arange(N), y].mean()
    dlogits = np.exp(log_probs)                                          # softmax (N, C)
    dlogits[np.arange(N), y] -= 1.0
    dlogits /= N""",
    ),
    dict(
        # prune by a threshold: everything at or below the k-th smallest score goes (the same
        # weights when no two scores tie), zeroed in place on copies
        name="prune_by_threshold_on_copies",
        cell="prune_code",
        old=_PRUNE_BODY,
        new="""    layers = ("1", "2")
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
    dict(
        # a Python list of (score, layer, index), sorted, the first k zeroed one at a time
        name="prune_sorts_a_python_list",
        cell="prune_code",
        old=_PRUNE_BODY,
        new="""    entries = []
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
]
