"""Wrong implementations of 24_machine_super_intelligence that the hidden tests must catch
(test-of-tests), and correct variants in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward, variant

# ------------------------------------------------------------------ texts of the reference
_AGENT_FORWARD_RETURN = "    return pi, (pi, ctx, evid, theta.shape[0])"

_AGENT_BACKWARD_BODY = """    pi, ctx, evid, C = cache
    dz = dpi * pi * (1.0 - pi)                                       # (E, T)
    dtheta = np.bincount(ctx.ravel(), weights=dz.ravel(), minlength=C)  # (C,)
    dbeta = np.array([np.sum(dz * evid)])                            # (1,)
    return {"dtheta": dtheta, "dbeta": dbeta}"""

_AGENT_BACKWARD_DOC = '''

def agent_backward(dpi, cache):
    """Gradients of agent_forward with respect to its parameters.

    Inputs:
      dpi:   (E, T) upstream gradient dL/dpi.
      cache: from agent_forward.
    Returns:
      dict with 'dtheta' (C,) and 'dbeta' (1,).
    """
'''

# From the forward's return to the backward's end: entries that change the cache replace it all.
_AGENT_TAIL = _AGENT_FORWARD_RETURN + "\n" + _AGENT_BACKWARD_DOC + _AGENT_BACKWARD_BODY

_VALUE_FORWARD_BODY = """    T = X.shape[1]
    V = np.sum(X * pi + (1.0 - X) * (1.0 - pi), axis=1) / T   # (E,)
    return V, X"""

_VALUE_BACKWARD_DOC = '''


def value_backward(dV, cache):
    """Gradient of value_forward with respect to pi.

    Inputs:
      dV:    (E,) upstream gradient dL/dV.
      cache: from value_forward.
    Returns:
      dict with 'dpi' (E, T).
    """
'''

_VALUE_BACKWARD_BODY = """    X = cache
    T = X.shape[1]
    return {"dpi": dV[:, None] * (2.0 * X - 1.0) / T}         # (E, T)"""

_LOSS_BODY = """    ctx, evid, X, w = data
    pi, cache_a = agent_forward(params["theta"], params["beta"], ctx, evid)  # (E, T)
    V, cache_v = value_forward(pi, X)                                       # (E,)
    loss = 1.0 - float(w @ V)
    dpi = value_backward(-w, cache_v)["dpi"]                                # (E, T)
    g = agent_backward(dpi, cache_a)
    return loss, {"theta": g["dtheta"], "beta": g["dbeta"]}"""

_FAMILY_BODY = """    rows, periods = [], []
    for L in range(1, max_period + 1):
        for n in range(2**L):
            p = [(n >> (L - 1 - i)) & 1 for i in range(L)]      # p[0] most significant
            shorter = any(
                L % d == 0 and all(p[i] == p[i % d] for i in range(L)) for d in range(1, L)
            )
            if not shorter:
                rows.append([p[t % L] for t in range(T)])
                periods.append(L)
    X = np.array(rows, dtype=np.float64).reshape(len(rows), T)   # (E, T)
    K = 2.0 * np.array(periods, dtype=np.float64)                # (E,)
    w = 2.0 ** -K                                                # (E,)
    return X, K, w / w.sum()"""

_FEATURES_BODY = """    E, T = X.shape
    bits = X.astype(np.int64)                                          # (E, T)
    padded = np.concatenate([np.zeros((E, k), np.int64), bits], axis=1)  # (E, k + T)
    ctx = np.zeros((E, T), np.int64)                                   # (E, T)
    for j in range(k):                                                 # x[t-k] first
        ctx = 2 * ctx + padded[:, j:j + T]
    counts = np.zeros((E, 2**k))                                       # (E, 2^k) running sums
    evid = np.zeros((E, T))                                            # (E, T)
    rows = np.arange(E)
    for t in range(T):
        evid[:, t] = counts[rows, ctx[:, t]]                           # before seeing x_t
        counts[rows, ctx[:, t]] += 2.0 * X[:, t] - 1.0
    return ctx, evid"""

_TABLE_BODY = """    T = X.shape[1]
    votes = w[:, None] * (2.0 * X - 1.0) / T                                  # (E, T)
    a = np.bincount(ctx.ravel(), weights=votes.ravel(), minlength=n_ctx)      # (n_ctx,)
    table = np.where(a > 0, 1.0, np.where(a < 0, 0.0, 0.5))                   # (n_ctx,)
    V, _ = value_forward(table[ctx], X)                                       # (E,)
    return table, float(w @ V)"""

