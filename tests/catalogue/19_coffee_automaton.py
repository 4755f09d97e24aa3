"""Wrong implementations of 19_coffee_automaton that the hidden tests must catch, and correct
variants in other styles that must keep full marks (test-of-tests).

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward, rewrites, variant

# ---------------------------------------------------------------------------------- helpers
_STEP_FORWARD_ALL = [
    "coffee_step_matches_reference[5x7_axis0_offset0]",
    "coffee_step_matches_reference[5x7_axis0_offset1]",
    "coffee_step_matches_reference[6x5_axis1_offset0]",
    "coffee_step_matches_reference[6x5_axis1_offset1]",
    "coffee_step_sweeps_match_reference",
]
_GRAIN_ALL = [
    "coarse_grain_matches_reference[20x23_g9]",
    "coarse_grain_matches_reference[6x6_g3_ties]",
    "coarse_grain_matches_reference[4x5_g1]",
    "coarse_grain_matches_reference[5x5_g5]",
    "coarse_grain_matches_reference[10x7_g4]",
]
_NBRS_ALL = [
    "causal_neighbours_matches_reference[5x6_V3]",
    "causal_neighbours_matches_reference[1x4_V2]",
    "causal_neighbours_matches_reference[4x1_V3]",
    "causal_neighbours_matches_reference[7x9_V5]",
]
_NBR_GRADCHECKS = [
    "nbr_model_backward_gradcheck[V3_repeated-dW]",
    "nbr_model_backward_gradcheck[V3_repeated-db]",
    "nbr_model_backward_gradcheck[V2_batch1-dW]",
    "nbr_model_backward_gradcheck[V2_batch1-db]",
]
_FRAME_FORWARD_ALL = [
    "frame_code_length_matches_reference[random_5x6_V3]",
    "frame_code_length_matches_reference[single_cell_V2]",
    "frame_code_length_matches_reference[random_6x4_V2_lr0.2]",
    "frame_code_length_matches_reference[cup_20x20_V3]",
]

# The reference's pass, between the copy and the return (replaced whole by some entries).
_PASS = """    first = np.arange(offset, new.shape[0] - 1, 2)                 # (P,) pair starts
    a, b = new[first], new[first + 1]                              # (P, m) copies
    flip = coins[first] == 1                                       # (P, m)
    new[first] = np.where(flip, b, a)
    new[first + 1] = np.where(flip, a, b)"""

# The forward's cache line through the start of the backward's body: the numerical-backward
# mutant keeps W and b in the cache so it can call the forward again.
_CACHE_TO_BACKWARD = '''    cache = (nbrs, sym, np.exp(logq), W.shape)
    return bits, cache


def nbr_model_backward(dbits, cache):
    """Backward pass of nbr_model_forward.

    Inputs:
        dbits: (B,) upstream gradient of bits.
        cache: from nbr_model_forward.
    Returns:
        dict with 'dW': (4, V + 1, V) and 'db': (V,), contributions of all B cells added.
    """
    nbrs, sym, q, shape = cache
    B, K = nbrs.shape'''

_NUMERICAL = numerical_backward(
    """    nbrs, sym, q, shape, W0, b0 = cache
    args = {"W": W0.copy(), "b": b0.copy()}""",
    'np.sum(nbr_model_forward(args["W"], args["b"], nbrs, sym)[0] * dbits)',
)

_NBR_NUMERICAL_BACKWARD = (
    _CACHE_TO_BACKWARD.replace(
        "cache = (nbrs, sym, np.exp(logq), W.shape)",
        "cache = (nbrs, sym, np.exp(logq), W.shape, W.copy(), b.copy())",
    ).replace("    nbrs, sym, q, shape = cache\n    B, K = nbrs.shape", _NUMERICAL)
    + "\n    nbrs, sym, q, shape = cache[:4]\n    B, K = nbrs.shape"
)


_ADAGRAD_LINE = "            params[name] -= lr * g / (np.sqrt(G[name]) + ADAGRAD_EPS)"


MUTANTS = [
    # ---- coffee_step
    # A periodic box: the last cell pairs with the first (np.roll-style thinking).
    mutant(
        "step_wraps_around_the_edge",
        "coffee_step_code",
        _PASS,
        """    L = new.shape[0]
    first = np.arange(offset, L, 2)
    second = (first + 1) % L
    a, b = new[first], new[second]
    flip = coins[first] == 1
    new[first] = np.where(flip, b, a)
    new[second] = np.where(flip, a, b)""",
        "coffee_step_matches_reference[5x7_axis0_offset0]",
        "coffee_step_matches_reference[6x5_axis1_offset0]",
        "coffee_step_matches_reference[1x4_axis1_offset1]",
        "coffee_step_matches_reference[2x3_axis0_offset1_no_pairs]",
        "coffee_step_sweeps_match_reference",
        # the pair (last, first) overlaps the pair (first, second): cream is created or lost
        "coffee_step_conserves_cream_and_leaves_inputs",
    ),
    mutant(
        "step_reads_the_coin_of_the_second_cell",
        "coffee_step_code",
        "flip = coins[first] == 1",
        "flip = coins[first + 1] == 1",
        *_STEP_FORWARD_ALL,
        "coffee_step_matches_reference[1x4_axis1_offset1]",
    ),
    # np.asarray does not copy an int64 array: the caller's grid is changed in place.
    mutant(
        "step_modifies_the_grid_in_place",
        "coffee_step_code",
        "new = np.array(grid, dtype=np.int64)",
        "new = np.asarray(grid, dtype=np.int64)",
        "coffee_step_conserves_cream_and_leaves_inputs",
    ),
    mutant(
        "step_ignores_the_offset",
        "coffee_step_code",
        "first = np.arange(offset, new.shape[0] - 1, 2)",
        "first = np.arange(0, new.shape[0] - 1, 2)",
        "coffee_step_matches_reference[5x7_axis0_offset1]",
        "coffee_step_matches_reference[6x5_axis1_offset1]",
        "coffee_step_matches_reference[1x4_axis1_offset1]",
        "coffee_step_matches_reference[2x3_axis0_offset1_no_pairs]",
        "coffee_step_sweeps_match_reference",
    ),
    # ---- coarse_grain
    # A mean of exactly 1/3 goes to level 0 (and 2/3 stays 1): cream and coffee are no longer
    # treated alike.
    mutant(
        "grain_strict_lower_threshold",
        "coarse_grain_code",
        "(3 * s >= m)",
        "(3 * s > m)",
        # g = 3 and g = 9 windows can hold exactly a third of cream
        "coarse_grain_matches_reference[20x23_g9]",
        "coarse_grain_matches_reference[6x6_g3_ties]",
        "coarse_grain_is_symmetric_in_cream_and_coffee",
    ),
    # The summed-area table without its row and column of zeros: windows shift by one and the
    # picture loses a row and a column.
    mutant(
        "grain_table_without_zero_padding",
        "coarse_grain_code",
        """    S = np.zeros((x.shape[0] + 1, x.shape[1] + 1), dtype=np.int64)   # (n + 1, m + 1)
    S[1:, 1:] = x.cumsum(axis=0).cumsum(axis=1)""",
        "    S = x.cumsum(axis=0).cumsum(axis=1)",
        *_GRAIN_ALL,
        "coarse_grain_is_symmetric_in_cream_and_coffee",
    ),
    # Rounding the mean to the nearest of 0, 1/2, 1: thresholds 1/4 and 3/4 instead of 1/3, 2/3.
    mutant(
        "grain_rounds_the_mean",
        "coarse_grain_code",
        "return (3 * s >= m).astype(np.int64) + (3 * s > 2 * m)",
        "return np.round(2 * s / m).astype(np.int64)",
        "coarse_grain_matches_reference[20x23_g9]",
        "coarse_grain_matches_reference[10x7_g4]",
    ),
    # ---- causal_neighbours
    mutant(
        "neighbours_outside_coded_as_zero",
        "causal_neighbours_code",
        "p = np.full((H + 1, W + 2), V, dtype=np.int64)",
        "p = np.zeros((H + 1, W + 2), dtype=np.int64)",
        *_NBRS_ALL,
        *_FRAME_FORWARD_ALL[:1],
        *_FRAME_FORWARD_ALL[2:],
    ),
    # Looks at the east neighbour, which the decoder does not know yet.
    mutant(
        "neighbours_east_instead_of_west",
        "causal_neighbours_code",
        "west = p[1:, :-2]",
        "west = p[1:, 2:]",
        # (in a 4 x 1 frame east and west are both outside)
        *_NBRS_ALL[:2],
        *_NBRS_ALL[3:],
        "causal_neighbours_use_only_cells_already_coded",
        *_FRAME_FORWARD_ALL[:1],
        *_FRAME_FORWARD_ALL[2:],
        "frame_code_length_predicts_before_learning",
    ),
    mutant(
        "neighbours_north_west_and_north_east_swapped",
        "causal_neighbours_code",
        "np.stack([west, north_west, north, north_east], axis=-1)",
        "np.stack([west, north_east, north, north_west], axis=-1)",
        *_NBRS_ALL[:1],
        *_NBRS_ALL[3:],
    ),
    # ---- the neighbour model
    mutant(
        "nbr_forward_without_max_shift",
        "nbr_model_code",
        "z = logits - logits.max(axis=1, keepdims=True)",
        "z = logits",
        "nbr_model_forward_matches_reference",
        "nbr_model_codes_are_probabilities",
    ),
    *rewrites(
        "nbr_model_code",
        "dz *= (dbits * LOG2E)[:, None]",
        # The backward returns the gradient for an upstream of all ones. The online coder uses
        # exactly that, so only the gradient checks (and the loss, whose upstream is 1/B) see it.
        nbr_backward_ignores_upstream=(
            "dz *= LOG2E",
            _NBR_GRADCHECKS
            + [
                "nbr_model_backward_fast",
                "nbr_model_loss_gradcheck[W]",
                "nbr_model_loss_gradcheck[b]",
                "nbr_model_loss_fast",
            ],
        ),
    ),
    mutant(
        "nbr_backward_repeated_values_not_accumulated",
        "nbr_model_code",
        "np.add.at(dW, (np.arange(K)[None, :], nbrs), dz[:, None, :])",
        "dW[np.arange(K)[None, :], nbrs] += dz[:, None, :]",
        "nbr_model_backward_gradcheck[V3_repeated-dW]",
        "nbr_model_gradient_identities",
        "nbr_model_backward_fast",
        "nbr_model_loss_gradcheck[W]",
        "nbr_model_loss_fast",
        "nbr_model_training_reduces_loss_like_reference",
    ),
    mutant(
        "nbr_backward_forgets_the_symbol",
        "nbr_model_code",
        "dz[np.arange(B), sym] -= 1.0",
        "dz = dz",
        *_NBR_GRADCHECKS,
        "nbr_model_gradient_identities",
        "nbr_model_backward_fast",
        "nbr_model_loss_gradcheck[W]",
        "nbr_model_loss_gradcheck[b]",
        "nbr_model_loss_fast",
        "nbr_model_training_reduces_loss_like_reference",
        *_FRAME_FORWARD_ALL[:1],
        *_FRAME_FORWARD_ALL[2:],
        "frame_code_length_cannot_compress_noise",
        "frame_code_length_learns_the_cup",
        "frame_code_length_complexity_rises_and_falls",
    ),
    mutant(
        "nbr_numerical_backward",
        "nbr_model_code",
        _CACHE_TO_BACKWARD,
        _NBR_NUMERICAL_BACKWARD,
        # Its row sums are ~1e-11, not 0: the identities test sees the noise.
        "nbr_model_gradient_identities",
        "nbr_model_backward_fast",
        "nbr_model_loss_fast",
    ),
    # ---- the batch loss
    mutant(
        "loss_sums_instead_of_averaging",
        "nbr_model_loss_code",
        "g = nbr_model_backward(np.full(B, 1.0 / B), cache)\n    return float(bits.mean())",
        "g = nbr_model_backward(np.ones(B), cache)\n    return float(bits.sum())",
        # Its gradient is exact for the sum it returns: the value and the curve catch it.
        "nbr_model_loss_value_matches_reference",
        "nbr_model_training_reduces_loss_like_reference",
    ),
    # ---- frame_code_length
    # Learn from the cell, then pay for it with the updated model: a code no decoder can follow.
    mutant(
        "frame_learns_before_coding",
        "frame_code_length_code",
        _ADAGRAD_LINE,
        _ADAGRAD_LINE
        + '\n        bits[i] = nbr_model_forward(params["W"], params["b"], nbrs[i : i + 1], '
        "sym[i : i + 1])[0][0]",
        *_FRAME_FORWARD_ALL,
        "frame_code_length_predicts_before_learning",
        "frame_code_length_cannot_compress_noise",
    ),
    # Only the bias learns: the coder knows the level frequencies, not the neighbours.
    mutant(
        "frame_updates_only_the_bias",
        "frame_code_length_code",
        "        for name in params:",
        '        for name in ["b"]:',
        *_FRAME_FORWARD_ALL[:1],
        *_FRAME_FORWARD_ALL[2:],
        "frame_code_length_complexity_rises_and_falls",
    ),
    # AdaGrad without the running sum: every step has size lr in every coordinate.
    mutant(
        "frame_adagrad_accumulator_not_summed",
        "frame_code_length_code",
        "G[name] += g * g",
        "G[name] = g * g",
        *_FRAME_FORWARD_ALL[:1],
        *_FRAME_FORWARD_ALL[2:],
        # steps of size lr forever: over-confident on the cup, and the noise test requires it
        "frame_code_length_learns_the_cup",
        "frame_code_length_cannot_compress_noise",
    ),
]

_XOR_PASS = """    first = np.arange(offset, new.shape[0] - 1, 2)
    d = (new[first] ^ new[first + 1]) * (coins[first] == 1)   # 1 where a pair swaps and differs
    new[first] ^= d
    new[first + 1] ^= d"""

_STEP_BODY = (
    """    new = np.array(grid, dtype=np.int64)                           # (n, m) a copy
    coins = np.asarray(swap)
    if axis == 1:
        new, coins = new.T, coins.T                                # views: pairs run down rows
