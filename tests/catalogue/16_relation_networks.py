"""Wrong implementations of 16_relation_networks that the hidden tests must catch
(test-of-tests), and correct variants in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward_mutant, variant

# ---------------------------------------------------------------- the reference's texts
_PAIRS = """    B, N, D = objects.shape
    Q = question.shape[1]
    first = np.broadcast_to(objects[:, :, None, :], (B, N, N, D))   # o_i along axis 1
    second = np.broadcast_to(objects[:, None, :, :], (B, N, N, D))  # o_j along axis 2
    q = np.broadcast_to(question[:, None, None, :], (B, N, N, Q))
    return np.concatenate([first, second, q], axis=3), (D, Q)       # (B, N, N, 2D + Q)"""

_PAIRS_BWD = """    D, Q = cache
    dobjects = dpairs[..., :D].sum(axis=2) + dpairs[..., D:2 * D].sum(axis=1)  # (B, N, D)
    dquestion = dpairs[..., 2 * D:].sum(axis=(1, 2))                            # (B, Q)
    return {"dobjects": dobjects, "dquestion": dquestion}"""

_LAYER = """    D = objects.shape[2]
    a = objects @ W[:D]                                            # (B, N, H) first object
    c = objects @ W[D:2 * D]                                       # (B, N, H) second object
    e = question @ W[2 * D:] + b                                   # (B, H)
    z = a[:, :, None, :] + c[:, None, :, :] + e[:, None, None, :]  # (B, N, N, H)
    return z, (objects, question, W)"""

_LAYER_BWD = """    objects, question, W = cache
    B, N, D = objects.shape
    H = W.shape[1]
    da = dz.sum(axis=2)                                            # (B, N, H)
    dc = dz.sum(axis=1)                                            # (B, N, H)
    de = dz.sum(axis=(1, 2))                                       # (B, H)
    rows = objects.reshape(B * N, D)
    dW = np.concatenate([rows.T @ da.reshape(B * N, H), rows.T @ dc.reshape(B * N, H),
                         question.T @ de], axis=0)                 # (2D + Q, H)
    dobjects = da @ W[:D].T + dc @ W[D:2 * D].T                    # (B, N, D)
    return {"dobjects": dobjects, "dquestion": de @ W[2 * D:].T, "dW": dW, "db": de.sum(axis=0)}"""

_REL = """    h = np.maximum(z1, 0.0)                                        # (B, N, N, H1)
    u = h @ W2 + b2                                                # (B, N, N, H2)
    r = np.maximum(u, 0.0).sum(axis=(1, 2))                        # (B, H2)
    return r, (z1, h, u, W2)"""

_REL_BWD = """    z1, h, u, W2 = cache
    H1, H2 = W2.shape
    du = dr[:, None, None, :] * (u > 0)                            # (B, N, N, H2)
    dW2 = h.reshape(-1, H1).T @ du.reshape(-1, H2)                 # (H1, H2)
    db2 = du.sum(axis=(0, 1, 2))                                   # (H2,)
    dz1 = (du @ W2.T) * (z1 > 0)                                   # (B, N, N, H1)
    return {"dz1": dz1, "dW2": dW2, "db2": db2}"""

_RN = """    objects, question, answer = batch
    z, pair_cache = pair_layer_forward(objects, question, params["W1"], params["b1"])
    r, rel_cache = relation_forward(z, params["W2"], params["b2"])  # (B, H2)
    v = r @ params["Wf1"] + params["bf1"]                          # (B, F)
    hf = np.maximum(v, 0.0)
    logits = hf @ params["Wf2"] + params["bf2"]                    # (B, N_ANSWERS)
    loss, dlogits = softmax_cross_entropy(logits, answer)
    grads = {"Wf2": hf.T @ dlogits, "bf2": dlogits.sum(axis=0)}
    dv = (dlogits @ params["Wf2"].T) * (v > 0)                     # (B, F)
    grads["Wf1"] = r.T @ dv
    grads["bf1"] = dv.sum(axis=0)
    g = relation_backward(dv @ params["Wf1"].T, rel_cache)
    grads["W2"], grads["b2"] = g["dW2"], g["db2"]
    g = pair_layer_backward(g["dz1"], pair_cache)
    grads["W1"], grads["b1"] = g["dW"], g["db"]
    return loss, grads"""

