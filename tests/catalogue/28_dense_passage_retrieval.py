"""Wrong implementations of 28_dense_passage_retrieval that the hidden tests must catch
(test-of-tests), and correct variants in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import fd_loop, mutant, numerical_backward, variant

# ---------------------------------------------------------------- the reference's texts
_ENC_FWD_RETURN = "    return y, (ids, weights, h, E.shape, W)"

_ENC_BWD_BODY = """    ids, weights, h, E_shape, W = cache
    dW = h.T @ dy                                         # (D, K)
    dh = dy @ W.T                                         # (B, D)
    demb = weights[:, :, None] * dh[:, None, :]           # (B, T, D)
    dE = np.zeros(E_shape)                                # (V, D)
    np.add.at(dE, ids, demb)                              # repeated ids accumulate
    return {"dE": dE, "dW": dW}"""

_ENC_BWD_DOC = '''


def bow_encoder_backward(dy, cache):
    """Gradients of bow_encoder_forward.

    Inputs:
      dy:    (B, K) upstream gradient dL/dy.
      cache: from bow_encoder_forward.
    Returns:
      dict with 'dE' (V, D) and 'dW' (D, K).
    """
'''

_ENC_FWD_BODY = """    emb = E[ids]                                          # (B, T, D)
    weights = mask / mask.sum(axis=1, keepdims=True)      # (B, T) each row sums to 1
    h = np.einsum("bt,btd->bd", weights, emb)             # (B, D)
    y = h @ W                                             # (B, K)
    return y, (ids, weights, h, E.shape, W)"""

_NCE_FWD_BODY = """    B = Q.shape[0]
    S = Q @ P.T                                           # (B, B) scores
    S_shift = S - S.max(axis=1, keepdims=True)            # (B, B) no overflow
    log_Z = np.log(np.exp(S_shift).sum(axis=1))           # (B,)
    log_prob = S_shift - log_Z[:, None]                   # (B, B) row-wise log-softmax
    loss = float(-np.mean(np.diag(log_prob)))
    return loss, (Q, P, np.exp(log_prob))"""

_NCE_BWD_BODY = """    Q, P, prob = cache
    B = Q.shape[0]
    dS = (prob - np.eye(B)) * (dloss / B)                 # (B, B)
    return {"dQ": dS @ P, "dP": dS.T @ Q}"""

_DPR_BODY = """    q_ids, q_mask, p_ids, p_mask = batch
    Q, cache_q = bow_encoder_forward(q_ids, q_mask, params["Eq"], params["Wq"])  # (B, K)
    P, cache_p = bow_encoder_forward(p_ids, p_mask, params["Ep"], params["Wp"])  # (B, K)
    loss, cache = inbatch_nce_forward(Q, P)
    g = inbatch_nce_backward(1.0, cache)
    g_q = bow_encoder_backward(g["dQ"], cache_q)
    g_p = bow_encoder_backward(g["dP"], cache_p)
    return loss, {"Eq": g_q["dE"], "Wq": g_q["dW"], "Ep": g_p["dE"], "Wp": g_p["dW"]}"""

_BM25_BODY = """    N = d_counts.shape[0]
    n_t = (d_counts > 0).sum(axis=0)                          # (V,) passages with term t
    idf = np.log(1.0 + (N - n_t + 0.5) / (n_t + 0.5))         # (V,)
    length = d_counts.sum(axis=1, keepdims=True)              # (N, 1)
    norm = k1 * (1.0 - b + b * length / length.mean())        # (N, 1)
    tf = d_counts * (k1 + 1.0) / (d_counts + norm)            # (N, V)
    return q_counts @ (tf * idf).T                            # (Q, N)"""

_RECALL_BODY = """    n_q = scores.shape[0]
    gold_score = scores[np.arange(n_q), gold][:, None]        # (n_Q, 1)
    rank = (scores >= gold_score).sum(axis=1)                 # (n_Q,) 1 + others >= gold
    return np.array([np.mean(rank <= k) for k in ks], dtype=np.float64)"""

# ---------------------------------------------------------------- numerical backwards
# The encoder's forward keeps its inputs in the cache; the backward nudges E and W one entry at
# a time through the forward. Accurate to ~1e-10 (the encoder is linear in E and in W), so only
# the realistic-size time budget catches it.
_ENC_NUMERICAL = (
    "    return y, (ids, mask, E, W)"
    + _ENC_BWD_DOC
    + numerical_backward(
        """    ids, mask, E, W = cache
    args = {"E": E.copy(), "W": W.copy()}""",
        "np.sum(bow_encoder_forward(ids, mask, **args)[0] * dy)",
    )
)

