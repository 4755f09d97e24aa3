"""Wrong implementations of 21_deep_speech_ctc that the hidden tests must catch (test-of-tests),
and correct variants in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward_mutant, variant

# ---------------------------------------------------------------- the reference's texts
_LSE_BODY = """    a = np.asarray(a, dtype=np.float64)
    m = np.max(a, axis=axis, keepdims=True)
    m[~np.isfinite(m)] = 0.0                                    # an all -inf slice: shift by 0
    total = np.sum(np.exp(a - m), axis=axis)                    # 0 where every term is -inf
    with np.errstate(divide="ignore"):                          # log(0) = -inf, on purpose
        return np.log(total) + np.squeeze(m, axis=axis)"""

_ALPHA_LOOP = """    log_alpha = np.full((T, S), -np.inf)
    log_alpha[0, :2] = logp[0, ext[:2]]                         # a blank or the first label
    terms = np.full((3, S), -np.inf)                            # stay, step, skip
    for t in range(1, T):
        prev = log_alpha[t - 1]                                 # (S,)
        terms[0] = prev                                         # from s
        terms[1, 1:] = prev[:-1]                                # from s - 1
        terms[2, 2:] = np.where(skip[2:], prev[:-2], -np.inf)   # from s - 2, where allowed
        log_alpha[t] = logsumexp(terms, axis=0) + logp[t, ext]
    return log_alpha"""

_BETA_BODY = """    ext = extend_labels(y)                                      # (S,)
    T, S = logp.shape[0], len(ext)
    skip = np.zeros(S, dtype=bool)                              # (S,) s + 2 reachable from s
    skip[:-2] = (ext[:-2] != BLANK) & (ext[:-2] != ext[2:])
    log_beta = np.full((T, S), -np.inf)
    log_beta[T - 1, -2:] = 0.0                                  # the last label or blank
    terms = np.full((3, S), -np.inf)                            # stay, step, skip
    for t in range(T - 2, -1, -1):
        nxt = log_beta[t + 1] + logp[t + 1, ext]                # (S,) state s at frame t + 1
        terms[0] = nxt                                          # to s
        terms[1, :-1] = nxt[1:]                                 # to s + 1
        terms[2, :-2] = np.where(skip[:-2], nxt[2:], -np.inf)   # to s + 2, where allowed
        log_beta[t] = logsumexp(terms, axis=0)
    return log_beta"""

_LOSS_FWD = """    logp = log_softmax(logits)                                  # (B, T, C)
    nll = np.zeros(len(labels))
    alphas = []
    for b, y in enumerate(labels):
        log_alpha = ctc_alpha(logp[b], y)                       # (T, S)
        nll[b] = -logsumexp(log_alpha[-1, -2:] if len(y) else log_alpha[-1, -1:])
        alphas.append(log_alpha)
    return nll, (logp, labels, alphas, nll)"""

_LOSS_BWD = """    logp, labels, alphas, nll = cache
    dlogits = np.zeros_like(logp)                               # (B, T, C)
    for b, y in enumerate(labels):
        if not np.isfinite(nll[b]):
            continue
        ext = extend_labels(y)                                  # (S,)
        log_beta = ctc_beta(logp[b], y)                         # (T, S)
        gamma = np.exp(alphas[b] + log_beta + nll[b])           # (T, S) state occupancy
        occ = np.zeros_like(logp[b])                            # (T, C)
        np.add.at(occ, (slice(None), ext), gamma)
        dlogits[b] = dnll[b] * (np.exp(logp[b]) - occ)
    return {"dlogits": dlogits}"""

_LOSS_BWD_DOC = """


def ctc_loss_backward(dnll, cache):
    \"""Gradient of ctc_loss_forward.

    Inputs:
        dnll: (B,) upstream gradient of the per-utterance losses.
        cache: from ctc_loss_forward.
    Returns:
        dict with 'dlogits' (B, T, C). An utterance whose loss is +inf (no alignment) gets a
        zero gradient.
    \"""
"""

