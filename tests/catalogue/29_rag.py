"""Wrong implementations of 29_rag that the hidden tests must catch (test-of-tests), and correct
variants in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped). An entry that changes a forward's cache and its backward together replaces the text
from the forward's ``return`` to the end of the backward.
"""

from mutants import mutant, numerical_backward, variant

# ------------------------------------------------------------------------------ reference texts
_RETRIEVER_FORWARD_BODY = """\
    k = q @ W                                        # (B, Dd) queries in document space
    s = k @ docs.T                                   # (B, Z) scores
    logp_z = s - logsumexp(s, axis=1)[:, None]       # (B, Z)
    return logp_z, (q, W, docs, k, np.exp(logp_z))"""

_RETRIEVER_BACKWARD_HEAD = '''


def retriever_backward(dlogp_z, cache):
    """Gradients of retriever_forward.

    Inputs:
      dlogp_z: (B, Z) upstream gradient dL/dlogp_z.
      cache:   from retriever_forward.
    Returns:
      dict with 'dq' (B, Dq), 'dW' (Dq, Dd), 'ddocs' (Z, Dd).
    """
'''

_RETRIEVER_BACKWARD_BODY = """    q, W, docs, k, p = cache
    ds = dlogp_z - p * dlogp_z.sum(axis=1, keepdims=True)   # (B, Z)
    dk = ds @ docs                                           # (B, Dd)
    return {"dq": dk @ W.T, "dW": q.T @ dk, "ddocs": ds.T @ k}"""

_READER_FORWARD_BODY = """    V = G.shape[1]
    u = doc_vals[:, rel].transpose(1, 0, 2)                      # (B, Z, T) what z states
    copy = (u[..., None] == np.arange(V)).astype(np.float64)     # (B, Z, T, V) one-hot of u
    logits = c[rel][:, None, :, None] * copy + G[rel][:, None, :, :]   # (B, Z, T, V)
    logp = logits - logsumexp(logits, axis=3)[..., None]         # (B, Z, T, V)
    target = (y[:, None, :, None] == np.arange(V)).astype(np.float64)  # (B, 1, T, V)
    ll = np.sum(logp * target, axis=3)                           # (B, Z, T)
    return ll, (G.shape, rel, copy, target, np.exp(logp))"""

_READER_BACKWARD_HEAD = '''


def reader_backward(dll, cache):
    """Gradients of reader_forward with respect to its float inputs.

    Inputs:
      dll:   (B, Z, T) upstream gradient dL/dll.
      cache: from reader_forward.
    Returns:
      dict with 'dc' (R,) and 'dG' (R, V).
    """
'''

_READER_BACKWARD_BODY = """    (R, V), rel, copy, target, p = cache
    dlogits = dll[..., None] * (target - p)                      # (B, Z, T, V)
    dc = np.zeros(R)
    np.add.at(dc, rel, np.sum(dlogits * copy, axis=(1, 3)))      # (B, T) summed per relation
    dG = np.zeros((R, V))
    np.add.at(dG, rel, np.sum(dlogits, axis=1))                  # (B, T, V) summed per relation
    return {"dc": dc, "dG": dG}"""

_SEQ_RETURN = "    return -log_marginal, (posterior, ll.shape[2])"

_SEQ_BACKWARD_HEAD = '''


def rag_sequence_backward(dnll, cache):
    """Gradients of rag_sequence_forward.

    Inputs:
      dnll:  (B,) upstream gradient dL/dnll.
      cache: from rag_sequence_forward.
    Returns:
      dict with 'dlogp_z' (B, Z) and 'dll' (B, Z, T).
    """
'''

_SEQ_BACKWARD_BODY = """    posterior, T = cache
    djoint = -dnll[:, None] * posterior              # (B, Z)
    return {"dlogp_z": djoint, "dll": np.repeat(djoint[:, :, None], T, axis=2)}"""

_SEQ_FORWARD_BODY = """\
    joint = logp_z + ll.sum(axis=2)                  # (B, Z) log p(z | x) p(y | x, z)
    log_marginal = logsumexp(joint, axis=1)          # (B,)
    posterior = np.exp(joint - log_marginal[:, None])  # (B, Z) p(z | x, y)
"""

_TOK_RETURN = "    return -log_marginal.sum(axis=1), posterior"

_TOK_BACKWARD_HEAD = '''


def rag_token_backward(dnll, cache):
    """Gradients of rag_token_forward.

    Inputs:
      dnll:  (B,) upstream gradient dL/dnll.
      cache: from rag_token_forward.
    Returns:
      dict with 'dlogp_z' (B, Z) and 'dll' (B, Z, T).
    """
'''

