"""Wrong implementations of 25_kolmogorov_complexity that the hidden tests must catch
(test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import fd_loop, mutant, numerical_backward_mutant, rewrites, variant

# A backward that differentiates numerically through the forward. The cache holds the
# probabilities of the rows in the batch; their logs are logits giving the same forward output
# (softmax ignores a per-row shift), and rows outside the batch do not affect it. So it is
# accurate to ~1e-10 and passes every gradient check; only the realistic-size time budget
# catches it. (The rest of the analytic body stays below the return, unreachable.)
_CTX_NUMERICAL_BACKWARD = f"""    ctx, sym, p, shape = cache
    theta = np.zeros(shape)
    theta[ctx] = np.log(p)

    def objective():
        return np.sum(ctx_model_forward(theta, ctx, sym)[0] * dbits)

{fd_loop("theta", "dtheta", "objective()")}
    return {{"dtheta": dtheta}}
    B = ctx.shape[0]"""

_CONTEXT_IDS_FORWARD = [
    "context_ids_matches_reference[20-3-2]",
    "context_ids_matches_reference[15-2-3]",
    "context_ids_matches_reference[1-1-4]",
    "context_ids_matches_reference[30-4-5]",
]
_CTX_FORWARD = ["ctx_model_forward_matches_reference", "ctx_model_codes_are_probabilities"]
_ALL_CTX_GRADCHECKS = [
    "ctx_model_backward_gradcheck[repeated_contexts]",
    "ctx_model_backward_gradcheck[batch_1]",
    "ctx_model_backward_gradcheck[V5]",
]
# The time budget requires the gradient checks, so a wrong backward loses it too.
_CTX_GRADIENT = _ALL_CTX_GRADCHECKS + ["ctx_model_backward_fast", "ctx_model_loss_gradcheck"]
_MIXER_FORWARD = ["mixer_forward_matches_reference", "mixer_codes_are_probabilities"]
# A wrong dw also loses the time budget, which requires the gradient checks.
_MIXER_DW = ["mixer_backward_gradcheck[dw]", "mixer_backward_fast"]
_MIXTURE_VALUES = [
    "mixture_code_length_matches_reference[K3_n60]",
    "mixture_code_length_matches_reference[K4_n50_lr0.3]",
    "mixture_code_length_is_stable_for_large_costs",
]
_ONLINE_ADAGRAD = [
    "online_code_length_matches_reference[markov_V3_k2]",
    "online_code_length_matches_reference[V4_k1_lr0.2]",
]


MUTANTS = [
    # ---- context_ids
    *rewrites(
        "context_ids_code",
        "ctx += padded[k - 1 - j : k - 1 - j + n] * V**j",
        context_includes_the_current_symbol=(
            "ctx += padded[k - j : k - j + n] * V**j",
            _CONTEXT_IDS_FORWARD
            + [
                "context_ids_use_only_the_past",
                "online_code_length_matches_reference[markov_V3_k2]",
                "online_code_length_matches_reference[V4_k1_lr0.2]",
                "online_code_length_predicts_before_learning",
                "online_code_length_cannot_compress_fair_coins",
                "online_code_length_lfsr_looks_random_to_short_contexts",
            ],
        ),
        # The first k contexts read the END of the sequence: a look into the future.
        context_padding_wraps_around_with_roll=(
            "ctx += np.roll(seq, j + 1) * V**j",
            [
                "context_ids_matches_reference[20-3-2]",
                "context_ids_matches_reference[15-2-3]",
                "context_ids_matches_reference[1-1-4]",
                "context_ids_matches_reference[30-4-5]",
                "context_ids_use_only_the_past",
                "online_code_length_matches_reference[markov_V3_k2]",
                "online_code_length_predicts_before_learning",
            ],
        ),
    ),
    mutant(
        "context_digits_most_recent_most_significant",
        "context_ids_code",
        "n] * V**j",
        "n] * V**(k - 1 - j)",
        "context_ids_matches_reference[20-3-2]",
        "context_ids_matches_reference[15-2-3]",
        "context_ids_matches_reference[30-4-5]",
    ),
    mutant(
        "context_order_0_treated_as_order_1",
        "context_ids_code",
        "for j in range(k):",
        "for j in range(max(k, 1)):",
        "context_ids_matches_reference[7-0-2]",
    ),
    # ---- the context model
    mutant(
        "ctx_forward_without_max_shift",
        "ctx_model_code",
        "z = logits - logits.max(axis=1, keepdims=True)",
        "z = logits",
        *_CTX_FORWARD,
    ),
    mutant(
        "ctx_forward_log_of_underflowed_softmax",
        "ctx_model_code",
        "logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))",
        "logp = np.log(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))",
        *_CTX_FORWARD,
    ),
    # Adam is invariant to a constant rescaling of the gradient, so the training curve barely
    # notices a wrong scale; the gradient checks must.
    *rewrites(
        "ctx_model_code",
        "dlogits *= (dbits * LOG2E)[:, None]",
        ctx_backward_in_nats=("dlogits *= dbits[:, None]", _CTX_GRADIENT),
        ctx_backward_ignores_upstream=("dlogits *= LOG2E", _CTX_GRADIENT),
    ),
    mutant(
        "ctx_backward_forgets_the_target",
        "ctx_model_code",
        "dlogits[np.arange(B), sym] -= 1.0",
        "dlogits = dlogits",
        *_CTX_GRADIENT
        + [
            "ctx_model_gradient_rows",
            "ctx_model_training_reduces_loss_like_reference",
            "online_code_length_matches_reference[markov_V3_k2]",
            "online_code_length_matches_reference[V4_k1_lr0.2]",
            "online_code_length_learns_deterministic_sources",
            "online_code_length_cannot_compress_fair_coins",
            "online_code_length_lfsr_looks_random_to_short_contexts",
        ],
    ),
    mutant(
        "ctx_backward_repeated_contexts_not_accumulated",
        "ctx_model_code",
        "np.add.at(dtheta, ctx, dlogits)",
        "dtheta[ctx] += dlogits",
        "ctx_model_backward_gradcheck[repeated_contexts]",
        "ctx_model_backward_gradcheck[V5]",
        "ctx_model_backward_fast",
        "ctx_model_loss_gradcheck",
        "ctx_model_training_reduces_loss_like_reference",
    ),
    mutant(
        "ctx_numerical_backward",
        "ctx_model_code",
        "    ctx, sym, p, shape = cache\n    B = ctx.shape[0]",
        _CTX_NUMERICAL_BACKWARD,
        # Its row sums are ~1e-11, not 0: the gradient-rows property sees the noise.
        "ctx_model_backward_fast",
        "ctx_model_gradient_rows",
    ),
    # ---- the batch loss
    mutant(
        "loss_sums_instead_of_averaging",
        "ctx_model_loss_code",
        "grads = ctx_model_backward(np.full(B, 1.0 / B), cache)\n    return float(bits.mean())",
        "grads = ctx_model_backward(np.ones(B), cache)\n    return float(bits.sum())",
        # Its gradient is exact for the sum it returns, so the gradient check (against the
        # student's own loss) passes: the value and the training curve catch it.
        "ctx_model_loss_value_matches_reference",
        "ctx_model_training_reduces_loss_like_reference",
    ),
    # ---- online coding
    mutant(
        "online_learns_before_coding",
        "online_code_length_code",
        "        return bits[0], state",
        "        return ctx_model_forward(theta, np.array([c]), np.array([s]))[0][0], state",
        "online_code_length_matches_reference[markov_V3_k2]",
        "online_code_length_matches_reference[single_symbol]",
        "online_code_length_matches_reference[V4_k1_lr0.2]",
        "online_code_length_predicts_before_learning",
        "online_code_length_cannot_compress_fair_coins",
    ),
    # Look-ahead that keeps the first symbol honest: symbol 0 is coded by the uniform model,
    # every later one after learning from itself (per[0] = log2 V, so only Kraft at t >= 1 and
    # the fair coins see it).
    mutant(
        "online_learns_from_each_later_symbol_before_coding_it",
        "online_code_length_code",
        "    total_bits, bits_per_symbol, _ = prequential_codelength(step, zip(ctx, seq), None)",
        """    bits_per_symbol = np.zeros(seq.shape[0])
    for t in range(seq.shape[0]):
        if t > 0:
            step(None, (ctx[t], seq[t]))                        # learn ...
        one = np.array([ctx[t]]), np.array([seq[t]])
        bits_per_symbol[t] = ctx_model_forward(theta, *one)[0][0]   # ... then code
    total_bits = float(bits_per_symbol.sum())""",
        "online_code_length_matches_reference[markov_V3_k2]",
        "online_code_length_matches_reference[V4_k1_lr0.2]",
        "online_code_length_predicts_before_learning",
        "online_code_length_cannot_compress_fair_coins",
    ),
    *rewrites(
        "online_code_length_code",
        "theta[c] -= lr * g / (np.sqrt(G[c]) + ADAGRAD_EPS)",
        online_plain_sgd_instead_of_adagrad=("theta[c] -= lr * g", _ONLINE_ADAGRAD),
        online_gradient_ascent=(
            "theta[c] += lr * g / (np.sqrt(G[c]) + ADAGRAD_EPS)",
            [
                *_ONLINE_ADAGRAD,
                "online_code_length_learns_deterministic_sources",
                # (lower bounds that require the learning test)
                "online_code_length_cannot_compress_fair_coins",
                "online_code_length_lfsr_looks_random_to_short_contexts",
            ],
        ),
    ),
    mutant(
        "online_adagrad_forgets_past_gradients",
        "online_code_length_code",
        "G[c] += g * g",
        "G[c] = g * g",
        *_ONLINE_ADAGRAD,
    ),
    # ---- the mixer layer
    mutant(
        "mixer_weights_not_normalised",
        "mixer_code",
        "    log_pi = log_pi - np.log(np.exp(log_pi).sum())",
        "    log_pi = log_pi",
        *_MIXER_FORWARD,
        "mixer_backward_gradcheck[dw]",
        "mixer_backward_fast",
        "mixer_gradient_identities",
        *_MIXTURE_VALUES,
        "mixture_code_length_matches_reference[K2_n1]",
        "mixture_code_length_predicts_before_learning",
    ),
    mutant(
        "mixer_forward_underflows_without_log_domain",
        "mixer_code",
        "    mix = -(top + np.log(s)) * LOG2E",
        "    mix = -np.log2(np.exp(log_pi) @ 2.0 ** -bits)",
        "mixer_forward_matches_reference",
        "mixture_code_length_is_stable_for_large_costs",
    ),
    *rewrites(
        "mixer_code",
        "    dw = (pi[:, None] - r) @ dmix * LOG2E",
        mixer_dw_sign_flipped=(
            "    dw = (r - pi[:, None]) @ dmix * LOG2E",
            _MIXER_DW + _MIXTURE_VALUES + ["mixture_code_length_learns_to_trust_the_best_model"],
        ),
        # With the upstream 1 of the online mixer this is exact, so only the layer checks see it.
        mixer_dw_ignores_upstream=("    dw = (pi[:, None] - r).sum(axis=1) * LOG2E", _MIXER_DW),
        # (a step ln 2 times too small for the online mixer)
        mixer_dw_in_nats=("    dw = (pi[:, None] - r) @ dmix", _MIXER_DW + _MIXTURE_VALUES),
    ),
    # The prior weights instead of the posterior shares: the columns still sum to dmix, so only
    # the gradient check (and the time budget, which requires it) sees it.
    mutant(
        "mixer_dbits_prior_instead_of_posterior",
        "mixer_code",
        "    dbits = r * dmix[None, :]",
        "    dbits = pi[:, None] * dmix[None, :]",
        "mixer_backward_gradcheck[dbits]",
        "mixer_backward_fast",
    ),
    # The cache holds pi and the shares r; w = log(pi) and bits = -log2(r / pi) give the same
    # pi and r (the per-column constant they lose does not change them), so this is accurate to
    # ~1e-10 and only the realistic-size time budget catches it.
    numerical_backward_mutant(
        "mixer_numerical_backward",
        "mixer_code",
        "    pi, r = cache\n    dw = (pi[:, None] - r) @ dmix * LOG2E",
        """    args = {"w": np.log(pi), "bits": -np.log2(r / pi[:, None])}""",
        """np.sum(mixer_forward(args["w"], args["bits"])[0] * dmix)""",
        # Its sum(dw) is ~1e-11, not 0: the identities test sees the noise.
        catches=["mixer_backward_fast", "mixer_gradient_identities"],
    ),
    # ---- the online mixture
    mutant(
        "mixture_learns_before_coding",
        "mixture_code_length_code",
        """        per[t] = mix[0]
        w -= lr * mixer_backward(np.ones(1), cache)["dw"]          # then learn""",
        """        w -= lr * mixer_backward(np.ones(1), cache)["dw"]
        per[t] = mixer_forward(w, bits[:, t : t + 1])[0][0]""",
        *_MIXTURE_VALUES,
        "mixture_code_length_matches_reference[K2_n1]",
        "mixture_code_length_predicts_before_learning",
    ),
    *rewrites(
        "mixture_code_length_code",
        """        w -= lr * mixer_backward(np.ones(1), cache)["dw"]""",
        mixture_gradient_ascent=(
            """        w += lr * mixer_backward(np.ones(1), cache)["dw"]""",
            _MIXTURE_VALUES + ["mixture_code_length_learns_to_trust_the_best_model"],
        ),
        mixture_ignores_the_step_size=(
            """        w -= mixer_backward(np.ones(1), cache)["dw"]""",
            ["mixture_code_length_matches_reference[K4_n50_lr0.3]"],
        ),
    ),
    mutant(
        "mixture_restarts_from_uniform_weights",
        "mixture_code_length_code",
        "        mix, cache = mixer_forward(w, bits[:, t : t + 1])",
        "        w = np.zeros(K)\n        mix, cache = mixer_forward(w, bits[:, t : t + 1])",
        *_MIXTURE_VALUES,
        "mixture_code_length_learns_to_trust_the_best_model",
    ),
]


