"""Wrong implementations of 06_pointer_networks that the hidden tests must catch (test-of-tests),
and correct variants in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import fd_loop, mutant, numerical_backward_mutant, variant

# ---------------------------------------------------------------- the reference's texts
_POINTER_FWD_BODY = """\
    a = E @ W1 + (d @ W2)[:, None, :]                               # (B, n, A)
    t = np.tanh(a)                                                  # (B, n, A)
    u = t @ v                                                       # (B, n) scores
    m = np.max(np.where(mask, u, -np.inf), axis=1, keepdims=True)   # (B, 1) largest available
    ex = np.where(mask, np.exp(np.where(mask, u - m, 0.0)), 0.0)    # (B, n) 0 where masked
    p = ex / ex.sum(axis=1, keepdims=True)                          # (B, n)
    return p, (E, d, W1, W2, v, t, p)"""

_POINTER_BWD_DOC = '''


def pointer_backward(dp, cache):
    """Gradients of pointer_forward.

    Inputs:
      dp:    (B, n) upstream gradient dL/dp.
      cache: from pointer_forward.
    Returns:
      dict with 'dE' (B, n, H), 'dd' (B, H), 'dW1' (H, A), 'dW2' (H, A), 'dv' (A,).
    """
'''

_POINTER_BWD_BODY = """    E, d, W1, W2, v, t, p = cache
    du = p * (dp - np.sum(p * dp, axis=1, keepdims=True))   # (B, n), 0 where masked
    dv = np.einsum("bn,bna->a", du, t)                      # (A,)
    da = du[:, :, None] * v * (1.0 - t * t)                 # (B, n, A)
    dW1 = np.einsum("bnh,bna->ha", E, da)                   # (H, A)
    dE = da @ W1.T                                          # (B, n, H)
    dq = da.sum(axis=1)                                     # (B, A) d(d W2), summed over j
    return {"dE": dE, "dd": dq @ W2.T, "dW1": dW1, "dW2": d.T @ dq, "dv": dv}"""

_NLL_BODY = """    B, T, n = P.shape
    b, i = np.meshgrid(np.arange(B), np.arange(T), indexing="ij")   # (B, T) each
    p_target = P[b, i, targets]                                     # (B, T)
    loss = -np.mean(np.log(p_target))
    dP = np.zeros_like(P)                                           # (B, T, n)
    dP[b, i, targets] = -1.0 / (B * T * p_target)
    return float(loss), dP"""

_PTRNET_BACKWARD = """    loss, dP = pointer_nll(P, targets)

    grads = {k: np.zeros_like(params[k]) for k in ("W1", "W2", "v")}
    dE = np.zeros_like(E)                                            # (B, n, H)
    dD = np.empty_like(D)                                            # (B, n, H)
    for i in range(n):
        g = pointer_backward(dP[:, i], caches[i])
        dE += g["dE"]
        dD[:, i] = g["dd"]
        for k in ("W1", "W2", "v"):
            grads[k] += g["d" + k]
    g_dec = lstm_backward(dD, dec_cache)
    grads["W_dec"], grads["b_dec"] = g_dec["dW"], g_dec["db"]
    grads.update(encode_backward(dE, g_dec["dh0"], enc_cache))
    return loss, grads"""

_PTRNET_DECODER = """\
    D, dec_cache = lstm_forward(dec_in, h0, np.zeros((B, H)), params["W_dec"], params["b_dec"])
    rows = np.arange(B)
    mask = np.ones((B, n), dtype=bool)
    P = np.empty((B, n, n))                                          # (B, steps, positions)
    caches = []
    for i in range(n):
        P[:, i], cache = pointer_forward(E, D[:, i], params["W1"], params["W2"], params["v"], mask)
        caches.append(cache)
        mask = mask.copy()
        mask[rows, targets[:, i]] = False                            # chosen: not available
