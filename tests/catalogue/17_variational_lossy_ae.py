"""Wrong implementations of 17_variational_lossy_ae that the hidden tests must catch
(test-of-tests), and correct variants in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward, variant

# ------------------------------------------------------------------ texts of the reference
_AR_FORWARD_RETURN = "    return logits, (x, mask)"

_AR_BACKWARD_DOC = '''


def local_ar_backward(dlogits, cache):
    """Gradients of local_ar_forward with respect to h and A.

    Inputs:
      dlogits: (B, D) upstream gradient dL/dlogits.
      cache:   from local_ar_forward.
    Returns:
      dict with 'dh' (B, D) and 'dA' (D, D).
    """
'''

_AR_BACKWARD_BODY = """    x, mask = cache
    return {"dh": dlogits.copy(), "dA": mask * (dlogits.T @ x)}   # (B, D), (D, D)"""

# From the forward's return to the backward's end: entries that change the cache replace it all.
_AR_TAIL = _AR_FORWARD_RETURN + _AR_BACKWARD_DOC + _AR_BACKWARD_BODY

_AR_FORWARD_BODY = """    D = x.shape[1]
    gap = np.arange(D)[:, None] - np.arange(D)[None, :]           # (D, D) s - t
    mask = ((gap >= 1) & (gap <= window)).astype(np.float64)      # (D, D) the window
    logits = h + x @ (A * mask).T                                  # (B, D)
    return logits, (x, mask)"""

_REPARAM_BODIES = """    std = np.exp(0.5 * logvar)        # (B, Z)
    z = mu + std * eps                # (B, Z)
    return z, (std, eps)"""

_REPARAM_BACKWARD_BODY = """    std, eps = cache
    return {"dmu": dz.copy(), "dlogvar": 0.5 * dz * std * eps}   # (B, Z) each"""

_KL_FORWARD_BODY = """    var = np.exp(logvar)                                          # (B, Z)
    kl = 0.5 * np.sum(mu**2 + var - 1.0 - logvar, axis=1)         # (B,)
    return kl, (mu, var)"""

_KL_BACKWARD_BODY = """    mu, var = cache
    return {"dmu": dkl[:, None] * mu, "dlogvar": 0.5 * dkl[:, None] * (var - 1.0)}"""

_NLL_FORWARD_BODY = """    nll = np.sum(np.logaddexp(0.0, logits) - x * logits, axis=1)   # (B,)
    return nll, (logits, x)"""

_NLL_BACKWARD_BODY = """    logits, x = cache
    return {"dlogits": dnll[:, None] * (sigmoid(logits) - x)}     # (B, D)"""

_LOSS_ENCODER = """    mu = x @ params["We"] + params["be"]                              # (B, Z)
    logvar = x @ params["Wv"] + params["bv"]                          # (B, Z)"""

_LOSS_RETURN = """    return loss, {
        "We": x.T @ dmu, "be": dmu.sum(axis=0),
        "Wv": x.T @ dlogvar, "bv": dlogvar.sum(axis=0),"""


_REPARAM_BACKWARD_DOC = '''


def reparam_backward(dz, cache):
    """Gradients of reparam_forward with respect to mu and logvar.

    Inputs:
      dz:    (B, Z) upstream gradient dL/dz.
      cache: from reparam_forward.
    Returns:
      dict with 'dmu' (B, Z) and 'dlogvar' (B, Z).
    """
'''

_KL_BACKWARD_DOC = '''


def gauss_kl_backward(dkl, cache):
    """Gradients of gauss_kl_forward with respect to mu and logvar.

    Inputs:
      dkl:   (B,) upstream gradient dL/dkl.
      cache: from gauss_kl_forward.
    Returns:
      dict with 'dmu' (B, Z) and 'dlogvar' (B, Z).
    """
'''

_NLL_BACKWARD_DOC = '''


def bernoulli_nll_backward(dnll, cache):
    """Gradient of bernoulli_nll_forward with respect to the logits.

    Inputs:
      dnll:  (B,) upstream gradient dL/dnll.
      cache: from bernoulli_nll_forward.
    Returns:
      dict with 'dlogits' (B, D).
    """
'''