_MODEL_BODY = """    x, labels = batch
    B, T, F = x.shape
    ctx = context_frames(x)                                     # (B, T, 3F)
    z, cache_1 = affine_forward(ctx.reshape(B * T, 3 * F), params["W1"], params["b1"])  # (BT, H)
    h, cache_h = tanh_forward(z)                                # (BT, H)
    logits, cache_2 = affine_forward(h, params["W2"], params["b2"])  # (BT, C)
    nll, cache_ctc = ctc_loss_forward(logits.reshape(B, T, -1), labels)  # (B,)
    dlogits = ctc_loss_backward(np.full(B, 1.0 / B), cache_ctc)["dlogits"]  # (B, T, C)
    g2 = affine_backward(dlogits.reshape(B * T, -1), cache_2)
    g1 = affine_backward(tanh_backward(g2["dx"], cache_h)["dx"], cache_1)
    grads = {"W1": g1["dW"], "b1": g1["db"], "W2": g2["dW"], "b2": g2["db"]}
    return float(np.mean(nll)), grads"""

_DECODE_BODY = """    best = np.argmax(logits, axis=2)                            # (B, T)
    out = []
    for path in best:
        keep = np.ones(len(path), dtype=bool)
        keep[1:] = path[1:] != path[:-1]                        # first frame of each run
        run = path[keep]
        out.append(run[run != BLANK].astype(np.int64))
    return out"""

_EDIT_BODY = """    d = np.arange(len(b) + 1)                       # row 0: insert b[:j]
    for i in range(1, len(a) + 1):
        prev, d = d, np.zeros(len(b) + 1, dtype=np.int64)
        d[0] = i
        for j in range(1, len(b) + 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
    return int(d[-1])"""

_ALPHA_ROW0 = (
    "    log_alpha[0, :2] = logp[0, ext[:2]]                         # a blank or the first label"
)

# ---------------------------------------------------------------- test names
_CASES = ("distinct", "repeats", "exact_fit", "empty")
_ALPHA_FWD = [f"ctc_alpha_matches_reference[{c}]" for c in _CASES]
_BETA_FWD = [f"ctc_beta_matches_reference[{c}]" for c in _CASES]
_LOSS_GRADS = [
    f"ctc_loss_backward_gradcheck[{p}]" for p in ("distinct_labels", "repeats_and_empty")
]
_MODEL_GRADS = [f"ctc_model_loss_gradcheck[{p}]" for p in ("W1", "b1", "W2", "b2")]