# The whole layer cell from the forward's first body line to the backward's last: variants that
# keep another cache replace both bodies (the backward's docstring in between is unchanged).
_CTX_MODEL_BODIES = '''    B = ctx.shape[0]
    logits = theta[ctx]                                            # (B, V)
    z = logits - logits.max(axis=1, keepdims=True)                 # (B, V), row max is 0
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))        # (B, V) natural log-probs
    bits = -logp[np.arange(B), sym] * LOG2E                        # (B,)
    cache = (ctx, sym, np.exp(logp), theta.shape)
    return bits, cache


def ctx_model_backward(dbits, cache):
    """Backward pass of ctx_model_forward.

    Inputs:
        dbits: (B,) upstream gradient of bits.
        cache: from ctx_model_forward.
    Returns:
        dict with 'dtheta': (C, V), gradients of rows sharing a context added together.
    """
    ctx, sym, p, shape = cache
    B = ctx.shape[0]
    dlogits = p.copy()                                             # (B, V)
    dlogits[np.arange(B), sym] -= 1.0
    dlogits *= (dbits * LOG2E)[:, None]
    dtheta = np.zeros(shape)                                       # (C, V)
    np.add.at(dtheta, ctx, dlogits)
    return {"dtheta": dtheta}'''
_CTX_MODEL_BACKWARD_DOC = _CTX_MODEL_BODIES[
    _CTX_MODEL_BODIES.index("\n\n\ndef ") : _CTX_MODEL_BODIES.index("    ctx, sym, p, shape")
]
_ONLINE_BODY = """    seq = np.asarray(seq, dtype=np.int64)
    ctx = context_ids(seq, k, V)"""