# ------------------------------------------------------------------ names of hidden tests
_REPARAM_FWD = [f"reparam_forward_matches_reference[{c}]" for c in ("random", "batch1_wide")]
_KL_FWD = [f"gauss_kl_forward_matches_reference[{c}]" for c in ("random", "batch1_wide")]
_AR_FWD = [
    f"local_ar_forward_matches_reference[{c}]" for c in ("w0", "w1", "w3", "full", "beyond_D")
]
_AR_WINDOW = [f"local_ar_logit_sees_only_its_window[{w}]" for w in (1, 3)]
_NLL_FWD = [f"bernoulli_nll_forward_matches_reference[{c}]" for c in ("random", "saturated")]
_LOSS_FWD = [
    f"vlae_loss_value_matches_reference[{c}]" for c in ("w0_beta1", "w2_beta03", "full_beta07")
]
_LOSS_GRAD = {p: f"vlae_loss_gradcheck[{p}]" for p in ("We", "be", "Wv", "bv", "Wd", "bd", "A")}
_ALL_LOSS_GRAD = list(_LOSS_GRAD.values())
_REPARAM_FAST = "reparam_backward_fast_at_realistic_size"
_KL_FAST = "gauss_kl_backward_fast_at_realistic_size"
_AR_FAST = "local_ar_backward_fast_at_realistic_size"
_NLL_FAST = "bernoulli_nll_backward_fast_at_realistic_size"
_LOSS_FAST = "vlae_loss_fast_at_realistic_size"
_LOSS_PROP = "vlae_loss_linear_in_beta_and_window"
_TRAIN = "vlae_loss_trains_like_reference"

# A backward that differentiates numerically through the forward (tests/mutants.py). The forward
# keeps h, A and the window in its cache; the loop nudges h and A in place. Accurate to ~1e-10
# (the forward is linear in both), so it passes every gradient check; only the realistic-size
# time budgets catch it (the layer's own, and vlae_loss's, which calls it).
_AR_NUMERICAL = (
    "    return logits, (x, h, A, window)"
    + _AR_BACKWARD_DOC
    + numerical_backward(
        """    x, h, A, window = cache
    args = {"h": np.array(h, float), "A": np.array(A, float)}""",
        'np.sum(local_ar_forward(x, args["h"], args["A"], window)[0] * dlogits)',
    )
)