MUTANTS = [
    # ------------------------------------------------------------ ctc_alpha
    # The shifted log-sum-exp without the guard: an all -inf slice gives -inf - (-inf) = NaN,
    # and every impossible state of the lattice is such a slice.
    mutant(
        "logsumexp_not_inf_safe",
        "ctc_alpha_code",
        "    m[~np.isfinite(m)] = 0.0                      "
        "              # an all -inf slice: shift by 0\n",
        "",
        "logsumexp_matches_reference",
        *_ALPHA_FWD[:3],
        "ctc_alpha_total_is_the_sum_over_all_alignments",
        *_BETA_FWD[:3],
        "alpha_beta_give_p_at_every_frame",
        "ctc_loss_forward_matches_reference",
        "ctc_loss_is_minus_log_of_the_sum_over_all_alignments",
        "ctc_loss_impossible_transcript_contract",
        *_LOSS_GRADS,
        "ctc_loss_backward_fast",
        "ctc_model_loss_value_matches_reference",
        *_MODEL_GRADS,
        "ctc_model_loss_is_the_mean_over_utterances",
        "ctc_model_loss_flat_output_layer",
        "ctc_model_loss_trains_like_reference",
        "ctc_model_loss_trains_a_recogniser",
        "ctc_model_loss_fast",
    ),
    # The skip over a blank allowed between equal labels too: "a a" then merges into "a".
    mutant(
        "skip_between_equal_labels",
        "ctc_alpha_code",
        "    skip[2:] = (ext[2:] != BLANK) & (ext[2:] != ext[:-2])",
        "    skip[2:] = ext[2:] != BLANK",
        "ctc_alpha_matches_reference[repeats]",
        "ctc_alpha_matches_reference[exact_fit]",
        "ctc_alpha_total_is_the_sum_over_all_alignments",
        "alpha_beta_give_p_at_every_frame",
        "ctc_loss_forward_matches_reference",
        "ctc_loss_is_minus_log_of_the_sum_over_all_alignments",
        "ctc_loss_impossible_transcript_contract",
        _LOSS_GRADS[1],
        "ctc_loss_backward_fast",
        "ctc_model_loss_trains_like_reference",
    ),
    # Every walk starts in the first blank: an alignment may not begin with the first label.
    # beta is right, so the gradient is exact for this (wrong) forward: only values catch it.
    mutant(
        "alpha_starts_in_blank_only",
        "ctc_alpha_code",
        "    log_alpha[0, :2] = logp[0, ext[:2]]           "
        "              # a blank or the first label",
        "    log_alpha[0, 0] = logp[0, ext[0]]                           # the first blank",
        *_ALPHA_FWD[:3],
        "ctc_alpha_total_is_the_sum_over_all_alignments",
        "alpha_beta_give_p_at_every_frame",
        "ctc_loss_forward_matches_reference",
        "ctc_loss_is_minus_log_of_the_sum_over_all_alignments",
        "ctc_loss_impossible_transcript_contract",
        "ctc_loss_backward_fast",
        "ctc_model_loss_value_matches_reference",
        "ctc_model_loss_trains_like_reference",
        "ctc_model_loss_fast",
    ),
    # The first row written state by state: there is no state 1 when the transcript is empty.
    mutant(
        "alpha_first_row_assumes_a_label",
        "ctc_alpha_code",
        _ALPHA_ROW0,
        "    log_alpha[0, 0] = logp[0, BLANK]\n    log_alpha[0, 1] = logp[0, y[0]]",
        "ctc_alpha_matches_reference[empty]",
        "ctc_alpha_total_is_the_sum_over_all_alignments",
        "alpha_beta_give_p_at_every_frame",
        "ctc_loss_forward_matches_reference",
        "ctc_loss_is_minus_log_of_the_sum_over_all_alignments",
        "ctc_loss_impossible_transcript_contract",
        _LOSS_GRADS[1],
        "ctc_loss_backward_fast",
    ),
    # ------------------------------------------------------------ ctc_beta
    # Graves et al.'s convention half-adopted: beta_t includes the emission of frame t (except
    # at the last frame), against the notebook's contract.
    mutant(
        "beta_includes_emission_at_t",
        "ctc_beta_code",
        "        log_beta[t] = logsumexp(terms, axis=0)",
        "        log_beta[t] = logsumexp(terms, axis=0) + logp[t, ext]",
        *_BETA_FWD,
        "alpha_beta_give_p_at_every_frame",
        "ctc_loss_impossible_transcript_contract",
        *_LOSS_GRADS,
        "ctc_loss_backward_fast",
        *_MODEL_GRADS,
        "ctc_model_loss_trains_like_reference",
        "ctc_model_loss_trains_a_recogniser",
        "ctc_model_loss_fast",
    ),
    # The backward recursion forgets the skip over a blank.
    mutant(
        "beta_without_skip",
        "ctc_beta_code",
        "        terms[2, :-2] = np.where(skip[:-2], nxt[2:"
        "], -np.inf)   # to s + 2, where allowed\n",
        "",
        *_BETA_FWD[:3],
        "alpha_beta_give_p_at_every_frame",
        *_LOSS_GRADS,
        "ctc_loss_backward_fast",
        *_MODEL_GRADS,
        "ctc_model_loss_trains_like_reference",
        "ctc_model_loss_fast",
    ),
    # ------------------------------------------------------------ ctc_loss
    # A backward by centred differences through the forward (tests/mutants.py); the cached
    # log-probabilities are valid logits (log_softmax is idempotent). Accurate to ~1e-10 on
    # feasible transcripts, it passes the gradient checks; the time budgets catch it, and the
    # impossible transcript (inf - inf) gives NaN where the contract says zero. (The training
    # tests stop it too, after 5-6 s, but at a pace that depends on the machine's load: not
    # named.)
    numerical_backward_mutant(
        "ctc_numerical_backward",
        "ctc_loss_code",
        "    logp, labels, alphas, nll = cache\n",
        '    args = {"logits": logp.copy()}',
        'np.sum(ctc_loss_forward(args["logits"], labels)[0] * dnll)',
        catches=[
            "ctc_loss_impossible_transcript_contract",
            "ctc_loss_backward_fast",
            "ctc_model_loss_fast",
        ],
    ),
    # Fancy-index accumulation: a class at several states (the blank always, a repeated label)
    # keeps only one state's occupancy.
    mutant(
        "occupancy_without_add_at",
        "ctc_loss_code",
        "        np.add.at(occ, (slice(None), ext), gamma)",
        "        occ[:, ext] += gamma",
        "ctc_loss_impossible_transcript_contract",
        *_LOSS_GRADS,
        "ctc_loss_backward_fast",
        *_MODEL_GRADS,
        "ctc_model_loss_trains_like_reference",
        "ctc_model_loss_trains_a_recogniser",
        "ctc_model_loss_fast",
    ),
    # Only the path ending in the final blank counts.
    mutant(
        "loss_ends_in_final_blank_only",
        "ctc_loss_code",
        "        nll[b] = -logsumexp(log_alpha[-1, -2:] if len(y) else log_alpha[-1, -1:])",
        "        nll[b] = -log_alpha[-1, -1]",
        "ctc_loss_forward_matches_reference",
        "ctc_loss_is_minus_log_of_the_sum_over_all_alignments",
        "ctc_loss_impossible_transcript_contract",
        *_LOSS_GRADS,
        "ctc_loss_backward_fast",
        "ctc_model_loss_value_matches_reference",
        *_MODEL_GRADS,
        "ctc_model_loss_trains_like_reference",
        "ctc_model_loss_trains_a_recogniser",
        "ctc_model_loss_fast",
    ),
    # The two final states read by index: an empty transcript has one state only.
    mutant(
        "empty_transcript_not_handled",
        "ctc_loss_code",
        "        nll[b] = -logsumexp(log_alpha[-1, -2:] if len(y) else log_alpha[-1, -1:])",
        "        nll[b] = -np.logaddexp(log_alpha[-1, -1], log_alpha[-1, -2])",
        "ctc_loss_forward_matches_reference",
        "ctc_loss_is_minus_log_of_the_sum_over_all_alignments",
        "ctc_loss_impossible_transcript_contract",
        _LOSS_GRADS[1],
        "ctc_loss_backward_fast",  # it requires the forward's test
    ),
    # No guard for an impossible transcript: exp(-inf + -inf + inf) = NaN in its gradient.
    mutant(
        "impossible_transcript_gives_nan_gradient",
        "ctc_loss_code",
        "        if not np.isfinite(nll[b]):\n            continue\n",
        "",
        "ctc_loss_impossible_transcript_contract",
    ),
    # ------------------------------------------------------------ ctc_model_loss
    # The per-utterance upstream 1 instead of 1/B: the gradient of the sum, the loss a mean
    # (Adam is blind to the gradient's scale, so the training curve still tracks).
    mutant(
        "model_gradient_of_the_sum",
        "ctc_model_loss_code",
        '    dlogits = ctc_loss_backward(np.full(B, 1.0 / B), cache_ctc)["dlogits"]  # (B, T, C)',
        '    dlogits = ctc_loss_backward(np.ones(B), cache_ctc)["dlogits"]  # (B, T, C)',
        *_MODEL_GRADS,
        "ctc_model_loss_is_the_mean_over_utterances",
        "ctc_model_loss_fast",
    ),
    # The loss summed over the utterances while the gradients are those of the mean.
    mutant(
        "model_loss_summed",
        "ctc_model_loss_code",
        "    return float(np.mean(nll)), grads",
        "    return float(np.sum(nll)), grads",
        "ctc_model_loss_value_matches_reference",
        *_MODEL_GRADS,
        "ctc_model_loss_is_the_mean_over_utterances",
        "ctc_model_loss_trains_like_reference",
        "ctc_model_loss_fast",
    ),
    # The tanh's derivative forgotten on the way to the hidden layer.
    mutant(
        "model_tanh_derivative_missing",
        "ctc_model_loss_code",
        '    g1 = affine_backward(tanh_backward(g2["dx"], cache_h)["dx"], cache_1)',
        '    g1 = affine_backward(g2["dx"], cache_1)',
        *_MODEL_GRADS[:2],
        "ctc_model_loss_trains_like_reference",
        "ctc_model_loss_fast",
    ),
    # ------------------------------------------------------------ ctc_decode
    # Blanks deleted before repeats are merged: "1 - 1" decodes to [1].
    mutant(
        "decode_deletes_blanks_before_merging",
        "ctc_decode_code",
        """        keep = np.ones(len(path), dtype=bool)
        keep[1:] = path[1:] != path[:-1]                        # first frame of each run
        run = path[keep]
        out.append(run[run != BLANK].astype(np.int64))""",
        """        kept = path[path != BLANK]
        first = np.ones(len(kept), dtype=bool)
        first[1:] = kept[1:] != kept[:-1]
        out.append(kept[first].astype(np.int64))""",
        "greedy_decode_matches_reference",
        "greedy_decode_merges_before_deleting_blanks",
    ),
    # A substitution costs 2 (an insertion plus a deletion).
    mutant(
        "edit_distance_substitution_costs_two",
        "ctc_decode_code",
        "prev[j - 1] + (a[i - 1] != b[j - 1]))",
        "prev[j - 1] + 2 * (a[i - 1] != b[j - 1]))",
        "edit_distance_matches_reference",
        "edit_distance_is_a_metric",
    ),
    # The first row of the table starts at zero: inserting b's prefix is free.
    mutant(
        "edit_distance_first_row_zero",
        "ctc_decode_code",
        "    d = np.arange(len(b) + 1)                       # row 0: insert b[:j]",
        "    d = np.zeros(len(b) + 1, dtype=np.int64)",
        "edit_distance_matches_reference",
        "edit_distance_is_a_metric",
    ),
]