"""
    + _PASS
    + """
    return new.T if axis == 1 else new"""
)

_STEP_LOOPS = """    new = np.array(grid, dtype=np.int64)
    n, m = new.shape
    if axis == 0:
        for i in range(offset, n - 1, 2):
            for j in range(m):
                if swap[i][j] == 1:
                    new[i, j], new[i + 1, j] = new[i + 1, j], new[i, j]
    else:
        for j in range(offset, m - 1, 2):
            for i in range(n):
                if swap[i][j] == 1:
                    new[i, j], new[i, j + 1] = new[i, j + 1], new[i, j]
    return new"""

_GRAIN_BODY = """    x = np.asarray(grid, dtype=np.int64)
    S = np.zeros((x.shape[0] + 1, x.shape[1] + 1), dtype=np.int64)   # (n + 1, m + 1)
    S[1:, 1:] = x.cumsum(axis=0).cumsum(axis=1)
    s = S[g:, g:] - S[:-g, g:] - S[g:, :-g] + S[:-g, :-g]            # (n - g + 1, m - g + 1)
    m = g * g
    return (3 * s >= m).astype(np.int64) + (3 * s > 2 * m)"""

_GRAIN_WINDOWS = """    x = np.asarray(grid, dtype=np.int64)
    s = np.lib.stride_tricks.sliding_window_view(x, (g, g)).sum(axis=(2, 3))
    m = g * g
    return np.where(3 * s < m, 0, np.where(3 * s > 2 * m, 2, 1))"""

_NBRS_BODY_START = """    x = np.asarray(levels, dtype=np.int64)
    H, W = x.shape
    p = np.full((H + 1, W + 2), V, dtype=np.int64)                 # (H + 1, W + 2) padded"""