"""

# A whole-model loss whose gradient is centred differences of its own forward (the template's
# loop, tests/mutants.py), one parameter at a time.
_PTRNET_NUMERICAL = f"""    loss, _ = pointer_nll(P, targets)

    def forward_loss(q):
        E, h0, _ = encode(q, x)
        D, _ = lstm_forward(dec_in, h0, np.zeros((B, H)), q["W_dec"], q["b_dec"])
        mask = np.ones((B, n), dtype=bool)
        P = np.empty((B, n, n))
        for i in range(n):
            P[:, i], _ = pointer_forward(E, D[:, i], q["W1"], q["W2"], q["v"], mask)
            mask = mask.copy()
            mask[rows, targets[:, i]] = False
        return pointer_nll(P, targets)[0]

    args = {{k: v.copy() for k, v in params.items()}}
    grads = {{}}
    for name, arr in args.items():
{fd_loop("arr", "g", "forward_loss(args)", indent=8)}
        grads[name] = g
    return loss, grads"""

_NLL_NUMERICAL = f"""    B, T, n = P.shape
    b, i = np.meshgrid(np.arange(B), np.arange(T), indexing="ij")   # (B, T) each
    loss = -np.mean(np.log(P[b, i, targets]))
    work = P.copy()
{fd_loop("work", "dP", "-np.mean(np.log(work[b, i, targets]))")}
    return float(loss), dP"""

_GREEDY_LOOP = """    for i in range(n):
        h, c, _ = lstm_step_forward(inp, h, c, params["W_dec"], params["b_dec"])
        P[:, i], _ = pointer_forward(E, h, params["W1"], params["W2"], params["v"], mask)
        perm[:, i] = np.argmax(P[:, i], axis=1)                     # first maximum on a tie
        mask = mask.copy()
        mask[rows, perm[:, i]] = False
        inp = x[rows, perm[:, i]][:, None]                          # (B, 1) the chosen value
    return perm, P"""

_POINTER_FORWARD_CASES = [
    f"pointer_forward_matches_reference[{c}]" for c in ("B3_n6_H4_A5", "one_position_left")
]
_POINTER_GRADCHECKS = [f"pointer_backward_gradcheck[{g}]" for g in ("dE", "dd", "dW1", "dW2")]
_LSTM_PARAMS = ["W_enc", "b_enc", "W_dec", "b_dec", "W1", "W2", "v"]
_ELEMENT_PARAMS = ["W_el", "b_el", "W_dec", "b_dec", "W1", "W2", "v"]
_ALL_LOSS_GRADCHECKS = [f"ptrnet_loss_gradcheck[lstm-{k}]" for k in _LSTM_PARAMS] + [
    f"ptrnet_loss_gradcheck[element-{k}]" for k in _ELEMENT_PARAMS
]
# A wrong pointer or pointer_nll also breaks the training and the timing of ptrnet_loss, which
# uses them (its messages say to fix the used cell first).
_LOSS_CASCADE = ["ptrnet_loss_trains_like_reference", "ptrnet_loss_fast"]
_LOSS_GRADCHECKS_THROUGH_A = [
    f"ptrnet_loss_gradcheck[{enc}-{k}]"
    for enc, params in (("lstm", _LSTM_PARAMS), ("element", _ELEMENT_PARAMS))
    for k in params
    if k != "v"
]
_GREEDY_TESTS = [
    "greedy_decode_matches_reference",
    "greedy_decode_outputs_permutations",
    "greedy_decode_hand_wired_sorter_sorts_any_length",
    "greedy_decode_ties_go_to_the_lowest_position",
]

MUTANTS = [
    # ---------------------------------------------------------------- pointer
    numerical_backward_mutant(
        "pointer_numerical_backward",
        "pointer_code",
        _POINTER_BWD_BODY,
        '    args = {"E": E.copy(), "d": d.copy(), "W1": W1.copy(), "W2": W2.copy(), '
        '"v": v.copy()}',
        "np.sum(pointer_forward(**args, mask=p > 0)[0] * dp)",
        catches=("pointer_backward_fast", *_LOSS_CASCADE),
    ),
    mutant(
        "softmax_normalised_over_masked_positions_too",
        "pointer_code",
        "p = ex / ex.sum(axis=1, keepdims=True)",
        "p = ex / np.exp(u - u.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True)",
        *_POINTER_FORWARD_CASES,
        "pointer_forward_is_a_distribution_over_available_positions",
        # its backward differentiates the forward it should have written, not this one
        *_POINTER_GRADCHECKS,
        "pointer_backward_gradcheck[dv]",
        "pointer_backward_row_constant_upstream_gives_zero",
        "pointer_backward_fast",
        "ptrnet_loss_value_matches_reference",
        "ptrnet_loss_uniform_pointers_give_log_n_factorial",
        *_ALL_LOSS_GRADCHECKS,
        *_LOSS_CASCADE,
        "greedy_decode_matches_reference",
    ),
    mutant(
        "mask_ignored_in_the_forward",
        "pointer_code",
        "ex = np.where(mask, np.exp(np.where(mask, u - m, 0.0)), 0.0)",
        "ex = np.exp(u - u.max(axis=1, keepdims=True))",
        *_POINTER_FORWARD_CASES,
        "pointer_forward_is_a_distribution_over_available_positions",
        "pointer_forward_stable_at_large_scores",
        "pointer_backward_masked_positions_get_exactly_zero",
        "ptrnet_loss_value_matches_reference",
        "ptrnet_loss_uniform_pointers_give_log_n_factorial",
        *_LOSS_CASCADE,
        *_GREEDY_TESTS,
    ),
    mutant(
        "shift_by_the_largest_score_masked_or_not",
        "pointer_code",
        "m = np.max(np.where(mask, u, -np.inf), axis=1, keepdims=True)",
        "m = np.max(u, axis=1, keepdims=True)",
        # Right in exact arithmetic; 0/0 when a masked score is far above every available one.
        "pointer_forward_stable_at_large_scores",
    ),
    mutant(
        "tanh_derivative_not_squared",
        "pointer_code",
        "da = du[:, :, None] * v * (1.0 - t * t)",
        "da = du[:, :, None] * v * (1.0 - t)",
        *_POINTER_GRADCHECKS,
        "pointer_backward_fast",
        *_LOSS_GRADCHECKS_THROUGH_A,
        *_LOSS_CASCADE,
    ),
    mutant(
        "decoder_term_averaged_over_positions",
        "pointer_code",
        "dq = da.sum(axis=1)",
        "dq = da.mean(axis=1)",
        "pointer_backward_gradcheck[dd]",
        "pointer_backward_gradcheck[dW2]",
        "pointer_backward_fast",
        # the decoder state reaches the loss through dd, the encoder's last state (LSTM) too
        "ptrnet_loss_gradcheck[lstm-W_enc]",
        "ptrnet_loss_gradcheck[lstm-b_enc]",
        "ptrnet_loss_gradcheck[lstm-W_dec]",
        "ptrnet_loss_gradcheck[lstm-b_dec]",
        "ptrnet_loss_gradcheck[lstm-W2]",
        "ptrnet_loss_gradcheck[element-W_dec]",
        "ptrnet_loss_gradcheck[element-b_dec]",
        "ptrnet_loss_gradcheck[element-W2]",
        *_LOSS_CASCADE,
    ),
    mutant(
        "dv_averaged_over_the_batch",
        "pointer_code",
        'dv = np.einsum("bn,bna->a", du, t)',
        'dv = np.einsum("bn,bna->a", du, t) / t.shape[0]',
        "pointer_backward_gradcheck[dv]",
        "pointer_backward_fast",
        "ptrnet_loss_gradcheck[lstm-v]",
        "ptrnet_loss_gradcheck[element-v]",
        *_LOSS_CASCADE,
    ),
    mutant(
        "softmax_backward_without_the_normalisation_term",
        "pointer_code",
        "du = p * (dp - np.sum(p * dp, axis=1, keepdims=True))",
        "du = p * dp",
        *_POINTER_GRADCHECKS,
        "pointer_backward_gradcheck[dv]",
        "pointer_backward_row_constant_upstream_gives_zero",
        "pointer_backward_fast",
        *_ALL_LOSS_GRADCHECKS,
        *_LOSS_CASCADE,
    ),
    mutant(
        "scores_squeezed",
        "pointer_code",
        "u = t @ v ",
        "u = (t @ v).squeeze()",
        # (B, n) becomes (n,) or a scalar when B or n is 1
        "pointer_forward_matches_reference[n1]",
        "ptrnet_loss_value_matches_reference",
        "ptrnet_loss_fast",
        "greedy_decode_matches_reference",
    ),
    # ---------------------------------------------------------------- pointer_nll
    mutant(
        "nll_numerical_gradient",
        "pointer_nll_code",
        _NLL_BODY,
        _NLL_NUMERICAL,
        "pointer_nll_fast",
    ),
    mutant(
        "nll_gradient_averaged_over_the_batch_only",
        "pointer_nll_code",
        "dP[b, i, targets] = -1.0 / (B * T * p_target)",
        "dP[b, i, targets] = -1.0 / (B * p_target)",
        "pointer_nll_gradcheck",
        "pointer_nll_fast",
        *_ALL_LOSS_GRADCHECKS,
        *_LOSS_CASCADE,
    ),
    mutant(
        "nll_summed_over_steps",
        "pointer_nll_code",
        "loss = -np.mean(np.log(p_target))",
        "loss = -np.sum(np.log(p_target)) / B",
        "pointer_nll_value_matches_reference",
        "pointer_nll_gradcheck",
        "pointer_nll_zero_away_from_targets_and_log_k",
        "pointer_nll_fast",
        "ptrnet_loss_value_matches_reference",
        "ptrnet_loss_uniform_pointers_give_log_n_factorial",
        *_ALL_LOSS_GRADCHECKS,
        *_LOSS_CASCADE,
    ),
    # ---------------------------------------------------------------- ptrnet_loss
    mutant(
        "ptrnet_numerical_gradient",
        "ptrnet_loss_code",
        _PTRNET_BACKWARD,
        _PTRNET_NUMERICAL,
        *_LOSS_CASCADE,  # the training run is stopped on pace
    ),
    mutant(
        "teacher_forcing_feeds_the_current_answer",
        "ptrnet_loss_code",
        "np.take_along_axis(x, targets[:, :-1], axis=1)",
        "np.take_along_axis(x, targets[:, 1:], axis=1)",
        "ptrnet_loss_value_matches_reference",
        *_LOSS_CASCADE,
    ),
    mutant(
        "teacher_forcing_feeds_positions_not_values",
        "ptrnet_loss_code",
        "np.take_along_axis(x, targets[:, :-1], axis=1)",
        "targets[:, :-1]",
        "ptrnet_loss_value_matches_reference",
        "ptrnet_loss_element_encoder_ignores_input_order",
        *_LOSS_CASCADE,
    ),
    mutant(
        "chosen_positions_not_masked_in_training",
        "ptrnet_loss_code",
        "mask[rows, targets[:, i]] = False                            # chosen: not available",
        "pass",
        "ptrnet_loss_value_matches_reference",
        "ptrnet_loss_uniform_pointers_give_log_n_factorial",
        *_LOSS_CASCADE,
    ),
    mutant(
        "decoder_start_not_sent_back_to_the_encoder",
        "ptrnet_loss_code",
        'encode_backward(dE, g_dec["dh0"], enc_cache)',
        "encode_backward(dE, np.zeros_like(h0), enc_cache)",
        "ptrnet_loss_gradcheck[lstm-W_enc]",
        "ptrnet_loss_gradcheck[lstm-b_enc]",
        *_LOSS_CASCADE,
    ),
    mutant(
        "encoder_gradient_overwritten_each_step",
        "ptrnet_loss_code",
        'dE += g["dE"]',
        'dE = g["dE"]',
        "ptrnet_loss_gradcheck[lstm-W_enc]",
        "ptrnet_loss_gradcheck[lstm-b_enc]",
        "ptrnet_loss_gradcheck[element-W_el]",
        "ptrnet_loss_gradcheck[element-b_el]",
        *_LOSS_CASCADE,
    ),
    # ---------------------------------------------------------------- greedy_decode
    mutant(
        "greedy_chosen_positions_not_masked",
        "greedy_decode_code",
        "        mask[rows, perm[:, i]] = False\n",
        "",
        *_GREEDY_TESTS,
    ),
    mutant(
        "greedy_feeds_the_position_not_the_value",
        "greedy_decode_code",
        "inp = x[rows, perm[:, i]][:, None]",
        "inp = perm[:, i:i + 1].astype(np.float64)",
        "greedy_decode_matches_reference",
    ),
    mutant(
        "greedy_ties_go_to_the_last_position",
        "greedy_decode_code",
        "perm[:, i] = np.argmax(P[:, i], axis=1)",
        "perm[:, i] = n - 1 - np.argmax(P[:, i, ::-1], axis=1)",
        "greedy_decode_ties_go_to_the_lowest_position",
    ),
]


VARIANTS = [
    variant(
        "pointer_backward_loops_over_the_batch",
        "pointer_code",
        _POINTER_BWD_BODY,
        """    E, d, W1, W2, v, t, p = cache
    grads = {"dE": np.zeros_like(E), "dd": np.zeros_like(d), "dW1": np.zeros_like(W1),
             "dW2": np.zeros_like(W2), "dv": np.zeros_like(v)}
    for b in range(E.shape[0]):
        du = p[b] * (dp[b] - p[b] @ dp[b])                  # (n,)
        grads["dv"] += t[b].T @ du
        da = np.outer(du, v) * (1.0 - t[b] ** 2)            # (n, A)
        grads["dW1"] += E[b].T @ da
        grads["dE"][b] = da @ W1.T
        q = da.sum(axis=0)                                  # (A,)
        grads["dd"][b] = W2 @ q
        grads["dW2"] += np.outer(d[b], q)
    return grads""",
    ),
    variant(
        "pointer_by_einsum_with_a_large_negative_mask_and_a_dict_cache",
        "pointer_code",
        _POINTER_FWD_BODY + _POINTER_BWD_DOC + _POINTER_BWD_BODY,
        """    a = np.einsum("bnh,ha->bna", E, W1) + np.einsum("bh,ha->ba", d, W2)[:, None, :]
    t = np.tanh(a)
    u = np.einsum("bna,a->bn", t, v)
    s = np.where(mask, u, -1e300)                  # a huge finite score instead of -inf
    ex = np.exp(s - s.max(axis=1, keepdims=True))  # underflows to exactly 0 where masked
    p = ex / ex.sum(axis=1, keepdims=True)
    return p, {"E": E, "d": d, "W1": W1, "W2": W2, "v": v, "t": t, "p": p}