_BAYES_BODY = """    E, T = X.shape
    p = np.zeros((E, T))
    for t in range(T):
        same = np.all(X[:, None, :t] == X[None, :, :t], axis=2)   # (E, E) f agrees with e so far
        p[:, t] = (same @ (w * X[:, t])) / (same @ w)             # (E,)
    return p"""

# The two lines of the evidence loop: read the running sum, then add the current bit.
_EVID_LINES = "\n".join(_FEATURES_BODY.split("\n")[-3:-1])

# ------------------------------------------------------------------ names of hidden tests
_FAMILY_FWD = [
    f"environment_family_matches_reference[{c}]" for c in ("P6_T24", "P3_T7", "P1_T1", "P5_T3")
]
_FEATURES_FWD = [
    f"context_features_match_reference[{c}]" for c in ("family_k3", "random_k1", "random_k5", "k0")
]
_AGENT_FWD = [f"agent_forward_matches_reference[{c}]" for c in ("family", "random_k4", "saturated")]
_VALUE_FWD = [f"value_forward_matches_reference[{c}]" for c in ("family", "T1")]
_TABLE_FWD = [
    f"best_table_agent_matches_reference[{c}]" for c in ("family_k3", "random_weights_k2")
]
_BAYES_FWD = [f"bayes_agent_matches_reference[{c}]" for c in ("family", "random_weights")]
_LOSS_GRAD = ["upsilon_loss_gradcheck[theta]", "upsilon_loss_gradcheck[beta]"]
_AGENT_FAST = "agent_backward_fast_at_realistic_size"
_VALUE_FAST = "value_backward_fast_at_realistic_size"
_LOSS_FAST = "upsilon_loss_fast_at_realistic_size"
_TRAIN = "upsilon_loss_trains_like_reference"

# A backward that differentiates numerically through the forward (tests/mutants.py). The forward
# keeps theta and beta in its cache; the loop nudges them in place. Accurate to ~1e-10, so it
# passes every gradient check; only the realistic-size time budgets catch it (the agent's own,
# and upsilon_loss's, which calls it).
_AGENT_NUMERICAL = (
    "    return pi, (theta, beta, ctx, evid)\n"
    + _AGENT_BACKWARD_DOC
    + numerical_backward(
        """    theta, beta, ctx, evid = cache
    args = {"theta": np.array(theta, float), "beta": np.array(beta, float)}""",
        'np.sum(agent_forward(args["theta"], args["beta"], ctx, evid)[0] * dpi)',
    )
)

# The value is linear in pi, so centred differences at any pi are exact to rounding.
_VALUE_NUMERICAL = numerical_backward(
    """    X = cache
    args = {"pi": np.full(X.shape, 0.5)}""",
    'np.sum(value_forward(args["pi"], X)[0] * dV)',
)