_NBRS_LOOPS = """    x = np.asarray(levels, dtype=np.int64)
    H, W = x.shape
    out = np.full((H, W, 4), V, dtype=np.int64)
    for i in range(H):
        for j in range(W):
            for k, (di, dj) in enumerate([(0, -1), (-1, -1), (-1, 0), (-1, 1)]):
                a, c = i + di, j + dj
                if 0 <= a < H and 0 <= c < W:
                    out[i, j, k] = x[a, c]
    return out
    p = np.full((H + 1, W + 2), V, dtype=np.int64)"""

_FORWARD_BODY = """    B, K = nbrs.shape
    logits = b + W[np.arange(K), nbrs].sum(axis=1)                 # (B, K, V) -> (B, V)
    z = logits - logits.max(axis=1, keepdims=True)                 # (B, V), row max 0
    logq = z - np.log(np.exp(z).sum(axis=1, keepdims=True))        # (B, V) natural log-probs
    bits = -logq[np.arange(B), sym] * LOG2E                        # (B,)"""

_FORWARD_BASE2 = """    B, K = nbrs.shape
    logits = b + sum(W[k, nbrs[:, k]] for k in range(K))           # (B, V)
    l2 = logits * LOG2E                                            # logits in bits
    l2 = l2 - l2.max(axis=1, keepdims=True)
    logq = (l2 - np.log2(np.exp2(l2).sum(axis=1, keepdims=True))) / LOG2E
    bits = -logq[np.arange(B), sym] * LOG2E"""

