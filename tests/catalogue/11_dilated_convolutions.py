"""Wrong implementations of 11_dilated_convolutions that the hidden tests must catch
(test-of-tests), and correct variants in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward_mutant, variant

# ---------------------------------------------------------------- the reference's texts
_CONV_FWD_BODY = """    B, C, N = x.shape
    F, _, K = w.shape
    pad = dilation * (K - 1) // 2
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad)))                    # (B, C, N + 2 pad)
    out = np.zeros((B, F, N)) + b[None, :, None]                    # (B, F, N)
    for k in range(K):
        s = k * dilation
        out += w[:, :, k] @ xp[:, :, s:s + N]       # (F, C) @ (B, C, N) -> (B, F, N)
    return out, (xp, w, dilation)"""

_CONV_BWD_DOC = '''


def dilated_conv1d_backward(dout, cache):
    """Backward pass of dilated_conv1d_forward.

    Inputs:
        dout: (B, F, N) upstream gradient.
        cache: from dilated_conv1d_forward.
    Returns:
        dict with 'dx': (B, C, N), 'dw': (F, C, K), 'db': (F,).
    """
'''

_CONV_BWD_BODY = """    xp, w, dilation = cache
    F, C, K = w.shape
    N = dout.shape[2]
    pad = dilation * (K - 1) // 2
    dxp = np.zeros_like(xp)                                         # (B, C, N + 2 pad)
    dw = np.zeros_like(w)                                           # (F, C, K)
    for k in range(K):
        s = k * dilation
        dw[:, :, k] = np.tensordot(dout, xp[:, :, s:s + N], axes=([0, 2], [0, 2]))  # (F, C)
        dxp[:, :, s:s + N] += w[:, :, k].T @ dout   # (C, F) @ (B, F, N) -> (B, C, N)
    dx = dxp[:, :, pad:pad + N]                                     # drop the padding
    db = dout.sum(axis=(0, 2))                                      # (F,)
    return {"dx": dx, "dw": dw, "db": db}"""

_CONV_BODIES = _CONV_FWD_BODY + _CONV_BWD_DOC + _CONV_BWD_BODY

_STACK_FWD_BODY = """    h, caches = x, []
    for layer, d in enumerate(dilations, start=1):
        a, conv_cache = dilated_conv1d_forward(h, params[f"w{layer}"], params[f"b{layer}"], d)
        h, relu_cache = relu_forward(a)                             # (B, C, N)
        caches.append((conv_cache, relu_cache))
    z, out_cache = dilated_conv1d_forward(h, params["w_out"], params["b_out"], 1)  # (B, 1, N)
    return z[:, 0, :], (caches, out_cache)                          # (B, N)"""

_STACK_BWD_DOC = '''


def stack_backward(dz, cache):
    """Backward pass of stack_forward.

    Inputs:
        dz: (B, N) upstream gradient.
        cache: from stack_forward.
    Returns:
        dict with 'dx' (B, 1, N) and 'd' + key for every key of params ('dw1', 'db1', ...,
        'dw_out', 'db_out'), each with the shape of its parameter.
    """
'''

_STACK_BWD_BODY = """    caches, out_cache = cache
    g = dilated_conv1d_backward(dz[:, None, :], out_cache)          # dz as (B, 1, N)
    grads = {"dw_out": g["dw"], "db_out": g["db"]}
    dh = g["dx"]                                                    # (B, C, N)
    for layer in range(len(caches), 0, -1):
        conv_cache, relu_cache = caches[layer - 1]
        da = relu_backward(dh, relu_cache)["dx"]                    # (B, C, N)
        g = dilated_conv1d_backward(da, conv_cache)
        grads[f"dw{layer}"], grads[f"db{layer}"] = g["dw"], g["db"]
        dh = g["dx"]                                                # (B, C_prev, N)
    grads["dx"] = dh                                                # (B, 1, N)
    return grads"""

