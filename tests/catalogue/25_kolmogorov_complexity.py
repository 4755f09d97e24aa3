"""Wrong implementations of 25_kolmogorov_complexity that the hidden tests must catch
(test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import fd_loop, rewrites

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
_CTX_GRADIENT = _ALL_CTX_GRADCHECKS + ["ctx_model_loss_gradcheck"]
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
                "online_code_length_cannot_compress_fair_coins",
                "online_code_length_lfsr_looks_random_to_short_contexts",
            ],
        ),
        context_padding_wraps_around_with_roll=(
            "ctx += np.roll(seq, j + 1) * V**j",
            [
                "context_ids_matches_reference[20-3-2]",
                "context_ids_matches_reference[1-1-4]",
                "context_ids_matches_reference[30-4-5]",
            ],
        ),
    ),
    dict(
        name="context_digits_most_recent_most_significant",
        cell="context_ids_code",
        old="n] * V**j",
        new="n] * V**(k - 1 - j)",
        catches=[
            "context_ids_matches_reference[20-3-2]",
            "context_ids_matches_reference[15-2-3]",
            "context_ids_matches_reference[30-4-5]",
        ],
    ),
    dict(
        name="context_order_0_treated_as_order_1",
        cell="context_ids_code",
        old="for j in range(k):",
        new="for j in range(max(k, 1)):",
        catches=["context_ids_matches_reference[7-0-2]"],
    ),
    # ---- the context model
    dict(
        name="ctx_forward_without_max_shift",
        cell="ctx_model_code",
        old="z = logits - logits.max(axis=1, keepdims=True)",
        new="z = logits",
        catches=_CTX_FORWARD,
    ),
    dict(
        name="ctx_forward_log_of_underflowed_softmax",
        cell="ctx_model_code",
        old="logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))",
        new="logp = np.log(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))",
        catches=_CTX_FORWARD,
    ),
    # Adam is invariant to a constant rescaling of the gradient, so the training curve barely
    # notices a wrong scale; the gradient checks must.
    *rewrites(
        "ctx_model_code",
        "dlogits *= (dbits * LOG2E)[:, None]",
        ctx_backward_in_nats=("dlogits *= dbits[:, None]", _CTX_GRADIENT),
        ctx_backward_ignores_upstream=("dlogits *= LOG2E", _CTX_GRADIENT),
    ),
    dict(
        name="ctx_backward_forgets_the_target",
        cell="ctx_model_code",
        old="dlogits[np.arange(B), sym] -= 1.0",
        new="dlogits = dlogits",
        catches=_CTX_GRADIENT + ["ctx_model_gradient_rows"],
    ),
    dict(
        name="ctx_backward_repeated_contexts_not_accumulated",
        cell="ctx_model_code",
        old="np.add.at(dtheta, ctx, dlogits)",
        new="dtheta[ctx] += dlogits",
        catches=[
            "ctx_model_backward_gradcheck[repeated_contexts]",
            "ctx_model_backward_gradcheck[V5]",
            "ctx_model_loss_gradcheck",
            "ctx_model_training_reduces_loss_like_reference",
        ],
    ),
    dict(
        name="ctx_numerical_backward",
        cell="ctx_model_code",
        old="    ctx, sym, p, shape = cache\n    B = ctx.shape[0]",
        new=_CTX_NUMERICAL_BACKWARD,
        catches=["ctx_model_backward_fast"],
    ),
    # ---- the batch loss
    dict(
        name="loss_sums_instead_of_averaging",
        cell="ctx_model_loss_code",
        old="grads = ctx_model_backward(np.full(B, 1.0 / B), cache)\n    return float(bits.mean())",
        new="grads = ctx_model_backward(np.ones(B), cache)\n    return float(bits.sum())",
        catches=[
            "ctx_model_loss_value_matches_reference",
            "ctx_model_loss_gradcheck",
            "ctx_model_training_reduces_loss_like_reference",
        ],
    ),
    # ---- online coding
    dict(
        name="online_learns_before_coding",
        cell="online_code_length_code",
        old="        return bits[0], state",
        new="        return ctx_model_forward(theta, np.array([c]), np.array([s]))[0][0], state",
        catches=[
            "online_code_length_matches_reference[markov_V3_k2]",
            "online_code_length_matches_reference[single_symbol]",
            "online_code_length_matches_reference[V4_k1_lr0.2]",
            "online_code_length_predicts_before_learning",
            "online_code_length_cannot_compress_fair_coins",
        ],
    ),
    *rewrites(
        "online_code_length_code",
        "theta[c] -= lr * g / (np.sqrt(G[c]) + ADAGRAD_EPS)",
        online_plain_sgd_instead_of_adagrad=("theta[c] -= lr * g", _ONLINE_ADAGRAD),
        online_gradient_ascent=(
            "theta[c] += lr * g / (np.sqrt(G[c]) + ADAGRAD_EPS)",
            [
                "online_code_length_matches_reference[markov_V3_k2]",
                "online_code_length_learns_deterministic_sources",
            ],
        ),
    ),
    dict(
        name="online_adagrad_forgets_past_gradients",
        cell="online_code_length_code",
        old="G[c] += g * g",
        new="G[c] = g * g",
        catches=_ONLINE_ADAGRAD,
    ),
    # ---- mixture
    dict(
        name="mixture_underflows_without_shift",
        cell="mixture_code_length_code",
        old="L_mix = m - np.log2(np.mean(2.0 ** -(L - m), axis=0))",
        new="L_mix = -np.log2(np.mean(2.0 ** -L, axis=0))",
        catches=["mixture_code_length_is_stable_for_long_sequences"],
    ),
    dict(
        name="mixture_forgets_the_prior_1_over_K",
        cell="mixture_code_length_code",
        old="np.mean(2.0 ** -(L - m), axis=0)",
        new="np.sum(2.0 ** -(L - m), axis=0)",
        catches=[
            "mixture_code_length_matches_reference[3-50]",
            "mixture_code_length_matches_reference[5-1]",
            "mixture_code_length_within_log2K_of_best",
            "mixture_code_length_is_stable_for_long_sequences",
        ],
    ),
    dict(
        name="mixture_returns_running_totals",
        cell="mixture_code_length_code",
        old="bits_per_symbol = np.diff(L_mix, prepend=0.0)",
        new="bits_per_symbol = L_mix",
        catches=[
            "mixture_code_length_matches_reference[3-50]",
            "mixture_code_length_matches_reference[1-10]",
            "mixture_code_length_within_log2K_of_best",
        ],
    ),
]


# Correct but slow (or differently written) implementations: they must still score full marks.
VARIANTS = [
    # The integrity budget catches finite differences, not an honest loop over the batch.
    dict(
        name="ctx_backward_loops_over_the_batch",
        cell="ctx_model_code",
        old="    dlogits = p.copy()  ",
        new="""    dtheta = np.zeros(shape)
    for b in range(B):
        g = p[b].copy()
        g[sym[b]] -= 1.0
        dtheta[ctx[b]] += dbits[b] * LOG2E * g
    return {"dtheta": dtheta}
    dlogits = p.copy()  """,
    ),
    # AdaGrad on every row: rows with zero gradient do not move, so the code is identical.
    dict(
        name="online_dense_adagrad_update",
        cell="online_code_length_code",
        old="""        G[c] += g * g                                              # then learn
        theta[c] -= lr * g / (np.sqrt(G[c]) + ADAGRAD_EPS)""",
        new="""        g_all = ctx_model_backward(np.ones(1), cache)["dtheta"]
        G[...] += g_all * g_all
        theta[...] -= lr * g_all / (np.sqrt(G) + ADAGRAD_EPS)""",
    ),
    # The mixture in its predictive form: posterior weights updated symbol by symbol.
    dict(
        name="mixture_by_posterior_weights",
        cell="mixture_code_length_code",
        old="    L = np.cumsum(bits, axis=1)  ",
        new="""    K, n = bits.shape
    logw = np.full(K, -np.log2(K))
    per = np.empty(n)
    for t in range(n):
        a = logw - bits[:, t]
        top = a.max()
        lp = top + np.log2(np.sum(2.0 ** (a - top)))
        per[t] = -lp
        logw = a - lp
    return float(per.sum()), per
    L = np.cumsum(bits, axis=1)  """,
    ),
]
