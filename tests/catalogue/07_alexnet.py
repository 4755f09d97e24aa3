"""Wrong implementations of 07_alexnet that the hidden tests must catch (test-of-tests), and
correct ones in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
removed).
"""

from mutants import mutant, numerical_backward, variant

# Tests that fail whenever the network's forward is wrong, or its gradients are.
_NET_FORWARD = [
    "alexnet_forward_matches_reference",
    "alexnet_loss_matches_reference",
    "alexnet_training_reduces_loss_like_reference",
    "alexnet_loss_fast",
]
_NET_GRADS_BELOW_CONV2 = [
    "alexnet_loss_gradcheck[w1]",
    "alexnet_loss_gradcheck[b1]",
    "alexnet_training_reduces_loss_like_reference",
    "alexnet_loss_fast",
]


# The backward functions' signatures and docstrings (between a forward's body and its backward's).
_CONV_BWD_HEAD = '''\
def conv_backward(dout, cache):
    """Backward pass of conv_forward.

    Inputs:
        dout: (N, F, H', W') upstream gradient.
        cache: from conv_forward.
    Returns:
        dict with 'dx': (N, C, H, W), 'dw': (F, C, HH, WW), 'db': (F,).
    """'''
_POOL_BWD_HEAD = '''\
def max_pool_backward(dout, cache):
    """Backward pass of max_pool_forward.

    Ties: where several entries of a window share its maximum, the whole gradient of that
    window goes to the FIRST of them in row-major order within the window (the entry
    np.argmax picks on the flattened window); the others get nothing from that window. When
    windows overlap, an entry that is the chosen maximum of several windows receives the
    gradient of each of them.

    Inputs:
        dout: (N, C, H', W') upstream gradient.
        cache: from max_pool_forward.
    Returns:
        dict with 'dx': (N, C, H, W).
    """'''
_LRN_BWD_HEAD = '''\
def lrn_backward(dout, cache):
    """Backward pass of lrn_forward.

    Inputs:
        dout: (N, C, H, W) upstream gradient.
        cache: from lrn_forward.
    Returns:
        dict with 'dx': (N, C, H, W).
    """'''


def _both(forward_body, head, backward_body):
    """The text from a forward's body to the end of its backward's body."""
    return f"{forward_body}\n\n\n{head}\n{backward_body}"


# ---- the reference's text the entries replace
_IM2COL_BWD_LOOP = (
    """            dxp[:, :, k:k + stride * Ho:stride, l:l + stride * Wo:stride] += d[:, :, k, l]"""
)
_IM2COL_STRIDE = """    win = win[:, :, ::stride, ::stride]  # (N, C, H', W', HH, WW)"""
_CONV_DW = """    dw = (d.T @ cols).reshape(w.shape)  # (F, C, HH, WW)"""
_CONV_DB = """    db = d.sum(axis=0)  # (F,)"""
_CONV_WROWS = """    w_rows = w.reshape(F, C * HH * WW)  # (F, C*HH*WW)"""
_POOL_BWD_LOOP = """    for k in range(size):
        for l in range(size):
            chosen = arg == k * size + l  # (N, C, H', W')
            dx[:, :, k:k + stride * Ho:stride, l:l + stride * Wo:stride] += dout * chosen
    return {"dx": dx}"""
_POOL_BWD_BODY = (
    """    (N, C, H, W), size, stride, arg = cache
    Ho, Wo = arg.shape[2:]
    dx = np.zeros((N, C, H, W))
"""
    + _POOL_BWD_LOOP
)
_POOL_CHOSEN = """            chosen = arg == k * size + l  # (N, C, H', W')"""
_POOL_OUT = (
    """    out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]  # (N, C, H', W')"""
)
_LRN_BWD_RETURN = """    return {"dx": dout * scale + 2.0 * alpha * x * back}"""
_LRN_BWD_WINDOW = """        back[:, lo + d:hi + d] += ds[:, lo:hi]"""
_LRN_DEN = """    den = k + alpha * s  # (N, C, H, W)"""
_DROP_FWD = """    scale = mask / (1.0 - p)
    return x * scale, scale"""
_DROP_BWD = """    return {"dx": dout * cache}"""
_DROP_BWD_HEAD = '''\
def dropout_backward(dout, cache):
    """Backward pass of dropout_forward.

    Inputs:
        dout: upstream gradient, shaped like x.
        cache: from dropout_forward.
    Returns:
        dict with 'dx', shaped like x.
    """'''