_MLP = """    objects, question, answer = batch
    x = np.concatenate([objects.reshape(objects.shape[0], -1), question], axis=1)  # (B, ND + Q)
    z1 = x @ params["W1"] + params["b1"]
    h1 = np.maximum(z1, 0.0)                                       # (B, H)
    z2 = h1 @ params["W2"] + params["b2"]
    h2 = np.maximum(z2, 0.0)                                       # (B, H)
    logits = h2 @ params["W3"] + params["b3"]                      # (B, N_ANSWERS)
    loss, dlogits = softmax_cross_entropy(logits, answer)
    grads = {"W3": h2.T @ dlogits, "b3": dlogits.sum(axis=0)}
    dz2 = (dlogits @ params["W3"].T) * (z2 > 0)
    grads["W2"], grads["b2"] = h1.T @ dz2, dz2.sum(axis=0)
    dz1 = (dz2 @ params["W2"].T) * (z1 > 0)
    grads["W1"], grads["b1"] = x.T @ dz1, dz1.sum(axis=0)
    return loss, grads"""

# The text between a forward's body and its backward's body (the backward's signature and
# docstring), as in the source notebook with the markers stripped.
_PAIRS_DOC = """


def all_pairs_backward(dpairs, cache):
    \"""Backward pass of all_pairs_forward.

    Inputs:
        dpairs: (B, N, N, 2D + Q) upstream gradient of the pairs.
        cache: from all_pairs_forward.
    Returns:
        dict with 'dobjects' (B, N, D) and 'dquestion' (B, Q).
    \"""
"""

_LAYER_DOC = """


def pair_layer_backward(dz, cache):
    \"""Backward pass of pair_layer_forward.

    Inputs:
        dz: (B, N, N, H) upstream gradient of z.
        cache: from pair_layer_forward.
    Returns:
        dict with 'dobjects' (B, N, D), 'dquestion' (B, Q), 'dW' (2D + Q, H), 'db' (H,).
    \"""
"""

_REL_DOC = """


def relation_backward(dr, cache):
    \"""Backward pass of relation_forward (the ReLU passes the gradient where its input is > 0).

    Inputs:
        dr: (B, H2) upstream gradient of r.
        cache: from relation_forward.
    Returns:
        dict with 'dz1' (B, N, N, H1), 'dW2' (H1, H2), 'db2' (H2,).
    \"""
"""

# ---------------------------------------------------------------- test names
_PAIR_GRADS = [f"all_pairs_backward_gradcheck[{g}]" for g in ("dobjects", "dquestion")]
_LAYER_GRADS = [
    f"pair_layer_backward_gradcheck[{g}]" for g in ("dobjects", "dquestion", "dW", "db")
]
_REL_FWD = [f"relation_forward_matches_reference[{c}]" for c in ("B2_N3", "one_object_N1")]
_REL_GRADS = [f"relation_backward_gradcheck[{g}]" for g in ("dz1", "dW2", "db2")]
_RN_GRADS = [f"rn_loss_gradcheck[{g}]" for g in ("g", "f")]
_RN_TRAIN = ["rn_loss_trains_like_reference", "rn_loss_learns_the_shape_question"]
_MLP_GRADS = [f"mlp_loss_gradcheck[{g}]" for g in ("hidden", "readout")]

