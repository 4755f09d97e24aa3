"""Wrong implementations of 23_mdl_principle that the hidden tests must catch (test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward, variant

# The Gaussian code-length backward as written in the reference (the body only).
_NLL_BACKWARD_BODY = """    Phi, w, r, inv_var = cache
    dnats = LOG2E * dbits                          # (N,)
    dr = dnats * r * inv_var                       # (N,) dL/dr
    dmu = -dr                                      # (N,) r = y - mu
    dw = Phi.T @ dmu                               # (D,)
    dPhi = np.outer(dmu, w)                        # (N, D)
    dlog_sigma = np.array([np.sum(dnats * (1.0 - r**2 * inv_var))])   # (1,)
    return {"dPhi": dPhi, "dy": dr, "dw": dw, "dlog_sigma": dlog_sigma}"""

# The whole gauss_nll cell from the forward's body to the backward's end.
_NLL_FORWARD_BODY = """    mu = Phi @ w                                   # (N,) predicted means
    r = y - mu                                     # (N,) residuals
    inv_var = np.exp(-2.0 * log_sigma)             # (1,) 1 / sigma^2
    nats = 0.5 * r**2 * inv_var + log_sigma + 0.5 * np.log(2.0 * np.pi)   # (N,)
    bits = LOG2E * nats                            # (N,)
    return bits, (Phi, w, r, inv_var)"""
_NLL_BACKWARD_HEAD = '''

def gauss_nll_backward(dbits, cache):
    """Gradients of gauss_nll_forward.

    Inputs:
      dbits: (N,) upstream gradient dL/dbits.
      cache: from gauss_nll_forward.
    Returns:
      dict with 'dPhi' (N, D), 'dy' (N,), 'dw' (D,), 'dlog_sigma' (1,).
    """
'''
_NLL_CELL_BODIES = _NLL_FORWARD_BODY + "\n" + _NLL_BACKWARD_HEAD + _NLL_BACKWARD_BODY

_POLY_NLL_BODY = """    Phi, y = batch
    bits, cache = gauss_nll_forward(Phi, y, params["w"], params["log_sigma"])   # (N,)
    g = gauss_nll_backward(np.ones_like(bits), cache)
    return float(bits.sum()), {"w": g["dw"], "log_sigma": g["dlog_sigma"]}"""

_FIT_GD_BODY = """    params = {"w": np.zeros(Phi.shape[1]),
              "log_sigma": np.array([0.5 * np.log(np.mean(y**2))])}
    opt = Adam(lr=lr)
    losses = []
    for step in range(steps):
        opt.lr = cosine_lr(step, steps, lr)
        loss, grads = gauss_poly_nll(params, (Phi, y))
        losses.append(float(loss))
        opt.step(params, grads)
    return params, losses"""

_TWO_PART_BODY = """    Phi = legendre_features(x, degree)                     # (n, d + 1)
    params, _ = fit_gd(Phi, y, steps, lr)
    data_bits, _ = gauss_poly_nll(params, (Phi, y))
    return (degree + 2) * bits_per_param + data_bits, data_bits"""

_PREQ_BODY = """    Phi = legendre_features(x, degree)                     # (n, d + 1)

    def encode_chunk(seen, bounds):
        a, b = bounds                                      # code points a .. b-1; seen == a
        if a == 0:                                         # no data yet: the fixed broad code
            w, log_sigma = np.zeros(degree + 1), np.array([np.log(PRIOR_SIGMA)])
        else:
            params, _ = fit_gd(Phi[:a], y[:a], steps, lr)  # fit on everything already sent
            w, log_sigma = params["w"], params["log_sigma"]
        bits, _ = gauss_nll_forward(Phi[a:b], y[a:b], w, log_sigma)   # (b - a,)
        return bits.sum(), b

    total, chunk_bits, _ = prequential_codelength(encode_chunk, zip(edges[:-1], edges[1:]), 0)
    return total, chunk_bits"""

# A backward that differentiates numerically through the forward (tests/mutants.py). It recovers
# every input from the cache (y = r + Phi w, log sigma = -log(1/sigma^2) / 2), so it is accurate
# to ~1e-10 and passes every gradient check; only the realistic-size time budget catches it.
_NLL_NUMERICAL_BACKWARD = numerical_backward(
    """    Phi, w, r, inv_var = cache
    args = {"Phi": Phi.copy(), "y": r + Phi @ w, "w": w.copy(),
            "log_sigma": -0.5 * np.log(inv_var)}""",
    "np.sum(gauss_nll_forward(**args)[0] * dbits)",
)

_NLL_FORWARD_CASES = [
    f"gauss_nll_forward_matches_reference[{case}]"
    for case in ("N7_D4", "batch1", "degree0", "small_sigma")
]

MUTANTS = [
    # ---------------------------------------------------------------- gauss_nll
    mutant(
        "numerical_backward",
        "gauss_nll_code",
        _NLL_BACKWARD_BODY,
        _NLL_NUMERICAL_BACKWARD,
        "gauss_nll_backward_fast_at_realistic_size",
    ),
    mutant(
        "code_length_in_nats_not_bits",
        "gauss_nll_code",
        "bits = LOG2E * nats",
        "bits = nats",
        # The backward is untouched (and right), so only the values give it away.
        *_NLL_FORWARD_CASES
        + [
            "gauss_nll_entropy_and_units",
            "gauss_poly_nll_value_matches_reference",
            "gauss_poly_nll_gradcheck",
        ],
    ),
    mutant(
        "sigma_not_squared",
        "gauss_nll_code",
        "inv_var = np.exp(-2.0 * log_sigma)",
        "inv_var = np.exp(-log_sigma)",
        *_NLL_FORWARD_CASES
        + ["gauss_nll_backward_gradcheck[dlog_sigma]", "gauss_nll_entropy_and_units"],
    ),
    mutant(
        "normaliser_log_sigma_forgotten",
        "gauss_nll_code",
        "+ log_sigma + 0.5 * np.log(2.0 * np.pi)",
        "+ 0.5 * np.log(2.0 * np.pi)",
        *_NLL_FORWARD_CASES
        + [
            "gauss_nll_entropy_and_units",
            "gauss_poly_nll_gradcheck",
            "gauss_poly_nll_trains_like_reference",
        ],
    ),
    mutant(
        "dlog_sigma_misses_the_normaliser",
        "gauss_nll_code",
        "(1.0 - r**2 * inv_var)",
        "(-r**2 * inv_var)",
        "gauss_nll_backward_gradcheck[dlog_sigma]",
        "gauss_poly_nll_gradcheck",
        "gauss_poly_nll_trains_like_reference",
        "fit_gd_follows_the_recipe",
    ),
    mutant(
        "dPhi_sign_flipped",
        "gauss_nll_code",
        "dPhi = np.outer(dmu, w)",
        "dPhi = np.outer(dr, w)",
        "gauss_nll_backward_gradcheck[dPhi]",
    ),
    mutant(
        "dy_sign_flipped",
        "gauss_nll_code",
        '"dy": dr',
        '"dy": dmu',
        "gauss_nll_backward_gradcheck[dy]",
    ),
    mutant(
        "dw_spurious_1_over_N",
        "gauss_nll_code",
        "dw = Phi.T @ dmu ",
        "dw = Phi.T @ dmu / len(dmu) ",
        "gauss_nll_backward_gradcheck[dw]",
        "gauss_poly_nll_gradcheck",
        # Adam is invariant to the scale of each parameter's gradient, so training cannot see it.
    ),
    # ---------------------------------------------------------------- gauss_poly_nll
    mutant(
        "mean_instead_of_sum",
        "gauss_poly_nll_code",
        "return float(bits.sum()),",
        "return float(bits.mean()),",
        "gauss_poly_nll_value_matches_reference",
        "gauss_poly_nll_gradcheck",
        "gauss_poly_nll_trains_like_reference",
    ),
    mutant(
        "upstream_of_the_mean_for_a_sum_loss",
        "gauss_poly_nll_code",
        "g = gauss_nll_backward(np.ones_like(bits), cache)",
        "g = gauss_nll_backward(np.ones_like(bits) / bits.size, cache)",
        # Adam is invariant to the scale of the gradient, so training alone cannot see this.
        "gauss_poly_nll_gradcheck",
    ),
    mutant(
        "grads_keyed_like_backward",
        "gauss_poly_nll_code",
        '{"w": g["dw"], "log_sigma": g["dlog_sigma"]}',
        '{"dw": g["dw"], "dlog_sigma": g["dlog_sigma"]}',
        "gauss_poly_nll_gradcheck",
        "gauss_poly_nll_trains_like_reference",
    ),
    # ---------------------------------------------------------------- fit_gd
    mutant(
        "no_learning_rate_schedule",
        "fit_gd_code",
        "opt.lr = cosine_lr(step, steps, lr)",
        "opt.lr = lr",
        "fit_gd_follows_the_recipe",
    ),
    mutant(
        "sigma_starts_at_one",
        "fit_gd_code",
        '"log_sigma": np.array([0.5 * np.log(np.mean(y**2))])',
        '"log_sigma": np.array([0.0])',
        "fit_gd_follows_the_recipe",
    ),
    mutant(
        "fit_steps_uphill",
        "fit_gd_code",
        "opt.step(params, grads)",
        "opt.step(params, {k: -g for k, g in grads.items()})",
        "fit_gd_follows_the_recipe",
        "fit_gd_reaches_the_optimum",
    ),
    # ---------------------------------------------------------------- two_part_code
    mutant(
        "sigma_not_counted_as_a_parameter",
        "two_part_code_code",
        "(degree + 2) * bits_per_param",
        "(degree + 1) * bits_per_param",
        "two_part_code_matches_reference",
        "two_part_code_charges_every_parameter",
    ),
    mutant(
        "data_bits_before_the_last_step",
        "two_part_code_code",
        """    params, _ = fit_gd(Phi, y, steps, lr)
    data_bits, _ = gauss_poly_nll(params, (Phi, y))""",
        """    params, fit_losses = fit_gd(Phi, y, steps, lr)
    data_bits = fit_losses[-1]""",
        "two_part_code_matches_reference",
    ),
    # ---------------------------------------------------------------- prequential_code
    mutant(
        "fit_includes_the_chunk_being_coded",
        "prequential_code_code",
        "fit_gd(Phi[:a], y[:a], steps, lr)",
        "fit_gd(Phi[:b], y[:b], steps, lr)",
        # Earlier chunks do not depend on later ones, so only the response of a chunk's cost to
        # its own values (not a fixed Gaussian code: not quadratic) shows the look-ahead.
        "prequential_code_matches_reference",
        "prequential_never_looks_ahead",
        # On the selection test's data set the look-ahead fit favours degree 4 (totals 96.7,
        # 38.4, 35.6 bits for degrees 2, 3, 4).
        "prequential_selects_the_true_degree",
    ),
    mutant(
        "fit_once_on_all_the_data",
        "prequential_code_code",
        "fit_gd(Phi[:a], y[:a], steps, lr)",
        "fit_gd(Phi, y, steps, lr)",
        "prequential_code_matches_reference",
        "prequential_never_looks_ahead",
        "prequential_selects_the_true_degree",
    ),
    mutant(
        "first_chunk_with_unit_sigma",
        "prequential_code_code",
        "np.array([np.log(PRIOR_SIGMA)])",
        "np.array([0.0])",
        "prequential_code_matches_reference",
        "prequential_first_chunk_uses_only_the_prior",
    ),
    mutant(
        "points_sorted_by_x",
        "prequential_code_code",
        "    Phi = legendre_features(x, degree)                     # (n, d + 1)\n\n",
        """    order = np.argsort(x)
    x, y = x[order], y[order]
    Phi = legendre_features(x, degree)                     # (n, d + 1)