# The numerical backward (tests/mutants.py's template): the forward keeps its inputs and the
# backward differentiates dropout_forward by centred differences. It passes every gradient check;
# only the time budget catches it (inside the network the dropout layer is small, so the network's
# tests cannot).
_DROP_NUMERICAL = numerical_backward(
    '    x, mask, p = cache\n    args = {"x": x.copy()}',
    'float(np.sum(dropout_forward(args["x"], mask, p)[0] * dout))',
)
_AUG_FLIP = """        out[i] = crop[:, :, ::-1] if flips[i] else crop"""
_AUG_SHIFT = """        r, c = shifts[i]"""
_AUG_OUT = """    out = np.empty((N, C, H, W))"""
_NET_DROPOUT_BWD = """    if c_d is not None:
        dg = dropout_backward(dg, c_d)["dx"]"""
_NET_FLATTEN = (
    """    h, c_h = affine_forward(p2.reshape(N, -1), params["W3"], params["b3"])  # (N, D)"""
)
_NET_CE = """    loss, dscores = softmax_cross_entropy(scores, y)  # (N, K)"""

_POOL_CACHE = """    return out, (x.shape, size, stride, arg)"""
_POOL_TIES_ALL = (
    """    return out, (x, out, size, stride)


"""
    + _POOL_BWD_HEAD
    + """
    x, out, size, stride = cache
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2:]
    dx = np.zeros((N, C, H, W))
    for k in range(size):
        for l in range(size):
            rows = slice(k, k + stride * Ho, stride)
            cols = slice(l, l + stride * Wo, stride)
            block = (slice(None), slice(None), rows, cols)
            dx[block] += dout * (x[block] == out)  # every maximal entry
    return {"dx": dx}"""
)