MUTANTS = [
    # ------------------------------------------------------------ all_pairs
    # The backward forgets that each object is also copied into the second slot of the pairs.
    mutant(
        "pairs_backward_second_slot_missing",
        "all_pairs_code",
        "    dobjects = dpairs[..., :D].sum(axis=2) + dpairs[..., D:2 * D].sum(axis=1)",
        "    dobjects = dpairs[..., :D].sum(axis=2)",
        _PAIR_GRADS[0],
        "all_pairs_backward_fast",
        "pair_layer_equals_explicit_pairs",
    ),
    # The two slots of the pair exchanged in the forward (pairs[b, i, j] = [o_j, o_i, q]); the
    # backward still sums as if they were not.
    mutant(
        "pairs_slots_exchanged",
        "all_pairs_code",
        "    first = np.broadcast_to(objects[:, :, None, :], (B, N, N, D))   # o_i along axis 1\n"
        "    second = np.broadcast_to(objects[:, None, :, :], (B, N, N, D))  # o_j along axis 2",
        "    first = np.broadcast_to(objects[:, None, :, :], (B, N, N, D))\n"
        "    second = np.broadcast_to(objects[:, :, None, :], (B, N, N, D))",
        "all_pairs_forward_matches_reference[B2_N4]",
        _PAIR_GRADS[0],
        "all_pairs_backward_fast",
        "pair_layer_equals_explicit_pairs",
    ),
    # The question put first in each pair ([q, o_i, o_j]); the backward still reads the blocks
    # in the notebook's order.
    mutant(
        "pairs_question_first",
        "all_pairs_code",
        "    return np.concatenate([first, second, q], axis=3), (D, Q)",
        "    return np.concatenate([q, first, second], axis=3), (D, Q)",
        "all_pairs_forward_matches_reference[B2_N4]",
        "all_pairs_forward_matches_reference[one_object_N1]",
        *_PAIR_GRADS,
        "all_pairs_backward_fast",
        "pair_layer_equals_explicit_pairs",
    ),
    # Unordered pairs (the "combinations" reading): the pairs with j <= i left at zero.
    mutant(
        "pairs_upper_triangle_only",
        "all_pairs_code",
        "    return np.concatenate([first, second, q], axis=3), (D, Q)",
        "    upper = np.triu(np.ones((N, N)), 1)[None, :, :, None]\n"
        "    return np.concatenate([first, second, q], axis=3) * upper, (D, Q)",
        "all_pairs_forward_matches_reference[B2_N4]",
        "all_pairs_forward_matches_reference[one_object_N1]",
        "all_pairs_permuting_objects_permutes_the_grid",
        *_PAIR_GRADS,
        "all_pairs_backward_fast",
        "pair_layer_equals_explicit_pairs",
    ),
    # ------------------------------------------------------------ pair_layer
    # The question's gradient averaged over the pairs instead of summed (it feeds every pair).
    mutant(
        "layer_question_gradient_averaged",
        "pair_layer_code",
        "    de = dz.sum(axis=(1, 2))                                       # (B, H)",
        "    de = dz.mean(axis=(1, 2))                                      # (B, H)",
        *_LAYER_GRADS[1:],
        "pair_layer_equals_explicit_pairs",
        "pair_layer_backward_fast",
        _RN_GRADS[0],
        _RN_TRAIN[0],
        "rn_loss_fast",
    ),
    # The gradients of the two object blocks of W exchanged (W_a's from the second slot).
    mutant(
        "layer_object_blocks_exchanged",
        "pair_layer_code",
        "    dW = np.concatenate([rows.T @ da.reshape(B * N, H), rows.T @ dc.reshape(B * N, H),",
        "    dW = np.concatenate([rows.T @ dc.reshape(B * N, H), rows.T @ da.reshape(B * N, H),",
        _LAYER_GRADS[2],
        "pair_layer_equals_explicit_pairs",
        "pair_layer_backward_fast",
        _RN_GRADS[0],
        _RN_TRAIN[0],
        "rn_loss_fast",
    ),
    # The second object multiplied by the first object's block of W as well (W_b never used);
    # the backward is the notebook's.
    mutant(
        "layer_first_block_for_both_objects",
        "pair_layer_code",
        "    c = objects @ W[D:2 * D]  ",
        "    c = objects @ W[:D]       ",
        "pair_layer_forward_matches_reference[B2_N4]",
        "pair_layer_forward_matches_reference[one_object_N1]",
        _LAYER_GRADS[0],
        _LAYER_GRADS[2],
        "pair_layer_equals_explicit_pairs",
        "pair_layer_backward_fast",
        "rn_loss_value_matches_reference",
        _RN_GRADS[0],
        *_RN_TRAIN,
        "rn_loss_fast",
    ),
    # ------------------------------------------------------------ relation
    # A backward by centred differences through the forward (tests/mutants.py), b2 recovered
    # from the cache. Accurate to ~1e-10 away from the kink, it passes every gradient check;
    # the kink test and the time budgets catch it, and so does the training run (its first
    # step already takes far over the 10 s a call may take, idle or loaded). Its gradients also
    # move with the order of the objects by more than the invariance test's 1e-10 relative
    # (the rounding of centred differences; deterministic).
    numerical_backward_mutant(
        "relation_numerical_backward",
        "relation_code",
        "    z1, h, u, W2 = cache\n",
        """    b2 = u[0, 0, 0] - h[0, 0, 0] @ W2
    args = {"z1": z1.copy(), "W2": W2.copy(), "b2": b2}""",
        "np.sum(relation_forward(**args)[0] * dr)",
        catches=[
            "relation_backward_at_kinks",
            "relation_backward_fast",
            "rn_loss_is_invariant_to_the_order_of_objects",
            *_RN_TRAIN,
            "rn_loss_fast",
        ],
    ),
    # The first layer's ReLU forgotten in the backward.
    mutant(
        "relation_first_relu_mask_missing",
        "relation_code",
        "    dz1 = (du @ W2.T) * (z1 > 0)                                   # (B, N, N, H1)",
        "    dz1 = du @ W2.T                                                # (B, N, N, H1)",
        _REL_GRADS[0],
        "relation_backward_at_kinks",
        "relation_backward_fast",
        _RN_GRADS[0],
        _RN_TRAIN[0],
        "rn_loss_fast",
    ),
    # The mean over the pairs instead of the paper's sum, in the forward only.
    mutant(
        "relation_mean_over_pairs",
        "relation_code",
        "    r = np.maximum(u, 0.0).sum(axis=(1, 2))                        # (B, H2)",
        "    r = np.maximum(u, 0.0).mean(axis=(1, 2))                       # (B, H2)",
        _REL_FWD[0],
        "relation_is_a_sum_over_pairs",
        *_REL_GRADS,
        "relation_backward_at_kinks",
        "relation_backward_fast",
        "rn_loss_value_matches_reference",
        _RN_GRADS[0],
        *_RN_TRAIN,
        "rn_loss_fast",
    ),
    # Unordered pairs: only i < j summed (self-pairs and (j, i) dropped), in the forward only.
    mutant(
        "relation_upper_triangle_only",
        "relation_code",
        "    r = np.maximum(u, 0.0).sum(axis=(1, 2))                        # (B, H2)",
        "    upper = np.triu(np.ones(u.shape[1:3]), 1)[:, :, None]\n"
        "    r = (np.maximum(u, 0.0) * upper).sum(axis=(1, 2))",
        *_REL_FWD,
        "relation_is_a_sum_over_pairs",
        *_REL_GRADS,
        "relation_backward_at_kinks",
        "relation_backward_fast",
        "rn_loss_value_matches_reference",
        _RN_GRADS[0],
        "rn_loss_is_invariant_to_the_order_of_objects",
        _RN_TRAIN[0],
        "rn_loss_fast",
    ),
    # ------------------------------------------------------------ rn_loss
    # f's ReLU forgotten in the backward.
    mutant(
        "rn_f_relu_mask_missing",
        "rn_loss_code",
        '    dv = (dlogits @ params["Wf2"].T) * (v > 0)                     # (B, F)',
        '    dv = dlogits @ params["Wf2"].T                                 # (B, F)',
        *_RN_GRADS,
        _RN_TRAIN[0],
        "rn_loss_fast",
    ),
    # ------------------------------------------------------------ mlp_loss
    # The first layer's bias gradient averaged over the batch (the 1/B counted twice).
    mutant(
        "mlp_first_bias_batch_mean",
        "mlp_loss_code",
        '    grads["W1"], grads["b1"] = x.T @ dz1, dz1.sum(axis=0)',
        '    grads["W1"], grads["b1"] = x.T @ dz1, dz1.mean(axis=0)',
        _MLP_GRADS[0],
        "mlp_loss_examples_are_independent",
        "mlp_loss_fast",
    ),
    # The objects flattened feature by feature instead of object by object (wrong axis order).
    mutant(
        "mlp_objects_flattened_by_feature",
        "mlp_loss_code",
        "    x = np.concatenate([objects.reshape(objects.shape[0], -1), question], axis=1)",
        "    x = np.concatenate([objects.transpose(0, 2, 1).reshape(objects.shape[0], -1),"
        " question], axis=1)",
        "mlp_loss_value_matches_reference",
        "mlp_loss_fast",
    ),
    # The readout's weight gradient taken with the pre-activations instead of the ReLU's output.
    mutant(
        "mlp_readout_gradient_of_preactivation",
        "mlp_loss_code",
        '    grads = {"W3": h2.T @ dlogits, "b3": dlogits.sum(axis=0)}',
        '    grads = {"W3": z2.T @ dlogits, "b3": dlogits.sum(axis=0)}',
        _MLP_GRADS[1],
        "mlp_loss_fast",
    ),
]

