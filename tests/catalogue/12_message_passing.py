"""Wrong implementations of 12_message_passing that the hidden tests must catch
(test-of-tests), and correct variants in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward_mutant, variant

# ---------------------------------------------------------------- the reference's texts
_MSG_FWD_BODY = """\
    z = np.einsum("bwi,kij->bwkj", h, W)                            # (B, N, K, D)
    m = np.einsum("bvwk,bwkj->bvj", e, z)                           # (B, N, D)
    return m, (h, e, W, z)"""

_MSG_BWD_BODY = """    h, e, W, z = cache
    dz = np.einsum("bvwk,bvj->bwkj", e, dm)                         # (B, N, K, D)
    de = np.einsum("bvj,bwkj->bvwk", dm, z)                         # (B, N, N, K)
    dh = np.einsum("bwkj,kij->bwi", dz, W)                          # (B, N, D)
    dW = np.einsum("bwi,bwkj->kij", h, dz)                          # (K, D, D)
    return {"dh": dh, "de": de, "dW": dW}"""

_UPD_FWD_BODY = """    t = np.tanh(h @ U + m + c)                                      # (B, N, D)
    h_new = t * mask[:, :, None]                                    # (B, N, D)
    return h_new, (h, U, t, mask)"""

_UPD_BWD_BODY = """    h, U, t, mask = cache
    da = dh_new * mask[:, :, None] * (1.0 - t**2)                   # (B, N, D)
    dU = np.einsum("bni,bnj->ij", h, da)                            # (D, D)
    return {"dh": da @ U.T, "dm": da, "dU": dU, "dc": da.sum(axis=(0, 1))}"""

_RO_FWD_BODY = """    g = np.einsum("bn,bnd->bd", mask, h)                            # (B, D)
    return g @ W_r + b_r, (g, mask, W_r)"""

_RO_BWD_BODY = """    g, mask, W_r = cache
    dg = dr @ W_r.T                                                 # (B, D)
    dh = mask[:, :, None] * dg[:, None, :]                          # (B, N, D)
    return {"dh": dh, "dW_r": g.T @ dr, "db_r": dr.sum(axis=0)}"""

_LOSS_STEPS = """    h = x @ params["W_in"]                                          # (B, N, D)
    caches = []
    for _ in range(T):
        m, message_cache = message_forward(h, e, params["W_msg"])
        h, update_cache = update_forward(h, m, params["U"], params["c"], mask)
        caches.append((message_cache, update_cache))"""

_LOSS_BACK = """    dh = dy_hat @ params["W_out"].T                                 # (B, N, D)
    for message_cache, update_cache in reversed(caches):
        gu = update_backward(dh, update_cache)
        gm = message_backward(gu["dm"], message_cache)
        grads["U"] += gu["dU"]
        grads["c"] += gu["dc"]
        grads["W_msg"] += gm["dW"]
        dh = gu["dh"] + gm["dh"]                                    # both paths into h^t
    grads["W_in"] = np.einsum("bnt,bnd->td", x, dh)                 # (3, D)"""

_MSG_BWD_DOC = '''


def message_backward(dm, cache):
    """Backward pass of message_forward.

    Inputs:
        dm: (B, N, D) upstream gradient.
        cache: from message_forward.
    Returns:
        dict with 'dh': (B, N, D), 'de': (B, N, N, K), 'dW': (K, D, D).
    """
'''

_UPD_BWD_DOC = '''


def update_backward(dh_new, cache):
    """Backward pass of update_forward.

    Inputs:
        dh_new: (B, N, D) upstream gradient.
        cache: from update_forward.
    Returns:
        dict with 'dh': (B, N, D), 'dm': (B, N, D), 'dU': (D, D), 'dc': (D,).
    """
'''

_RO_BWD_DOC = '''


def readout_backward(dr, cache):
    """Backward pass of readout_forward.

    Inputs:
        dr: (B, P) upstream gradient.
        cache: from readout_forward.
    Returns:
        dict with 'dh': (B, N, D), 'dW_r': (D, P), 'db_r': (P,).
    """
'''

_MSG_BODIES = _MSG_FWD_BODY + _MSG_BWD_DOC + _MSG_BWD_BODY
_UPD_BODIES = _UPD_FWD_BODY + _UPD_BWD_DOC + _UPD_BWD_BODY
_RO_BODIES = _RO_FWD_BODY + _RO_BWD_DOC + _RO_BWD_BODY