_MIXER_BODIES = '''    log_pi = w - w.max()                                           # (K,)
    log_pi = log_pi - np.log(np.exp(log_pi).sum())                 # (K,) log-softmax, nats
    a = log_pi[:, None] - bits / LOG2E                             # (K, B) log(pi_i q_ib)
    top = a.max(axis=0)                                            # (B,)
    e = np.exp(a - top)                                            # (K, B), column max is 1
    s = e.sum(axis=0)                                              # (B,)
    mix = -(top + np.log(s)) * LOG2E                               # (B,)
    cache = (np.exp(log_pi), e / s)                                # pi (K,), shares r (K, B)
    return mix, cache


def mixer_backward(dmix, cache):
    """Backward pass of mixer_forward.

    Inputs:
        dmix: (B,) upstream gradient of mix.
        cache: from mixer_forward.
    Returns:
        dict with 'dw': (K,) (summed over the batch) and 'dbits': (K, B).
    """
    pi, r = cache
    dw = (pi[:, None] - r) @ dmix * LOG2E                          # (K,)
    dbits = r * dmix[None, :]                                      # (K, B)
    return {"dw": dw, "dbits": dbits}'''
_MIXER_FORWARD_BODY = _MIXER_BODIES[: _MIXER_BODIES.index("\n\n\ndef ")]
_MIXER_BACKWARD_DOC = _MIXER_BODIES[
    _MIXER_BODIES.index("\n\n\ndef ") : _MIXER_BODIES.index("    pi, r = cache")
]
_MIXTURE_BODY = """    K, n = bits.shape
    w = np.zeros(K)                                                # (K,) uniform weights"""