MUTANTS = [
    # ---- 1. im2col
    mutant(
        "im2col_backward_overwrites_overlaps",
        "im2col_code",
        _IM2COL_BWD_LOOP,
        _IM2COL_BWD_LOOP.replace("+=", "="),
        "im2col_backward_gradcheck[overlapping]",
        "im2col_backward_gradcheck[strided]",
        "im2col_backward_counts_windows",
        "im2col_backward_fast",
        "conv_backward_gradcheck[dx]",
        "conv_backward_fast",
        *_NET_GRADS_BELOW_CONV2,
    ),
    mutant(
        "im2col_forward_ignores_stride",
        "im2col_code",
        _IM2COL_STRIDE,
        "    _ = stride",
        "im2col_forward_matches_reference",
        "im2col_backward_gradcheck[strided]",
        "im2col_backward_counts_windows",
        "im2col_backward_fast",
        "conv_forward_matches_reference",
        "conv_backward_gradcheck[dx]",
        "conv_backward_gradcheck[dw]",
        "conv_backward_gradcheck[db]",
        "conv_backward_fast",
    ),
    # ---- 2. conv
    mutant(
        "conv_dw_transposed_product",
        "conv_code",
        _CONV_DW,
        "    dw = (cols.T @ d).reshape(w.shape)",
        "conv_backward_gradcheck[dw]",
        "conv_backward_fast",
        "alexnet_loss_gradcheck[w1]",
        "alexnet_loss_gradcheck[w2]",
        "alexnet_training_reduces_loss_like_reference",
        "alexnet_loss_fast",
    ),
    mutant(
        "conv_db_batch_mean",
        "conv_code",
        _CONV_DB,
        "    db = d.mean(axis=0)",
        "conv_backward_gradcheck[db]",
        "conv_backward_fast",
        "alexnet_loss_gradcheck[b1]",
        "alexnet_loss_gradcheck[b2]",
        "alexnet_training_reduces_loss_like_reference",
        "alexnet_loss_fast",
    ),
    mutant(
        "conv_flips_the_filter",
        "conv_code",
        _CONV_WROWS,
        "    w_rows = w[:, :, ::-1, ::-1].reshape(F, C * HH * WW)",
        "conv_forward_matches_reference",
        "conv_delta_filter_shifts_the_image",
        "conv_backward_gradcheck[dx]",
        "conv_backward_gradcheck[dw]",
        "conv_backward_fast",
        *_NET_FORWARD,
        "alexnet_loss_gradcheck[w1]",
        "alexnet_loss_gradcheck[b1]",
        "alexnet_loss_gradcheck[w2]",
    ),
    # ---- 3. max pooling
    mutant(
        "max_pool_ties_to_every_maximum",
        "max_pool_code",
        _both(_POOL_CACHE, _POOL_BWD_HEAD, _POOL_BWD_BODY),
        _POOL_TIES_ALL,
        "max_pool_backward_ties_go_to_the_first_maximum",
    ),
    mutant(
        "max_pool_backward_swaps_window_row_and_column",
        "max_pool_code",
        _POOL_CHOSEN,
        "            chosen = arg == l * size + k  # (N, C, H', W')",
        "max_pool_backward_gradcheck[2x2]",
        "max_pool_backward_gradcheck[3x3_stride2]",
        "max_pool_backward_ties_go_to_the_first_maximum",
        "max_pool_backward_near_ties",
        "max_pool_backward_fast",
        *_NET_GRADS_BELOW_CONV2,
        "alexnet_loss_gradcheck[w2]",
        "alexnet_loss_gradcheck[b2]",
    ),
    mutant(
        "max_pool_forward_averages",
        "max_pool_code",
        _POOL_OUT,
        "    out = flat.mean(axis=-1)  # average pooling",
        "max_pool_forward_matches_reference",
        "max_pool_backward_gradcheck[2x2]",
        "max_pool_backward_gradcheck[3x3_stride2]",
        "max_pool_backward_near_ties",  # requires the forward test
        "max_pool_backward_fast",
        *_NET_FORWARD,
        "alexnet_loss_gradcheck[w1]",
        "alexnet_loss_gradcheck[b1]",
        "alexnet_loss_gradcheck[w2]",
        "alexnet_loss_gradcheck[b2]",
    ),
    mutant(
        "max_pool_backward_overwrites_overlaps",
        "max_pool_code",
        _POOL_BWD_LOOP,
        _POOL_BWD_LOOP.replace(
            "] += dout * chosen",
            "] = np.where(chosen, dout, 0.0)",
        ),
        "max_pool_backward_gradcheck[3x3_stride2]",
        "max_pool_backward_ties_go_to_the_first_maximum",
        "max_pool_backward_near_ties",
        "max_pool_backward_fast",
    ),
    # ---- 4. LRN
    mutant(
        "lrn_backward_forgets_the_sum_path",
        "lrn_code",
        _LRN_BWD_RETURN,
        '    return {"dx": dout * scale}',
        "lrn_backward_gradcheck[n5_C7]",
        "lrn_backward_gradcheck[n3_C2]",
        "lrn_backward_euler_identity",
        "lrn_backward_fast",
        *_NET_GRADS_BELOW_CONV2,
    ),
    mutant(
        "lrn_backward_own_channel_only",
        "lrn_code",
        _LRN_BWD_WINDOW,
        "        back[:, lo + d:hi + d] += ds[:, lo + d:hi + d] * (d == 0)",
        "lrn_backward_gradcheck[n5_C7]",
        "lrn_backward_gradcheck[n3_C2]",
        "lrn_backward_euler_identity",
        "lrn_backward_fast",
        *_NET_GRADS_BELOW_CONV2,
    ),
    mutant(
        "lrn_alpha_divided_by_n",
        "lrn_code",
        _LRN_DEN,
        "    alpha = alpha / n\n    den = k + alpha * s",
        "lrn_forward_matches_reference",
        *_NET_FORWARD,
    ),
    # ---- 5. dropout
    mutant(
        "dropout_no_rescaling",
        "dropout_code",
        _DROP_FWD,
        "    scale = mask\n    return x * scale, scale",
        "dropout_forward_matches_reference",
        "dropout_dropped_units_pass_nothing",
        "alexnet_forward_matches_reference",
        "alexnet_loss_matches_reference",
        "alexnet_loss_fast",
    ),
    mutant(
        "dropout_backward_forgets_scale",
        "dropout_code",
        _DROP_BWD,
        '    return {"dx": dout * (cache > 0)}',
        "dropout_backward_gradcheck",
        "dropout_backward_fast",
        "alexnet_loss_gradcheck[w1]",
        "alexnet_loss_gradcheck[b1]",
        "alexnet_loss_gradcheck[w2]",
        "alexnet_loss_gradcheck[b2]",
        "alexnet_loss_gradcheck[W3]",
        "alexnet_loss_gradcheck[b3]",
        "alexnet_loss_fast",
    ),
    mutant(
        "dropout_numerical_backward",
        "dropout_code",
        _both(_DROP_FWD, _DROP_BWD_HEAD, _DROP_BWD),
        _both("    return x * mask / (1.0 - p), (x, mask, p)", _DROP_BWD_HEAD, _DROP_NUMERICAL),
        "dropout_backward_fast",
    ),
    # ---- 6. augmentation
    mutant(
        "augment_flips_up_down",
        "augment_code",
        _AUG_FLIP,
        "        out[i] = crop[:, ::-1, :] if flips[i] else crop",
        "augment_batch_matches_reference",
        "augment_batch_identities",
        "augment_batch_leaves_inputs_alone",  # requires the forward test
    ),
    mutant(
        "augment_shift_axes_swapped",
        "augment_code",
        _AUG_SHIFT,
        "        c, r = shifts[i]",
        "augment_batch_matches_reference",
        "augment_batch_leaves_inputs_alone",  # requires the forward test
    ),
    mutant(
        "augment_writes_into_its_input",
        "augment_code",
        _AUG_OUT,
        "    out = X  # aliases X",
        "augment_batch_leaves_inputs_alone",
    ),
    # ---- 7. the network
    mutant(
        "alexnet_loss_skips_dropout_backward",
        "alexnet_code",
        _NET_DROPOUT_BWD,
        "    pass",
        "alexnet_loss_gradcheck[w1]",
        "alexnet_loss_gradcheck[b1]",
        "alexnet_loss_gradcheck[w2]",
        "alexnet_loss_gradcheck[b2]",
        "alexnet_loss_gradcheck[W3]",
        "alexnet_loss_gradcheck[b3]",
        "alexnet_loss_fast",
    ),
    mutant(
        "alexnet_flattens_channels_last",
        "alexnet_code",
        _NET_FLATTEN,
        "    z = p2.transpose(0, 2, 3, 1).reshape(N, -1)\n"
        '    h, c_h = affine_forward(z, params["W3"], params["b3"])',
        *_NET_FORWARD,
        "alexnet_loss_gradcheck[w1]",
        "alexnet_loss_gradcheck[b1]",
        "alexnet_loss_gradcheck[w2]",
        "alexnet_loss_gradcheck[b2]",
    ),
    mutant(
        "alexnet_loss_divides_by_batch_twice",
        "alexnet_code",
        _NET_CE,
        "    loss, dscores = softmax_cross_entropy(scores, y)\n    dscores = dscores / len(y)",
        *(f"alexnet_loss_gradcheck[{p}]" for p in ("w1", "b1", "w2", "b2", "W3", "b3", "W4", "b4")),
        "alexnet_training_reduces_loss_like_reference",
        "alexnet_loss_fast",
    ),
    mutant(
        "alexnet_loss_sums_over_batch",
        "alexnet_code",
        _NET_CE,
        "    loss, dscores = softmax_cross_entropy(scores, y)\n"
        "    loss, dscores = loss * len(y), dscores * len(y)",
        "alexnet_loss_matches_reference",
        "alexnet_loss_zero_head",
        "alexnet_training_reduces_loss_like_reference",
        "alexnet_loss_fast",
    ),
]