_BACKWARD_BODY = """    nbrs, sym, q, shape = cache
    B, K = nbrs.shape
    dz = q.copy()                                                  # (B, V)
    dz[np.arange(B), sym] -= 1.0
    dz *= (dbits * LOG2E)[:, None]
    dW = np.zeros(shape)                                           # (K, V + 1, V)
    np.add.at(dW, (np.arange(K)[None, :], nbrs), dz[:, None, :])   # (B, K) rows <- (B, 1, V)
    return {"dW": dW, "db": dz.sum(axis=0)}"""

_BACKWARD_LOOP = """    nbrs, sym, q, shape = cache
    B, K = nbrs.shape
    dW = np.zeros(shape)
    db = np.zeros(shape[2])
    for t in range(B):
        dz = q[t].copy()
        dz[sym[t]] -= 1.0
        dz *= dbits[t] * LOG2E
        db += dz
        for k in range(K):
            dW[k, nbrs[t, k]] += dz
    return {"dW": dW, "db": db}"""

_ONEHOT_LAYER = """    B, K = nbrs.shape
    V = b.shape[0]
    X = np.zeros((B, K * (V + 1)))                                 # one-hot neighbours
    X[np.arange(B)[:, None], np.arange(K) * (V + 1) + nbrs] = 1.0
    logits = X @ W.reshape(K * (V + 1), V) + b                     # (B, V)
    lse = np.logaddexp.reduce(logits, axis=1)                      # (B,)
    bits = (lse - logits[np.arange(B), sym]) / np.log(2.0)
    cache = {"X": X, "p": np.exp(logits - lse[:, None]), "sym": sym, "shape": W.shape}
    return bits, cache


def nbr_model_backward(dbits, cache):
    X, p, sym = cache["X"], cache["p"], cache["sym"]
    B = X.shape[0]
    onehot = np.zeros_like(p)
    onehot[np.arange(B), sym] = 1.0
    dz = (p - onehot) * dbits[:, None] / np.log(2.0)               # (B, V)
    return {"dW": (X.T @ dz).reshape(cache["shape"]), "db": dz.sum(axis=0)}"""