# Correct but slow (or differently written) implementations: they must still score full marks.
VARIANTS = [
    # The integrity budget catches finite differences, not an honest loop over the batch.
    variant(
        "ctx_backward_loops_over_the_batch",
        "ctx_model_code",
        "    dlogits = p.copy()  ",
        """    dtheta = np.zeros(shape)
    for b in range(B):
        g = p[b].copy()
        g[sym[b]] -= 1.0
        dtheta[ctx[b]] += dbits[b] * LOG2E * g
    return {"dtheta": dtheta}
    dlogits = p.copy()  """,
    ),
    # AdaGrad on every row: rows with zero gradient do not move, so the code is identical.
    variant(
        "online_dense_adagrad_update",
        "online_code_length_code",
        """        G[c] += g * g                                              # then learn
        theta[c] -= lr * g / (np.sqrt(G[c]) + ADAGRAD_EPS)""",
        """        g_all = ctx_model_backward(np.ones(1), cache)["dtheta"]
        G[...] += g_all * g_all
        theta[...] -= lr * g_all / (np.sqrt(G) + ADAGRAD_EPS)""",
    ),
    # context_ids as a loop over t (Horner's rule on the previous context), not vectorised.
    variant(
        "context_ids_loop_over_t",
        "context_ids_code",
        "    seq = np.asarray(seq, dtype=np.int64)\n    n = seq.shape[0]",
        """    seq = np.asarray(seq, dtype=np.int64)
    ctx = np.zeros(len(seq), dtype=np.int64)
    C = V**k
    c = 0
    for t in range(1, len(seq)):
        c = (c * V + int(seq[t - 1])) % C if C > 1 else 0
        ctx[t] = c
    return ctx
    n = seq.shape[0]""",
    ),
    # context_ids from sliding windows of the padded sequence and a dot with the digit weights.
    variant(
        "context_ids_sliding_windows",
        "context_ids_code",
        "    seq = np.asarray(seq, dtype=np.int64)\n    n = seq.shape[0]",
        """    seq = np.asarray(seq, dtype=np.int64)
    n = len(seq)
    padded = np.concatenate([np.zeros(k, dtype=np.int64), seq])
    windows = np.lib.stride_tricks.sliding_window_view(padded, k)[:n]   # (n, k): x[t-k .. t-1]
    return windows @ (V ** np.arange(k - 1, -1, -1, dtype=np.int64))
    n = seq.shape[0]""",
    ),
    # logaddexp.reduce for the log-partition, the cache a dict of the inputs (the backward
    # recomputes the softmax), and the rows summed per context with np.bincount.
    variant(
        "ctx_model_logaddexp_dict_cache_bincount",
        "ctx_model_code",
        _CTX_MODEL_BODIES,
        """    logits = theta[ctx]                                  # (B, V)
    log_z = np.logaddexp.reduce(logits, axis=1)          # (B,)
    bits = (log_z - logits[np.arange(len(sym)), sym]) / np.log(2.0)
    return bits, {"theta": theta, "ctx": ctx, "sym": sym}
"""
        + _CTX_MODEL_BACKWARD_DOC
        + """    theta, ctx, sym = cache["theta"], cache["ctx"], cache["sym"]
    C, V = theta.shape
    logits = theta[ctx]
    p = np.exp(logits - np.logaddexp.reduce(logits, axis=1, keepdims=True))   # (B, V)
    onehot = np.eye(V)[sym]                              # (B, V)
    g = (p - onehot) * (dbits / np.log(2.0))[:, None]    # (B, V)
    dtheta = np.stack(
        [np.bincount(ctx, weights=g[:, v], minlength=C) for v in range(V)], axis=1
    )
    return {"dtheta": dtheta}""",
    ),
    # Rows summed per context by a dense (B, C) one-hot matrix: O(B * C) work and memory, still
    # an analytic gradient, and within the time budget.
    variant(
        "ctx_backward_one_hot_matmul",
        "ctx_model_code",
        "    dtheta = np.zeros(shape)                                       # (C, V)\n"
        "    np.add.at(dtheta, ctx, dlogits)",
        """    onehot = np.zeros((B, shape[0]))
    onehot[np.arange(B), ctx] = 1.0                      # (B, C)
    dtheta = onehot.T @ dlogits                          # (C, V)""",
    ),
    # The batch loss written out: its own log-softmax and np.add.at, no call of the layer.
    variant(
        "ctx_model_loss_written_out",
        "ctx_model_loss_code",
        """    bits, cache = ctx_model_forward(params["theta"], ctx, sym)
    B = bits.shape[0]
    grads = ctx_model_backward(np.full(B, 1.0 / B), cache)
    return float(bits.mean()), {"theta": grads["dtheta"]}""",
        """    theta = params["theta"]
    B = len(ctx)
    z = theta[ctx] - theta[ctx].max(axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    loss = -np.mean(logp[np.arange(B), sym]) / np.log(2.0)
    g = np.exp(logp)
    g[np.arange(B), sym] -= 1.0
    dtheta = np.zeros_like(theta)
    np.add.at(dtheta, ctx, g / (B * np.log(2.0)))
    return loss, {"theta": dtheta}""",
    ),
    # The online coder as a plain loop: its own softmax in base 2, no prequential_codelength,
    # no layer calls.
    variant(
        "online_plain_loop_own_softmax",
        "online_code_length_code",
        _ONLINE_BODY,
        """    seq = np.asarray(seq)
    n = len(seq)
    ctx = context_ids(seq, k, V)
    theta = np.zeros((V**k, V))
    G = np.zeros((V**k, V))
    per = np.zeros(n)
    for t in range(n):
        c, s = ctx[t], seq[t]
        row = theta[c] * LOG2E                               # logits in base 2
        row = row - row.max()
        per[t] = np.log2(np.sum(2.0**row)) - row[s]          # code with the current model
        q = 2.0**row / np.sum(2.0**row)
        g = q * LOG2E
        g[s] -= LOG2E                                        # d bits / d theta[c]
        G[c] += g**2
        theta[c] -= lr * g / (np.sqrt(G[c]) + ADAGRAD_EPS)   # then learn
    return per.sum(), per""",
    ),
    # The online coder through the batch loss on a batch of one (its loss is that symbol's bits,
    # its gradient that symbol's gradient).
    variant(
        "online_through_the_batch_loss",
        "online_code_length_code",
        _ONLINE_BODY,
        """    ctx = context_ids(seq, k, V)
    params = init_ctx_params(k, V)
    G = np.zeros_like(params["theta"])
    costs = []
    for c, s in zip(ctx, seq):
        bits, grads = ctx_model_loss(params, (np.array([c]), np.array([s])))
        costs.append(bits)
        G += grads["theta"] ** 2
        params["theta"] -= lr * grads["theta"] / (np.sqrt(G) + ADAGRAD_EPS)
    costs = np.array(costs)
    return float(np.sum(costs)), costs""",
    ),
    # The mixer with logaddexp.reduce, a dict cache of the inputs, and a backward that
    # recomputes the shares.
    variant(
        "mixer_logaddexp_dict_cache",
        "mixer_code",
        _MIXER_BODIES,
        """    log_pi = w - np.logaddexp.reduce(w)                  # (K,)
    a = log_pi[:, None] - bits * np.log(2.0)            # (K, B)
    mix = -np.logaddexp.reduce(a, axis=0) / np.log(2.0)
    return mix, {"w": w, "bits": bits}
"""
        + _MIXER_BACKWARD_DOC
        + """    w, bits = cache["w"], cache["bits"]
    log_pi = w - np.logaddexp.reduce(w)
    a = log_pi[:, None] - bits * np.log(2.0)
    r = np.exp(a - np.logaddexp.reduce(a, axis=0))      # (K, B) shares
    pi = np.exp(log_pi)
    return {
        "dw": np.sum((pi[:, None] - r) * dmix, axis=1) / np.log(2.0),
        "dbits": r * dmix,
    }""",
    ),
    # The mixer in base 2 throughout (log2 weights, powers of 2).
    variant(
        "mixer_in_base_2",
        "mixer_code",
        _MIXER_FORWARD_BODY,
        """    l2pi = (w - w.max()) * LOG2E                         # (K,) unnormalised log2 weights
    l2pi = l2pi - np.log2(np.sum(2.0**l2pi))
    a = l2pi[:, None] - bits                             # (K, B) log2(pi_i q_ib)
    top = a.max(axis=0)
    e = 2.0 ** (a - top)
    mix = -(top + np.log2(e.sum(axis=0)))
    return mix, (2.0**l2pi, e / e.sum(axis=0))""",
    ),
    # The mixer's backward as a loop over the batch.
    variant(
        "mixer_backward_loops_over_the_batch",
        "mixer_code",
        "    dw = (pi[:, None] - r) @ dmix * LOG2E  ",
        """    K, B = r.shape
    dw = np.zeros(K)
    dbits = np.zeros((K, B))
    for b in range(B):
        dw += dmix[b] * (pi - r[:, b]) / np.log(2.0)
        dbits[:, b] = dmix[b] * r[:, b]
    return {"dw": dw, "dbits": dbits}
    dw = (pi[:, None] - r) @ dmix * LOG2E  """,
    ),
    # The online mixer as a plain loop with its own log-sum-exp and gradient, no layer calls.
    variant(
        "mixture_plain_loop_own_gradient",
        "mixture_code_length_code",
        _MIXTURE_BODY,
        """    K, n = bits.shape
    w = np.zeros(K)
    per = []
    for t in range(n):
        log_pi = w - np.logaddexp.reduce(w)
        a = log_pi - bits[:, t] * np.log(2.0)
        lq = np.logaddexp.reduce(a)
        per.append(-lq / np.log(2.0))                    # code symbol t ...
        r = np.exp(a - lq)
        w = w - lr * (np.exp(log_pi) - r) / np.log(2.0)  # ... then learn
    per = np.array(per)
    return float(per.sum()), per""",
    ),
    # Columns taken by an index list and the layer called on them.
    variant(
        "mixture_columns_by_index_list",
        "mixture_code_length_code",
        "bits[:, t : t + 1]",
        "bits[:, [t]]",
    ),
]

#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): the class of the error in the gradient of the
#: function the mutant edits, and the factor, axis or tensor it concerns. Mutants not listed are
#: of class "other" (among them the scatter bugs whose wrong rows are the ones the data repeats:
#: they follow the data, not a structure of the code).
BUG_CLASSES = {
    "ctx_backward_in_nats": ("factor", "dtheta (and theta): ln 2"),
    "mixer_dw_sign_flipped": ("sign", "dw"),
    "mixer_dw_in_nats": ("factor", "dw: ln 2"),
    # revised after the first measurement, from the code: theta in the loss check: the upstream
    # is 1/B for every row, so ignoring it multiplies by B (the labeller's note)
    "ctx_backward_ignores_upstream": (("other", "factor"), "theta: B"),
}
