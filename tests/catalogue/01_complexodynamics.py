"""Wrong implementations of 01_complexodynamics that the hidden tests must catch (test-of-tests),
and correct ones in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward_mutant, rewrites, variant

# The reference backward of the soft automaton step, from the cache unpacking to its return.
_STEP_BACKWARD_BODY = """    Lf, Cf, Rf, CR, P, pi = cache
    B, W = dS_next.shape
    dpi = (dS_next.reshape(1, B * W) @ P.reshape(B * W, 8))[0]  # (8,)
    dw = dpi * pi * (1.0 - pi)                                 # (8,)
    t = pi.reshape(2, 2, 2)                                    # t[l, c, r] = pi[4l + 2c + r]
    LR = (Lf[:, :, :, None] * Rf[:, :, None, :]).reshape(B, W, 4)
    LC = (Lf[:, :, :, None] * Cf[:, :, None, :]).reshape(B, W, 4)
    dL = dS_next * (CR @ (t[1] - t[0]).ravel())                # (B, W) through the left factor
    dC = dS_next * (LR @ (t[:, 1] - t[:, 0]).ravel())          # (B, W) through the centre factor
    dR = dS_next * (LC @ (t[:, :, 1] - t[:, :, 0]).ravel())    # (B, W) through the right factor
    dS = dC + np.roll(dL, -1, axis=1) + np.roll(dR, 1, axis=1)  # (B, W) shifts undone
    return {"dS": dS, "dw": dw}"""

_STEP_FORWARD_BODY = """    B, W = S.shape
    L = np.roll(S, 1, axis=1)                                  # (B, W) left neighbours s_{i-1}
    R = np.roll(S, -1, axis=1)                                 # (B, W) right neighbours s_{i+1}
    Lf, Cf, Rf = (np.stack([1.0 - v, v], axis=-1) for v in (L, S, R))   # (B, W, 2) f(v, 0), f(v, 1)
    CR = (Cf[:, :, :, None] * Rf[:, :, None, :]).reshape(B, W, 4)       # (B, W, 4)
    P = (Lf[:, :, :, None] * CR[:, :, None, :]).reshape(B, W, 8)        # (B, W, 8) patterns
    pi = 0.5 * (1.0 + np.tanh(0.5 * w))                        # (8,) sigmoid, no overflow
    S_next = P @ pi                                            # (B, W)
    return S_next, (Lf, Cf, Rf, CR, P, pi)"""

_STEP_BACKWARD_DOC = '''

def ca_step_backward(dS_next, cache):
    """Gradients of ca_step_forward.

    Inputs:
      dS_next: (B, W) upstream gradient dL/dS_next.
      cache:   from ca_step_forward.
    Returns:
      dict with 'dS' (B, W) and 'dw' (8,).
    """
'''
_STEP_CELL_BODIES = _STEP_FORWARD_BODY + "\n" + _STEP_BACKWARD_DOC + _STEP_BACKWARD_BODY

_LOSS_BODY = """    X, Y, K = batch
    S = np.asarray(X, dtype=np.float64)                     # (B, W)
    caches = []
    for _ in range(K):
        S, cache = ca_step_forward(S, params["w"])          # (B, W)
        caches.append(cache)
    n = S.size
    bits = -np.sum(Y * np.log2(S) + (1 - Y) * np.log2(1.0 - S)) / n
    dS = (-Y / S + (1 - Y) / (1.0 - S)) / (n * LN2)         # (B, W) d bits / d S_K
    dw = np.zeros_like(params["w"])                         # (8,)
    for cache in reversed(caches):
        g = ca_step_backward(dS, cache)
        dw += g["dw"]
        dS = g["dS"]
    return float(bits), {"w": dw}"""

_EXTRACT_BODY = """    table = (np.asarray(w) > 0).astype(np.int64)               # (8,)
    return table, int(np.sum(table * 2 ** np.arange(8)))"""

_STEP_FORWARD = [
    "ca_step_forward_matches_reference[soft_rows]",
    "ca_step_forward_matches_reference[binary_rows]",
    "ca_step_forward_matches_reference[one_row_width3]",
    "ca_step_forward_matches_reference[real_S_large_w]",
]
# The time budget requires the gradient checks: a wrong backward loses it too.
_STEP_FAST = "ca_step_backward_fast_at_realistic_size"
_THROUGH_TIME = ["ca_rule_loss_gradcheck[3]"]
_LOSS_GRADS = ["ca_rule_loss_gradcheck[1]", "ca_rule_loss_gradcheck[3]"]
_EXTRACT_CHECKS = ["extract_rule_matches_reference", "extract_rule_round_trips_every_rule"]
_CODELENGTH_FORWARD = [
    "state_codelength_matches_reference[random_k4]",
    "state_codelength_matches_reference[biased_k0]",
    "state_codelength_matches_reference[rule30_k6]",
]
_CODELENGTH_ALL = _CODELENGTH_FORWARD + ["state_codelength_matches_reference[width1]"]


MUTANTS = [
    # ---------------------------------------------------------------- ca_step
    # A backward that differentiates numerically through the forward. It recovers S and w from
    # the cache, so it is accurate to ~1e-10 and passes every gradient check; only the
    # realistic-size time budget catches it.
    numerical_backward_mutant(
        "numerical_backward",
        "ca_step_code",
        _STEP_BACKWARD_BODY,
        '    args = {"S": Cf[:, :, 1].copy(), "w": np.log(pi / (1.0 - pi))}',
        'np.sum(ca_step_forward(args["S"], args["w"])[0] * dS_next)',
        catches=[_STEP_FAST],
    ),
    # The gathering's backward rolls the same way as the forward instead of back.
    mutant(
        "neighbour_gradients_shifted_the_wrong_way",
        "ca_step_code",
        "dS = dC + np.roll(dL, -1, axis=1) + np.roll(dR, 1, axis=1)",
        "dS = dC + np.roll(dL, 1, axis=1) + np.roll(dR, -1, axis=1)",
        "ca_step_backward_gradcheck[dS]",
        _STEP_FAST,
        *_THROUGH_TIME,
    ),
    # Each cell is only a neighbour: its own (centre) path is forgotten.
    mutant(
        "centre_path_forgotten",
        "ca_step_code",
        "dS = dC + np.roll(dL, -1, axis=1) + np.roll(dR, 1, axis=1)",
        "dS = np.roll(dL, -1, axis=1) + np.roll(dR, 1, axis=1)",
        "ca_step_backward_gradcheck[dS]",
        _STEP_FAST,
        *_THROUGH_TIME,
    ),
    mutant(
        "sigmoid_derivative_forgotten",
        "ca_step_code",
        "dw = dpi * pi * (1.0 - pi)",
        "dw = dpi",
        "ca_step_backward_gradcheck[dw]",
        _STEP_FAST,
        *_LOSS_GRADS,
        "ca_rule_loss_trains_like_reference",
    ),
    # The forward reads the neighbourhood mirrored (left and right swapped): pattern k is
    # 4*right + 2*centre + left. The backward still undoes the original shifts.
    mutant(
        "neighbourhood_mirrored",
        "ca_step_code",
        "for v in (L, S, R))",
        "for v in (R, S, L))",
        *_STEP_FORWARD,
        "ca_step_is_the_automaton_on_binary_rows",
        "ca_step_backward_gradcheck[dS]",
        _STEP_FAST,
        "ca_rule_loss_value_matches_reference",
        *_LOSS_GRADS,
        "ca_rule_loss_trains_like_reference",
    ),
    # sigmoid(-w): the probability of a 0 instead of a 1.
    mutant(
        "sigmoid_sign_flipped",
        "ca_step_code",
        "pi = 0.5 * (1.0 + np.tanh(0.5 * w))",
        "pi = 1.0 / (1.0 + np.exp(w))",
        *_STEP_FORWARD,
        "ca_step_is_the_automaton_on_binary_rows",
        "ca_step_backward_gradcheck[dw]",
        _STEP_FAST,
        "ca_rule_loss_value_matches_reference",
        *_LOSS_GRADS,
        "ca_rule_loss_trains_like_reference",
        "ca_rule_loss_learns_the_law_from_every_second_frame",
    ),
    # ---------------------------------------------------------------- ca_rule_loss
    # Backpropagation through time, done wrong in the two classic ways.
    mutant(
        "weight_gradient_overwritten_not_accumulated",
        "ca_rule_loss_code",
        'dw += g["dw"]',
        'dw = g["dw"]',
        *_THROUGH_TIME,
    ),
    mutant(
        "state_gradient_not_carried_back",
        "ca_rule_loss_code",
        '        dw += g["dw"]\n        dS = g["dS"]\n',
        '        dw += g["dw"]\n',
        *_THROUGH_TIME,
    ),
    mutant(
        "loss_sums_instead_of_averaging",
        "ca_rule_loss_code",
        "bits = -np.sum(Y * np.log2(S) + (1 - Y) * np.log2(1.0 - S)) / n",
        "bits = -np.sum(Y * np.log2(S) + (1 - Y) * np.log2(1.0 - S))",
        "ca_rule_loss_value_matches_reference",
        *_LOSS_GRADS,
        "ca_rule_loss_trains_like_reference",
        "ca_rule_loss_is_bits_per_cell",
    ),
    mutant(
        "loss_in_nats",
        "ca_rule_loss_code",
        "bits = -np.sum(Y * np.log2(S) + (1 - Y) * np.log2(1.0 - S)) / n",
        "bits = -np.sum(Y * np.log(S) + (1 - Y) * np.log(1.0 - S)) / n",
        "ca_rule_loss_value_matches_reference",
        *_LOSS_GRADS,
        "ca_rule_loss_trains_like_reference",
        "ca_rule_loss_is_bits_per_cell",
    ),
    mutant(
        "loss_gradient_sign_flipped",
        "ca_rule_loss_code",
        "dS = (-Y / S + (1 - Y) / (1.0 - S)) / (n * LN2)",
        "dS = (Y / S - (1 - Y) / (1.0 - S)) / (n * LN2)",
        *_LOSS_GRADS,
        "ca_rule_loss_trains_like_reference",
        "ca_rule_loss_learns_the_law_from_every_second_frame",
    ),
    mutant(
        "grads_keyed_like_the_backward",
        "ca_rule_loss_code",
        'return float(bits), {"w": dw}',
        'return float(bits), {"dw": dw}',
        *_LOSS_GRADS,
        "ca_rule_loss_trains_like_reference",
        "ca_rule_loss_learns_the_law_from_every_second_frame",
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
        "table = (np.asarray(w) > 0).astype(np.int64)",
        ties_predict_one=(
            "table = (np.asarray(w) >= 0).astype(np.int64)",
            ["extract_rule_round_trips_every_rule"],
        ),
        # Logits thresholded as if they were probabilities.
        logits_compared_with_one_half=(
            "table = (np.asarray(w) > 0.5).astype(np.int64)",
            _EXTRACT_CHECKS,
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

# Correct implementations written differently (slow loops, another gathering, another cache,
# another rollout, another numbering of the contexts): they must still score full marks, which
# shows that the time budget and the tolerances are fair.
VARIANTS = [
    # A Python loop over the 8 patterns, the product rule written out per pattern; a dict cache.
    variant(
        "ca_step_loop_over_patterns_dict_cache",
        "ca_step_code",
        _STEP_CELL_BODIES,
        """    left, right = np.roll(S, 1, axis=1), np.roll(S, -1, axis=1)
    pi = 1.0 / (1.0 + np.exp(-w))
    S_next = np.zeros_like(S)
    for k in range(8):
        bl, bc, br = (k >> 2) & 1, (k >> 1) & 1, k & 1
        fl = left if bl else 1.0 - left
        fc = S if bc else 1.0 - S
        fr = right if br else 1.0 - right
        S_next += pi[k] * fl * fc * fr
    return S_next, {"S": S, "w": w}
