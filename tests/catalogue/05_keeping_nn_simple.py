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
            "mdl_loss_gradcheck[log_sigma1]",
            "mdl_loss_gradcheck[log_sigma2]",
            "mdl_loss_training_reduces_description_length_like_reference",
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
            "mdl_loss_gradcheck[log_sigma1]",
        ],
    ),
    dict(
        name="kl_mean_term_missing_one_half",
        cell="kl_code",
        old="0.5 * (ratio + mu**2 / prior_var)",
        new="0.5 * ratio + mu**2 / prior_var",
        # The returned dmu is still the true KL's gradient, so only the value is wrong.
        catches=["kl_value_matches_reference", "mdl_loss_value_matches_reference"],
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
        catches=[
            "mdl_loss_value_matches_reference",
            "mdl_loss_gradcheck[mu1]",
            "mdl_loss_gradcheck[log_sigma2]",
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
        catches=[
            "mdl_loss_value_matches_reference",
            "mdl_loss_is_per_training_case",
            "mdl_loss_kl_weight_separates_misfit_and_weight_cost",
            "mdl_loss_gradcheck[b2]",
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
]