_STACK_BODIES = _STACK_FWD_BODY + _STACK_BWD_DOC + _STACK_BWD_BODY

_LOSS_BODY = """    x, y = batch
    z, cache = stack_forward(params, x, dilations)                  # (B, N)
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
    dz = (sigmoid(z) - y) / z.size                                  # (B, N)
    g = stack_backward(dz, cache)
    return loss, {key: g["d" + key] for key in params}"""

_RF_BODIES = """    z, cache = stack_forward(params, x, dilations)                  # (B, N)
    dz = np.zeros_like(z)
    dz[:, position] = 1.0                                           # each sequence's own logit
    return stack_backward(dz, cache)["dx"][:, 0, :]                 # (B, N)


def receptive_field(params, x, dilations, position):
    \"\"\"The offsets the logit at `position` depends on, measured from the input gradient.

    Inputs:
        params, x, dilations, position: as for input_gradient.
    Returns:
        offsets: (R,) int array, increasing: every o such that the gradient of z[b, position]
            with respect to x[b, 0, position + o] is nonzero (!= 0) for at least one b.
    \"\"\"
    g = input_gradient(params, x, dilations, position)              # (B, N)
    reached = np.any(g != 0.0, axis=0)                              # (N,) union over the batch
    return np.flatnonzero(reached) - position"""

# ---------------------------------------------------------------- test names
_CONV_FWD = [
    f"dilated_conv1d_forward_matches_reference[{c}]"
    for c in ("K3_d1", "K3_d4", "K5_d2_batch1", "padding_longer_than_signal", "K1")
]
_CONV_GRADS = [f"dilated_conv1d_backward_gradcheck[{g}]" for g in ("dx", "dw", "db")]
_STACK_FWD = [f"stack_forward_matches_reference[{c}]" for c in ("three_layers", "one_layer_K5")]
_STACK_GRADS = [
    f"stack_backward_gradcheck[{g}]" for g in ("dx", "dw1", "db1", "dw2", "db2", "dw_out", "db_out")
]
_RF_CASES = [
    f"receptive_field_matches_reference[{c}]"
    for c in (
        "dilations_1_2_4_8_centre",
        "K5_dilations_1_3",
        "near_the_left_end",
        "at_the_right_end",
    )
]
# A wrong stack or convolution is charged to every test that calls it: the stack's and the
# loss's timing tests and the kink test require their function's correctness tests.
_STACK_DOWNSTREAM = ["stack_backward_at_kinks", "stack_backward_fast", "stack_loss_fast"]
_LOSS_GRAD_FAILS = ["stack_loss_gradcheck", "stack_loss_trains_like_reference"]
_LOSS_ALL_FAILS = ["stack_loss_value_matches_reference", *_LOSS_GRAD_FAILS]
_RF_ALL = [
    *_RF_CASES,
    "receptive_field_grows_as_the_formula_says",
    "receptive_field_takes_the_union_over_the_batch",
]