"""
        + _STEP_BACKWARD_DOC
        + """    S, w = cache["S"], cache["w"]
    left, right = np.roll(S, 1, axis=1), np.roll(S, -1, axis=1)
    pi = 1.0 / (1.0 + np.exp(-w))
    dw = np.zeros(8)
    d_left, d_centre, d_right = np.zeros_like(S), np.zeros_like(S), np.zeros_like(S)
    for k in range(8):
        bl, bc, br = (k >> 2) & 1, (k >> 1) & 1, k & 1
        fl = left if bl else 1.0 - left
        fc = S if bc else 1.0 - S
        fr = right if br else 1.0 - right
        dw[k] = np.sum(dS_next * fl * fc * fr) * pi[k] * (1.0 - pi[k])
        g = dS_next * pi[k]
        d_left += g * fc * fr * (1.0 if bl else -1.0)
        d_centre += g * fl * fr * (1.0 if bc else -1.0)
        d_right += g * fl * fc * (1.0 if br else -1.0)
    dS = d_centre + np.roll(d_left, -1, axis=1) + np.roll(d_right, 1, axis=1)
    return {"dS": dS, "dw": dw}""",
    ),
    # Gathering by fancy indexing with an (8, 3) matrix of pattern bits; the backward scatters
    # with np.add.at; the cache is a closure.
    variant(
        "ca_step_index_gather_bit_matrix_closure",
        "ca_step_code",
        _STEP_CELL_BODIES,
        """    B, W = S.shape
    idx = (np.arange(W)[:, None] + np.array([-1, 0, 1])) % W       # (W, 3) left, centre, right
    nb = S[:, idx]                                                 # (B, W, 3)
    bits = (np.arange(8)[:, None] >> np.array([2, 1, 0])) & 1      # (8, 3)
    F = np.where(bits == 1, nb[:, :, None, :], 1.0 - nb[:, :, None, :])   # (B, W, 8, 3)
    P = F.prod(axis=3)                                             # (B, W, 8)
    pi = np.exp(-np.logaddexp(0.0, -w))                            # sigmoid
    out = np.einsum("bwk,k->bw", P, pi)

    def saved():
        return idx, bits, F, P, pi, S.shape

    return out, saved