VARIANTS = [
    # log-sum-exp as NumPy's pairwise logaddexp reduction.
    variant(
        "logsumexp_by_logaddexp_reduce",
        "ctc_alpha_code",
        _LSE_BODY + "\n",
        """    return np.logaddexp.reduce(np.asarray(a, dtype=np.float64), axis=axis)
""",
    ),
    # The recursion as a Python loop over the states.
    variant(
        "alpha_loop_over_states",
        "ctc_alpha_code",
        _ALPHA_LOOP,
        """    la = np.full((T, S), -np.inf)
    la[0, 0] = logp[0, ext[0]]
    if S > 1:
        la[0, 1] = logp[0, ext[1]]
    for t in range(1, T):
        for s in range(S):
            acc = [la[t - 1, s]]
            if s >= 1:
                acc.append(la[t - 1, s - 1])
            if s >= 2 and skip[s]:
                acc.append(la[t - 1, s - 2])
            la[t, s] = logsumexp(np.array(acc)) + logp[t, ext[s]]
    return la""",
    ),
    # beta as alpha of the time-reversed problem (reversed frames, reversed transcript), minus
    # the emission of frame t.
    variant(
        "beta_as_reversed_alpha",
        "ctc_beta_code",
        _BETA_BODY,
        """    ext = extend_labels(y)
    rev = ctc_alpha(logp[::-1].copy(), np.asarray(y)[::-1].copy())[::-1, ::-1]  # (T, S)
    return rev - logp[:, ext]""",
    ),
    # alpha and beta both in the forward's cache (a dict); the occupancy gathered into classes
    # by a one-hot matrix product; the log-softmax written out.
    variant(
        "loss_cache_dict_and_onehot_matrix",
        "ctc_loss_code",
        _LOSS_FWD + _LOSS_BWD_DOC + _LOSS_BWD,
        """    z = logits - logits.max(axis=2, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=2, keepdims=True))
    nll, lattices = [], []
    for b, y in enumerate(labels):
        la, lb = ctc_alpha(logp[b], y), ctc_beta(logp[b], y)
        S = la.shape[1]
        nll.append(-logsumexp(la[-1, max(S - 2, 0):]))
        lattices.append((la, lb))
    nll = np.array(nll)
    return nll, {"logp": logp, "labels": labels, "lattices": lattices, "nll": nll}"""
        + _LOSS_BWD_DOC
        + """    logp, nll = cache["logp"], cache["nll"]
    C = logp.shape[2]
    dlogits = np.zeros_like(logp)
    for b, (y, (la, lb)) in enumerate(zip(cache["labels"], cache["lattices"])):
        if np.isinf(nll[b]):
            continue
        onehot = np.eye(C)[extend_labels(y)]                    # (S, C)
        gamma = np.exp(la + lb + nll[b])                        # (T, S)
        dlogits[b] = dnll[b] * (np.exp(logp[b]) - gamma @ onehot)
    return {"dlogits": dlogits}""",
    ),
    # The model with its own einsums instead of the given layers, the context by np.pad.
    variant(
        "model_einsum_and_pad",
        "ctc_model_loss_code",
        _MODEL_BODY,
        """    x, labels = batch
    B = x.shape[0]
    xp = np.pad(x, ((0, 0), (1, 1), (0, 0)))
    ctx = np.concatenate([xp[:, :-2], xp[:, 1:-1], xp[:, 2:]], axis=2)
    h = np.tanh(np.einsum("btf,fh->bth", ctx, params["W1"]) + params["b1"])
    logits = np.einsum("bth,hc->btc", h, params["W2"]) + params["b2"]
    nll, cache = ctc_loss_forward(logits, labels)
    dz = ctc_loss_backward(np.full(B, 1.0 / B), cache)["dlogits"]
    da = np.einsum("btc,hc->bth", dz, params["W2"]) * (1.0 - h * h)
    grads = {
        "W1": np.einsum("btf,bth->fh", ctx, da),
        "b1": np.einsum("bth->h", da),
        "W2": np.einsum("bth,btc->hc", h, dz),
        "b2": np.einsum("btc->c", dz),
    }
    return float(nll.sum() / B), grads""",
    ),
    # Decoding frame by frame in Python; the edit distance with the whole table.
    variant(
        "decode_loops_and_full_table",
        "ctc_decode_code",
        _DECODE_BODY,
        """    out = []
    for b in range(logits.shape[0]):
        seq, prev = [], None
        for t in range(logits.shape[1]):
            k = int(np.argmax(logits[b, t]))
            if k != prev and k != BLANK:
                seq.append(k)
            prev = k
        out.append(np.array(seq, dtype=np.int64))
    return out""",
    ),
    variant(
        "edit_distance_full_table",
        "ctc_decode_code",
        _EDIT_BODY,
        """    n, m = len(a), len(b)
    D = np.zeros((n + 1, m + 1), dtype=int)
    D[:, 0] = np.arange(n + 1)
    D[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            D[i, j] = min(D[i - 1, j] + 1, D[i, j - 1] + 1,
                          D[i - 1, j - 1] + int(a[i - 1] != b[j - 1]))
    return int(D[n, m])""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    "model_gradient_of_the_sum": ("factor", "W1, b1, W2, b2: B, B the number of utterances"),
    "model_loss_summed": ("factor", "W1, b1, W2, b2: 1/B, B the number of utterances"),
    # revised after the first measurement, from the code: dlogits: right only at the last frame
    # (beta's wrong emission enters every earlier frame)
    "beta_includes_emission_at_t": (("other", "slices"), "dlogits: right only at the last frame"),
}