MUTANTS = [
    # ------------------------------------------------------------ dilated_conv1d
    # A backward by centred differences through the forward (tests/mutants.py): accurate to
    # ~1e-10, it passes every gradient check; only the time budgets catch it (the stack and the
    # loss call it too).
    numerical_backward_mutant(
        "conv_numerical_backward",
        "dilated_conv1d_code",
        "    xp, w, dilation = cache\n",
        """    F, C, K = w.shape
    pad = dilation * (K - 1) // 2
    N = dout.shape[2]
    args = {"x": xp[:, :, pad:pad + N].copy(), "w": w.copy()}
    zero_b = np.zeros(F)""",
        'np.sum(dilated_conv1d_forward(args["x"], args["w"], zero_b, dilation)[0] * dout)',
        grads='{"db": dout.sum(axis=(0, 2))}',
        # Not stack_loss_trains_like_reference: whether training with this backward overruns
        # that test's time limit depends on the machine's load (it passed on an idle machine
        # and failed under load), so naming it would make the verdict depend on the load.
        catches=[
            "dilated_conv1d_backward_fast",
            "stack_backward_fast",
            "stack_loss_fast",
        ],
    ),
    # Padding only on the right: every output reads its window shifted by half a span (a causal
    # convolution by accident); the backward, unchanged, no longer matches.
    mutant(
        "conv_padding_on_one_side",
        "dilated_conv1d_code",
        "    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad)))                    # (B, C, N + 2 pad)",
        "    xp = np.pad(x, ((0, 0), (0, 0), (0, 2 * pad)))                  # (B, C, N + 2 pad)",
        *_CONV_FWD[:4],
        "dilated_conv1d_one_tap_shifts_the_signal",
        "dilated_conv1d_backward_gradcheck[dx]",
        "dilated_conv1d_backward_fast",
        *_STACK_FWD,
        *_STACK_GRADS[:3],
        "stack_output_sees_only_its_receptive_field",
        *_STACK_DOWNSTREAM,
        *_LOSS_ALL_FAILS,
        "receptive_field_takes_the_union_over_the_batch",  # another net, other dead paths
        "input_gradient_matches_reference",
    ),
    # The tap offset not scaled by the dilation (an ordinary convolution on padded input).
    mutant(
        "conv_taps_not_dilated",
        "dilated_conv1d_code",
        "        s = k * dilation\n        out += w[:, :, k] @ xp[:, :, s:s + N]",
        "        s = pad - (K - 1) // 2 + k\n        out += w[:, :, k] @ xp[:, :, s:s + N]",
        *_CONV_FWD[1:4],
        "dilation_equals_a_spread_filter",
        "dilated_conv1d_one_tap_shifts_the_signal",
        "dilated_conv1d_backward_gradcheck[dx]",
        "dilated_conv1d_backward_gradcheck[dw]",
        "dilated_conv1d_backward_fast",
        *_STACK_FWD,
        *_STACK_GRADS[:4],
        "stack_output_sees_only_its_receptive_field",
        *_STACK_DOWNSTREAM,
        *_LOSS_ALL_FAILS,
        "receptive_field_takes_the_union_over_the_batch",  # another net, other dead paths
        "input_gradient_matches_reference",
    ),
    # The bias gradient averaged over the batch and positions instead of summed.
    mutant(
        "conv_db_mean_not_sum",
        "dilated_conv1d_code",
        "    db = dout.sum(axis=(0, 2))                                      # (F,)",
        "    db = dout.mean(axis=(0, 2))                                     # (F,)",
        "dilated_conv1d_backward_gradcheck[db]",
        "dilated_conv1d_backward_fast",
        "stack_backward_gradcheck[db1]",
        "stack_backward_gradcheck[db2]",
        "stack_backward_gradcheck[db_out]",
        *_STACK_DOWNSTREAM,
        *_LOSS_GRAD_FAILS,
    ),
    # Overlapping taps overwrite each other's contribution to dx instead of adding up.
    mutant(
        "conv_dx_overwritten_not_accumulated",
        "dilated_conv1d_code",
        "        dxp[:, :, s:s + N] += w[:, :, k].T @ dout",
        "        dxp[:, :, s:s + N] = w[:, :, k].T @ dout",
        "dilated_conv1d_backward_gradcheck[dx]",
        "dilated_conv1d_backward_fast",
        *_STACK_GRADS[:3],
        *_STACK_DOWNSTREAM,
        *_LOSS_GRAD_FAILS,
        *_RF_ALL,
        "input_gradient_matches_reference",
    ),
    # The bias forgotten in the forward: the output no longer depends on b at all.
    mutant(
        "conv_bias_forgotten",
        "dilated_conv1d_code",
        "    out = np.zeros((B, F, N)) + b[None, :, None]                    # (B, F, N)",
        "    out = np.zeros((B, F, N))                                       # (B, F, N)",
        *_CONV_FWD,
        "dilated_conv1d_backward_gradcheck[db]",
        "dilated_conv1d_backward_fast",
        *_STACK_FWD,
        "stack_backward_gradcheck[db1]",
        "stack_backward_gradcheck[db2]",
        "stack_backward_gradcheck[db_out]",
        *_STACK_DOWNSTREAM,
        *_LOSS_ALL_FAILS,
        "receptive_field_grows_as_the_formula_says",  # its biases of 2 keep the ReLUs on
        "input_gradient_matches_reference",
    ),
    # ------------------------------------------------------------ stack
    # A backward by centred differences of the whole stack (tests/mutants.py), reading the
    # parameters back from the cache; it passes the gradient checks, but straddles the ReLU's
    # kink and is far too slow.
    numerical_backward_mutant(
        "stack_numerical_backward",
        "stack_code",
        "    caches, out_cache = cache\n",
        """    params, x, dilations = {}, None, []
    for layer, ((xp, w, d), a) in enumerate(caches, start=1):
        pad = d * (w.shape[2] - 1) // 2
        h_prev = xp[:, :, pad:xp.shape[2] - pad]
        x = h_prev.copy() if x is None else x
        no_bias = dilated_conv1d_forward(h_prev, w, np.zeros(w.shape[0]), d)[0]
        params[f"w{layer}"] = w.copy()
        params[f"b{layer}"] = (a - no_bias).mean(axis=(0, 2))
        dilations.append(d)
    params["w_out"] = out_cache[1].copy()
    params["b_out"] = np.zeros(1)
    args = {"x": x, **params}""",
        'np.sum(stack_forward({k: v for k, v in args.items() if k != "x"}, args["x"], '
        "dilations)[0] * dz)",
        catches=[*_STACK_DOWNSTREAM, "stack_loss_trains_like_reference"],
    ),
    # The ReLU's gradient forgotten on the way back (as if the stack were linear).
    mutant(
        "stack_relu_skipped_in_backward",
        "stack_code",
        '        da = relu_backward(dh, relu_cache)["dx"]                    # (B, C, N)',
        "        da = dh                                                     # (B, C, N)",
        *_STACK_GRADS[:5],
        *_STACK_DOWNSTREAM,
        *_LOSS_GRAD_FAILS,
        "input_gradient_matches_reference",
    ),
    # A ReLU after every convolution, the read-out too: the logits can no longer be negative.
    mutant(
        "stack_relu_on_the_logits",
        "stack_code",
        "    return z[:, 0, :], (caches, out_cache)                          # (B, N)",
        "    return np.maximum(z[:, 0, :], 0.0), (caches, out_cache)         # (B, N)",
        "stack_forward_matches_reference[three_layers]",
        *_STACK_GRADS,
        *_STACK_DOWNSTREAM,
        *_LOSS_GRAD_FAILS,
    ),
    # The dilations applied in reverse order: the same receptive field, another network.
    mutant(
        "stack_dilations_reversed",
        "stack_code",
        "    for layer, d in enumerate(dilations, start=1):",
        "    for layer, d in enumerate(reversed(dilations), start=1):",
        "stack_forward_matches_reference[three_layers]",
        "stack_backward_at_kinks",
        "stack_loss_fast",
        "stack_loss_value_matches_reference",
        "stack_loss_trains_like_reference",
        "receptive_field_takes_the_union_over_the_batch",  # another net, other dead paths
        "input_gradient_matches_reference",
    ),
    # Every layer at dilation 1: an ordinary convolutional stack.
    mutant(
        "stack_ignores_dilations",
        "stack_code",
        'params[f"w{layer}"], params[f"b{layer}"], d)',
        'params[f"w{layer}"], params[f"b{layer}"], 1)',
        *_STACK_FWD,
        "stack_backward_at_kinks",
        "stack_output_sees_only_its_receptive_field",
        "stack_loss_fast",
        "stack_loss_value_matches_reference",
        "stack_loss_trains_like_reference",
        *_RF_ALL,
        "input_gradient_matches_reference",
    ),
    # ------------------------------------------------------------ stack_loss
    # The gradient of the sum over positions returned with the loss of the mean.
    mutant(
        "loss_gradient_missing_1_over_BN",
        "stack_loss_code",
        "    dz = (sigmoid(z) - y) / z.size                                  # (B, N)",
        "    dz = sigmoid(z) - y                                             # (B, N)",
        *_LOSS_GRAD_FAILS,
        "stack_loss_fast",
    ),
    # The mean over the batch only (a sum over positions), consistently in loss and gradient.
    mutant(
        "loss_sum_over_positions",
        "stack_loss_code",
        """    loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
    dz = (sigmoid(z) - y) / z.size                                  # (B, N)""",
        """    loss = float(np.sum(np.logaddexp(0.0, z) - y * z) / z.shape[0])
    dz = (sigmoid(z) - y) / z.shape[0]                              # (B, N)""",
        "stack_loss_value_matches_reference",
        "stack_loss_trains_like_reference",
        "stack_loss_fast",
    ),
    # ------------------------------------------------------------ receptive_field
    # Measured from the first input only: dead ReLU paths hide offsets.
    mutant(
        "rf_first_input_only",
        "receptive_field_code",
        "np.any(g != 0.0, axis=0)",
        "g[0] != 0.0",
        "receptive_field_matches_reference[near_the_left_end]",
        "receptive_field_takes_the_union_over_the_batch",
        "receptive_field_matches_reference[dilations_1_2_4_8_centre]",
    ),
    # An upstream of ones at every position: the union of all outputs' fields.
    mutant(
        "rf_upstream_everywhere",
        "receptive_field_code",
        "    dz = np.zeros_like(z)\n    dz[:, position] = 1.0",
        "    dz = np.ones_like(z)\n    dz[:, position] = 1.0",
        *_RF_ALL,
        "input_gradient_matches_reference",
    ),
    # Absolute positions returned instead of offsets from the output position.
    mutant(
        "rf_absolute_positions",
        "receptive_field_code",
        "    return np.flatnonzero(reached) - position",
        "    return np.flatnonzero(reached)",
        *_RF_ALL,
    ),
]