# ---------------------------------------------------------------- test names
_MSG_FWD = [
    f"message_forward_matches_reference[{c}]"
    for c in ("directed_dense", "symmetric_K3", "one_graph_one_type")
]
_MSG_GRADS = [f"message_backward_gradcheck[{g}]" for g in ("dh", "de", "dW")]
_UPD_FWD = [f"update_forward_matches_reference[{c}]" for c in ("scattered_padding", "one_graph")]
_UPD_GRADS = [f"update_backward_gradcheck[{g}]" for g in ("dh", "dm", "dU", "dc")]
_RO_FWD = [f"readout_forward_matches_reference[{c}]" for c in ("scattered_padding", "one_output")]
_RO_GRADS = [f"readout_backward_gradcheck[{g}]" for g in ("dh", "dW_r", "db_r")]
_LOSS_VALUE = [f"mpnn_loss_value_matches_reference[{T}]" for T in (0, 3)]
_LOSS_GRADS = [f"mpnn_loss_gradcheck[{p}]" for p in ("W_in", "W_msg", "U", "c", "W_out", "b_out")]
_RF = [f"mpnn_receptive_field_is_T_hops[{T}]" for T in (1, 2, 3)]
_TRAIN = "mpnn_loss_trains_like_reference"
_LOSS_FAST = "mpnn_loss_fast"