def pointer_backward(dp, cache):
    E, d, W1, W2, v, t, p = (cache[k] for k in ("E", "d", "W1", "W2", "v", "t", "p"))
    du = p * dp - p * np.einsum("bn,bn->b", p, dp)[:, None]
    da = np.einsum("bn,a,bna->bna", du, v, 1.0 - t**2)
    dq = np.einsum("bna->ba", da)
    return {"dE": np.einsum("bna,ha->bnh", da, W1), "dd": np.einsum("ba,ha->bh", dq, W2),
            "dW1": np.einsum("bnh,bna->ha", E, da), "dW2": np.einsum("bh,ba->ha", d, dq),
            "dv": np.einsum("bn,bna->a", du, t)}""",
    ),
    variant(
        "pointer_forward_with_a_log_softmax",
        "pointer_code",
        """\
    m = np.max(np.where(mask, u, -np.inf), axis=1, keepdims=True)   # (B, 1) largest available
    ex = np.where(mask, np.exp(np.where(mask, u - m, 0.0)), 0.0)    # (B, n) 0 where masked
    p = ex / ex.sum(axis=1, keepdims=True)                          # (B, n)""",
        """    z = np.where(mask, u, 0.0)                    # masked scores replaced, not used
    m = np.max(np.where(mask, z, z.min(axis=1, keepdims=True)), axis=1, keepdims=True)
    log_norm = m + np.log(np.sum(np.where(mask, np.exp(z - m), 0.0), axis=1, keepdims=True))
    p = np.where(mask, np.exp(z - log_norm), 0.0)""",
    ),
    variant(
        "nll_with_take_along_axis",
        "pointer_nll_code",
        _NLL_BODY,
        """    B, T, _ = P.shape
    idx = targets[:, :, None]                                       # (B, T, 1)
    p_target = np.take_along_axis(P, idx, axis=2)                   # (B, T, 1)
    dP = np.zeros_like(P)
    np.put_along_axis(dP, idx, -1.0 / (p_target * B * T), axis=2)
    return -float(np.log(p_target).sum()) / (B * T), dP""",
    ),
    variant(
        "ptrnet_decoder_step_by_step",
        "ptrnet_loss_code",
        _PTRNET_DECODER + _PTRNET_BACKWARD,
        """    rows = np.arange(B)
    mask = np.ones((B, n), dtype=bool)
    h, c = h0, np.zeros((B, H))
    P, steps = np.empty((B, n, n)), []
    for i in range(n):
        h, c, step_cache = lstm_step_forward(dec_in[:, i], h, c, params["W_dec"], params["b_dec"])
        P[:, i], ptr_cache = pointer_forward(E, h, params["W1"], params["W2"], params["v"], mask)
        steps.append((step_cache, ptr_cache))
        mask = mask.copy()
        mask[rows, targets[:, i]] = False
    loss, dP = pointer_nll(P, targets)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dE = np.zeros_like(E)
    dh, dc = np.zeros((B, H)), np.zeros((B, H))
    for i in reversed(range(n)):
        step_cache, ptr_cache = steps[i]
        g = pointer_backward(dP[:, i], ptr_cache)
        dE += g["dE"]
        for k in ("W1", "W2", "v"):
            grads[k] += g["d" + k]
        s = lstm_step_backward(dh + g["dd"], dc, step_cache)
        dh, dc = s["dh_prev"], s["dc_prev"]
        grads["W_dec"] += s["dW"]
        grads["b_dec"] += s["db"]
    grads.update(encode_backward(dE, dh, enc_cache))
    return loss, grads""",
    ),
    variant(
        "greedy_one_problem_at_a_time",
        "greedy_decode_code",
        _GREEDY_LOOP,
        """    for b in range(B):
        hb, cb, xb = h[b : b + 1], c[b : b + 1], np.array([[GO]])
        left = np.ones((1, n), dtype=bool)
        for i in range(n):
            hb, cb, _ = lstm_step_forward(xb, hb, cb, params["W_dec"], params["b_dec"])
            pb, _ = pointer_forward(E[b : b + 1], hb, params["W1"], params["W2"], params["v"],
                                    left)
            P[b, i] = pb[0]
            j = int(np.flatnonzero(pb[0] == pb[0].max())[0])     # lowest position on a tie
            perm[b, i] = j
            left = left.copy()
            left[0, j] = False
            xb = x[b : b + 1, j : j + 1]
    return perm, P""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    # pointer_backward's dd and dW2; in ptrnet_loss also W_dec, b_dec and W2 (the LSTM encoder's
    # W_enc and b_enc add the unscaled dE path to it, so they are not a multiple there)
    "decoder_term_averaged_over_positions": ("factor", "dd, dW2: 1/n, n the number of positions"),
    "dv_averaged_over_the_batch": ("factor", "dv: 1/B, B the batch size"),
    "nll_gradient_averaged_over_the_batch_only": (
        "factor",
        "dP (and every ptrnet_loss gradient): T, T the number of decoding steps",
    ),
    "nll_summed_over_steps": (
        "factor",
        "dP (and every ptrnet_loss gradient): 1/T, T the number of decoding steps (the loss "
        "sums over the steps, dP averages)",
    ),
    # revised after the first measurement, from the code: W_el, b_el: 0 everywhere for the
    # element-wise encoder (the labeller's note)
    "encoder_gradient_overwritten_each_step": (("other", "zero"), "W_el, b_el: 0 everywhere"),
}