VARIANTS = [
    # Python loops over the pairs, forward and backward; the cache keeps the inputs' shapes.
    variant(
        "pairs_loops",
        "all_pairs_code",
        _PAIRS + _PAIRS_DOC + _PAIRS_BWD,
        """    B, N, D = objects.shape
    Q = question.shape[1]
    pairs = np.zeros((B, N, N, 2 * D + Q))
    for i in range(N):
        for j in range(N):
            pairs[:, i, j, :D] = objects[:, i]
            pairs[:, i, j, D:2 * D] = objects[:, j]
            pairs[:, i, j, 2 * D:] = question
    return pairs, {"shapes": (objects.shape, question.shape)}"""
        + _PAIRS_DOC
        + """    (B, N, D), (_, Q) = cache["shapes"]
    dobjects = np.zeros((B, N, D))
    dquestion = np.zeros((B, Q))
    for i in range(N):
        for j in range(N):
            dobjects[:, i] += dpairs[:, i, j, :D]
            dobjects[:, j] += dpairs[:, i, j, D:2 * D]
            dquestion += dpairs[:, i, j, 2 * D:]
    return {"dobjects": dobjects, "dquestion": dquestion}""",
    ),
    # The explicit route: build the pairs, multiply, and differentiate through the pairs.
    variant(
        "layer_explicit_pairs",
        "pair_layer_code",
        _LAYER + _LAYER_DOC + _LAYER_BWD,
        """    B, N, D = objects.shape
    pairs = np.concatenate([np.repeat(objects[:, :, None, :], N, axis=2),
                            np.repeat(objects[:, None, :, :], N, axis=1),
                            np.repeat(np.repeat(question[:, None, None, :], N, axis=1), N, axis=2)],
                           axis=3)
    z = np.einsum("bijk,kh->bijh", pairs, W) + b
    return z, {"pairs": pairs, "W": W, "D": D}"""
        + _LAYER_DOC
        + """    pairs, W, D = cache["pairs"], cache["W"], cache["D"]
    dpairs = np.einsum("bijh,kh->bijk", dz, W)
    return {"dobjects": dpairs[..., :D].sum(axis=2) + dpairs[..., D:2 * D].sum(axis=1),
            "dquestion": dpairs[..., 2 * D:].sum(axis=(1, 2)),
            "dW": np.einsum("bijk,bijh->kh", pairs, dz),
            "db": np.einsum("bijh->h", dz)}""",
    ),
    # einsum throughout; the backward recomputes h from z1 (another cache layout).
    variant(
        "relation_einsum_recompute",
        "relation_code",
        _REL + _REL_DOC + _REL_BWD,
        """    u = np.einsum("bijk,kh->bijh", np.where(z1 > 0, z1, 0.0), W2) + b2
    r = np.einsum("bijh->bh", np.where(u > 0, u, 0.0))
    return r, {"z1": z1, "W2": W2, "mask_u": u > 0}"""
        + _REL_DOC
        + """    z1, W2, mask_u = cache["z1"], cache["W2"], cache["mask_u"]
    h = np.where(z1 > 0, z1, 0.0)
    du = np.where(mask_u, dr[:, None, None, :], 0.0)
    return {"dz1": np.where(z1 > 0, np.einsum("bijh,kh->bijk", du, W2), 0.0),
            "dW2": np.einsum("bijk,bijh->kh", h, du),
            "db2": np.einsum("bijh->h", du)}""",
    ),
    # Its own log-softmax and one-hot targets; f's gradients written per layer in a loop.
    variant(
        "rn_own_softmax",
        "rn_loss_code",
        _RN,
        """    objects, question, answer = batch
    B = objects.shape[0]
    z, c1 = pair_layer_forward(objects, question, params["W1"], params["b1"])
    r, c2 = relation_forward(z, params["W2"], params["b2"])
    acts = [r]
    pre = r @ params["Wf1"] + params["bf1"]
    acts.append(np.where(pre > 0, pre, 0.0))
    s = acts[1] @ params["Wf2"] + params["bf2"]
    s = s - s.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    onehot = np.zeros_like(logp)
    onehot[np.arange(B), answer] = 1.0
    loss = -np.sum(onehot * logp) / B
    d = (np.exp(logp) - onehot) / B
    grads = {}
    for k, (W, bias) in ((1, ("Wf2", "bf2")), (0, ("Wf1", "bf1"))):
        grads[W] = acts[k].T @ d
        grads[bias] = d.sum(axis=0)
        d = d @ params[W].T
        if k == 1:
            d = d * (pre > 0)
    g2 = relation_backward(d, c2)
    g1 = pair_layer_backward(g2["dz1"], c1)
    grads.update(W2=g2["dW2"], b2=g2["db2"], W1=g1["dW"], b1=g1["db"])
    return float(loss), grads""",
    ),
    # The three layers in a loop, einsum products, the objects flattened with np.stack.
    variant(
        "mlp_layer_loop",
        "mlp_loss_code",
        _MLP,
        """    objects, question, answer = batch
    B, N, D = objects.shape
    x = np.concatenate([objects[:, k] for k in range(N)] + [question], axis=1)
    names = [("W1", "b1"), ("W2", "b2"), ("W3", "b3")]
    inputs, pres = [], []
    a = x
    for k, (W, bias) in enumerate(names):
        inputs.append(a)
        pre = np.einsum("bi,io->bo", a, params[W]) + params[bias]
        pres.append(pre)
        a = np.maximum(pre, 0.0) if k < 2 else pre
    loss, d = softmax_cross_entropy(a, answer)
    grads = {}
    for k in (2, 1, 0):
        W, bias = names[k]
        if k < 2:
            d = d * (pres[k] > 0)
        grads[W] = np.einsum("bi,bo->io", inputs[k], d)
        grads[bias] = d.sum(axis=0)
        d = d @ params[W].T
    return loss, grads""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): the class of the error in the gradient of the
#: function the mutant edits, and the factor, axis or tensor it concerns. Mutants not listed are
#: of class "other".
#: (layer_question_gradient_averaged: dW is scaled only on its question rows.)
BUG_CLASSES = {
    "layer_object_blocks_exchanged": (
        "slices",
        "dW (W1): right on the question rows 2D: (axis 0); object blocks :D, D:2D exchanged",
    ),
    "relation_mean_over_pairs": (
        "factor",
        "dz1, dW2, db2 (W1, b1, W2, b2 of rn_loss): N^2, N the number of objects",
    ),
    "mlp_first_bias_batch_mean": ("factor", "b1: 1/B, B the batch size"),
    "layer_question_gradient_averaged": (
        "factor",
        "dquestion and db: 1/N^2, N the number of objects",
    ),
}