_TOK_BACKWARD_BODY = """    posterior = cache
    dll = -dnll[:, None, None] * posterior                   # (B, Z, T)
    return {"dlogp_z": dll.sum(axis=2), "dll": dll}"""

_TOK_FORWARD_BODY = """    joint = logp_z[:, :, None] + ll                          # (B, Z, T)
    log_marginal = logsumexp(joint, axis=1)                  # (B, T) one marginal per token
    posterior = np.exp(joint - log_marginal[:, None, :])     # (B, Z, T) p(z | x, y_t)
"""

_RAG_LOSS_BODY = """\
    logp_z, cache_r = retriever_forward(batch["q"], params["W"], batch["docs"])       # (B, Z)
    ll, cache_g = reader_forward(params["c"], params["G"], batch["doc_vals"],
                                 batch["rel"], batch["y"])                            # (B, Z, T)
    if batch["marginal"] == "sequence":
        forward, backward = rag_sequence_forward, rag_sequence_backward
    else:
        forward, backward = rag_token_forward, rag_token_backward
    nll, cache_m = forward(logp_z, ll)                                                # (B,)
    g = backward(np.full(nll.shape, 1.0 / nll.shape[0]), cache_m)
    g_r = retriever_backward(g["dlogp_z"], cache_r)
    g_g = reader_backward(g["dll"], cache_g)
    return float(np.mean(nll)), {"W": g_r["dW"], "c": g_g["dc"], "G": g_g["dG"]}"""

# ------------------------------------------------------------------------------ test names
_RAG_LOSS_GRADCHECKS = [
    f"rag_loss_gradcheck[{p}-{m}]" for p in ("W", "c", "G") for m in ("sequence", "token")
]
_TRAINING = [f"rag_loss_trains_like_reference[{m}]" for m in ("sequence", "token")]
_LOSS_VALUES = [f"rag_loss_value_matches_reference[{m}]" for m in ("sequence", "token")]
_RETRIEVER_FORWARD = [
    f"retriever_forward_matches_reference[{c}]" for c in ("B4_D3x5_Z6", "one_query", "one_doc")
]
_RETRIEVER_GRADCHECKS = [f"retriever_backward_gradcheck[{g}]" for g in ("dq", "dW", "ddocs")]
_READER_FORWARD = [
    f"reader_forward_matches_reference[{c}]" for c in ("B4_Z6_T2", "one_token", "one_doc_long")
]


def _marginal_forward(m):
    return [f"rag_{m}_forward_matches_reference[{c}]" for c in ("B3_Z5_T2", "one_doc_T3")]


# ------------------------------------------------------------------------------ numerical backwards
# Backwards that differentiate the student's own forward by centred differences
# (tests/mutants.py): accurate to ~1e-10, they pass every gradient check; only the
# realistic-size time budgets catch them. Their forwards cache the inputs. Under load they may
# also be stopped by the training tests' pace rule (200 ms a step), which is why those tests are
# not named: whether they are lost depends on the machine.
def _numerical(fn, upstream, names):
    return numerical_backward(
        f"    {', '.join(names)} = cache\n"
        f"    args = {{{', '.join(f'{n!r}: {n}.copy()' for n in names)}}}",
        f"np.sum({fn}(**args)[0] * {upstream})",
    )


_READER_NUMERICAL = numerical_backward(
    """    c, G, doc_vals, rel, y = cache
    args = {"c": c.copy(), "G": G.copy()}""",
    "np.sum(reader_forward(**args, doc_vals=doc_vals, rel=rel, y=y)[0] * dll)",
)