MUTANTS = [
    # ------------------------------------------------------------ message
    # A backward by centred differences through the forward (tests/mutants.py): accurate to
    # ~1e-10, it passes every gradient check; only the time budgets catch it (mpnn_loss calls it
    # at every step, so that one's budget too).
    numerical_backward_mutant(
        "message_numerical_backward",
        "message_code",
        "    h, e, W, z = cache\n",
        '    args = {"h": h.copy(), "W": W.copy()}',
        'np.sum(message_forward(args["h"], e, args["W"])[0] * dm)',
        grads='{"de": np.einsum("bvj,bwkj->bvwk", dm, z)}',
        # Not the training test: whether its 30 steps overrun the time limit depends on the
        # machine's load.
        catches=["message_backward_fast", _LOSS_FAST],
    ),
    # The per-type messages computed as (B, K, N, D) and reshaped instead of transposed to
    # (B, N, K, D): nodes and bond types get mixed up.
    mutant(
        "message_reshape_not_transpose",
        "message_code",
        '    z = np.einsum("bwi,kij->bwkj", h, W)                            # (B, N, K, D)',
        '    z = np.einsum("bwi,kij->bkwj", h, W).reshape(h.shape[0], h.shape[1], W.shape[0], -1)',
        "message_forward_matches_reference[directed_dense]",
        "message_forward_matches_reference[symmetric_K3]",
        "message_backward_gradcheck[dh]",
        "message_backward_gradcheck[dW]",
        "message_is_permutation_equivariant",
        "message_backward_fast",
        "mpnn_loss_value_matches_reference[3]",
        "mpnn_loss_gradcheck[W_in]",
        "mpnn_loss_gradcheck[W_msg]",
        "mpnn_loss_gradcheck[U]",
        "mpnn_loss_gradcheck[c]",
        *_RF,
        _TRAIN,
        _LOSS_FAST,
    ),
    # The message uses the receiver's own state instead of the sender's.
    mutant(
        "message_from_receiver",
        "message_code",
        '    m = np.einsum("bvwk,bwkj->bvj", e, z)                           # (B, N, D)',
        '    m = np.einsum("bvwk,bvkj->bvj", e, z)                           # (B, N, D)',
        *_MSG_FWD,
        *_MSG_GRADS,
        "message_backward_fast",
        "mpnn_loss_value_matches_reference[3]",
        "mpnn_loss_gradcheck[W_in]",
        "mpnn_loss_gradcheck[W_msg]",
        "mpnn_loss_gradcheck[U]",
        "mpnn_loss_gradcheck[c]",
        *_RF,
        _TRAIN,
        _LOSS_FAST,
    ),
    # Messages summed over the receivers instead of the senders (e's node axes swapped):
    # invisible while e is symmetric, wrong for a directed graph.
    mutant(
        "message_edges_transposed",
        "message_code",
        '    m = np.einsum("bvwk,bwkj->bvj", e, z)                           # (B, N, D)',
        '    m = np.einsum("bwvk,bwkj->bvj", e, z)                           # (B, N, D)',
        "message_forward_matches_reference[directed_dense]",
        "message_forward_matches_reference[one_graph_one_type]",
        *_MSG_GRADS,
        "message_backward_fast",
    ),
    # dW transposed.
    mutant(
        "message_dW_transposed",
        "message_code",
        '    dW = np.einsum("bwi,bwkj->kij", h, dz)                          # (K, D, D)',
        '    dW = np.einsum("bwi,bwkj->kji", h, dz)                          # (K, D, D)',
        "message_backward_gradcheck[dW]",
        "message_backward_fast",
        "mpnn_loss_gradcheck[W_msg]",
        _TRAIN,
        _LOSS_FAST,
    ),
    # The receivers' upstreams not summed: dz takes only the receiver with the same index.
    mutant(
        "message_dz_from_diagonal",
        "message_code",
        '    dz = np.einsum("bvwk,bvj->bwkj", e, dm)                         # (B, N, K, D)',
        '    dz = np.einsum("bwwk,bwj->bwkj", e, dm)                         # (B, N, K, D)',
        "message_backward_gradcheck[dh]",
        "message_backward_gradcheck[dW]",
        "message_backward_fast",
        "mpnn_loss_gradcheck[W_in]",
        "mpnn_loss_gradcheck[W_msg]",
        "mpnn_loss_gradcheck[U]",
        "mpnn_loss_gradcheck[c]",
        _TRAIN,
        _LOSS_FAST,
    ),
    # ------------------------------------------------------------ update
    # The mask forgotten in the forward: padded nodes become tanh(c), ghost atoms.
    mutant(
        "update_mask_forgotten",
        "update_code",
        "    h_new = t * mask[:, :, None]                                    # (B, N, D)",
        "    h_new = t                                                       # (B, N, D)",
        *_UPD_FWD,
        "update_zeroes_padded_nodes",
        *_UPD_GRADS,
        "update_backward_fast",
    ),
    # The derivative of tanh written as 1 - t instead of 1 - t^2.
    mutant(
        "update_tanh_derivative_wrong",
        "update_code",
        "    da = dh_new * mask[:, :, None] * (1.0 - t**2)                   # (B, N, D)",
        "    da = dh_new * mask[:, :, None] * (1.0 - t)                      # (B, N, D)",
        *_UPD_GRADS,
        "update_backward_fast",
        "mpnn_loss_gradcheck[W_in]",
        "mpnn_loss_gradcheck[W_msg]",
        "mpnn_loss_gradcheck[U]",
        "mpnn_loss_gradcheck[c]",
        _TRAIN,
        _LOSS_FAST,
    ),
    # dU as da^T h (transposed).
    mutant(
        "update_dU_transposed",
        "update_code",
        '    dU = np.einsum("bni,bnj->ij", h, da)                            # (D, D)',
        '    dU = np.einsum("bni,bnj->ji", h, da)                            # (D, D)',
        "update_backward_gradcheck[dU]",
        "update_backward_fast",
        "mpnn_loss_gradcheck[U]",
        _TRAIN,
        _LOSS_FAST,
    ),
    # dc averaged over the nodes instead of summed. (Adam's step does not change when one
    # parameter's gradient is scaled by a constant, so the training curve cannot see it.)
    mutant(
        "update_dc_mean_not_sum",
        "update_code",
        '"dc": da.sum(axis=(0, 1))}',
        '"dc": da.mean(axis=(0, 1))}',
        "update_backward_gradcheck[dc]",
        "update_backward_fast",
        "mpnn_loss_gradcheck[c]",
        _LOSS_FAST,
    ),
    # ------------------------------------------------------------ readout
    # The mask ignored: padded nodes counted in the sum.
    mutant(
        "readout_mask_ignored",
        "readout_code",
        '    g = np.einsum("bn,bnd->bd", mask, h)                            # (B, D)',
        "    g = h.sum(axis=1)                                               # (B, D)",
        *_RO_FWD,
        "readout_invariant_to_order_and_padding",
        "readout_backward_gradcheck[dh]",
        "readout_backward_fast",
    ),
    # A mean over the real nodes in the forward, the backward left for a sum.
    mutant(
        "readout_mean_in_forward_only",
        "readout_code",
        '    g = np.einsum("bn,bnd->bd", mask, h)                            # (B, D)',
        '    g = np.einsum("bn,bnd->bd", mask, h) / mask.sum(axis=1, keepdims=True)',
        *_RO_FWD,
        "readout_backward_gradcheck[dh]",
        "readout_backward_fast",
    ),
    # db_r not summed over the graphs (the first graph's only).
    mutant(
        "readout_db_first_graph",
        "readout_code",
        '"db_r": dr.sum(axis=0)}',
        '"db_r": dr[0]}',
        "readout_backward_gradcheck[db_r]",
        "readout_backward_fast",
    ),
    # dW_r averaged over the graphs instead of summed.
    mutant(
        "readout_dW_batch_mean",
        "readout_code",
        '"dW_r": g.T @ dr,',
        '"dW_r": g.T @ dr / len(dr),',
        "readout_backward_gradcheck[dW_r]",
        "readout_backward_fast",
    ),
    # ------------------------------------------------------------ mpnn_loss
    # The factor 2 of the square forgotten in the gradient of the loss (every gradient halved:
    # Adam's steps do not change, so only the gradient checks see it).
    mutant(
        "loss_gradient_missing_factor_2",
        "mpnn_loss_code",
        "    dy_hat = 2.0 * resid / n                                        # (B, N, P)",
        "    dy_hat = resid / n                                              # (B, N, P)",
        *_LOSS_GRADS,
        _LOSS_FAST,
    ),
    # The tied weights' gradients overwritten at every step instead of accumulated.
    mutant(
        "loss_tied_gradients_overwritten",
        "mpnn_loss_code",
        '        grads["U"] += gu["dU"]\n        grads["c"] += gu["dc"]\n'
        '        grads["W_msg"] += gm["dW"]',
        '        grads["U"] = gu["dU"]\n        grads["c"] = gu["dc"]\n'
        '        grads["W_msg"] = gm["dW"]',
        "mpnn_loss_gradcheck[W_msg]",
        "mpnn_loss_gradcheck[U]",
        "mpnn_loss_gradcheck[c]",
        _TRAIN,
        _LOSS_FAST,
    ),
    # Only the update's path back into h^t (the message path forgotten).
    mutant(
        "loss_message_path_forgotten",
        "mpnn_loss_code",
        '        dh = gu["dh"] + gm["dh"]                                    # both paths into h^t',
        '        dh = gu["dh"]                                               # both paths into h^t',
        "mpnn_loss_gradcheck[W_in]",
        "mpnn_loss_gradcheck[W_msg]",
        "mpnn_loss_gradcheck[U]",
        "mpnn_loss_gradcheck[c]",
        _TRAIN,
        _LOSS_FAST,
    ),
    # One step fewer than asked (an off-by-one in the loop).
    mutant(
        "loss_one_step_fewer",
        "mpnn_loss_code",
        "    for _ in range(T):\n        m, message_cache",
        "    for _ in range(max(T - 1, 0)):\n        m, message_cache",
        "mpnn_loss_value_matches_reference[3]",
        *_RF,
        _TRAIN,
        _LOSS_FAST,
    ),
    # The squared error averaged over every node, padded ones included.
    mutant(
        "loss_mean_over_padded_nodes",
        "mpnn_loss_code",
        "    n = mask.sum() * y.shape[2]",
        "    n = y.size",
        *_LOSS_VALUE,
        _TRAIN,
        _LOSS_FAST,
    ),
]