_NCE_NUMERICAL = numerical_backward(
    """    Q, P, _ = cache
    args = {"Q": Q.copy(), "P": P.copy()}""",
    "inbatch_nce_forward(**args)[0] * dloss",
)

_DPR_NUMERICAL = (
    """    q_ids, q_mask, p_ids, p_mask = batch

    def objective(p):
        Q, _ = bow_encoder_forward(q_ids, q_mask, p["Eq"], p["Wq"])
        P, _ = bow_encoder_forward(p_ids, p_mask, p["Ep"], p["Wp"])
        return inbatch_nce_forward(Q, P)[0]

    work = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    grads = {}
    for name, arr in work.items():
"""
    + fd_loop("arr", "g", "objective(work)", indent=8)
    + """
        grads[name] = g
    return objective(work), grads"""
)

_NCE_GRADCHECKS = [f"inbatch_nce_backward_gradcheck[{g}]" for g in ("dQ", "dP")]
_BM25_FORWARD = [
    f"bm25_scores_match_reference[{c}]" for c in ("default", "k1_2_b0", "single_passage_b1")
]

MUTANTS = [
    # ---------------------------------------------------------------- bow_encoder
    # Not dpr_loss_trains_like_reference: whether training with this backward overruns that
    # test's time limit depends on the machine's load (passed idle, failed under load).
    mutant(
        "encoder_numerical_backward",
        "bow_encoder_code",
        _ENC_FWD_RETURN + _ENC_BWD_DOC + _ENC_BWD_BODY,
        _ENC_NUMERICAL,
        "bow_encoder_backward_fast_at_realistic_size",
        "dpr_loss_fast_at_realistic_size",
    ),
    mutant(
        "fancy_index_assignment_loses_repeated_words",
        "bow_encoder_code",
        "    np.add.at(dE, ids, demb)                              # repeated ids accumulate",
        "    dE[ids] += demb                                       # repeated ids overwrite",
        "bow_encoder_backward_gradcheck[dE]",
        "bow_encoder_backward_accumulates_repeated_words",
        "dpr_loss_gradcheck",
        "dpr_loss_trains_like_reference",
        "bow_encoder_backward_fast_at_realistic_size",
        "dpr_loss_fast_at_realistic_size",
    ),
    mutant(
        "mean_over_all_slots_including_padding",
        "bow_encoder_code",
        "    weights = mask / mask.sum(axis=1, keepdims=True)      # (B, T) each row sums to 1",
        "    weights = mask / mask.shape[1]                        # (B, T) divides by T",
        "bow_encoder_forward_matches_reference[B4_T5_V12]",
        "bow_encoder_forward_matches_reference[padded_repeats]",
        "dpr_loss_value_matches_reference",
        "dpr_loss_trains_like_reference",
    ),
    mutant(
        "mean_normalised_over_the_whole_batch",
        "bow_encoder_code",
        "    weights = mask / mask.sum(axis=1, keepdims=True)      # (B, T) each row sums to 1",
        "    weights = mask / mask.sum(keepdims=True)              # (B, T) all rows together",
        "bow_encoder_forward_matches_reference[B4_T5_V12]",
        "bow_encoder_forward_matches_reference[one_token_each]",
        "bow_encoder_forward_matches_reference[padded_repeats]",
        "dpr_loss_value_matches_reference",
        "dpr_loss_trains_like_reference",
    ),
    mutant(
        "padded_slots_get_gradient",
        "bow_encoder_code",
        "    demb = weights[:, :, None] * dh[:, None, :]           # (B, T, D)",
        "    demb = (1.0 / (weights > 0).sum(axis=1))[:, None, None] * dh[:, None, :]  # all slots",
        "bow_encoder_backward_gradcheck[dE]",
        "bow_encoder_ignores_padded_slots",
        "dpr_loss_gradcheck",
        "bow_encoder_backward_fast_at_realistic_size",
        "dpr_loss_fast_at_realistic_size",
    ),
    mutant(
        "projection_gradient_averaged_over_the_batch",
        "bow_encoder_code",
        "    dW = h.T @ dy                                         # (D, K)",
        "    dW = h.T @ dy / h.shape[0]                            # (D, K) batch mean",
        "bow_encoder_backward_gradcheck[dW]",
        "dpr_loss_gradcheck",
        "bow_encoder_backward_fast_at_realistic_size",
        "dpr_loss_trains_like_reference",
        "dpr_loss_fast_at_realistic_size",
    ),
    mutant(
        "embedding_gradient_forgets_one_over_n",
        "bow_encoder_code",
        "    demb = weights[:, :, None] * dh[:, None, :]           # (B, T, D)",
        "    demb = (weights > 0)[:, :, None] * dh[:, None, :]     # (B, T, D)",
        "bow_encoder_backward_gradcheck[dE]",
        "dpr_loss_gradcheck",
        "dpr_loss_trains_like_reference",
        "bow_encoder_backward_fast_at_realistic_size",
        "dpr_loss_fast_at_realistic_size",
    ),
    # ---------------------------------------------------------------- inbatch_nce
    mutant(
        "nce_numerical_backward",
        "inbatch_nce_code",
        _NCE_BWD_BODY,
        _NCE_NUMERICAL,
        "inbatch_nce_backward_fast_at_realistic_size",
    ),
    mutant(
        "nce_without_the_stable_shift",
        "inbatch_nce_code",
        "    S_shift = S - S.max(axis=1, keepdims=True)            # (B, B) no overflow",
        "    S_shift = S                                           # (B, B)",
        "inbatch_nce_forward_matches_reference[large_scores]",
    ),
    mutant(
        "nce_missing_the_batch_mean",
        "inbatch_nce_code",
        "    dS = (prob - np.eye(B)) * (dloss / B)                 # (B, B)",
        "    dS = (prob - np.eye(B)) * dloss                       # (B, B)",
        *_NCE_GRADCHECKS,
        "dpr_loss_gradcheck",
        "inbatch_nce_backward_fast_at_realistic_size",
        "dpr_loss_trains_like_reference",
        "dpr_loss_fast_at_realistic_size",
    ),
    mutant(
        "nce_passage_gradient_not_transposed",
        "inbatch_nce_code",
        '    return {"dQ": dS @ P, "dP": dS.T @ Q}',
        '    return {"dQ": dS @ P, "dP": dS @ Q}',
        "inbatch_nce_backward_gradcheck[dP]",
        "inbatch_nce_backward_sanity_identities",
        "dpr_loss_gradcheck",
        "dpr_loss_trains_like_reference",
        "inbatch_nce_backward_fast_at_realistic_size",
        "dpr_loss_fast_at_realistic_size",
    ),
    mutant(
        "nce_forgets_the_positive_in_the_gradient",
        "inbatch_nce_code",
        "    dS = (prob - np.eye(B)) * (dloss / B)                 # (B, B)",
        "    dS = prob * (dloss / B)                               # (B, B)",
        *_NCE_GRADCHECKS,
        "inbatch_nce_backward_sanity_identities",
        "dpr_loss_gradcheck",
        "dpr_loss_trains_like_reference",
        "inbatch_nce_backward_fast_at_realistic_size",
        "dpr_loss_fast_at_realistic_size",
    ),
    mutant(
        "nce_softmax_over_the_wrong_axis",
        "inbatch_nce_code",
        """    S_shift = S - S.max(axis=1, keepdims=True)            # (B, B) no overflow
    log_Z = np.log(np.exp(S_shift).sum(axis=1))           # (B,)
    log_prob = S_shift - log_Z[:, None]                   # (B, B) row-wise log-softmax""",
        """    S_shift = S - S.max(axis=0, keepdims=True)            # (B, B) no overflow
    log_Z = np.log(np.exp(S_shift).sum(axis=0))           # (B,)
    log_prob = S_shift - log_Z[None, :]                   # (B, B) column-wise""",
        "inbatch_nce_forward_matches_reference[B6_K4]",
        "inbatch_nce_forward_matches_reference[large_scores]",
        "inbatch_nce_loss_invariances",
        "dpr_loss_value_matches_reference",
        "inbatch_nce_forward_matches_reference[two_pairs]",
        "inbatch_nce_backward_sanity_identities",
        "inbatch_nce_backward_fast_at_realistic_size",
        "dpr_loss_trains_like_reference",
    ),
    # ---------------------------------------------------------------- dpr_loss
    # Only the time budget: whether its training run overruns dpr_loss_trains_like_reference's
    # limit depends on the machine's load (it did on a busy machine, not always on an idle one).
    mutant(
        "dpr_loss_numerical_gradient",
        "dpr_loss_code",
        _DPR_BODY,
        _DPR_NUMERICAL,
        "dpr_loss_fast_at_realistic_size",
    ),
    mutant(
        "dpr_loss_swaps_the_encoders_upstreams",
        "dpr_loss_code",
        """    g_q = bow_encoder_backward(g["dQ"], cache_q)
    g_p = bow_encoder_backward(g["dP"], cache_p)""",
        """    g_q = bow_encoder_backward(g["dP"], cache_q)
    g_p = bow_encoder_backward(g["dQ"], cache_p)""",
        "dpr_loss_gradcheck",
        "dpr_loss_trains_like_reference",
        "dpr_loss_fast_at_realistic_size",
    ),
    # ---------------------------------------------------------------- bm25
    mutant(
        "bm25_original_idf_can_be_negative",
        "bm25_code",
        "    idf = np.log(1.0 + (N - n_t + 0.5) / (n_t + 0.5))         # (V,)",
        "    idf = np.log((N - n_t + 0.5) / (n_t + 0.5))               # (V,)",
        *_BM25_FORWARD,
        "bm25_idf_and_question_counts",
        "bm25_saturation_and_length_normalisation",
    ),
    mutant(
        "bm25_without_idf",
        "bm25_code",
        "    return q_counts @ (tf * idf).T                            # (Q, N)",
        "    return q_counts @ tf.T                                    # (Q, N)",
        *_BM25_FORWARD,
        "bm25_finds_rare_names",
        "bm25_saturation_and_length_normalisation",
    ),
    mutant(
        "bm25_length_ratio_inverted",
        "bm25_code",
        "    norm = k1 * (1.0 - b + b * length / length.mean())        # (N, 1)",
        "    norm = k1 * (1.0 - b + b * length.mean() / length)        # (N, 1)",
        "bm25_scores_match_reference[default]",
        "bm25_saturation_and_length_normalisation",
    ),
    mutant(
        "bm25_question_words_counted_once",
        "bm25_code",
        "    return q_counts @ (tf * idf).T                            # (Q, N)",
        "    return (q_counts > 0) @ (tf * idf).T                      # (Q, N)",
        "bm25_scores_match_reference[default]",
        "bm25_scores_match_reference[k1_2_b0]",
        "bm25_idf_and_question_counts",
        "bm25_scores_match_reference[single_passage_b1]",
    ),
    # ---------------------------------------------------------------- recall_at_k
    mutant(
        "recall_ties_in_favour_of_the_gold",
        "recall_at_k_code",
        "    rank = (scores >= gold_score).sum(axis=1)                 # (n_Q,) 1 + others >= gold",
        "    rank = 1 + (scores > gold_score).sum(axis=1)              # (n_Q,) optimistic",
        "recall_at_k_counts_ties_against_the_gold",
    ),
    mutant(
        "recall_off_by_one_in_k",
        "recall_at_k_code",
        "np.mean(rank <= k)",
        "np.mean(rank < k)",
        "recall_at_k_matches_reference",
        "recall_at_k_counts_ties_against_the_gold",
        "recall_at_k_boundaries",
        "recall_at_k_leaves_scores_unchanged",
    ),
    mutant(
        "recall_sorts_scores_in_place",
        "recall_at_k_code",
        _RECALL_BODY,
        """    n_q = scores.shape[0]
    scores -= scores[np.arange(n_q), gold][:, None]           # relative to the gold, in place
    rank = (scores >= 0).sum(axis=1)
    return np.array([np.mean(rank <= k) for k in ks], dtype=np.float64)""",
        "recall_at_k_leaves_scores_unchanged",
    ),
]