# ---- correct alternatives
_IM2COL_FWD_BODY = """    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))  # (N, C, H + 2pad, W + 2pad)
    win = np.lib.stride_tricks.sliding_window_view(xp, (HH, WW), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]  # (N, C, H', W', HH, WW)
    _, _, Ho, Wo, _, _ = win.shape
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * HH * WW)
    return cols, (x.shape, HH, WW, stride, pad)"""
_IM2COL_LOOPS = """    N, C, H, W = x.shape
    Ho = 1 + (H + 2 * pad - HH) // stride
    Wo = 1 + (W + 2 * pad - WW) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((N, Ho, Wo, C, HH, WW))
    for k in range(HH):
        for l in range(WW):
            block = xp[:, :, k:k + stride * Ho:stride, l:l + stride * Wo:stride]  # (N, C, H', W')
            cols[:, :, :, :, k, l] = block.transpose(0, 2, 3, 1)
    return cols.reshape(N * Ho * Wo, C * HH * WW), (x.shape, HH, WW, stride, pad)"""
_IM2COL_BWD_BODY = """\
    d = dcols.reshape(N, Ho, Wo, C, HH, WW).transpose(0, 3, 4, 5, 1, 2)  # (N, C, HH, WW, H', W')
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    for k in range(HH):
        for l in range(WW):
            dxp[:, :, k:k + stride * Ho:stride, l:l + stride * Wo:stride] += d[:, :, k, l]"""