""",
        "prequential_code_matches_reference",
        # Sorting moves other points into the first chunk (coded with the prior) and changes
        # which chunk a shifted point lands in.
        "prequential_first_chunk_uses_only_the_prior",
        "prequential_never_looks_ahead",
    ),
]


# Correct but slow implementations: they must still score full marks (the integrity budget
# catches finite differences, not honest Python loops).
VARIANTS = [
    variant(
        "gauss_nll_backward_loops_over_the_points",
        "gauss_nll_code",
        _NLL_BACKWARD_BODY,
        """    Phi, w, r, inv_var = cache
    N, D = Phi.shape
    dPhi, dy, dw = np.zeros((N, D)), np.zeros(N), np.zeros(D)
    dlog_sigma = np.zeros(1)
    for i in range(N):
        g = dbits[i] / np.log(2.0)
        dr_i = g * r[i] * inv_var[0]
        dy[i] = dr_i
        dw -= dr_i * Phi[i]
        dPhi[i] = -dr_i * w
        dlog_sigma[0] += g * (1.0 - r[i] ** 2 * inv_var[0])
    return {"dPhi": dPhi, "dy": dy, "dw": dw, "dlog_sigma": dlog_sigma}""",
    ),
    variant(
        "prequential_as_a_plain_loop",
        "prequential_code_code",
        "    total, chunk_bits, _ = prequential_codelength(encode_chunk, zip(edges[:-1], edges[1:]), 0)",  # noqa: E501
        """    chunk_bits = []
    for a, b in zip(edges[:-1], edges[1:]):
        cost, _ = encode_chunk(a, (a, b))
        chunk_bits.append(cost)
    chunk_bits = np.array(chunk_bits)
    total = float(chunk_bits.sum())""",
    ),
]

# Correct implementations in other styles, with other rounding: they must keep full marks. The
# prescribed start of fit_gd makes d/dlog_sigma exactly zero, so the rounding of that zero decides
# the sign of Adam's first (tiny) step on log_sigma; these variants round it differently from the
# reference, and the tests' tolerances are calibrated on them (see the hidden tests).
VARIANTS += [
    variant(
        "gauss_poly_nll_in_closed_form",
        "gauss_poly_nll_code",
        _POLY_NLL_BODY,
        """    Phi, y = batch
    w, s = params["w"], params["log_sigma"][0]
    n = len(y)
    r = y - Phi @ w
    sigma2 = np.exp(2 * s)
    rss = np.sum(r**2)
    loss = (n * s + 0.5 * n * np.log(2 * np.pi) + rss / (2 * sigma2)) / np.log(2)
    dw = -(Phi.T @ r) / sigma2 / np.log(2)
    ds = (n - rss / sigma2) / np.log(2)
    return float(loss), {"w": dw, "log_sigma": np.array([ds])}""",
    ),
    variant(
        "gauss_nll_einsum_input_cache_split_dlog_sigma",
        "gauss_nll_code",
        _NLL_CELL_BODIES,
        '''    ln2 = np.log(2.0)
    resid = y - np.einsum("nd,d->n", Phi, w)
    prec = np.exp(-2.0 * log_sigma[0])
    bits = resid**2 * prec / (2 * ln2) + log_sigma[0] / ln2 + 0.5 * np.log2(2 * np.pi)
    return bits, {"Phi": Phi, "y": y, "w": w, "log_sigma": log_sigma}


def gauss_nll_backward(dbits, cache):
    """Recomputes the residuals from the inputs kept in the cache."""
    ln2 = np.log(2.0)
    Phi, w, s = cache["Phi"], cache["w"], cache["log_sigma"][0]
    resid = cache["y"] - np.einsum("nd,d->n", Phi, w)
    prec = np.exp(-2.0 * s)
    dresid = dbits * resid * prec / ln2
    dw = -np.einsum("n,nd->d", dresid, Phi)
    dPhi = -np.einsum("n,d->nd", dresid, w)
    # the normaliser's share and the residuals' share, summed separately
    dlog_sigma = np.sum(dbits) / ln2 - np.sum(dbits * resid**2) * prec / ln2
    return {"dPhi": dPhi, "dy": dresid, "dw": dw, "dlog_sigma": np.array([dlog_sigma])}''',
    ),
    variant(
        "fit_gd_while_loop_with_copies",
        "fit_gd_code",
        _FIT_GD_BODY,
        """    n, d = Phi.shape
    s0 = np.log(np.sqrt(np.sum(y * y) / n))
    params = {"w": np.zeros(d), "log_sigma": np.array([s0])}
    adam = Adam(lr=lr)
    history = []
    t = 0
    while t < steps:
        value, g = gauss_poly_nll(params, (Phi, y))
        history.append(float(value))
        adam.lr = cosine_lr(t, steps, lr)
        adam.step(params, g)
        t += 1
    return {"w": params["w"].copy(), "log_sigma": params["log_sigma"].copy()}, history""",
    ),
    variant(
        "two_part_code_sums_the_bits",
        "two_part_code_code",
        _TWO_PART_BODY,
        """    k = degree + 1 + 1
    features = np.polynomial.legendre.legvander(x, degree)
    fitted = fit_gd(features, y, steps=steps, lr=lr)[0]
    bits, _ = gauss_nll_forward(features, y, fitted["w"], fitted["log_sigma"])
    data_bits = float(np.sum(bits))
    return k * bits_per_param + data_bits, data_bits""",
    ),
    variant(
        "prequential_loop_with_prior_formula",
        "prequential_code_code",
        _PREQ_BODY,
        """    Phi = legendre_features(x, degree)
    costs = np.zeros(len(edges) - 1)
    for k in range(len(edges) - 1):
        lo, hi = edges[k], edges[k + 1]
        if k == 0:
            y0 = y[lo:hi]
            costs[k] = np.sum(0.5 * np.log2(2 * np.pi * PRIOR_SIGMA**2)
                              + y0**2 / (2 * PRIOR_SIGMA**2 * np.log(2)))
        else:
            fitted, _ = fit_gd(Phi[:lo], y[:lo], steps=steps, lr=lr)
            costs[k], _ = gauss_poly_nll(fitted, (Phi[lo:hi], y[lo:hi]))
    return float(costs.sum()), costs""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    "code_length_in_nats_not_bits": (
        "factor",
        "dPhi, dy, dw, dlog_sigma (and gauss_poly_nll's w, log_sigma): 1/ln 2 (the forward "
        "returns nats, the backward differentiates bits)",
    ),
    "dPhi_sign_flipped": ("sign", "dPhi"),
    "dy_sign_flipped": ("sign", "dy"),
    "dw_spurious_1_over_N": ("factor", "dw (and gauss_poly_nll's w): 1/N, N the number of points"),
    "mean_instead_of_sum": (
        "factor",
        "w, log_sigma: N, N the number of points (the loss averages, the gradient sums)",
    ),
    "upstream_of_the_mean_for_a_sum_loss": (
        "factor",
        "w, log_sigma: 1/N, N the number of points",
    ),
}