VARIANTS = [
    # Python loops over the output positions and taps, the input cached unpadded.
    variant(
        "conv_loops",
        "dilated_conv1d_code",
        _CONV_BODIES,
        """    B, C, N = x.shape
    F, _, K = w.shape
    half = (K - 1) // 2
    out = np.zeros((B, F, N))
    for n in range(N):
        for k in range(K):
            m = n + (k - half) * dilation
            if 0 <= m < N:
                out[:, :, n] += x[:, :, m] @ w[:, :, k].T           # (B, C) @ (C, F)
    out += b[None, :, None]
    return out, (x, w, dilation)"""
        + _CONV_BWD_DOC
        + """    x, w, dilation = cache
    B, C, N = x.shape
    F, _, K = w.shape
    half = (K - 1) // 2
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for n in range(N):
        for k in range(K):
            m = n + (k - half) * dilation
            if 0 <= m < N:
                dx[:, :, m] += dout[:, :, n] @ w[:, :, k]            # (B, F) @ (F, C)
                dw[:, :, k] += dout[:, :, n].T @ x[:, :, m]          # (F, B) @ (B, C)
    return {"dx": dx, "dw": dw, "db": dout.sum(axis=(0, 2))}""",
    ),
    # im2col with einsum: every tap's slice stacked into a (B, C, K, N) array, kept in the cache.
    variant(
        "conv_im2col_einsum",
        "dilated_conv1d_code",
        _CONV_BODIES,
        """    B, C, N = x.shape
    F, _, K = w.shape
    pad = dilation * (K - 1) // 2
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad)))
    cols = np.stack([xp[:, :, k * dilation:k * dilation + N] for k in range(K)], axis=2)
    out = np.einsum("fck,bckn->bfn", w, cols) + b[:, None]
    return out, {"cols": cols, "w": w, "dilation": dilation, "N": N}"""
        + _CONV_BWD_DOC
        + """    cols, w, dilation, N = cache["cols"], cache["w"], cache["dilation"], cache["N"]
    K = w.shape[2]
    pad = dilation * (K - 1) // 2
    dcols = np.einsum("fck,bfn->bckn", w, dout)                     # (B, C, K, N)
    dxp = np.zeros((dout.shape[0], w.shape[1], N + 2 * pad))
    for k in range(K):
        dxp[:, :, k * dilation:k * dilation + N] += dcols[:, :, k, :]
    return {
        "dx": dxp[:, :, pad:pad + N],
        "dw": np.einsum("bfn,bckn->fck", dout, cols),
        "db": np.einsum("bfn->f", dout),
    }""",
    ),
    # The stack written out by hand: its own ReLU masks, pre-activations and inputs kept per layer.
    variant(
        "stack_own_relu_and_cache",
        "stack_code",
        _STACK_BODIES,
        """    layers = []
    h = x
    for i in range(len(dilations)):
        w, b = params["w%d" % (i + 1)], params["b%d" % (i + 1)]
        a, c = dilated_conv1d_forward(h, w, b, dilations[i])
        layers.append({"conv": c, "mask": a > 0})
        h = a * (a > 0)
    out, c_out = dilated_conv1d_forward(h, params["w_out"], params["b_out"], 1)
    return out.reshape(out.shape[0], out.shape[2]), {"layers": layers, "out": c_out}"""
        + _STACK_BWD_DOC
        + """    B, N = dz.shape
    g = dilated_conv1d_backward(dz.reshape(B, 1, N), cache["out"])
    grads = {"dw_out": g["dw"], "db_out": g["db"]}
    d = g["dx"]
    for i in reversed(range(len(cache["layers"]))):
        layer = cache["layers"][i]
        g = dilated_conv1d_backward(d * layer["mask"], layer["conv"])
        grads["dw%d" % (i + 1)] = g["dw"]
        grads["db%d" % (i + 1)] = g["db"]
        d = g["dx"]
    grads["dx"] = d
    return grads""",
    ),
    # The cross-entropy in its log-sigmoid form, with a hand-written logistic function.
    variant(
        "loss_log_sigmoid_form",
        "stack_loss_code",
        _LOSS_BODY,
        """    x, y = batch
    z, cache = stack_forward(params, x, dilations)
    B, N = z.shape
    loss = np.sum(y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)) / (B * N)
    p = 0.5 * (1.0 + np.tanh(0.5 * z))                              # sigmoid(z)
    grads = stack_backward((p - y) / (B * N), cache)
    return float(loss), {name: grads["d%s" % name] for name in params}""",
    ),
    # The receptive field from a random (nonzero) upstream, summed absolute gradients.
    variant(
        "rf_sum_of_absolute_gradients",
        "receptive_field_code",
        _RF_BODIES,
        """    z, cache = stack_forward(params, x, dilations)
    B, N = z.shape
    onehot = np.zeros((B, N))
    onehot[np.arange(B), position] = 1.0
    grads = stack_backward(onehot, cache)
    return grads["dx"].reshape(B, N)


def receptive_field(params, x, dilations, position):
    strength = np.abs(input_gradient(params, x, dilations, position)).sum(axis=0)  # (N,)
    return np.array([m - position for m in range(len(strength)) if strength[m] > 0])""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    "conv_db_mean_not_sum": (
        "factor",
        "db (db1, db2, db_out of the stack and the loss): 1/(B N), B the batch size, N the "
        "sequence length",
    ),
    "loss_gradient_missing_1_over_BN": (
        "factor",
        "every parameter: B N, B the batch size, N the sequence length",
    ),
}