_IM2COL_ADD_AT = """    d = dcols.reshape(N, Ho, Wo, C, HH, WW)
    n, i, j, c, k, l = np.indices((N, Ho, Wo, C, HH, WW), sparse=True)
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    np.add.at(dxp, (n, c, i * stride + k, j * stride + l), d)"""

_CONV_FWD_BODY = """\
    cols, cache_cols = im2col_forward(x, HH, WW, stride, pad)  # (N*H'*W', C*HH*WW)
    w_rows = w.reshape(F, C * HH * WW)  # (F, C*HH*WW)
    out = cols @ w_rows.T + b  # (N*H'*W', F)
    out = out.reshape(N, Ho, Wo, F).transpose(0, 3, 1, 2)  # (N, F, H', W')
    return out, (cols, cache_cols, w)"""
_CONV_EINSUM = """    cols, cache_cols = im2col_forward(x, HH, WW, stride, pad)
    cols4 = cols.reshape(N, Ho, Wo, -1)
    out = np.einsum("nijd,fd->nfij", cols4, w.reshape(F, -1)) + b[:, None, None]
    return out, {"x_shape": x.shape, "w": w, "HH": HH, "WW": WW, "stride": stride, "pad": pad,
                 "x": x}"""
_CONV_BWD_BODY = """    cols, cache_cols, w = cache
    F = w.shape[0]
    d = dout.transpose(0, 2, 3, 1).reshape(-1, F)  # (N*H'*W', F)
    dw = (d.T @ cols).reshape(w.shape)  # (F, C, HH, WW)
    db = d.sum(axis=0)  # (F,)
    dcols = d @ w.reshape(F, -1)  # (N*H'*W', C*HH*WW)
    dx = im2col_backward(dcols, cache_cols)["dx"]  # (N, C, H, W)"""
_CONV_BWD_RECOMPUTE = """    w = cache["w"]
    F = w.shape[0]
    cols, cache_cols = im2col_forward(cache["x"], cache["HH"], cache["WW"], cache["stride"],
                                      cache["pad"])  # recomputed, not cached
    N, _, Ho, Wo = dout.shape
    d = np.einsum("nfij->nijf", dout).reshape(N * Ho * Wo, F)
    dw = np.einsum("mf,md->fd", d, cols).reshape(w.shape)
    db = np.einsum("nfij->f", dout)
    dx = im2col_backward(np.einsum("mf,fd->md", d, w.reshape(F, -1)), cache_cols)["dx"]"""

_POOL_FWD_BODY = """    N, C, H, W = x.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]  # (N, C, H', W', size, size)
    flat = win.reshape(*win.shape[:4], size * size)  # (N, C, H', W', size*size)
    arg = flat.argmax(axis=-1)  # first maximum (row-major)
    out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]  # (N, C, H', W')
    return out, (x.shape, size, stride, arg)"""
_POOL_LOOPS_FWD = """    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - size) // stride, 1 + (W - size) // stride
    out = np.empty((N, C, Ho, Wo))
    where = np.empty((N, C, Ho, Wo, 2), dtype=int)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * stride:i * stride + size, j * stride:j * stride + size]
                    k, l = np.unravel_index(np.argmax(window), window.shape)
                    out[n, c, i, j] = window[k, l]
                    where[n, c, i, j] = (i * stride + k, j * stride + l)
    return out, (x.shape, where)"""
_POOL_LOOPS_BWD = """    x_shape, where = cache
    N, C, Ho, Wo = dout.shape
    dx = np.zeros(x_shape)
    n, c = np.indices((N, C, Ho, Wo))[:2]
    np.add.at(dx, (n, c, where[..., 0], where[..., 1]), dout)
    return {"dx": dx}"""

_LRN_FWD_BODY = """    C = x.shape[1]
    sq = x * x
    s = np.zeros_like(x)  # (N, C, H, W)
    for d in range(-(n // 2), n // 2 + 1):  # channel c sums c + d
        lo, hi = max(0, -d), min(C, C - d)  # channels with 0 <= c+d < C
        s[:, lo:hi] += sq[:, lo + d:hi + d]
    den = k + alpha * s  # (N, C, H, W)
    scale = den ** (-beta)
    return x * scale, (x, den, scale, n, alpha, beta)"""
_LRN_CUMSUM_FWD = """    half = n // 2
    C = x.shape[1]

    def window_sum(v):
        # sum over channels max(0, c - half) .. min(C - 1, c + half), by a cumulative sum
        z = np.zeros_like(v[:, :1])
        cs = np.concatenate([z, np.cumsum(v, axis=1)], axis=1)  # (N, C + 1, H, W)
        hi = np.minimum(np.arange(C) + half + 1, C)
        lo = np.maximum(np.arange(C) - half, 0)
        return cs[:, hi] - cs[:, lo]

    den = k + alpha * window_sum(x ** 2)
    out = x / den ** beta
    return out, dict(x=x, den=den, beta=beta, alpha=alpha, window_sum=window_sum)"""