"""
        + _STEP_BACKWARD_DOC
        + """    idx, bits, F, P, pi, shape = cache()
    dw = np.einsum("bw,bwk->k", dS_next, P) * pi * (1.0 - pi)
    dP = dS_next[:, :, None] * pi                                  # (B, W, 8)
    sign = 2.0 * bits - 1.0                                        # (8, 3)
    others = np.stack([F[..., 1] * F[..., 2], F[..., 0] * F[..., 2], F[..., 0] * F[..., 1]], -1)
    dnb = np.einsum("bwk,bwkj,kj->bwj", dP, others, sign)          # (B, W, 3)
    dS = np.zeros(shape)
    cols = np.broadcast_to(idx, dnb.shape)
    rows = np.broadcast_to(np.arange(shape[0])[:, None, None], dnb.shape)
    np.add.at(dS, (rows, cols), dnb)
    return {"dS": dS, "dw": dw}""",
    ),
    # A recursive rollout, log1p for the complement.
    variant(
        "ca_rule_loss_recursive_log1p",
        "ca_rule_loss_code",
        _LOSS_BODY,
        """    X, Y, K = batch
    w = params["w"]

    def run(S, steps):
        # (bits, dw, dS) of the frame `steps` steps after S
        S_next, cache = ca_step_forward(S, w)
        if steps == 1:
            m = S_next.size
            value = -np.sum(np.where(Y == 1, np.log(S_next), np.log1p(-S_next))) / (m * np.log(2))
            dS_next = np.where(Y == 1, -1.0 / S_next, 1.0 / (1.0 - S_next)) / (m * np.log(2))
            dw_later = np.zeros(8)
        else:
            value, dw_later, dS_next = run(S_next, steps - 1)
        g = ca_step_backward(dS_next, cache)
        return value, dw_later + g["dw"], g["dS"]

    bits, dw, _ = run(np.array(X, dtype=float), K)
    return bits, {"w": dw}""",
    ),
    # The states are kept, not the caches; the backward pass re-runs each step's forward.
    variant(
        "ca_rule_loss_keeps_states_and_recomputes",
        "ca_rule_loss_code",
        _LOSS_BODY,
        """    X, Y, K = batch
    w = params["w"].copy()
    states = [X.astype(np.float64)]
    for _ in range(K):
        states.append(ca_step_forward(states[-1], w)[0])
    q = np.where(Y == 1, states[-1], 1.0 - states[-1])              # probability of what was seen
    bits = float(np.mean(-np.log2(q)))
    grad = np.where(Y == 1, -1.0, 1.0) / (q * np.log(2.0) * q.size)
    dw = np.zeros(8)
    for j in range(K, 0, -1):
        _, cache = ca_step_forward(states[j - 1], w)
        step = ca_step_backward(grad, cache)
        dw = dw + step["dw"]
        grad = step["dS"]
    return bits, {"w": dw}""",
    ),
    variant(
        "extract_rule_loop_and_binary_string",
        "extract_rule_code",
        _EXTRACT_BODY,
        """    table = np.zeros(8, dtype=np.int64)
    for k in range(8):
        if w[k] > 0:
            table[k] = 1
    rule = int("".join(str(b) for b in table[::-1]), 2)   # bit 7 first
    return table, rule""",
    ),
    # np.sign clipped at 0 and a NumPy integer from packbits (the visible check accepts it).
    variant(
        "extract_rule_sign_and_packbits",
        "extract_rule_code",
        _EXTRACT_BODY,
        """    table = np.clip(np.sign(w), 0, 1).astype(np.int64)
    return table, np.packbits(table[::-1].astype(np.uint8))[0]""",
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


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    "sigmoid_sign_flipped": (
        "sign",
        "ca_step's dw and ca_rule_loss's w (the forward's sigmoid(-w) has the derivative "
        "-pi (1 - pi), the backward keeps +pi (1 - pi); dS stays right)",
    ),
    "loss_sums_instead_of_averaging": (
        "factor",
        "w: 1/n, n = X.size the number of cells predicted (the backward still divides by n)",
    ),
    "loss_in_nats": ("factor", "w: 1/ln 2 (the forward returns nats, the backward bits)"),
    "loss_gradient_sign_flipped": ("sign", "w"),
}
