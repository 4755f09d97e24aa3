"""Wrong implementations of 27_multi_token_prediction that the hidden tests must catch, and
correct variants in other styles that must keep full marks (test-of-tests).

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import fd_loop, mutant, numerical_backward, variant

# ------------------------------------------------------------------------ texts of the reference
_HEADS_FORWARD_BODY = """    a = np.transpose(z @ Wh, (1, 0, 2)) + bh     # (n, B, H) -> (B, n, H)
    g = np.tanh(a)                               # (B, n, H)
    logits = g @ U + c                           # (B, n, V)
    return logits, (z, Wh, U, g)"""

_HEADS_BACKWARD_BODY = """    z, Wh, U, g = cache
    H, V = U.shape
    dc = dlogits.sum(axis=(0, 1))                                # (V,)
    dU = g.reshape(-1, H).T @ dlogits.reshape(-1, V)             # (H, V)
    da = (dlogits @ U.T) * (1.0 - g**2)                          # (B, n, H)
    da_k = np.transpose(da, (1, 0, 2))                           # (n, B, H)
    dWh = z.T @ da_k                                             # (n, H, H)
    dbh = da.sum(axis=0)                                         # (n, H)
    dz = (da_k @ np.transpose(Wh, (0, 2, 1))).sum(axis=0)        # (B, H)
    return {"dz": dz, "dWh": dWh, "dbh": dbh, "dU": dU, "dc": dc}"""

_HEADS_BACKWARD_HEADER = '''

def heads_backward(dlogits, cache):
    """Gradients of heads_forward.

    Inputs:
      dlogits: (B, n, V) upstream gradient dL/dlogits.
      cache:   from heads_forward.
    Returns:
      dict with 'dz' (B, H), 'dWh' (n, H, H), 'dbh' (n, H), 'dU' (H, V), 'dc' (V,).
    """
'''

_MTP_LOSS_BODY = """    ctx, targets = batch
    n = targets.shape[1]
    z, cache_t = trunk_forward(ctx, params["E"], params["W"], params["b"])      # (B, H)
    logits, cache_h = heads_forward(z, params["Wh"], params["bh"], params["U"], params["c"])
    mean_ce, dlogits = softmax_cross_entropy(logits, targets)   # mean over (B, n); (B, n, V)
    g_h = heads_backward(n * dlogits, cache_h)
    g_t = trunk_backward(g_h["dz"], cache_t)
    grads = {"E": g_t["dE"], "W": g_t["dW"], "b": g_t["db"], "Wh": g_h["dWh"],
             "bh": g_h["dbh"], "U": g_h["dU"], "c": g_h["dc"]}
    return n * mean_ce, grads"""

_SEQ_LOOP = """    loss = 0.0
    for k in range(n):
        logits_k, cache_k = heads_forward(z, params["Wh"][k:k + 1], params["bh"][k:k + 1],
                                          params["U"], params["c"])           # (B, 1, V)
        loss_k, dlogits_k = softmax_cross_entropy(logits_k, targets[:, k:k + 1])
        g = heads_backward(dlogits_k, cache_k)
        loss += loss_k
        dz += g["dz"]
        dWh[k], dbh[k] = g["dWh"][0], g["dbh"][0]
        dU += g["dU"]
        dc += g["dc"]
    g_t = trunk_backward(dz, cache_t)"""

_SPEC_LOOP = """    calls, accepted = 1, []
    while len(seq) - start < steps:
        ext = seq + draft                                          # text + the draft
        windows = np.array([ext[len(seq) + j - CONTEXT:len(seq) + j] for j in range(1, n + 1)])
        pred = predict_heads(params, windows)[:, :n]               # (n, n)
        calls += 1
        a = 1
        while a < n and draft[a] == pred[a - 1, 0]:
            a += 1
        accepted.append(a)
        seq += draft[:a]
        draft = [int(t) for t in pred[a - 1]]
    return np.array(seq[start:start + steps], dtype=np.int64), calls, accepted"""

# ------------------------------------------------------------------------------ numerical backwards
# heads_backward by centred differences of heads_forward. The cache keeps z, Wh, U and the tanh
# outputs g; bh is recovered from g (arctanh) and c cancels out of centred differences (the
# logits are linear in it), so the result is accurate to ~1e-10 and passes the gradient checks.
_HEADS_NUMERICAL_BACKWARD = numerical_backward(
    """    z, Wh, U, g = cache
    bh = (np.arctanh(g) - np.transpose(z @ Wh, (1, 0, 2))).mean(axis=0)
    args = {"z": z.copy(), "Wh": Wh.copy(), "bh": bh, "U": U.copy(),
            "c": np.zeros(U.shape[1])}""",
    "np.sum(heads_forward(**args)[0] * dlogits)",
)


def _loss_by_differences() -> str:
    """A loss body that computes the multi-token loss by a forward pass only and its gradients
    by centred differences of that forward (tests/mutants.py's loop)."""
    loop = fd_loop("arr", "g", "objective()", indent=8)
    return f"""    ctx, targets = batch
    n = targets.shape[1]
    p = {{k: np.array(v, dtype=np.float64) for k, v in params.items()}}

    def objective():
        z, _ = trunk_forward(ctx, p["E"], p["W"], p["b"])
        logits, _ = heads_forward(z, p["Wh"], p["bh"], p["U"], p["c"])
        return n * softmax_cross_entropy(logits, targets)[0]

    grads = {{}}
    for name, arr in p.items():
{loop}
        grads[name] = g
    return objective(), grads"""


_HEADS_CASES = ("B4_n3_H5_V6", "one_head", "batch1", "B7_n4_H16_V12")

MUTANTS = [
    # ---------------------------------------------------------------- heads
    mutant(
        "numerical_heads_backward",
        "heads_code",
        _HEADS_BACKWARD_BODY,
        _HEADS_NUMERICAL_BACKWARD,
        "heads_backward_fast_at_realistic_size",
        "mtp_loss_fast_at_realistic_size",
        "mtp_loss_sequential_fast_at_realistic_size",
        # Differences are accurate to ~1e-10, not to the 1e-12 of an exact reordering.
        "mtp_loss_sequential_equals_all_at_once",
    ),
    mutant(
        "unembedding_gradient_from_the_last_head_only",
        "heads_code",
        "dU = g.reshape(-1, H).T @ dlogits.reshape(-1, V)",
        "dU = g[:, -1].T @ dlogits[:, -1]",
        # One head at a time (the sequential loss) this is right, so only the all-at-once paths
        # see it.
        "heads_backward_gradcheck[dU]",
        "mtp_loss_gradcheck[heads]",
        "mtp_loss_trains_like_reference",
        "mtp_loss_is_the_sum_of_one_head_losses",
        "heads_backward_fast_at_realistic_size",
        "mtp_loss_fast_at_realistic_size",
    ),
    mutant(
        "trunk_gradient_from_head_0_only",
        "heads_code",
        "dz = (da_k @ np.transpose(Wh, (0, 2, 1))).sum(axis=0)",
        "dz = da_k[0] @ Wh[0].T",
        "heads_backward_gradcheck[dz]",
        "mtp_loss_gradcheck[trunk]",
        "mtp_loss_trains_like_reference",
        "mtp_loss_is_the_sum_of_one_head_losses",
        "heads_backward_fast_at_realistic_size",
        "mtp_loss_fast_at_realistic_size",
    ),
    mutant(
        "tanh_derivative_not_squared",
        "heads_code",
        "da = (dlogits @ U.T) * (1.0 - g**2)",
        "da = (dlogits @ U.T) * (1.0 - g)",
        "heads_backward_gradcheck[dz]",
        "heads_backward_gradcheck[dWh]",
        "heads_backward_gradcheck[dbh]",
        "mtp_loss_gradcheck[trunk]",
        "mtp_loss_gradcheck[heads]",
        "mtp_loss_trains_like_reference",
        "mtp_loss_sequential_equals_all_at_once",
        "mtp_loss_sequential_gradcheck",
        "heads_backward_fast_at_realistic_size",
        "mtp_loss_fast_at_realistic_size",
        "mtp_loss_sequential_fast_at_realistic_size",
    ),
    mutant(
        "transposed_head_weight_gradient",
        "heads_code",
        "dWh = z.T @ da_k ",
        "dWh = np.transpose(z.T @ da_k, (0, 2, 1)) ",
        "heads_backward_gradcheck[dWh]",
        "mtp_loss_gradcheck[heads]",
        "mtp_loss_trains_like_reference",
        "mtp_loss_sequential_equals_all_at_once",
        "mtp_loss_sequential_gradcheck",
        "heads_backward_fast_at_realistic_size",
        "mtp_loss_fast_at_realistic_size",
        "mtp_loss_sequential_fast_at_realistic_size",
    ),
    mutant(
        "head_bias_gradient_averaged_over_the_batch",
        "heads_code",
        "dbh = da.sum(axis=0) ",
        "dbh = da.mean(axis=0)",
        # Adam rescales each coordinate by its own gradient's size, so a gradient off by a
        # constant factor trains the same: only the gradient checks see it.
        "heads_backward_gradcheck[dbh]",
        "mtp_loss_gradcheck[heads]",
        "mtp_loss_sequential_equals_all_at_once",
        "mtp_loss_sequential_gradcheck",
        "heads_backward_fast_at_realistic_size",
        "mtp_loss_fast_at_realistic_size",
        "mtp_loss_sequential_fast_at_realistic_size",
    ),
    mutant(
        "forgets_the_shared_output_bias",
        "heads_code",
        "logits = g @ U + c ",
        "logits = g @ U     ",
        *[f"heads_forward_matches_reference[{case}]" for case in _HEADS_CASES],
        "heads_backward_gradcheck[dc]",
        "mtp_loss_value_matches_reference",
        "mtp_loss_gradcheck[heads]",
        "mtp_loss_trains_like_reference",
        "mtp_loss_sequential_equals_all_at_once",
        "mtp_loss_sequential_gradcheck",
        "predict_heads_matches_reference",
        "greedy_decode_matches_reference",
        "speculative_decode_equals_greedy",
        "speculative_decode_calls_and_acceptance_match_the_algorithm",
        "heads_backward_fast_at_realistic_size",
        "mtp_loss_fast_at_realistic_size",
        "mtp_loss_sequential_fast_at_realistic_size",
    ),
    mutant(
        "every_head_uses_head_0s_layer",
        "heads_code",
        "a = np.transpose(z @ Wh, (1, 0, 2)) + bh",
        "a = np.transpose(z @ Wh[:1], (1, 0, 2)) + bh",
        # With one head (the one_head case, and the sequential loss's one-head calls) this is
        # right; with several, every head reads z through head 0's layer.
        "heads_forward_matches_reference[B4_n3_H5_V6]",
        "heads_forward_matches_reference[batch1]",
        "heads_forward_matches_reference[B7_n4_H16_V12]",
        "heads_backward_gradcheck[dz]",
        "heads_backward_gradcheck[dWh]",
        "heads_are_independent",
        "mtp_loss_value_matches_reference",
        "mtp_loss_gradcheck[trunk]",
        "mtp_loss_gradcheck[heads]",
        "mtp_loss_trains_like_reference",
        "mtp_loss_is_the_sum_of_one_head_losses",
        "predict_heads_matches_reference",
        "speculative_decode_calls_and_acceptance_match_the_algorithm",
        "speculative_decode_perfect_drafts",
        "speculative_decode_stops_at_a_wrong_head",
        "heads_backward_fast_at_realistic_size",
        "mtp_loss_fast_at_realistic_size",
    ),
    # ---------------------------------------------------------------- mtp_loss
    mutant(
        "gradient_misses_the_factor_n",
        "mtp_loss_code",
        """    g_h = heads_backward(n * dlogits, cache_h)""",
        """    g_h = heads_backward(dlogits, cache_h)""",
        # ... and the loss below stays n * mean_ce: the gradient of a different loss.
        "mtp_loss_gradcheck[trunk]",
        "mtp_loss_gradcheck[heads]",
        "mtp_loss_is_the_sum_of_one_head_losses",
        "mtp_loss_fast_at_realistic_size",
    ),
    mutant(
        "loss_is_the_mean_over_heads",
        "mtp_loss_code",
        "    return n * mean_ce, grads",
        "    return mean_ce, {k: v / n for k, v in grads.items()}",
        # A consistent pair (loss, grads): the gradient check passes; the value does not.
        "mtp_loss_value_matches_reference",
        "mtp_loss_trains_like_reference",
        "mtp_loss_is_the_sum_of_one_head_losses",
        "mtp_loss_fast_at_realistic_size",
    ),
    mutant(
        "targets_shifted_by_one_head",
        "mtp_loss_code",
        "softmax_cross_entropy(logits, targets)",
        "softmax_cross_entropy(logits, np.roll(targets, 1, axis=1))",
        "mtp_loss_value_matches_reference",
        "mtp_loss_trains_like_reference",
        "mtp_loss_is_the_sum_of_one_head_losses",
        "mtp_loss_fast_at_realistic_size",
    ),
    mutant(
        "numerical_mtp_loss",
        "mtp_loss_code",
        _MTP_LOSS_BODY,
        _loss_by_differences(),
        # Its gradients are accurate to ~1e-10, so only time gives it away; on a heavily loaded
        # machine its 60-step training run may also be stopped for time (not named: it depends
        # on the load).
        "mtp_loss_fast_at_realistic_size",
    ),
    # ---------------------------------------------------------------- mtp_loss_sequential
    mutant(
        "sequential_overwrites_the_trunk_gradient",
        "mtp_loss_sequential_code",
        '        dz += g["dz"]',
        '        dz = g["dz"]',
        "mtp_loss_sequential_equals_all_at_once",
        "mtp_loss_sequential_gradcheck",
        "mtp_loss_sequential_fast_at_realistic_size",
    ),
    mutant(
        "sequential_overwrites_the_unembedding_gradient",
        "mtp_loss_sequential_code",
        '        dU += g["dU"]',
        '        dU = g["dU"]',
        "mtp_loss_sequential_equals_all_at_once",
        "mtp_loss_sequential_gradcheck",
        "mtp_loss_sequential_fast_at_realistic_size",
    ),
    mutant(
        "sequential_trunk_backward_per_head_keeps_the_last",
        "mtp_loss_sequential_code",
        _SEQ_LOOP,
        _SEQ_LOOP.replace("    g_t = trunk_backward(dz, cache_t)", "").replace(
            '        dz += g["dz"]', '        g_t = trunk_backward(g["dz"], cache_t)'
        ),
        "mtp_loss_sequential_equals_all_at_once",
        "mtp_loss_sequential_gradcheck",
        "mtp_loss_sequential_fast_at_realistic_size",
    ),
    mutant(
        "numerical_sequential_loss",
        "mtp_loss_sequential_code",
        """    ctx, targets = batch
    n = targets.shape[1]
    z, cache_t = trunk_forward(ctx, params["E"], params["W"], params["b"])      # (B, H)
    dz = np.zeros_like(z) """,
        _loss_by_differences()
        + """
    ctx, targets = batch
    n = targets.shape[1]
    z, cache_t = trunk_forward(ctx, params["E"], params["W"], params["b"])      # (B, H)
    dz = np.zeros_like(z) """,
        # Differences are accurate to ~1e-10, not to the 1e-12 of an exact reordering.
        "mtp_loss_sequential_equals_all_at_once",
        "mtp_loss_sequential_fast_at_realistic_size",
    ),
    # ---------------------------------------------------------------- greedy_decode
    mutant(
        "greedy_window_misses_the_last_token",
        "greedy_decode_code",
        "window = np.array(seq[-CONTEXT:])[None, :]",
        "window = np.array(seq[-CONTEXT - 1:-1])[None, :]",
        "greedy_decode_matches_reference",
        "greedy_decode_continues_clean_progressions",
    ),
    mutant(
        "predict_heads_argmax_of_the_wrong_axis",
        "greedy_decode_code",
        "return np.argmax(logits, axis=-1) ",
        "return np.argmax(logits, axis=1)  ",
        "predict_heads_matches_reference",
        "greedy_decode_matches_reference",
        "greedy_decode_continues_clean_progressions",
        "speculative_decode_equals_greedy",
        "speculative_decode_calls_and_acceptance_match_the_algorithm",
        "speculative_decode_perfect_drafts",
        "speculative_decode_stops_at_a_wrong_head",
    ),
    # ---------------------------------------------------------------- speculative_decode
    mutant(
        "accepts_every_draft_unverified",
        "speculative_decode_code",
        "while a < n and draft[a] == pred[a - 1, 0]:",
        "while a < n:",
        "speculative_decode_equals_greedy",
        "speculative_decode_calls_and_acceptance_match_the_algorithm",
        "speculative_decode_stops_at_a_wrong_head",
    ),
    mutant(
        "verifies_against_the_wrong_row",
        "speculative_decode_code",
        "draft[a] == pred[a - 1, 0]",
        "draft[a] == pred[a, 0]",
        "speculative_decode_equals_greedy",
        "speculative_decode_calls_and_acceptance_match_the_algorithm",
        "speculative_decode_perfect_drafts",
        "speculative_decode_stops_at_a_wrong_head",
    ),
    mutant(
        "next_draft_from_the_last_row",
        "speculative_decode_code",
        "draft = [int(t) for t in pred[a - 1]]",
        "draft = [int(t) for t in pred[-1]]",
        "speculative_decode_equals_greedy",
        "speculative_decode_calls_and_acceptance_match_the_algorithm",
        "speculative_decode_stops_at_a_wrong_head",
    ),
    mutant(
        "drafts_with_an_extra_call",
        "speculative_decode_code",
        "draft = [int(t) for t in pred[a - 1]]",
        """window = np.array(seq[-CONTEXT:])[None, :]
        draft = [int(t) for t in predict_heads(params, window)[0, :n]]
        calls += 1""",
        # The right tokens, at the cost of one more call per iteration.
        "speculative_decode_calls_and_acceptance_match_the_algorithm",
        "speculative_decode_perfect_drafts",
        "speculative_decode_stops_at_a_wrong_head",
    ),
]


# ------------------------------------------------------------------------------ correct variants
VARIANTS = [
    variant(
        "heads_with_einsum_and_a_dict_cache",
        "heads_code",
        _HEADS_FORWARD_BODY + "\n" + _HEADS_BACKWARD_HEADER + _HEADS_BACKWARD_BODY,
        """    pre = np.einsum("bi,kij->bkj", z, Wh) + bh[None, :, :]
    hid = np.tanh(pre)
    out = np.einsum("bkj,jv->bkv", hid, U) + c
    return out, {"z": z, "Wh": Wh, "U": U, "hid": hid}
"""
        + _HEADS_BACKWARD_HEADER
        + """    z, Wh, U, hid = cache["z"], cache["Wh"], cache["U"], cache["hid"]
    dpre = np.einsum("bkv,jv->bkj", dlogits, U) * (1.0 - hid * hid)
    return {
        "dz": np.einsum("bkj,kij->bi", dpre, Wh),
        "dWh": np.einsum("bi,bkj->kij", z, dpre),
        "dbh": np.einsum("bkj->kj", dpre),
        "dU": np.einsum("bkj,bkv->jv", hid, dlogits),
        "dc": np.einsum("bkv->v", dlogits),
    }""",
    ),
    variant(
        "heads_loop_over_heads_with_given_layers",
        "heads_code",
        _HEADS_FORWARD_BODY + "\n" + _HEADS_BACKWARD_HEADER + _HEADS_BACKWARD_BODY,
        """    outs, caches = [], []
    for k in range(Wh.shape[0]):
        a_k, cache_a = affine_forward(z, Wh[k], bh[k])
        g_k, cache_g = tanh_forward(a_k)
        l_k, cache_l = affine_forward(g_k, U, c)
        outs.append(l_k)
        caches.append((cache_a, cache_g, cache_l))
    return np.stack(outs, axis=1), caches
"""
        + _HEADS_BACKWARD_HEADER
        + """    dz, dWh, dbh, dU, dc = 0.0, [], [], 0.0, 0.0
    for k, (cache_a, cache_g, cache_l) in enumerate(cache):
        g_l = affine_backward(dlogits[:, k], cache_l)
        g_a = affine_backward(tanh_backward(g_l["dx"], cache_g)["dx"], cache_a)
        dz = dz + g_a["dx"]
        dWh.append(g_a["dW"])
        dbh.append(g_a["db"])
        dU = dU + g_l["dW"]
        dc = dc + g_l["db"]
    return {"dz": dz, "dWh": np.stack(dWh), "dbh": np.stack(dbh), "dU": dU, "dc": dc}""",
    ),
    variant(
        "mtp_loss_by_hand_per_head",
        "mtp_loss_code",
        _MTP_LOSS_BODY,
        """    ctx, y = batch
    B, n = y.shape
    z, cache_t = trunk_forward(ctx, params["E"], params["W"], params["b"])
    logits, cache_h = heads_forward(z, params["Wh"], params["bh"], params["U"], params["c"])
    shifted = logits - logits.max(axis=2, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))     # (B, n, V)
    rows, heads = np.meshgrid(np.arange(B), np.arange(n), indexing="ij")
    loss = -logp[rows, heads, y].sum() / B
    dlogits = np.exp(logp)
    dlogits[rows, heads, y] -= 1.0
    dlogits /= B
    gh = heads_backward(dlogits, cache_h)
    gt = trunk_backward(gh["dz"], cache_t)
    out = {k: gh["d" + k] for k in ("Wh", "bh", "U", "c")}
    out.update({k: gt["d" + k] for k in ("E", "W", "b")})
    return float(loss), out""",
    ),
    variant(
        "sequential_with_its_own_cross_entropy_and_lists",
        "mtp_loss_sequential_code",
        _SEQ_LOOP,
        """    loss = 0.0
    dWh_list, dbh_list = [], []
    B = ctx.shape[0]
    for k in range(n):
        logits_k, cache_k = heads_forward(z, params["Wh"][[k]], params["bh"][[k]],
                                          params["U"], params["c"])
        s = logits_k[:, 0] - logits_k[:, 0].max(axis=1, keepdims=True)
        p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
        loss += -np.mean(np.log(p[np.arange(B), targets[:, k]]))
        p[np.arange(B), targets[:, k]] -= 1.0
        g = heads_backward((p / B)[:, None, :], cache_k)
        dz = dz + g["dz"]
        dWh_list.append(g["dWh"][0])
        dbh_list.append(g["dbh"][0])
        dU = dU + g["dU"]
        dc = dc + g["dc"]
        del logits_k, cache_k, p, s
    dWh, dbh = np.stack(dWh_list), np.stack(dbh_list)
    g_t = trunk_backward(dz, cache_t)""",
    ),
    variant(
        "decoders_on_numpy_arrays",
        "greedy_decode_code",
        """    seq = [int(t) for t in prompt]
    for _ in range(steps):
        window = np.array(seq[-CONTEXT:])[None, :]        # (1, K)
        seq.append(int(predict_heads(params, window)[0, 0]))
    return np.array(seq[len(prompt):], dtype=np.int64), steps""",
        """    text = np.zeros(len(prompt) + steps, dtype=np.int64)
    text[:len(prompt)] = prompt
    P = len(prompt)
    calls = 0
    for t in range(P, P + steps):
        text[t] = predict_heads(params, text[t - CONTEXT:t].reshape(1, -1))[0][0]
        calls += 1
    return text[P:], calls""",
    ),
    variant(
        "speculative_with_index_arithmetic",
        "speculative_decode_code",
        _SPEC_LOOP,
        """    text = list(seq)
    calls, accepted = 1, []
    done = 0
    while done < steps:
        cand = text + list(draft)
        L = len(text)
        rows = np.stack([np.array(cand[L + j - CONTEXT:L + j]) for j in range(1, n + 1)])
        verdict = predict_heads(params, rows)
        calls += 1
        ok = 1
        for j in range(1, n):
            if draft[j] != verdict[j - 1][0]:
                break
            ok += 1
        accepted.append(ok)
        text.extend(draft[:ok])
        done += ok
        draft = list(verdict[ok - 1][:n])
    return np.array(text[start:start + steps]), calls, accepted""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    "transposed_head_weight_gradient": (
        "transpose",
        "dWh (and mtp_loss's Wh): each head's (H, H) matrix transposed (the last two axes)",
    ),
    "head_bias_gradient_averaged_over_the_batch": ("factor", "dbh: 1/B, B the batch size"),
    "gradient_misses_the_factor_n": ("factor", "every parameter: 1/n, n the number of heads"),
}