MUTANTS = [
    # ---------------------------------------------------------------- environment_family
    mutant(
        "complexity_is_the_pattern_length_only",
        "environment_family_code",
        "    K = 2.0 * np.array(periods, dtype=np.float64)",
        "    K = 1.0 * np.array(periods, dtype=np.float64)",
        *_FAMILY_FWD,
        "environment_family_weights_follow_the_simplicity_prior",
    ),
    mutant(
        "keeps_patterns_that_repeat_a_shorter_one",
        "environment_family_code",
        "            if not shorter:",
        "            if True:",
        "environment_family_matches_reference[P6_T24]",
        "environment_family_matches_reference[P3_T7]",
        "environment_family_matches_reference[P5_T3]",
        "environment_family_minimal_periods_and_counts",
        "environment_family_weights_follow_the_simplicity_prior",
    ),
    mutant(
        "weights_not_normalised",
        "environment_family_code",
        "    return X, K, w / w.sum()",
        "    return X, K, w",
        *_FAMILY_FWD,
        "environment_family_weights_follow_the_simplicity_prior",
    ),
    mutant(
        "pattern_read_least_significant_bit_first",
        "environment_family_code",
        "            p = [(n >> (L - 1 - i)) & 1 for i in range(L)]",
        "            p = [(n >> i) & 1 for i in range(L)]",
        "environment_family_matches_reference[P6_T24]",
        "environment_family_matches_reference[P3_T7]",
        "environment_family_matches_reference[P5_T3]",
    ),
    # ---------------------------------------------------------------- context_features
    mutant(
        "context_includes_the_current_bit",
        "context_features_code",
        "        ctx = 2 * ctx + padded[:, j:j + T]",
        "        ctx = 2 * ctx + padded[:, j + 1:j + 1 + T]",
        *_FEATURES_FWD[:3],
        "context_features_never_look_ahead",
        "context_features_zero_padding_and_bit_order",
    ),
    mutant(
        "evidence_counts_the_current_step",
        "context_features_code",
        _EVID_LINES,
        """        counts[rows, ctx[:, t]] += 2.0 * X[:, t] - 1.0
        evid[:, t] = counts[rows, ctx[:, t]]""",
        *_FEATURES_FWD,
        "context_features_never_look_ahead",
        "context_features_zero_padding_and_bit_order",
    ),
    mutant(
        "context_most_recent_bit_most_significant",
        "context_features_code",
        "        ctx = 2 * ctx + padded[:, j:j + T]",
        "        ctx = ctx + padded[:, j:j + T] * 2**j",
        "context_features_match_reference[family_k3]",
        "context_features_match_reference[random_k5]",
        "context_features_zero_padding_and_bit_order",
    ),
    # ---------------------------------------------------------------- agent
    mutant(
        "numerical_agent_backward",
        "agent_code",
        _AGENT_TAIL,
        _AGENT_NUMERICAL,
        _AGENT_FAST,
        _LOSS_FAST,
    ),
    mutant(
        "scatter_with_buffered_fancy_indexing",
        "agent_code",
        "    dtheta = np.bincount(ctx.ravel(), weights=dz.ravel(), minlength=C)  # (C,)",
        "    dtheta = np.zeros(C)\n    dtheta[ctx] += dz",
        "agent_backward_gradcheck[dtheta]",
        _AGENT_FAST,
        "upsilon_loss_gradcheck[theta]",
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "sigmoid_derivative_forgotten",
        "agent_code",
        "    dz = dpi * pi * (1.0 - pi)",
        "    dz = dpi",
        "agent_backward_gradcheck[dtheta]",
        "agent_backward_gradcheck[dbeta]",
        _AGENT_FAST,
        *_LOSS_GRAD,
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "dbeta_without_the_evidence",
        "agent_code",
        "    dbeta = np.array([np.sum(dz * evid)])",
        "    dbeta = np.array([np.sum(dz)])",
        "agent_backward_gradcheck[dbeta]",
        "agent_opposite_agent_and_backward_identities",
        _AGENT_FAST,
        "upsilon_loss_gradcheck[beta]",
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "dtheta_sized_by_the_contexts_seen",
        "agent_code",
        "    dtheta = np.bincount(ctx.ravel(), weights=dz.ravel(), minlength=C)  # (C,)",
        "    dtheta = np.bincount(ctx.ravel(), weights=dz.ravel())",
        "agent_backward_gradcheck[dtheta]",
        "agent_opposite_agent_and_backward_identities",
        _AGENT_FAST,
    ),
    mutant(
        "forward_forgets_the_evidence",
        "agent_code",
        "    z = theta[ctx] + beta * evid                  # (E, T)",
        "    z = theta[ctx]                                # (E, T)",
        *_AGENT_FWD,
        "agent_backward_gradcheck[dbeta]",
        _AGENT_FAST,
        "upsilon_loss_value_matches_reference",
        "upsilon_loss_gradcheck[beta]",
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "sigmoid_overflows_for_large_logits",
        "agent_code",
        "    pi = sigmoid(z)                               # (E, T)",
        "    pi = np.exp(z) / (1.0 + np.exp(z))",
        "agent_forward_matches_reference[saturated]",
        _AGENT_FAST,
    ),
    # ---------------------------------------------------------------- value
    mutant(
        "numerical_value_backward",
        "value_code",
        _VALUE_BACKWARD_BODY,
        _VALUE_NUMERICAL,
        _VALUE_FAST,
        _LOSS_FAST,
    ),
    mutant(
        "value_backward_missing_one_over_T",
        "value_code",
        '    return {"dpi": dV[:, None] * (2.0 * X - 1.0) / T}',
        '    return {"dpi": dV[:, None] * (2.0 * X - 1.0)}',
        "value_backward_gradcheck",
        _VALUE_FAST,
        *_LOSS_GRAD,
        _LOSS_FAST,
    ),
    mutant(
        "value_counts_only_the_ones",
        "value_code",
        "    V = np.sum(X * pi + (1.0 - X) * (1.0 - pi), axis=1) / T   # (E,)",
        "    V = np.sum(X * pi, axis=1) / T   # (E,)",
        *_VALUE_FWD,
        "value_backward_gradcheck",
        "value_opposite_agent_and_normalisation",
        _VALUE_FAST,
        "upsilon_loss_value_matches_reference",
        *_LOSS_GRAD,
        "upsilon_loss_opposite_agent",
        _TRAIN,
        _LOSS_FAST,
        *_TABLE_FWD,
        "best_table_agent_beats_every_deterministic_table",
        "best_table_agent_ties_are_one_half",
    ),
    # ---------------------------------------------------------------- upsilon_loss
    mutant(
        "upstream_gradient_of_upsilon_not_of_the_loss",
        "upsilon_loss_code",
        '    dpi = value_backward(-w, cache_v)["dpi"]',
        '    dpi = value_backward(w, cache_v)["dpi"]',
        *_LOSS_GRAD,
        _TRAIN,
        _LOSS_FAST,
    ),
    mutant(
        "environments_weighted_equally",
        "upsilon_loss_code",
        """    loss = 1.0 - float(w @ V)
    dpi = value_backward(-w, cache_v)["dpi"]""",
        """    loss = 1.0 - float(np.mean(V))
    dpi = value_backward(-np.ones_like(w) / len(w), cache_v)["dpi"]""",
        "upsilon_loss_value_matches_reference",
        _TRAIN,
        _LOSS_FAST,
    ),
    # ---------------------------------------------------------------- best_table_agent
    mutant(
        "majority_without_the_weights",
        "best_table_agent_code",
        "    votes = w[:, None] * (2.0 * X - 1.0) / T",
        "    votes = (2.0 * X - 1.0) / T + 0.0 * w[:, None]",
        "best_table_agent_matches_reference[family_k3]",
        "best_table_agent_beats_every_deterministic_table",
    ),
    mutant(
        "ties_go_to_zero",
        "best_table_agent_code",
        "    table = np.where(a > 0, 1.0, np.where(a < 0, 0.0, 0.5))",
        "    table = np.where(a > 0, 1.0, 0.0)",
        "best_table_agent_ties_are_one_half",
    ),
    # ---------------------------------------------------------------- bayes_agent
    mutant(
        "uniform_prior_instead_of_w",
        "bayes_agent_code",
        "        p[:, t] = (same @ (w * X[:, t])) / (same @ w)",
        "        p[:, t] = (same @ X[:, t]) / same.sum(axis=1)",
        *_BAYES_FWD,
        "bayes_agent_prediction_averages_to_the_prior",
        "bayes_agent_greedy_is_optimal",
    ),
    mutant(
        "history_includes_the_current_bit",
        "bayes_agent_code",
        "        same = np.all(X[:, None, :t] == X[None, :, :t], axis=2)",
        "        same = np.all(X[:, None, :t + 1] == X[None, :, :t + 1], axis=2)",
        *_BAYES_FWD,
        "bayes_agent_never_looks_ahead",
    ),
    mutant(
        "prediction_not_conditioned_on_the_history",
        "bayes_agent_code",
        "        same = np.all(X[:, None, :t] == X[None, :, :t], axis=2)",
        "        same = np.ones((E, E), dtype=bool)",
        *_BAYES_FWD,
        "bayes_agent_greedy_is_optimal",
    ),
]