MUTANTS = [
    # ---------------------------------------------------------------- retriever
    mutant(
        "numerical_retriever_backward",
        "retriever_code",
        "    return logp_z, (q, W, docs, k, np.exp(logp_z))"
        + _RETRIEVER_BACKWARD_HEAD
        + _RETRIEVER_BACKWARD_BODY,
        "    return logp_z, (q, W, docs)"
        + _RETRIEVER_BACKWARD_HEAD
        + _numerical("retriever_forward", "dlogp_z", ["q", "W", "docs"]),
        "retriever_backward_fast_at_realistic_size",
    ),
    mutant(
        "log_softmax_gradient_without_normaliser",
        "retriever_code",
        "ds = dlogp_z - p * dlogp_z.sum(axis=1, keepdims=True)   # (B, Z)",
        "ds = dlogp_z * (1.0 - p)                                # only the diagonal term",
        *_RETRIEVER_GRADCHECKS,
        "rag_loss_gradcheck[W-sequence]",
        "rag_loss_gradcheck[W-token]",
        *_TRAINING,
        "rag_loss_retriever_gets_no_signal_at_zero_copy_weight",
        "rag_loss_retriever_learns_without_retrieval_labels",
        "retriever_backward_fast_at_realistic_size",
    ),
    mutant(
        "query_gradient_through_untransposed_weight",
        "retriever_code",
        '"dq": dk @ W.T',
        '"dq": dk @ W',
        # A shape error when Dq != Dd: the whole backward fails, and so does its timing test.
        *_RETRIEVER_GRADCHECKS,
        "retriever_backward_fast_at_realistic_size",
    ),
    mutant(
        "softmax_over_the_batch",
        "retriever_code",
        "logp_z = s - logsumexp(s, axis=1)[:, None]       # (B, Z)",
        "logp_z = s - logsumexp(s, axis=0)[None, :]       # (B, Z)",
        *_RETRIEVER_FORWARD,
        "retriever_forward_normalised_without_overflow",
        *_LOSS_VALUES,
        *_TRAINING,
        # Its backward assumes a softmax over documents, so it no longer matches its forward.
        *_RETRIEVER_GRADCHECKS,
        "retriever_backward_fast_at_realistic_size",
        "rag_loss_gradcheck[W-sequence]",
        "rag_loss_gradcheck[W-token]",
        "rag_loss_retriever_gets_no_signal_at_zero_copy_weight",
        "rag_loss_retriever_learns_without_retrieval_labels",
    ),
    # ---------------------------------------------------------------- reader
    mutant(
        "numerical_reader_backward",
        "reader_code",
        "    return ll, (G.shape, rel, copy, target, np.exp(logp))"
        + _READER_BACKWARD_HEAD
        + _READER_BACKWARD_BODY,
        "    return ll, (c, G, doc_vals, rel, y)" + _READER_BACKWARD_HEAD + _READER_NUMERICAL,
        "reader_backward_fast_at_realistic_size",
    ),
    mutant(
        "copy_weight_gradient_assigned_not_accumulated",
        "reader_code",
        "np.add.at(dc, rel, np.sum(dlogits * copy, axis=(1, 3)))      # (B, T) summed per relation",
        "dc[rel] += np.sum(dlogits * copy, axis=(1, 3))               # repeated indices collide",
        "reader_backward_gradcheck[dc]",
        "rag_loss_gradcheck[c-sequence]",
        "rag_loss_gradcheck[c-token]",
        *_TRAINING,
        "reader_backward_fast_at_realistic_size",
    ),
    mutant(
        "softmax_gradient_forgets_the_target",
        "reader_code",
        "dlogits = dll[..., None] * (target - p)                      # (B, Z, T, V)",
        "dlogits = -dll[..., None] * p                                # (B, Z, T, V)",
        "reader_backward_gradcheck[dc]",
        "reader_backward_gradcheck[dG]",
        "reader_ignores_documents_at_zero_copy_and_prior_gradient_sums_to_zero",
        "rag_loss_gradcheck[c-sequence]",
        "rag_loss_gradcheck[c-token]",
        "rag_loss_gradcheck[G-sequence]",
        "rag_loss_gradcheck[G-token]",
        *_TRAINING,
        "rag_loss_retriever_learns_without_retrieval_labels",
        "reader_backward_fast_at_realistic_size",
    ),
    mutant(
        "copy_weight_of_the_wrong_relation",
        "reader_code",
        "logits = c[rel][:, None, :, None] * copy",
        "logits = c[::-1][rel][:, None, :, None] * copy",
        *_READER_FORWARD,
        "reader_forward_copy_probabilities_by_hand",
        "reader_backward_gradcheck[dc]",
        *_LOSS_VALUES,
        "rag_loss_gradcheck[c-sequence]",
        "rag_loss_gradcheck[c-token]",
        *_TRAINING,
        "reader_backward_fast_at_realistic_size",
    ),
    # ---------------------------------------------------------------- rag_sequence
    mutant(
        "numerical_sequence_backward",
        "rag_sequence_code",
        _SEQ_RETURN + _SEQ_BACKWARD_HEAD + _SEQ_BACKWARD_BODY,
        "    return -log_marginal, (logp_z, ll)"
        + _SEQ_BACKWARD_HEAD
        + _numerical("rag_sequence_forward", "dnll", ["logp_z", "ll"]),
        "rag_sequence_backward_fast_at_realistic_size",
    ),
    mutant(
        "sequence_mean_over_tokens",
        "rag_sequence_code",
        "joint = logp_z + ll.sum(axis=2)",
        "joint = logp_z + ll.mean(axis=2)",
        *_marginal_forward("sequence"),
        "rag_sequence_matches_brute_force_marginal",
        "rag_sequence_backward_gradcheck[dll]",
        "rag_sequence_backward_matches_brute_force_gradient",
        "rag_loss_value_matches_reference[sequence]",
        "rag_loss_gradcheck[c-sequence]",
        "rag_loss_gradcheck[G-sequence]",
        "rag_loss_trains_like_reference[sequence]",
        "rag_sequence_backward_fast_at_realistic_size",
    ),
    mutant(
        "sequence_gradient_with_the_prior_not_the_posterior",
        "rag_sequence_code",
        "posterior = np.exp(joint - log_marginal[:, None])  # (B, Z) p(z | x, y)",
        "posterior = np.exp(logp_z)                        # (B, Z) the retriever's p(z | x)",
        "rag_sequence_backward_gradcheck[dlogp_z]",
        "rag_sequence_backward_gradcheck[dll]",
        "rag_sequence_backward_matches_brute_force_gradient",
        "rag_loss_gradcheck[W-sequence]",
        "rag_loss_gradcheck[c-sequence]",
        "rag_loss_gradcheck[G-sequence]",
        "rag_loss_trains_like_reference[sequence]",
        "rag_loss_retriever_learns_without_retrieval_labels",
        "rag_loss_retriever_gets_no_signal_at_zero_copy_weight",
        "rag_sequence_backward_fast_at_realistic_size",
    ),
    # ---------------------------------------------------------------- rag_token
    mutant(
        "numerical_token_backward",
        "rag_token_code",
        _TOK_RETURN + _TOK_BACKWARD_HEAD + _TOK_BACKWARD_BODY,
        "    return -log_marginal.sum(axis=1), (logp_z, ll)"
        + _TOK_BACKWARD_HEAD
        + _numerical("rag_token_forward", "dnll", ["logp_z", "ll"]),
        "rag_token_backward_fast_at_realistic_size",
    ),
    mutant(
        "token_marginal_in_probability_space",
        "rag_token_code",
        "log_marginal = logsumexp(joint, axis=1)                  # (B, T) one marginal per token",
        "log_marginal = np.log(np.sum(np.exp(joint), axis=1))    # (B, T) underflows",
        "rag_token_matches_brute_force_marginal",
    ),
    mutant(
        "token_retriever_gradient_averaged_over_tokens",
        "rag_token_code",
        'return {"dlogp_z": dll.sum(axis=2), "dll": dll}',
        'return {"dlogp_z": dll.mean(axis=2), "dll": dll}',
        "rag_token_backward_gradcheck[dlogp_z]",
        "rag_token_backward_matches_brute_force_gradient",
        "rag_loss_gradcheck[W-token]",
        "rag_token_backward_fast_at_realistic_size",
        # Adam is nearly invariant to a constant factor on W's gradient, so training alone
        # cannot see this.
    ),
    mutant(
        "token_prior_split_over_tokens",
        "rag_token_code",
        "joint = logp_z[:, :, None] + ll                          # (B, Z, T)",
        "joint = logp_z[:, :, None] / ll.shape[2] + ll            # (B, Z, T)",
        "rag_token_matches_brute_force_marginal",
        # Right for one answer token: the one_doc_T3 case has one document (log p = 0).
        "rag_token_forward_matches_reference[B3_Z5_T2]",
        "rag_token_backward_gradcheck[dlogp_z]",
        "rag_token_backward_matches_brute_force_gradient",
        "rag_token_backward_fast_at_realistic_size",
        "rag_loss_value_matches_reference[token]",
        "rag_loss_gradcheck[W-token]",
        "rag_loss_retriever_gets_no_signal_at_zero_copy_weight",
        "rag_loss_trains_like_reference[token]",
    ),
    mutant(
        "token_nll_averaged_over_tokens",
        "rag_token_code",
        "return -log_marginal.sum(axis=1), posterior",
        "return -log_marginal.mean(axis=1), posterior",
        *_marginal_forward("token"),
        "rag_token_matches_brute_force_marginal",
        # Its backward differentiates the sum, no longer its own forward.
        "rag_token_backward_gradcheck[dlogp_z]",
        "rag_token_backward_gradcheck[dll]",
        "rag_token_backward_fast_at_realistic_size",
        "rag_loss_value_matches_reference[token]",
        "rag_loss_gradcheck[W-token]",
        "rag_loss_gradcheck[c-token]",
        "rag_loss_gradcheck[G-token]",
        "rag_loss_trains_like_reference[token]",
    ),
    mutant(
        "token_dll_broadcast_like_sequence",
        "rag_token_code",
        'return {"dlogp_z": dll.sum(axis=2), "dll": dll}',
        'return {"dlogp_z": dll.sum(axis=2), "dll": np.repeat(dll.sum(axis=2)[:, :, None], '
        "dll.shape[2], axis=2)}",
        "rag_token_backward_gradcheck[dll]",
        "rag_token_backward_matches_brute_force_gradient",
        "rag_token_backward_fast_at_realistic_size",
        "rag_loss_gradcheck[c-token]",
        "rag_loss_gradcheck[G-token]",
        "rag_loss_trains_like_reference[token]",
    ),
    # ---------------------------------------------------------------- rag_loss
    mutant(
        "loss_summed_over_the_batch",
        "rag_loss_code",
        "return float(np.mean(nll)),",
        "return float(np.sum(nll)),",
        *_LOSS_VALUES,
        *_RAG_LOSS_GRADCHECKS,
        *_TRAINING,
    ),
    mutant(
        "always_rag_sequence",
        "rag_loss_code",
        'if batch["marginal"] == "sequence":',
        "if True:  # the marginal is ignored",
        "rag_loss_value_matches_reference[token]",
        "rag_loss_trains_like_reference[token]",
    ),
    mutant(
        "retriever_left_out",
        "rag_loss_code",
        '{"W": g_r["dW"], "c": g_g["dc"], "G": g_g["dG"]}',
        '{"W": np.zeros_like(params["W"]), "c": g_g["dc"], "G": g_g["dG"]}',
        "rag_loss_gradcheck[W-sequence]",
        "rag_loss_gradcheck[W-token]",
        *_TRAINING,
        "rag_loss_retriever_learns_without_retrieval_labels",
    ),
]