_LRN_BWD_BODY = """    x, den, scale, n, alpha, beta = cache
    C = x.shape[1]
    ds = -beta * dout * x * scale / den  # (N, C, H, W) dL/ds
    back = np.zeros_like(x)
    for d in range(-(n // 2), n // 2 + 1):  # s[c] used x[c + d]
        lo, hi = max(0, -d), min(C, C - d)
        back[:, lo + d:hi + d] += ds[:, lo:hi]
    return {"dx": dout * scale + 2.0 * alpha * x * back}"""
_LRN_CUMSUM_BWD = """    x, den = cache["x"], cache["den"]
    beta, alpha = cache["beta"], cache["alpha"]
    g = dout * x * (-beta) * den ** (-beta - 1.0)  # dL/d(den)
    direct = dout * den ** (-beta)
    return {"dx": direct + 2.0 * alpha * x * cache["window_sum"](g)}"""

_AUG_BODY = """    N, C, H, W = X.shape
    Xp = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))  # (N, C, H + 2pad, W + 2pad)
    out = np.empty((N, C, H, W))
    for i in range(N):
        r, c = shifts[i]
        crop = Xp[i, :, r:r + H, c:c + W]  # (C, H, W)
        out[i] = crop[:, :, ::-1] if flips[i] else crop
    return out"""
_AUG_FANCY = """    N, C, H, W = X.shape
    Xp = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    shifts = np.asarray(shifts)
    rows = shifts[:, 0, None] + np.arange(H)  # (N, H)
    cols = shifts[:, 1, None] + np.arange(W)  # (N, W)
    cols = np.where(np.asarray(flips, bool)[:, None], cols[:, ::-1], cols)
    n = np.arange(N)[:, None, None, None]
    c = np.arange(C)[None, :, None, None]
    return Xp[n, c, rows[:, None, :, None], cols[:, None, None, :]]"""

_NET_OWN_SOFTMAX = """    z = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)  # (N, K)
    N = len(y)
    loss = float(-np.mean(np.log(probs[np.arange(N), y])))
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1.0
    dscores /= N"""

VARIANTS = [
    variant("im2col_offset_loops", "im2col_code", _IM2COL_FWD_BODY, _IM2COL_LOOPS),
    variant("im2col_backward_add_at", "im2col_code", _IM2COL_BWD_BODY, _IM2COL_ADD_AT),
    variant(
        "conv_einsum_recomputes_cols",
        "conv_code",
        _both(_CONV_FWD_BODY, _CONV_BWD_HEAD, _CONV_BWD_BODY),
        _both(_CONV_EINSUM, _CONV_BWD_HEAD, _CONV_BWD_RECOMPUTE),
    ),
    variant(
        "max_pool_python_loops",
        "max_pool_code",
        _both(_POOL_FWD_BODY, _POOL_BWD_HEAD, _POOL_BWD_BODY),
        _both(_POOL_LOOPS_FWD, _POOL_BWD_HEAD, _POOL_LOOPS_BWD),
    ),
    variant(
        "lrn_cumulative_sums",
        "lrn_code",
        _both(_LRN_FWD_BODY, _LRN_BWD_HEAD, _LRN_BWD_BODY),
        _both(_LRN_CUMSUM_FWD, _LRN_BWD_HEAD, _LRN_CUMSUM_BWD),
    ),
    variant("augment_fancy_indexing", "augment_code", _AUG_BODY, _AUG_FANCY),
    variant("alexnet_own_softmax", "alexnet_code", _NET_CE, _NET_OWN_SOFTMAX),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    "conv_db_batch_mean": (
        "factor",
        "db: 1/(N*H'*W'), N the batch size and H' x W' the output's spatial size "
        "(in the network: b1 and b2, each by its own conv's N*H'*W')",
    ),
    "dropout_backward_forgets_scale": (
        "factor",
        "dx: 1-p, p the dropout probability (in the network: w1, b1, w2, b2, W3, b3 by 1-DROP_P)",
    ),
    "alexnet_loss_divides_by_batch_twice": (
        "factor",
        "every parameter's gradient: 1/N, N the batch size",
    ),
}