VARIANTS = [
    variant(
        "family_with_rotations_and_exp2",
        "environment_family_code",
        _FAMILY_BODY,
        """    X, K = [], []
    for L in range(1, max_period + 1):
        for n in range(2**L):
            word = format(n, "b").zfill(L)                    # p[0] first
            if any(word == word[d:] + word[:d] for d in range(1, L)):
                continue                                      # a rotation equals it: shorter
            X.append([float(word[t % L]) for t in range(T)])
            K.append(2 * L)
    X = np.asarray(X, dtype=np.float64).reshape(-1, T)
    K = np.asarray(K, dtype=np.float64)
    w = np.exp2(-K)
    w = w / np.sum(w)
    return X, K, w""",
    ),
    variant(
        "features_with_python_loops_and_a_dict",
        "context_features_code",
        _FEATURES_BODY,
        """    E, T = X.shape
    ctx = np.zeros((E, T), dtype=np.int64)
    evid = np.zeros((E, T))
    for e in range(E):
        seen = {}
        for t in range(T):
            c = 0
            for j in range(1, k + 1):
                bit = int(X[e, t - j]) if t - j >= 0 else 0
                c += bit << (j - 1)
            ctx[e, t] = c
            evid[e, t] = seen.get(c, 0.0)
            seen[c] = seen.get(c, 0.0) + (1.0 if X[e, t] == 1 else -1.0)
    return ctx, evid""",
    ),
    variant(
        "agent_with_add_at_a_tanh_sigmoid_and_a_dict_cache",
        "agent_code",
        "    z = theta[ctx] + beta * evid                  # (E, T)\n"
        "    pi = sigmoid(z)                               # (E, T)\n" + _AGENT_TAIL,
        """    z = theta[ctx] + beta[0] * evid
    pi = 0.5 * (1.0 + np.tanh(0.5 * z))
    return pi, {"pi": pi, "ctx": ctx, "evid": evid, "n": len(theta)}
"""
        + _AGENT_BACKWARD_DOC
        + """    s = cache["pi"] * (1.0 - cache["pi"])
    dz = dpi * s
    dtheta = np.zeros(cache["n"])
    np.add.at(dtheta, cache["ctx"], dz)
    dbeta = np.sum(dz * cache["evid"], keepdims=True).reshape(1)
    return {"dtheta": dtheta, "dbeta": dbeta}""",
    ),
    variant(
        "agent_backward_loops_over_contexts",
        "agent_code",
        _AGENT_BACKWARD_BODY,
        """    pi, ctx, evid, C = cache
    dz = dpi * pi * (1.0 - pi)
    dtheta = np.array([dz[ctx == c].sum() for c in range(C)])
    dbeta = np.array([np.einsum("et,et->", dz, evid)])
    return {"dtheta": dtheta, "dbeta": dbeta}""",
    ),
    variant(
        "value_with_where_and_a_tuple_cache",
        "value_code",
        _VALUE_FORWARD_BODY + _VALUE_BACKWARD_DOC + _VALUE_BACKWARD_BODY,
        """    right = np.where(X == 1.0, pi, 1.0 - pi)
    return right.mean(axis=1), (X == 1.0, X.shape[1])"""
        + _VALUE_BACKWARD_DOC
        + """    ones, T = cache
    return {"dpi": np.where(ones, 1.0, -1.0) * dV[:, None] / T}""",
    ),
    variant(
        "loss_computes_the_value_inline",
        "upsilon_loss_code",
        _LOSS_BODY,
        """    ctx, evid, X, w = data
    pi, cache = agent_forward(params["theta"], params["beta"], ctx, evid)
    T = X.shape[1]
    upsilon = np.sum(w[:, None] * (X * pi + (1 - X) * (1 - pi))) / T
    dpi = -w[:, None] * (2 * X - 1) / T
    g = agent_backward(dpi, cache)
    return 1.0 - upsilon, {"theta": g["dtheta"], "beta": g["dbeta"]}""",
    ),
    variant(
        "best_table_by_masks_and_the_vote_formula",
        "best_table_agent_code",
        _TABLE_BODY,
        """    T = X.shape[1]
    base = np.sum(w[:, None] * (1.0 - X)) / T
    table = np.full(n_ctx, 0.5)
    gain = 0.0
    for c in range(n_ctx):
        mask = ctx == c
        a = np.sum((w[:, None] * (2.0 * X - 1.0) / T)[mask])
        if a > 0:
            table[c] = 1.0
            gain += a
        elif a < 0:
            table[c] = 0.0
    return table, float(base + gain)""",
    ),
    variant(
        "bayes_with_prefix_keys",
        "bayes_agent_code",
        _BAYES_BODY,
        """    E, T = X.shape
    p = np.zeros((E, T))
    for t in range(T):
        ones, total = {}, {}
        keys = [X[e, :t].tobytes() for e in range(E)]
        for e, key in enumerate(keys):
            total[key] = total.get(key, 0.0) + w[e]
            ones[key] = ones.get(key, 0.0) + w[e] * X[e, t]
        for e, key in enumerate(keys):
            p[e, t] = ones[key] / total[key]
    return p""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    "value_backward_missing_one_over_T": (
        "factor",
        "dpi (and upsilon_loss's theta, beta): T, the number of time steps",
    ),
    "upstream_gradient_of_upsilon_not_of_the_loss": ("sign", "theta and beta"),
}