VARIANTS = [
    variant(
        "encoder_with_loops_and_a_dict_cache",
        "bow_encoder_code",
        _ENC_FWD_BODY + _ENC_BWD_DOC + _ENC_BWD_BODY,
        """    B, T = ids.shape
    h = np.zeros((B, E.shape[1]))
    for b in range(B):
        n = 0.0
        for t in range(T):
            if mask[b, t] > 0:
                h[b] += mask[b, t] * E[ids[b, t]]
                n += mask[b, t]
        h[b] /= n
    return h @ W, {"ids": ids, "mask": mask, "h": h, "V": E.shape[0], "W": W}"""
        + _ENC_BWD_DOC
        + """    ids, mask, h, W = cache["ids"], cache["mask"], cache["h"], cache["W"]
    dE = np.zeros((cache["V"], W.shape[0]))
    dh = dy @ W.T
    for b in range(ids.shape[0]):
        n = mask[b].sum()
        for t in range(ids.shape[1]):
            if mask[b, t] > 0:
                dE[ids[b, t]] += mask[b, t] / n * dh[b]
    return {"dE": dE, "dW": np.einsum("bd,bk->dk", h, dy)}""",
    ),
    variant(
        "encoder_backward_one_hot_matrix",
        "bow_encoder_code",
        _ENC_BWD_BODY,
        """    ids, weights, h, E_shape, W = cache
    B, T = ids.shape
    A = np.zeros((B, E_shape[0]))                         # (B, V) averaging matrix
    for t in range(T):
        A[np.arange(B), ids[:, t]] += weights[:, t]
    dh = dy @ W.T
    return {"dE": A.T @ dh, "dW": h.T @ dy}""",
    ),
    variant(
        "nce_with_a_loop_over_questions",
        "inbatch_nce_code",
        _NCE_FWD_BODY
        + '''


def inbatch_nce_backward(dloss, cache):
    """Gradients of inbatch_nce_forward.

    Inputs:
      dloss: float (or 0-d array), upstream gradient of the loss.
      cache: from inbatch_nce_forward.
    Returns:
      dict with 'dQ' (B, K) and 'dP' (B, K).
    """
'''
        + _NCE_BWD_BODY,
        """    B = Q.shape[0]
    total = 0.0
    for i in range(B):
        s = P @ Q[i]                                      # (B,) scores of question i
        m = s.max()
        total += m + np.log(np.sum(np.exp(s - m))) - s[i]
    return total / B, {"Q": Q.copy(), "P": P.copy()}


def inbatch_nce_backward(dloss, cache):
    Q, P = cache["Q"], cache["P"]
    B = Q.shape[0]
    dQ, dP = np.zeros_like(Q), np.zeros_like(P)
    for i in range(B):
        s = P @ Q[i]
        p = np.exp(s - s.max())
        p /= p.sum()
        p[i] -= 1.0
        p *= float(dloss) / B
        dQ[i] = p @ P
        dP += np.outer(p, Q[i])
    return {"dQ": dQ, "dP": dP}""",
    ),
    variant(
        "dpr_loss_through_a_helper",
        "dpr_loss_code",
        _DPR_BODY,
        """    q_ids, q_mask, p_ids, p_mask = batch
    encoded = {}
    for side, ids, mask in (("q", q_ids, q_mask), ("p", p_ids, p_mask)):
        encoded[side] = bow_encoder_forward(ids, mask, params["E" + side], params["W" + side])
    loss, cache = inbatch_nce_forward(encoded["q"][0], encoded["p"][0])
    up = inbatch_nce_backward(np.array(1.0), cache)
    grads = {}
    for side in ("q", "p"):
        g = bow_encoder_backward(up["d" + side.upper()], encoded[side][1])
        grads["E" + side], grads["W" + side] = g["dE"], g["dW"]
    return float(loss), grads""",
    ),
    variant(
        "bm25_with_a_loop_over_passages",
        "bm25_code",
        _BM25_BODY,
        """    N, V = d_counts.shape
    df = np.count_nonzero(d_counts, axis=0)
    idf = np.log1p((N - df + 0.5) / (df + 0.5))
    avgdl = np.mean(d_counts.sum(axis=1))
    scores = np.zeros((q_counts.shape[0], N))
    for j in range(N):
        f = d_counts[j]
        dl = f.sum()
        w = idf * f * (k1 + 1) / (f + k1 * (1 - b + b * dl / avgdl))
        scores[:, j] = q_counts @ w
    return scores""",
    ),
    variant(
        "recall_with_a_loop_and_argsort",
        "recall_at_k_code",
        _RECALL_BODY,
        """    hits = np.zeros(len(ks))
    for i in range(scores.shape[0]):
        s = scores[i]
        others = np.delete(s, gold[i])
        order = np.argsort(-others, kind="stable")
        rank = 1 + np.count_nonzero(others[order] >= s[gold[i]])
        hits += np.array([rank <= k for k in ks])
    return hits / scores.shape[0]""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    "projection_gradient_averaged_over_the_batch": (
        "factor",
        "dW: 1/B, B the batch size (in dpr_loss: Wq and Wp)",
    ),
    "nce_missing_the_batch_mean": (
        "factor",
        "dQ, dP: B, the batch size (in dpr_loss: Eq, Wq, Ep, Wp)",
    ),
    # revised after the first measurement, from the code: Ep in dpr_loss: 7, the unpadded passage
    # length (the labeller's note)
    "embedding_gradient_forgets_one_over_n": (("other", "factor"), "Ep: 7"),
}