_FRAME_LOOP = """    for i in range(H * Wd):
        cost, cache = nbr_model_forward(params["W"], params["b"], nbrs[i : i + 1], sym[i : i + 1])
        bits[i] = cost[0]                                          # code ...
        grads = nbr_model_backward(np.ones(1), cache)              # ... then learn
        for name in params:
            g = grads["d" + name]
            G[name] += g * g
            params[name] -= lr * g / (np.sqrt(G[name]) + ADAGRAD_EPS)"""

_FRAME_THROUGH_LOSS = """    for i in range(H * Wd):
        loss, grads = nbr_model_loss(params, (nbrs[i : i + 1], sym[i : i + 1]))
        bits[i] = loss                                             # the mean of one cost
        for name in params:
            G[name] = G[name] + grads[name] ** 2
            params[name] = params[name] - lr * grads[name] / (np.sqrt(G[name]) + ADAGRAD_EPS)"""

_FRAME_TOUCHED_ROWS = """    for i in range(H * Wd):
        cost, cache = nbr_model_forward(params["W"], params["b"], nbrs[i : i + 1], sym[i : i + 1])
        bits[i] = cost[0]
        grads = nbr_model_backward(np.ones(1), cache)
        rows = (np.arange(N_NBRS), nbrs[i])                        # the 4 rows this cell used
        gW = grads["dW"][rows]                                     # (4, V)
        G["W"][rows] += gW * gW
        params["W"][rows] -= lr * gW / (np.sqrt(G["W"][rows]) + ADAGRAD_EPS)
        G["b"] += grads["db"] ** 2
        params["b"] -= lr * grads["db"] / (np.sqrt(G["b"]) + ADAGRAD_EPS)"""