MUTANTS = [
    # ---------------------------------------------------------------- reparam
    mutant(
        "std_is_the_variance",
        "reparam_code",
        "    std = np.exp(0.5 * logvar)        # (B, Z)",
        "    std = np.exp(logvar)              # (B, Z)",
        *_REPARAM_FWD,
        "reparam_backward_gradcheck[dlogvar]",
        _REPARAM_FAST,
        *_LOSS_FWD,
        _LOSS_GRAD["Wv"],
        _LOSS_GRAD["bv"],
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "dlogvar_missing_one_half",
        "reparam_code",
        '"dlogvar": 0.5 * dz * std * eps}',
        '"dlogvar": dz * std * eps}',
        "reparam_backward_gradcheck[dlogvar]",
        _REPARAM_FAST,
        _LOSS_GRAD["Wv"],
        _LOSS_GRAD["bv"],
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "dlogvar_without_the_noise",
        "reparam_code",
        '"dlogvar": 0.5 * dz * std * eps}',
        '"dlogvar": 0.5 * dz * std}',
        "reparam_backward_gradcheck[dlogvar]",
        "reparam_noise_identities",
        _REPARAM_FAST,
        _LOSS_GRAD["Wv"],
        _LOSS_GRAD["bv"],
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "dmu_scaled_by_sigma",
        "reparam_code",
        '"dmu": dz.copy(),',
        '"dmu": dz * std,',
        "reparam_backward_gradcheck[dmu]",
        _REPARAM_FAST,
        _LOSS_GRAD["We"],
        _LOSS_GRAD["be"],
        _TRAIN,
        _LOSS_FAST,
    ),
    # ---------------------------------------------------------------- gauss_kl
    mutant(
        "kl_averaged_over_dimensions",
        "gauss_kl_code",
        "    kl = 0.5 * np.sum(mu**2 + var - 1.0 - logvar, axis=1)",
        "    kl = 0.5 * np.mean(mu**2 + var - 1.0 - logvar, axis=1)",
        *_KL_FWD,
        "gauss_kl_backward_gradcheck[dmu]",
        "gauss_kl_backward_gradcheck[dlogvar]",
        "gauss_kl_prior_minimum_and_columns",
        _KL_FAST,
        *_LOSS_FWD,
        _LOSS_GRAD["We"],
        _LOSS_GRAD["be"],
        _LOSS_GRAD["Wv"],
        _LOSS_GRAD["bv"],
        _LOSS_PROP,
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "kl_dlogvar_forgets_the_minus_one",
        "gauss_kl_code",
        '"dlogvar": 0.5 * dkl[:, None] * (var - 1.0)}',
        '"dlogvar": 0.5 * dkl[:, None] * var}',
        "gauss_kl_backward_gradcheck[dlogvar]",
        "gauss_kl_prior_minimum_and_columns",
        _KL_FAST,
        _LOSS_GRAD["Wv"],
        _LOSS_GRAD["bv"],
        _TRAIN,
        _LOSS_FAST,
    ),
    # ---------------------------------------------------------------- local_ar
    mutant(
        "numerical_local_ar_backward",
        "local_ar_code",
        _AR_TAIL,
        _AR_NUMERICAL,
        _AR_FAST,
        _LOSS_FAST,
    ),
    mutant(
        "decoder_sees_the_current_pixel",
        "local_ar_code",
        "    mask = ((gap >= 1) & (gap <= window)).astype(np.float64)",
        "    mask = ((gap >= 0) & (gap <= window)).astype(np.float64)",
        *_AR_FWD,
        *_AR_WINDOW,
        "local_ar_unused_weights_get_no_gradient",
        _AR_FAST,
        *_LOSS_FWD,
        _LOSS_PROP,
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "window_one_pixel_short",
        "local_ar_code",
        "    mask = ((gap >= 1) & (gap <= window)).astype(np.float64)",
        "    mask = ((gap >= 1) & (gap < window)).astype(np.float64)",
        "local_ar_forward_matches_reference[w1]",
        "local_ar_forward_matches_reference[w3]",
        "local_ar_forward_matches_reference[full]",
        *_AR_WINDOW,
        _AR_FAST,
        "vlae_loss_value_matches_reference[w2_beta03]",
        "vlae_loss_value_matches_reference[full_beta07]",
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "dA_not_masked",
        "local_ar_code",
        '"dA": mask * (dlogits.T @ x)}',
        '"dA": dlogits.T @ x}',
        "local_ar_backward_gradcheck[dA]",
        "local_ar_unused_weights_get_no_gradient",
        _AR_FAST,
        _LOSS_GRAD["A"],
        _LOSS_PROP,
        _LOSS_FAST,
    ),
    mutant(
        "dA_transposed",
        "local_ar_code",
        '"dA": mask * (dlogits.T @ x)}',
        '"dA": mask * (x.T @ dlogits)}',
        "local_ar_backward_gradcheck[dA]",
        _AR_FAST,
        _LOSS_GRAD["A"],
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "dh_summed_over_the_batch_like_a_bias",
        "local_ar_code",
        '"dh": dlogits.copy(),',
        '"dh": dlogits.sum(axis=0),',
        "local_ar_backward_gradcheck[dh]",
        _AR_FAST,
        *_LOSS_FWD,  # vlae_loss then fails on the shapes of its own matrix products
        *_ALL_LOSS_GRAD,
        _LOSS_PROP,
        _TRAIN,
        _LOSS_FAST,
    ),
    # ---------------------------------------------------------------- bernoulli_nll
    mutant(
        "softplus_overflows_for_large_logits",
        "bernoulli_nll_code",
        "np.logaddexp(0.0, logits)",
        "np.log(1.0 + np.exp(logits))",
        "bernoulli_nll_forward_matches_reference[saturated]",
        _NLL_FAST,
    ),
    mutant(
        "dlogits_sign_flipped",
        "bernoulli_nll_code",
        '"dlogits": dnll[:, None] * (sigmoid(logits) - x)}',
        '"dlogits": dnll[:, None] * (x - sigmoid(logits))}',
        "bernoulli_nll_backward_gradcheck",
        _NLL_FAST,
        *_ALL_LOSS_GRAD,
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "dlogits_ignores_the_upstream",
        "bernoulli_nll_code",
        '"dlogits": dnll[:, None] * (sigmoid(logits) - x)}',
        '"dlogits": sigmoid(logits) - x}',
        "bernoulli_nll_backward_gradcheck",
        "bernoulli_nll_symmetry_and_saturation",
        _NLL_FAST,
        *_ALL_LOSS_GRAD,
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "nll_averaged_over_pixels",
        "bernoulli_nll_code",
        "    nll = np.sum(np.logaddexp(0.0, logits) - x * logits, axis=1)",
        "    nll = np.mean(np.logaddexp(0.0, logits) - x * logits, axis=1)",
        *_NLL_FWD,
        "bernoulli_nll_backward_gradcheck",
        "bernoulli_nll_symmetry_and_saturation",
        _NLL_FAST,
        *_LOSS_FWD,
        *_ALL_LOSS_GRAD,
        _TRAIN,
        _LOSS_FAST,
    ),
    # ---------------------------------------------------------------- vlae_loss
    mutant(
        "reconstruction_gradient_summed_over_the_batch",
        "vlae_loss_code",
        "bernoulli_nll_backward(np.full(B, 1.0 / B), cache_nll)",
        "bernoulli_nll_backward(np.full(B, 1.0), cache_nll)",
        *_ALL_LOSS_GRAD,
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "kl_gradient_without_beta",
        "vlae_loss_code",
        "gauss_kl_backward(np.full(B, beta / B), cache_kl)",
        "gauss_kl_backward(np.full(B, 1.0 / B), cache_kl)",
        _LOSS_GRAD["We"],
        _LOSS_GRAD["be"],
        _LOSS_GRAD["Wv"],
        _LOSS_GRAD["bv"],
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "no_gradient_through_the_sample",
        "vlae_loss_code",
        '    dmu = g_z["dmu"] + g_kl["dmu"]',
        '    dmu = g_kl["dmu"]',
        _LOSS_GRAD["We"],
        _LOSS_GRAD["be"],
        _TRAIN,
        _LOSS_FAST,
    ),
]

