"""Wrong implementations of 01_complexodynamics that the hidden tests must catch (test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import fd_loop, mutant, rewrites, variant

# The reference backward of the softmax table (the body only).
_CA_RULE_BACKWARD_BODY = """    X, W, logq = cache
    q = np.exp2(logq)                                          # (N, 2) probabilities
    da = (dlogq - q * dlogq.sum(axis=1, keepdims=True)) / LN2  # (N, 2)
    return {"dX": da @ W.T, "dW": X.T @ da}"""

# A backward that differentiates numerically through the forward. Everything it needs is in the
# cache, so it is accurate to ~1e-10 and passes every gradient check; only the realistic-size
# time budget catches it.
_CA_RULE_NUMERICAL_BACKWARD = f"""    X, W, logq = cache
    X, W = X.copy(), W.copy()

    def objective():
        return np.sum(ca_rule_forward(X, W)[0] * dlogq)

{fd_loop("X", "dX", "objective()")}
{fd_loop("W", "dW", "objective()")}
    return {{"dX": dX, "dW": dW}}"""

_CA_RULE_GRADCHECKS = ["ca_rule_backward_gradcheck[dX]", "ca_rule_backward_gradcheck[dW]"]
# The time budget requires the gradient checks: a wrong backward loses it too.
_CA_RULE_FAST = "ca_rule_backward_fast_at_realistic_size"
_LOSS_CHECKS = ["ca_rule_loss_gradcheck", "ca_rule_loss_trains_like_reference"]
_EXTRACT_CHECKS = ["extract_rule_matches_reference", "extract_rule_round_trips_every_rule"]
_CODELENGTH_FORWARD = [
    "state_codelength_matches_reference[random_k4]",
    "state_codelength_matches_reference[biased_k0]",
    "state_codelength_matches_reference[rule30_k6]",
]
_CODELENGTH_ALL = _CODELENGTH_FORWARD + ["state_codelength_matches_reference[width1]"]


MUTANTS = [
    # ---------------------------------------------------------------- ca_rule
    mutant(
        "numerical_backward",
        "ca_rule_code",
        _CA_RULE_BACKWARD_BODY,
        _CA_RULE_NUMERICAL_BACKWARD,
        "ca_rule_backward_fast_at_realistic_size",
    ),
    *rewrites(
        "ca_rule_code",
        "da = (dlogq - q * dlogq.sum(axis=1, keepdims=True)) / LN2",
        softmax_coupling_term_forgotten=(
            "da = dlogq / LN2",
            [*_CA_RULE_GRADCHECKS, _CA_RULE_FAST, *_LOSS_CHECKS],
        ),
        # Adam is (almost) invariant to the scale of the gradient: only gradchecks see this.
        backward_in_nats=(
            "da = dlogq - q * dlogq.sum(axis=1, keepdims=True)",
            [*_CA_RULE_GRADCHECKS, _CA_RULE_FAST, "ca_rule_loss_gradcheck"],
        ),
    ),
    mutant(
        "table_gradient_skips_the_softmax",
        "ca_rule_code",
        '"dW": X.T @ da',
        '"dW": X.T @ dlogq',
        "ca_rule_backward_gradcheck[dW]",
        _CA_RULE_FAST,
        "ca_rule_loss_gradcheck",
        "ca_rule_loss_trains_like_reference",
    ),
    # The cache holds log2-probabilities; exp() of them is not q. Only the backward is wrong, so
    # the forward tests pass and the gradient checks (against the student's own forward) fail.
    mutant(
        "probabilities_from_logq_with_exp",
        "ca_rule_code",
        "q = np.exp2(logq)",
        "q = np.exp(logq)",
        *_CA_RULE_GRADCHECKS,
        _CA_RULE_FAST,
        *_LOSS_CHECKS,
    ),
    mutant(
        "log_sum_exp_without_max_shift",
        "ca_rule_code",
        "log_z = m + np.log(np.exp(a - m).sum(axis=1, keepdims=True))",
        "log_z = np.log(np.exp(a).sum(axis=1, keepdims=True))",
        "ca_rule_forward_matches_reference[large_logits]",
    ),
    mutant(
        "forward_in_nats",
        "ca_rule_code",
        "logq = (a - log_z) / LN2 ",
        "logq = (a - log_z) ",
        # The backward (left in bits) no longer differentiates this forward, so the gradient
        # checks against the student's own forward fail too.
        "ca_rule_forward_matches_reference[onehot_N12]",
        "ca_rule_forward_matches_reference[batch1]",
        "ca_rule_forward_matches_reference[soft_X]",
        "ca_rule_forward_matches_reference[large_logits]",
        "ca_rule_forward_is_a_normalised_distribution",
        *_CA_RULE_GRADCHECKS,
        _CA_RULE_FAST,
        "ca_rule_loss_value_matches_reference",
        *_LOSS_CHECKS,
        "ca_rule_loss_is_bits_per_cell",
    ),
    # ---------------------------------------------------------------- ca_rule_loss
    mutant(
        "loss_sums_instead_of_averaging",
        "ca_rule_loss_code",
        "bits = -logq[rows, y].mean()",
        "bits = -logq[rows, y].sum()",
        "ca_rule_loss_value_matches_reference",
        *_LOSS_CHECKS,
        "ca_rule_loss_is_bits_per_cell",
    ),
    *rewrites(
        "ca_rule_loss_code",
        "dlogq[rows, y] = -1.0 / N",
        loss_gradient_missing_1_over_N=("dlogq[rows, y] = -1.0", ["ca_rule_loss_gradcheck"]),
        loss_gradient_sign_flipped=(
            "dlogq[rows, y] = 1.0 / N",
            _LOSS_CHECKS + ["ca_rule_loss_learns_the_law"],
        ),
    ),
    mutant(
        "grads_keyed_like_the_backward",
        "ca_rule_loss_code",
        'return float(bits), {"W": ca_rule_backward(dlogq, cache)["dW"]}',
        'return float(bits), {"dW": ca_rule_backward(dlogq, cache)["dW"]}',
        *_LOSS_CHECKS + ["ca_rule_loss_learns_the_law"],
    ),
    # ---------------------------------------------------------------- extract_rule
    mutant(
        "rule_number_bits_reversed",
        "extract_rule_code",
        "2 ** np.arange(8)",
        "2 ** np.arange(7, -1, -1)",
        *_EXTRACT_CHECKS,
    ),
    *rewrites(
        "extract_rule_code",
        "table = np.argmax(W, axis=1).astype(np.int64)",
        argmin_instead_of_argmax=("table = np.argmin(W, axis=1).astype(np.int64)", _EXTRACT_CHECKS),
        ties_predict_one=(
            "table = (W[:, 1] >= W[:, 0]).astype(np.int64)",
            ["extract_rule_round_trips_every_rule"],
        ),
    ),
    # ---------------------------------------------------------------- state_codelength
    mutant(
        "laplace_instead_of_kt",
        "state_codelength_code",
        "p1 = (n1 + 0.5) / (n + 1.0)",
        "p1 = (n1 + 1.0) / (n + 2.0)",
        *_CODELENGTH_FORWARD + ["state_codelength_order_and_chaos"],
    ),
    *rewrites(
        "state_codelength_code",
        """        n[sel] = (np.cumsum(in_c, axis=1) - in_c)[sel]  # exclusive running counts
        n1[sel] = (np.cumsum(ones, axis=1) - ones)[sel]""",
        counts_include_the_current_cell=(
            """        n[sel] = np.cumsum(in_c, axis=1)[sel]
        n1[sel] = np.cumsum(ones, axis=1)[sel]""",
            _CODELENGTH_ALL
            + ["state_codelength_is_a_prequential_code", "state_codelength_order_and_chaos"],
        ),
        # Look-ahead of another kind: every cell is coded with the counts of its whole row
        # (a two-pass code no decoder can reproduce).
        counts_from_the_whole_row=(
            """        n[sel] = np.broadcast_to(in_c.sum(axis=1, keepdims=True), (T, W))[sel]
        n1[sel] = np.broadcast_to(ones.sum(axis=1, keepdims=True), (T, W))[sel]""",
            _CODELENGTH_ALL + ["state_codelength_is_a_prequential_code"],
        ),
        counts_carried_across_rows=(
            """        n[sel] = (np.cumsum(in_c.ravel()).reshape(T, W) - in_c)[sel]
        n1[sel] = (np.cumsum(ones.ravel()).reshape(T, W) - ones)[sel]""",
            _CODELENGTH_ALL + ["state_codelength_order_and_chaos"],
        ),
    ),
    mutant(
        "context_order_hard_coded",
        "state_codelength_code",
        "    T, W = rows.shape\n",
        "    T, W = rows.shape\n    k = 4\n",
        "state_codelength_matches_reference[biased_k0]",
        "state_codelength_matches_reference[rule30_k6]",
    ),
    mutant(
        "context_wraps_around_the_ring",
        "state_codelength_code",
        "ctx = 2 * ctx + padded[:, k - j: k - j + W]",
        "ctx = 2 * ctx + np.roll(rows, j, axis=1)",
        # (A single-seed rule-30 row has zeros at both ends, so wrapping changes nothing there.)
        "state_codelength_matches_reference[random_k4]",
        "state_codelength_is_a_prequential_code",
    ),
]


# The forward's body and the backward up to its return: variants that store another cache
# replace both (the backward's docstring sits in between, unchanged).
_CA_RULE_FORWARD_BODY = """\
    a = X @ W                                                  # (N, 2) logits
    m = a.max(axis=1, keepdims=True)                           # (N, 1) shift for stability
    log_z = m + np.log(np.exp(a - m).sum(axis=1, keepdims=True))   # (N, 1) log-partition
    logq = (a - log_z) / LN2                                   # (N, 2) in bits
    return logq, (X, W, logq)"""
_CA_RULE_BACKWARD_DOC = '''

def ca_rule_backward(dlogq, cache):
    """Gradients of ca_rule_forward.

    Inputs:
      dlogq: (N, 2) upstream gradient dL/dlogq.
      cache: from ca_rule_forward.
    Returns:
      dict with 'dX' (N, 8) and 'dW' (8, 2).
    """
'''
_CA_RULE_CELL_BODIES = _CA_RULE_FORWARD_BODY + "\n" + _CA_RULE_BACKWARD_DOC + _CA_RULE_BACKWARD_BODY

# Correct implementations written differently (slow loops, another formula, another cache,
# another numbering of the contexts): they must still score full marks, which shows that the
# time budget and the tolerances are fair.
VARIANTS = [
    variant(
        "ca_rule_backward_loops_over_cells",
        "ca_rule_code",
        _CA_RULE_BACKWARD_BODY,
        """    X, W, logq = cache
    dX, dW = np.zeros_like(X), np.zeros_like(W)
    for n in range(X.shape[0]):
        q_n = 2.0 ** logq[n]
        da_n = (dlogq[n] - q_n * dlogq[n].sum()) / np.log(2.0)
        dW += np.outer(X[n], da_n)
        dX[n] = W @ da_n
    return {"dX": dX, "dW": dW}""",
    ),
    variant(
        "ca_rule_loss_from_logits_directly",
        "ca_rule_loss_code",
        """    logq, cache = ca_rule_forward(X, params["W"])           # (N, 2)
    rows = np.arange(N)
    bits = -logq[rows, y].mean()
    dlogq = np.zeros_like(logq)                             # (N, 2)
    dlogq[rows, y] = -1.0 / N
    return float(bits), {"W": ca_rule_backward(dlogq, cache)["dW"]}""",
        """    a = X @ params["W"]                                      # (N, 2)
    z = a[:, 1] - a[:, 0]                                    # logit of "next cell is 1"
    sign = 2.0 * y - 1.0
    bits = np.logaddexp(0.0, -sign * z).mean() / np.log(2.0)
    p1 = 0.5 * (1.0 + np.tanh(0.5 * z))
    dz = (p1 - y) / (N * np.log(2.0))
    dW = X.T @ np.stack([-dz, dz], axis=1)
    return float(bits), {"W": dW}""",
    ),
    variant(
        "state_codelength_python_loop",
        "state_codelength_code",
        "    padded = np.concatenate(",
        """    bits = np.zeros((T, W))
    for t in range(T):
        counts = {}
        for i in range(W):
            c = tuple(int(rows[t, i - j]) if i - j >= 0 else 0 for j in range(1, k + 1))
            n0, n1 = counts.get(c, (0, 0))
            p1 = (n1 + 0.5) / (n0 + n1 + 1.0)
            bits[t, i] = -np.log2(p1 if rows[t, i] == 1 else 1.0 - p1)
            counts[c] = (n0 + (rows[t, i] == 0), n1 + (rows[t, i] == 1))
    return bits
    padded = np.concatenate(""",
    ),
    # logaddexp instead of the max shift; the cache is a dict of the inputs only and the
    # backward recomputes the softmax, with einsum instead of matmul.
    variant(
        "ca_rule_logaddexp_dict_cache_einsum",
        "ca_rule_code",
        _CA_RULE_CELL_BODIES,
        """    a = X @ W                                            # (N, 2)
    log_z = np.logaddexp(a[:, 0], a[:, 1])[:, None]      # (N, 1)
    logq = (a - log_z) * (1.0 / np.log(2.0))             # (N, 2)
    return logq, {"X": X, "W": W}
"""
        + _CA_RULE_BACKWARD_DOC
        + """    X, W = cache["X"], cache["W"]
    a = X @ W
    q = np.exp(a - np.logaddexp(a[:, :1], a[:, 1:]))     # (N, 2) softmax, recomputed
    g = dlogq / np.log(2.0)
    da = g - q * g.sum(axis=1, keepdims=True)
    dW = np.einsum("nk,ns->ks", X, da)
    dX = np.einsum("ns,ks->nk", da, W)
    return {"dX": dX, "dW": dW}""",
    ),
    # Two outcomes: the softmax is a sigmoid of the logit difference d = a1 - a0; softplus for
    # the forward, a closure as the cache, the gradient through d.
    variant(
        "ca_rule_sigmoid_of_difference_closure_cache",
        "ca_rule_code",
        _CA_RULE_CELL_BODIES,
        """    a = X @ W
    d = a[:, 1] - a[:, 0]                                # (N,) logit of "next cell is 1"
    logq = -np.stack([np.logaddexp(0.0, d), np.logaddexp(0.0, -d)], axis=1) / np.log(2.0)

    def saved():
        return X, W, d

    return logq, saved
"""
        + _CA_RULE_BACKWARD_DOC
        + """    X, W, d = cache()
    p1 = 0.5 * (1.0 + np.tanh(0.5 * d))                  # sigmoid(d), no overflow
    dd = (dlogq[:, 1] * (1.0 - p1) - dlogq[:, 0] * p1) / np.log(2.0)   # (N,)
    da = np.stack([-dd, dd], axis=1)                     # (N, 2)
    return {"dX": da @ W.T, "dW": X.T @ da}""",
    ),
    # The loss with a one-hot mask of the targets instead of fancy indexing.
    variant(
        "ca_rule_loss_one_hot_mask",
        "ca_rule_loss_code",
        """    rows = np.arange(N)
    bits = -logq[rows, y].mean()
    dlogq = np.zeros_like(logq)                             # (N, 2)
    dlogq[rows, y] = -1.0 / N
    return float(bits), {"W": ca_rule_backward(dlogq, cache)["dW"]}""",
        """    Y = np.eye(2)[y]                                        # (N, 2) one-hot targets
    bits = -np.sum(Y * logq) / N
    grads = ca_rule_backward(-Y / N, cache)
    return bits, {"W": grads["dW"]}""",
    ),
    # A comparison instead of argmax (strict, so a tie gives 0) and a NumPy integer rule number
    # from bit shifts (the visible check accepts np.integer).
    variant(
        "extract_rule_comparison_and_shifts",
        "extract_rule_code",
        """    table = np.argmax(W, axis=1).astype(np.int64)              # (8,)
    return table, int(np.sum(table * 2 ** np.arange(8)))""",
        """    table = (W[:, 1] > W[:, 0]).astype(np.int64)
    return table, table @ (1 << np.arange(8))""",
    ),
    variant(
        "extract_rule_loop_and_binary_string",
        "extract_rule_code",
        """    table = np.argmax(W, axis=1).astype(np.int64)              # (8,)
    return table, int(np.sum(table * 2 ** np.arange(8)))""",
        """    table = np.zeros(8, dtype=np.int64)
    for k in range(8):
        if W[k, 1] > W[k, 0]:
            table[k] = 1
    rule = int("".join(str(b) for b in table[::-1]), 2)   # bit 7 first
    return table, rule""",
    ),
    # One pass over the cells, all rows at once, with a (T, 2**k, 2) table of counts and the
    # context as a shift register (most recent cell = least significant bit: another numbering
    # of the same contexts).
    variant(
        "state_codelength_count_table_shift_register",
        "state_codelength_code",
        "    padded = np.concatenate(",
        """    counts = np.zeros((T, 2**k, 2))                     # (T, contexts, value)
    ctx = np.zeros(T, dtype=np.int64)                   # context of cell i in every row
    mask = 2**k - 1
    t_idx = np.arange(T)
    bits = np.empty((T, W))
    for i in range(W):
        x = rows[:, i]
        c = counts[t_idx, ctx]                          # (T, 2)
        p = (c[t_idx, x] + 0.5) / (c.sum(axis=1) + 1.0)
        bits[:, i] = -np.log2(p)
        counts[t_idx, ctx, x] += 1
        ctx = ((ctx << 1) | x) & mask
    return bits
    padded = np.concatenate(""",
    ),
]