VARIANTS = [
    variant("step_xor_swap", "coffee_step_code", _PASS, _XOR_PASS),
    variant("step_python_loops", "coffee_step_code", _STEP_BODY, _STEP_LOOPS),
    variant("grain_sliding_window_view", "coarse_grain_code", _GRAIN_BODY, _GRAIN_WINDOWS),
    variant("neighbours_python_loops", "causal_neighbours_code", _NBRS_BODY_START, _NBRS_LOOPS),
    variant("nbr_forward_base2_sum_over_k", "nbr_model_code", _FORWARD_BODY, _FORWARD_BASE2),
    variant("nbr_backward_loop_over_cells", "nbr_model_code", _BACKWARD_BODY, _BACKWARD_LOOP),
    variant(
        "nbr_onehot_matmul_dict_cache",
        "nbr_model_code",
        _FORWARD_BODY
        + """
    cache = (nbrs, sym, np.exp(logq), W.shape)
    return bits, cache


def nbr_model_backward(dbits, cache):
    \"\"\"Backward pass of nbr_model_forward.

    Inputs:
        dbits: (B,) upstream gradient of bits.
        cache: from nbr_model_forward.
    Returns:
        dict with 'dW': (4, V + 1, V) and 'db': (V,), contributions of all B cells added.
    \"\"\"
"""
        + _BACKWARD_BODY,
        _ONEHOT_LAYER,
    ),
    variant(
        "frame_through_the_batch_loss", "frame_code_length_code", _FRAME_LOOP, _FRAME_THROUGH_LOSS
    ),
    variant(
        "frame_updates_touched_rows_only",
        "frame_code_length_code",
        _FRAME_LOOP,
        _FRAME_TOUCHED_ROWS,
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    # revised after the first measurement, from the code: W, b in the loss check: the upstream is
    # constant, so ignoring it is a factor
    "nbr_backward_ignores_upstream": (("other", "factor"), "W, b: a constant"),
}