VARIANTS = [
    variant(
        "reparam_caches_logvar_and_recomputes",
        "reparam_code",
        _REPARAM_BODIES + _REPARAM_BACKWARD_DOC + _REPARAM_BACKWARD_BODY,
        """    return mu + np.sqrt(np.exp(logvar)) * eps, {"logvar": logvar, "eps": eps}
"""
        + _REPARAM_BACKWARD_DOC
        + """    sigma = np.exp(0.5 * cache["logvar"])
    dmu = np.array(dz, dtype=np.float64)
    dlogvar = dz * cache["eps"] * sigma / 2.0
    return {"dmu": dmu, "dlogvar": dlogvar}""",
    ),
    variant(
        "kl_einsum_with_logvar_cache",
        "gauss_kl_code",
        _KL_FORWARD_BODY + _KL_BACKWARD_DOC + _KL_BACKWARD_BODY,
        """    terms = mu * mu + np.exp(logvar) - logvar - 1.0                  # (B, Z)
    kl = 0.5 * np.einsum("bj->b", terms)
    return kl, {"mu": mu, "logvar": logvar}
"""
        + _KL_BACKWARD_DOC
        + """    mu, logvar = cache["mu"], cache["logvar"]
    scale = dkl.reshape(-1, 1)
    return {"dmu": scale * mu, "dlogvar": scale * (np.exp(logvar) - 1.0) / 2}""",
    ),
    variant(
        "local_ar_loop_over_offsets",
        "local_ar_code",
        _AR_FORWARD_BODY + _AR_BACKWARD_DOC + _AR_BACKWARD_BODY,
        """    B, D = x.shape
    logits = np.array(h, dtype=np.float64)
    for j in range(1, min(window, D - 1) + 1):               # offset s - t = j
        s = np.arange(j, D)
        logits[:, j:] += A[s, s - j] * x[:, : D - j]
    return logits, (x, window)
"""
        + _AR_BACKWARD_DOC
        + """    x, window = cache
    B, D = x.shape
    dA = np.zeros((D, D))
    for j in range(1, min(window, D - 1) + 1):
        s = np.arange(j, D)
        dA[s, s - j] = np.sum(dlogits[:, j:] * x[:, : D - j], axis=0)
    return {"dh": np.array(dlogits, dtype=np.float64), "dA": dA}""",
    ),
    variant(
        "local_ar_tril_and_einsum",
        "local_ar_code",
        _AR_FORWARD_BODY + _AR_BACKWARD_DOC + _AR_BACKWARD_BODY,
        """    D = x.shape[1]
    ones = np.ones((D, D))
    mask = np.tril(ones, -1) - np.tril(ones, -window - 1)
    logits = h + np.einsum("st,bt->bs", A * mask, x)
    return logits, {"x": x, "mask": mask}
"""
        + _AR_BACKWARD_DOC
        + """    x, mask = cache["x"], cache["mask"]
    dA = np.einsum("bs,bt->st", dlogits, x) * mask
    return {"dh": dlogits * 1.0, "dA": dA}""",
    ),
    variant(
        "nll_as_minus_log_sigmoid",
        "bernoulli_nll_code",
        _NLL_FORWARD_BODY + _NLL_BACKWARD_DOC + _NLL_BACKWARD_BODY,
        """    log_p1 = -np.logaddexp(0.0, -logits)           # log sigmoid(a)
    log_p0 = -np.logaddexp(0.0, logits)            # log sigmoid(-a)
    nll = -np.sum(x * log_p1 + (1.0 - x) * log_p0, axis=1)
    return nll, (sigmoid(logits), x)
"""
        + _NLL_BACKWARD_DOC
        + """    p, x = cache
    return {"dlogits": (p - x) * dnll[:, np.newaxis]}""",
    ),
    variant(
        "encoder_as_one_matrix",
        "vlae_loss_code",
        _LOSS_ENCODER,
        """    Z = params["We"].shape[1]
    W = np.concatenate([params["We"], params["Wv"]], axis=1)             # (D, 2Z)
    stats = x @ W + np.concatenate([params["be"], params["bv"]])        # (B, 2Z)
    mu, logvar = stats[:, :Z], stats[:, Z:]""",
    ),
    variant(
        "loss_gradients_with_einsum",
        "vlae_loss_code",
        _LOSS_RETURN,
        """    return loss, {
        "We": np.einsum("bd,bz->dz", x, dmu), "be": np.einsum("bz->z", dmu),
        "Wv": np.einsum("bd,bz->dz", x, dlogvar), "bv": np.einsum("bz->z", dlogvar),""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): the class of the error in the gradient of the
#: function the mutant edits, and the factor, axis or tensor it concerns. Mutants not listed are
#: of class "other".
#: (Further from the bug, vlae_loss adds the sample's and the KL's paths into dmu and dlogvar,
#: so the encoder's We, be, Wv, bv are wrong in no single class.)
BUG_CLASSES = {
    "std_is_the_variance": ("factor", "reparam's dlogvar: 1/2"),
    "dlogvar_missing_one_half": ("factor", "reparam's dlogvar: 2"),
    "kl_averaged_over_dimensions": ("factor", "the KL's dmu and dlogvar: Z, the latent size"),
    "dlogits_sign_flipped": ("sign", "bernoulli_nll's dlogits"),
    "nll_averaged_over_pixels": ("factor", "bernoulli_nll's dlogits: D, the pixels"),
    # revised after the first measurement, from the code: A, Wd, bd in vlae_loss: the upstream is
    # 1/B for every example, so ignoring it multiplies by B
    "dlogits_ignores_the_upstream": (("other", "factor"), "A, Wd, bd: B"),
    # revised after the first measurement, from the code: Wd, bd, A: B (the labeller's note)
    "reconstruction_gradient_summed_over_the_batch": (("other", "factor"), "Wd, bd, A: B"),
}