VARIANTS = [
    # A loop over the bond types, one batched matrix product each; only the inputs cached.
    variant(
        "message_loop_over_types",
        "message_code",
        _MSG_BODIES,
        """    m = np.zeros_like(h)
    for k in range(W.shape[0]):
        m += (e[..., k] @ h) @ W[k]                 # (B, N, N) @ (B, N, D) @ (D, D)
    return m, (h, e, W)"""
        + _MSG_BWD_DOC
        + """    h, e, W = cache
    dh, dW = np.zeros_like(h), np.zeros_like(W)
    de = np.zeros_like(e)
    for k in range(W.shape[0]):
        hw = h @ W[k]                                               # (B, N, D)
        de[..., k] = dm @ hw.transpose(0, 2, 1)                     # (B, N, N)
        s = e[..., k].transpose(0, 2, 1) @ dm                       # (B, N, D)
        dh += s @ W[k].T
        dW[k] = np.einsum("bni,bnj->ij", h, s)
    return {"dh": dh, "de": de, "dW": dW}""",
    ),
    # Python loops over the graphs and the receivers, vectorised over the senders.
    variant(
        "message_loops",
        "message_code",
        _MSG_BODIES,
        """    B, N, D = h.shape
    m = np.zeros((B, N, W.shape[2]))
    for b in range(B):
        for v in range(N):
            m[b, v] = np.einsum("wk,wi,kij->j", e[b, v], h[b], W)   # (D,)
    return m, (h, e, W)"""
        + _MSG_BWD_DOC
        + """    h, e, W = cache
    B, N, D = h.shape
    dh, de, dW = np.zeros_like(h), np.zeros_like(e), np.zeros_like(W)
    for b in range(B):
        z = np.einsum("wi,kij->wkj", h[b], W)                       # (N, K, D)
        for v in range(N):
            de[b, v] = z @ dm[b, v]                                 # (N, K)
            dh[b] += np.einsum("wk,kij,j->wi", e[b, v], W, dm[b, v])
            dW += np.einsum("wk,wi,j->kij", e[b, v], h[b], dm[b, v])
    return {"dh": dh, "de": de, "dW": dW}""",
    ),
    # The pre-activation cached, tanh recomputed in the backward; gradients by einsum.
    variant(
        "update_cache_preactivation",
        "update_code",
        _UPD_BODIES,
        """    a = np.einsum("bni,ij->bnj", h, U) + m + c[None, None, :]      # (B, N, D)
    return np.where(mask[:, :, None] > 0, np.tanh(a), 0.0), (a, h, U, mask)"""
        + _UPD_BWD_DOC
        + """    a, h, U, mask = cache
    da = np.where(mask[:, :, None] > 0, dh_new / np.cosh(a) ** 2, 0.0)
    return {
        "dh": np.einsum("bnj,ij->bni", da, U),
        "dm": da,
        "dU": h.reshape(-1, h.shape[2]).T @ da.reshape(-1, da.shape[2]),
        "dc": np.einsum("bnj->j", da),
    }""",
    ),
    # The masked states cached; the pooled vector recomputed in the backward.
    variant(
        "readout_recompute",
        "readout_code",
        _RO_BODIES,
        """    hm = h * mask[:, :, None]                                       # (B, N, D)
    return hm.sum(axis=1) @ W_r + b_r, (hm, mask, W_r)"""
        + _RO_BWD_DOC
        + """    hm, mask, W_r = cache
    dh = np.einsum("bp,dp,bn->bnd", dr, W_r, mask)
    return {"dh": dh, "dW_r": np.einsum("bnd,bp->dp", hm, dr), "db_r": np.ones(len(dr)) @ dr}""",
    ),
    # The states of every step kept in a list; the backward walks the list; the residual
    # computed with np.where.
    variant(
        "loss_list_of_states",
        "mpnn_loss_code",
        _LOSS_STEPS,
        """    hs = [x @ params["W_in"]]
    caches = []
    for t in range(T):
        m, message_cache = message_forward(hs[-1], e, params["W_msg"])
        h_next, update_cache = update_forward(hs[-1], m, params["U"], params["c"], mask)
        hs.append(h_next)
        caches.append((message_cache, update_cache))
    h = hs[-1]""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
#: (update_mask_forgotten is "other": dh and dm are 0 at the padded nodes, but dU and dc lose
#: the padded nodes' share of a sum.)
BUG_CLASSES = {
    "message_dW_transposed": ("transpose", "dW (W_msg): each bond type's (D, D) block transposed"),
    "update_dU_transposed": ("transpose", "dU (U)"),
    "update_dc_mean_not_sum": ("factor", "dc (c): 1/(B N), B the graphs, N the nodes per graph"),
    "readout_mask_ignored": ("zero", "dh: 0 at the padded nodes (mask 0)"),
    "readout_dW_batch_mean": ("factor", "dW_r: 1/B, B the number of graphs"),
    "loss_gradient_missing_factor_2": ("factor", "every parameter: 1/2"),
    # revised after the first measurement, from the code: the labeller's note: in the loss
    # the bond tensor's diagonal is zero
    "message_dz_from_diagonal": (
        ("other", "zero"),
        "mpnn_loss's W_msg: 0 everywhere (zero bond diagonal)",
    ),
    # revised after the first measurement, from the code: the labeller's note: dh and dm are
    # 0 at the padded nodes
    "update_mask_forgotten": ("zero", "update's dh and dm: 0 at the padded nodes"),
}