# ------------------------------------------------------------------------------ variants
VARIANTS = [
    # The retriever with einsum, an explicit max shift and a dict cache (no k: recomputed).
    variant(
        "retriever_einsum_dict_cache",
        "retriever_code",
        _RETRIEVER_FORWARD_BODY + _RETRIEVER_BACKWARD_HEAD + _RETRIEVER_BACKWARD_BODY,
        """    s = np.einsum("bi,ij,zj->bz", q, W, docs)            # (B, Z)
    shifted = s - s.max(axis=1, keepdims=True)
    logp_z = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return logp_z, {"q": q, "W": W, "docs": docs, "p": np.exp(logp_z)}"""
        + _RETRIEVER_BACKWARD_HEAD
        + """    q, W, docs, p = cache["q"], cache["W"], cache["docs"], cache["p"]
    ds = dlogp_z - p * np.einsum("bz->b", dlogp_z)[:, None]      # (B, Z)
    return {
        "dq": np.einsum("bz,zj,ij->bi", ds, docs, W),
        "dW": np.einsum("bi,bz,zj->ij", q, ds, docs),
        "ddocs": np.einsum("bz,bi,ij->zj", ds, q, W),
    }""",
    ),
    # The reader with Python loops over questions and tokens, one (Z, V) table at a time.
    variant(
        "reader_loops",
        "reader_code",
        _READER_FORWARD_BODY + _READER_BACKWARD_HEAD + _READER_BACKWARD_BODY,
        """    B, T = rel.shape
    Z, V = doc_vals.shape[0], G.shape[1]
    ll = np.zeros((B, Z, T))
    probs = {}
    for b in range(B):
        for t in range(T):
            r = rel[b, t]
            onehot = np.eye(V)[doc_vals[:, r]]                   # (Z, V)
            logits = c[r] * onehot + G[r]                        # (Z, V)
            m = logits.max(axis=1, keepdims=True)
            logp = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
            ll[b, :, t] = logp[:, y[b, t]]
            probs[b, t] = (r, onehot, np.exp(logp))
    return ll, (c.shape[0], V, y, probs)"""
        + _READER_BACKWARD_HEAD
        + """    R, V, y, probs = cache
    dc = np.zeros(R)
    dG = np.zeros((R, V))
    for (b, t), (r, onehot, p) in probs.items():
        target = np.zeros(V)
        target[y[b, t]] = 1.0
        d = dll[b, :, t][:, None] * (target[None, :] - p)       # (Z, V)
        dc[r] += np.sum(d * onehot)
        dG[r] += d.sum(axis=0)
    return {"dc": dc, "dG": dG}""",
    ),
    # RAG-Sequence whose backward recomputes the posterior from the cached inputs, with an
    # explicit max shift instead of the given logsumexp.
    variant(
        "sequence_recomputes_posterior",
        "rag_sequence_code",
        _SEQ_FORWARD_BODY + _SEQ_RETURN + _SEQ_BACKWARD_HEAD + _SEQ_BACKWARD_BODY,
        """    joint = logp_z + np.einsum("bzt->bz", ll)
    top = joint.max(axis=1)
    return -(top + np.log(np.exp(joint - top[:, None]).sum(axis=1))), (logp_z, ll)"""
        + _SEQ_BACKWARD_HEAD
        + """    logp_z, ll = cache
    joint = logp_z + ll.sum(axis=2)
    w = np.exp(joint - joint.max(axis=1, keepdims=True))
    posterior = w / w.sum(axis=1, keepdims=True)                 # (B, Z)
    dlogp_z = -dnll[:, None] * posterior
    dll = np.broadcast_to(dlogp_z[:, :, None], ll.shape).copy()
    return {"dlogp_z": dlogp_z, "dll": dll}""",
    ),
    # RAG-Token as a loop over answer tokens, each a one-token RAG-Sequence.
    variant(
        "token_loop_over_tokens",
        "rag_token_code",
        _TOK_FORWARD_BODY + _TOK_RETURN + _TOK_BACKWARD_HEAD + _TOK_BACKWARD_BODY,
        """    B, Z, T = ll.shape
    nll = np.zeros(B)
    posts = []
    for t in range(T):
        joint = logp_z + ll[:, :, t]                             # (B, Z)
        lm = logsumexp(joint, axis=1)                            # (B,)
        nll -= lm
        posts.append(np.exp(joint - lm[:, None]))
    return nll, posts"""
        + _TOK_BACKWARD_HEAD
        + """    posts = cache
    dll = np.stack([-dnll[:, None] * p for p in posts], axis=2)  # (B, Z, T)
    dlogp_z = np.zeros_like(posts[0])
    for t in range(len(posts)):
        dlogp_z += dll[:, :, t]
    return {"dlogp_z": dlogp_z, "dll": dll}""",
    ),
    # rag_loss with a table of marginals and the mean written as a sum over B.
    variant(
        "rag_loss_table_of_marginals",
        "rag_loss_code",
        _RAG_LOSS_BODY,
        """    marginals = {
        "sequence": (rag_sequence_forward, rag_sequence_backward),
        "token": (rag_token_forward, rag_token_backward),
    }
    forward, backward = marginals[batch["marginal"]]
    logp_z, cache_r = retriever_forward(batch["q"], params["W"], batch["docs"])
    ll, cache_g = reader_forward(
        params["c"], params["G"], batch["doc_vals"], batch["rel"], batch["y"]
    )
    nll, cache_m = forward(logp_z, ll)
    B = len(batch["q"])
    g = backward(np.ones(B) / B, cache_m)
    grads = {"W": retriever_backward(g["dlogp_z"], cache_r)["dW"]}
    grads.update({k[1:]: v for k, v in reader_backward(g["dll"], cache_g).items()})
    return float(nll.sum() / B), grads""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    "sequence_mean_over_tokens": (
        "factor",
        "dll (and rag_loss's c, G): T, T the number of answer tokens (the forward averages ll "
        "over the tokens, the backward sums)",
    ),
    "token_retriever_gradient_averaged_over_tokens": (
        "factor",
        "dlogp_z (and rag_loss's W): 1/T, T the number of answer tokens",
    ),
    "token_prior_split_over_tokens": (
        "factor",
        "dlogp_z (and rag_loss's W): T, T the number of answer tokens (the forward divides "
        "log p(z) by T)",
    ),
    "token_nll_averaged_over_tokens": (
        "factor",
        "dlogp_z, dll (and rag_loss's W, c, G): T, T the number of answer tokens (the nll "
        "averages over the tokens, the backward sums)",
    ),
    "loss_summed_over_the_batch": (
        "factor",
        "W, c, G: 1/B, B the batch size (the loss sums, the gradients average)",
    ),
    "retriever_left_out": ("zero", "W: all zeros (the retriever's gradient left out)"),
}
