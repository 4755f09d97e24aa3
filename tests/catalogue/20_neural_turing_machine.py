"""Wrong implementations of 20_neural_turing_machine that the hidden tests must catch
(test-of-tests), and correct variants in other styles that must keep full marks.

Each entry replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import mutant, numerical_backward_mutant, variant

# ---------------------------------------------------------------- the reference's texts
_CONTENT_FWD = """    Mn = np.sqrt(np.sum(M * M, axis=2) + EPS)                      # (B, N)
    kn = np.sqrt(np.sum(k * k, axis=1) + EPS)                      # (B,)
    dot = np.einsum("bnw,bw->bn", M, k)                            # (B, N)
    K = dot / (Mn * kn[:, None])                                   # (B, N)
    w = softmax(beta[:, None] * K, axis=1)                         # (B, N)
    return w, (M, k, beta, Mn, kn, dot, K, w)"""

_CONTENT_BWD = """    M, k, beta, Mn, kn, dot, K, w = cache
    dz = w * (dw - np.sum(w * dw, axis=1, keepdims=True))          # (B, N)
    dbeta = np.sum(dz * K, axis=1)                                 # (B,)
    dK = dz * beta[:, None]                                        # (B, N)
    den = Mn * kn[:, None]                                         # (B, N)
    ddot = dK / den
    dden = -dK * dot / den ** 2
    dMn = dden * kn[:, None]                                       # (B, N)
    dkn = np.sum(dden * Mn, axis=1)                                # (B,)
    dM = ddot[:, :, None] * k[:, None, :] + (dMn / Mn)[:, :, None] * M
    dk = np.einsum("bn,bnw->bw", ddot, M) + (dkn / kn)[:, None] * k
    return {"dM": dM, "dk": dk, "dbeta": dbeta}"""

_LOCATION_FWD = """    wg = g[:, None] * wc + (1.0 - g[:, None]) * w_prev             # (B, N)
    ws = (s[:, 0:1] * np.roll(wg, -1, axis=1) + s[:, 1:2] * wg
          + s[:, 2:3] * np.roll(wg, 1, axis=1))                    # (B, N)
    p = (ws + EPS) ** gamma[:, None]                               # (B, N)
    w = p / p.sum(axis=1, keepdims=True)                           # (B, N)
    return w, (wc, w_prev, g, s, gamma, wg, ws, w)"""

_LOCATION_BWD = """    wc, w_prev, g, s, gamma, wg, ws, w = cache
    dz = w * (dw - np.sum(w * dw, axis=1, keepdims=True))          # w = softmax(gamma log(ws+EPS))
    dgamma = np.sum(dz * np.log(ws + EPS), axis=1)                 # (B,)
    dws = dz * gamma[:, None] / (ws + EPS)                         # (B, N)
    ds = np.stack([np.sum(dws * np.roll(wg, -1, axis=1), axis=1),
                   np.sum(dws * wg, axis=1),
                   np.sum(dws * np.roll(wg, 1, axis=1), axis=1)], axis=1)  # (B, 3)
    dwg = (s[:, 0:1] * np.roll(dws, 1, axis=1) + s[:, 1:2] * dws
           + s[:, 2:3] * np.roll(dws, -1, axis=1))                 # (B, N)
    dg = np.sum(dwg * (wc - w_prev), axis=1)                       # (B,)
    return {"dwc": dwg * g[:, None], "dw_prev": dwg * (1.0 - g[:, None]), "dg": dg, "ds": ds,
            "dgamma": dgamma}"""

_WRITE_FWD = """    keep = 1.0 - w[:, :, None] * e[:, None, :]                     # (B, N, W)
    M_new = M * keep + w[:, :, None] * a[:, None, :]               # (B, N, W)
    return M_new, (M, w, e, a, keep)"""

_WRITE_BWD = """    M, w, e, a, keep = cache
    dkeep = dM_new * M                                             # (B, N, W)
    dw = -np.einsum("bnw,bw->bn", dkeep, e) + np.einsum("bnw,bw->bn", dM_new, a)
    de = -np.einsum("bnw,bn->bw", dkeep, w)                        # (B, W)
    da = np.einsum("bnw,bn->bw", dM_new, w)                        # (B, W)
    return {"dM": dM_new * keep, "dw": dw, "de": de, "da": da}"""

_READ_BWD = """    M, w = cache
    return {"dM": w[:, :, None] * dr[:, None, :], "dw": np.einsum("bnw,bw->bn", M, dr)}"""

_NTM_READ = """        M, mw_c = memory_write_forward(M, ww, hw["e"], hw["a"])    # M_t (B, N, W)
        wcr, cr_c = content_address_forward(M, hr["k"], hr["beta"])
        wr, lr_c = location_address_forward(wcr, wr, hr["g"], hr["s"], hr["gamma"])
        r, rd_c = memory_read_forward(M, wr)                       # (B, W)"""

_NTM_LOSS = """    x, y = batch
    B, T, D = x.shape
    L = y.shape[1]
    logits, _, _, (steps, N, W) = ntm_forward(params, x, N)
    H = params["b_c"].shape[0]
    loss, dout = bce_with_logits(logits[:, T - L:], y)
    dlogits = np.zeros_like(logits)
    dlogits[:, T - L:] = dout                                      # (B, T, width)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dM = np.zeros((B, N, W))                                       # of M_t, from step t + 1
    dww, dwr = np.zeros((B, N)), np.zeros((B, N))                  # of ww_t, wr_t
    dr = np.zeros((B, W))                                          # of r_t
    for t in range(T - 1, -1, -1):
        inp, h, hw_c, hr_c, cw_c, lw_c, mw_c, cr_c, lr_c, rd_c, o = steps[t]
        grads["W_o"] += o.T @ dlogits[:, t]
        grads["b_o"] += dlogits[:, t].sum(axis=0)
        do = dlogits[:, t] @ params["W_o"].T                       # (B, hidden + W)
        dh = do[:, :H]
        g = memory_read_backward(dr + do[:, H:], rd_c)
        dM = dM + g["dM"]
        g = location_address_backward(dwr + g["dw"], lr_c)
        dwr = g["dw_prev"]                                         # to step t - 1
        dhr = {"dg": g["dg"], "ds": g["ds"], "dgamma": g["dgamma"]}
        g = content_address_backward(g["dwc"], cr_c)
        dM = dM + g["dM"]
        dhr["dk"], dhr["dbeta"] = g["dk"], g["dbeta"]
        g = memory_write_backward(dM, mw_c)
        dM = g["dM"]                                               # of M_{t-1}
        dhw = {"de": g["de"], "da": g["da"]}
        g = location_address_backward(dww + g["dw"], lw_c)
        dww = g["dw_prev"]                                         # to step t - 1
        dhw.update(dg=g["dg"], ds=g["ds"], dgamma=g["dgamma"])
        g = content_address_backward(g["dwc"], cw_c)
        dM = dM + g["dM"]
        dhw["dk"], dhw["dbeta"] = g["dk"], g["dbeta"]
        dpw = head_backward(dhw, hw_c)                             # (B, 3W + 6)
        dpr = head_backward(dhr, hr_c)                             # (B, W + 6)
        grads["W_w"] += h.T @ dpw
        grads["b_w"] += dpw.sum(axis=0)
        grads["W_r"] += h.T @ dpr
        grads["b_r"] += dpr.sum(axis=0)
        dh = dh + dpw @ params["W_w"].T + dpr @ params["W_r"].T
        da = dh * (1.0 - h ** 2)                                   # (B, hidden)
        grads["W_c"] += inp.T @ da
        grads["b_c"] += da.sum(axis=0)
        dr = (da @ params["W_c"].T)[:, D:]                         # of r_{t-1}
    return loss, grads"""

# ---------------------------------------------------------------- test names
_C_FWD = [
    f"content_address_forward_matches_reference[{c}]" for c in ("B2_N5_W3", "one_location_N1")
]
_C_GRADS = [f"content_address_backward_gradcheck[{g}]" for g in ("dM", "dk", "dbeta")]
_L_FWD = [f"location_address_forward_matches_reference[{c}]" for c in ("B2_N6", "B3_N3")]
_L_GRADS = [
    f"location_address_backward_gradcheck[{g}]" for g in ("dwc", "dw_prev", "dg", "ds", "dgamma")
]
_W_GRADS = [f"memory_write_backward_gradcheck[{g}]" for g in ("dM", "dw", "de", "da")]
_R_GRADS = [f"memory_read_backward_gradcheck[{g}]" for g in ("dM", "dw")]
_NTM_GRADS = [
    f"ntm_loss_gradcheck[{g}]" for g in ("controller", "write_head", "read_head", "output")
]
_NTM_FWD = ["ntm_forward_matches_reference", "ntm_loss_value_matches_reference"]

MUTANTS = []
VARIANTS = []

MUTANTS = [
    # ------------------------------------------------------------ content_address
    # A backward by centred differences through the forward (tests/mutants.py): accurate to
    # ~1e-10 on the gradient checks' inputs, it passes them all; the time budgets catch it. It
    # also fails the training test by value, whatever the load: there the memory starts at
    # 1e-6, and its step of 1e-5 straddles the cosine's EPS-smoothed norm (scale 1e-4), so its
    # dM is off by ~1e-2 and the curve departs at step 2 (1.2e-5; the run takes ~3 s of the
    # 20 s allowed, and a run stopped for time fails too).
    numerical_backward_mutant(
        "content_numerical_backward",
        "content_address_code",
        "    M, k, beta, Mn, kn, dot, K, w = cache\n",
        """    args = {"M": M.copy(), "k": k.copy(), "beta": beta.copy()}""",
        "np.sum(content_address_forward(**args)[0] * dw)",
        catches=[
            "content_address_backward_fast",
            "ntm_loss_trains_like_reference",
            "ntm_loss_fast",
        ],
    ),
    # The norms without EPS (np.linalg.norm): NaN on a zero memory, and slightly off elsewhere.
    mutant(
        "content_norms_without_eps",
        "content_address_code",
        """    Mn = np.sqrt(np.sum(M * M, axis=2) + EPS)                      # (B, N)
    kn = np.sqrt(np.sum(k * k, axis=1) + EPS)                      # (B,)""",
        """    Mn = np.linalg.norm(M, axis=2)                                 # (B, N)
    kn = np.linalg.norm(k, axis=1)                                 # (B,)""",
        "content_address_forward_matches_reference[B2_N5_W3]",
        "content_address_handles_a_zero_memory",
        "ntm_forward_matches_reference",
        "ntm_loss_value_matches_reference",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # The softmax's Jacobian taken as its diagonal only.
    mutant(
        "content_softmax_jacobian_diagonal_only",
        "content_address_code",
        "    dz = w * (dw - np.sum(w * dw, axis=1, keepdims=True))          # (B, N)\n    dbeta",
        "    dz = w * dw                                                    # (B, N)\n    dbeta",
        "content_address_backward_gradcheck[dM]",
        "content_address_backward_gradcheck[dk]",
        "content_address_backward_gradcheck[dbeta]",
        "content_address_backward_fast",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # The quotient rule half done: the norms' dependence on M forgotten.
    mutant(
        "content_dM_missing_norm_path",
        "content_address_code",
        "    dM = ddot[:, :, None] * k[:, None, :] + (dMn / Mn)[:, :, None] * M",
        "    dM = ddot[:, :, None] * k[:, None, :]",
        "content_address_backward_gradcheck[dM]",
        "content_address_backward_fast",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # The similarity not divided by the key's norm: the weighting depends on the key's length.
    mutant(
        "content_key_norm_missing",
        "content_address_code",
        "    K = dot / (Mn * kn[:, None])                                   # (B, N)",
        "    K = dot / Mn                                                   # (B, N)",
        "content_address_forward_matches_reference[B2_N5_W3]",
        "content_address_is_a_cosine_softmax",
        "content_address_backward_gradcheck[dM]",
        "content_address_backward_gradcheck[dk]",
        "content_address_backward_fast",
        "ntm_forward_matches_reference",
        "ntm_loss_value_matches_reference",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # The softmax over the batch instead of the locations.
    mutant(
        "content_softmax_over_batch",
        "content_address_code",
        "    w = softmax(beta[:, None] * K, axis=1)                         # (B, N)",
        "    w = softmax(beta[:, None] * K, axis=0)                         # (B, N)",
        "content_address_forward_matches_reference[B2_N5_W3]",
        "content_address_forward_matches_reference[one_location_N1]",
        "content_address_is_a_cosine_softmax",
        "content_address_handles_a_zero_memory",
        "content_address_backward_gradcheck[dM]",
        "content_address_backward_gradcheck[dk]",
        "content_address_backward_gradcheck[dbeta]",
        "content_address_backward_fast",
        "ntm_forward_matches_reference",
        "ntm_loss_value_matches_reference",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_forward_is_causal_and_per_example",
        "ntm_loss_examples_are_independent",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # ------------------------------------------------------------ location_address
    # The gate the wrong way round: g weighs the previous weighting.
    mutant(
        "location_gate_swapped",
        "location_address_code",
        "    wg = g[:, None] * wc + (1.0 - g[:, None]) * w_prev             # (B, N)",
        "    wg = g[:, None] * w_prev + (1.0 - g[:, None]) * wc             # (B, N)",
        "location_address_forward_matches_reference[B2_N6]",
        "location_address_forward_matches_reference[B3_N3]",
        "location_address_shift_convention",
        "location_address_gate_and_sharpening",
        "location_address_backward_gradcheck[dwc]",
        "location_address_backward_gradcheck[dw_prev]",
        "location_address_backward_gradcheck[dg]",
        "location_address_backward_fast",
        "ntm_forward_matches_reference",
        "ntm_loss_value_matches_reference",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # The shift in the other direction: s[:, 2] moves the weight to the previous location.
    mutant(
        "location_shift_direction_reversed",
        "location_address_code",
        """    ws = (s[:, 0:1] * np.roll(wg, -1, axis=1) + s[:, 1:2] * wg
          + s[:, 2:3] * np.roll(wg, 1, axis=1))                    # (B, N)""",
        """    ws = (s[:, 0:1] * np.roll(wg, 1, axis=1) + s[:, 1:2] * wg
          + s[:, 2:3] * np.roll(wg, -1, axis=1))                   # (B, N)""",
        "location_address_forward_matches_reference[B2_N6]",
        "location_address_forward_matches_reference[B3_N3]",
        "location_address_shift_convention",
        "location_address_backward_gradcheck[dwc]",
        "location_address_backward_gradcheck[dw_prev]",
        "location_address_backward_gradcheck[dg]",
        "location_address_backward_gradcheck[ds]",
        "location_address_backward_fast",
        "ntm_forward_matches_reference",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # EPS added after the power instead of before it.
    mutant(
        "location_eps_after_the_power",
        "location_address_code",
        "    p = (ws + EPS) ** gamma[:, None]                               # (B, N)",
        "    p = ws ** gamma[:, None] + EPS                                 # (B, N)",
        "location_address_forward_matches_reference[B2_N6]",
        "location_address_forward_matches_reference[B3_N3]",
        "location_address_backward_gradcheck[dwc]",
        "location_address_backward_gradcheck[dw_prev]",
        "location_address_backward_gradcheck[dg]",
        "location_address_backward_gradcheck[ds]",
        "location_address_backward_gradcheck[dgamma]",
        "location_address_backward_fast",
        "ntm_forward_matches_reference",
        "ntm_loss_value_matches_reference",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # The sharpening exponent's gradient without the logarithm.
    mutant(
        "location_dgamma_without_log",
        "location_address_code",
        "    dgamma = np.sum(dz * np.log(ws + EPS), axis=1)                 # (B,)",
        "    dgamma = np.sum(dz * ws, axis=1)                               # (B,)",
        "location_address_backward_gradcheck[dgamma]",
        "location_address_backward_fast",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # The shift's adjoint taken as the same shift (not the opposite one).
    mutant(
        "location_shift_adjoint_not_reversed",
        "location_address_code",
        """    dwg = (s[:, 0:1] * np.roll(dws, 1, axis=1) + s[:, 1:2] * dws
           + s[:, 2:3] * np.roll(dws, -1, axis=1))                 # (B, N)""",
        """    dwg = (s[:, 0:1] * np.roll(dws, -1, axis=1) + s[:, 1:2] * dws
           + s[:, 2:3] * np.roll(dws, 1, axis=1))                  # (B, N)""",
        "location_address_backward_gradcheck[dwc]",
        "location_address_backward_gradcheck[dw_prev]",
        "location_address_backward_gradcheck[dg]",
        "location_address_backward_fast",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # ------------------------------------------------------------ memory_write
    # Add first, then erase: the freshly added vector is partly erased again.
    mutant(
        "write_adds_before_erasing",
        "memory_write_code",
        "    M_new = M * keep + w[:, :, None] * a[:, None, :]               # (B, N, W)",
        "    M_new = (M + w[:, :, None] * a[:, None, :]) * keep             # (B, N, W)",
        "memory_write_forward_matches_reference",
        "memory_write_erases_then_adds",
        "memory_write_backward_gradcheck[dw]",
        "memory_write_backward_gradcheck[de]",
        "memory_write_backward_gradcheck[da]",
        "memory_write_backward_fast",
        "ntm_forward_matches_reference",
        "ntm_loss_value_matches_reference",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # The write weighting's gradient through the erase forgotten.
    mutant(
        "write_dw_missing_erase_path",
        "memory_write_code",
        '    dw = -np.einsum("bnw,bw->bn", dkeep, e) + np.einsum("bnw,bw->bn", dM_new, a)',
        '    dw = np.einsum("bnw,bw->bn", dM_new, a)',
        "memory_write_backward_gradcheck[dw]",
        "memory_write_backward_fast",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # The erase factor forgotten in the memory's own gradient.
    mutant(
        "write_dM_without_erase_factor",
        "memory_write_code",
        '    return {"dM": dM_new * keep, "dw": dw, "de": de, "da": da}',
        '    return {"dM": dM_new, "dw": dw, "de": de, "da": da}',
        "memory_write_backward_gradcheck[dM]",
        "memory_write_backward_fast",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # ------------------------------------------------------------ memory_read
    # A mean over the locations instead of the weighted sum.
    mutant(
        "read_mean_instead_of_sum",
        "memory_read_code",
        '    r = np.einsum("bn,bnw->bw", w, M)                              # (B, W)',
        "    r = np.mean(w[:, :, None] * M, axis=1)                         # (B, W)",
        "memory_read_forward_matches_reference",
        "memory_read_one_hot_reads_the_row",
        "memory_read_backward_gradcheck[dM]",
        "memory_read_backward_gradcheck[dw]",
        "memory_read_backward_fast",
        "ntm_forward_matches_reference",
        "ntm_loss_value_matches_reference",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # The memory's gradient without the read weighting (as if every location were read fully).
    mutant(
        "read_dM_without_weighting",
        "memory_read_code",
        '    return {"dM": w[:, :, None] * dr[:, None, :], "dw": np.einsum("bnw,bw->bn", M, dr)}',
        '    return {"dM": np.ones_like(M) * dr[:, None, :], "dw": np.einsum("bnw,bw->bn", M, dr)}',
        "memory_read_backward_gradcheck[dM]",
        "memory_read_backward_fast",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # ------------------------------------------------------------ ntm
    # The read addresses and reads the memory before this step's write (the backward unchanged).
    mutant(
        "ntm_reads_before_writing",
        "ntm_code",
        _NTM_READ,
        """        M_new, mw_c = memory_write_forward(M, ww, hw["e"], hw["a"])
        wcr, cr_c = content_address_forward(M, hr["k"], hr["beta"])
        wr, lr_c = location_address_forward(wcr, wr, hr["g"], hr["s"], hr["gamma"])
        r, rd_c = memory_read_forward(M, wr)                       # (B, W)
        M = M_new""",
        "ntm_forward_matches_reference",
        "ntm_loss_value_matches_reference",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # The write weighting's gradient not carried to the previous step (through w_prev).
    mutant(
        "ntm_write_weighting_not_carried",
        "ntm_code",
        '        dww = g["dw_prev"]                                         # to step t - 1',
        "        dww = np.zeros((B, N))                                     # to step t - 1",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # The read vector's gradient taken from the wrong columns of the controller's input.
    mutant(
        "ntm_read_vector_gradient_wrong_slice",
        "ntm_code",
        '        dr = (da @ params["W_c"].T)[:, D:]                         # of r_{t-1}',
        '        dr = (da @ params["W_c"].T)[:, :W]                         # of r_{t-1}',
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
    # The output bias's gradient averaged over the batch instead of summed.
    mutant(
        "ntm_output_bias_batch_mean",
        "ntm_code",
        '        grads["b_o"] += dlogits[:, t].sum(axis=0)',
        '        grads["b_o"] += dlogits[:, t].mean(axis=0)',
        "ntm_loss_gradcheck[output]",
        "ntm_loss_examples_are_independent",
        "ntm_loss_fast",
    ),
    # The loss scored one step too early (off by one in time).
    mutant(
        "ntm_loss_one_step_early",
        "ntm_code",
        "    loss, dout = bce_with_logits(logits[:, T - L:], y)",
        "    loss, dout = bce_with_logits(logits[:, T - L - 1:T - 1], y)",
        "ntm_loss_value_matches_reference",
        "ntm_loss_gradcheck[controller]",
        "ntm_loss_gradcheck[write_head]",
        "ntm_loss_gradcheck[read_head]",
        "ntm_loss_gradcheck[output]",
        "ntm_loss_trains_like_reference",
        "ntm_loss_fast",
    ),
]

_CONTENT_DOC = '''


def content_address_backward(dw, cache):
    """Backward pass of content_address_forward.

    Inputs:
        dw: (B, N) upstream gradient of the weighting.
        cache: from content_address_forward.
    Returns:
        dict with 'dM' (B, N, W), 'dk' (B, W), 'dbeta' (B,).
    """
'''

_LOCATION_DOC = '''


def location_address_backward(dw, cache):
    """Backward pass of location_address_forward.

    Inputs:
        dw: (B, N) upstream gradient of the weighting.
        cache: from location_address_forward.
    Returns:
        dict with 'dwc' (B, N), 'dw_prev' (B, N), 'dg' (B,), 'ds' (B, 3), 'dgamma' (B,).
    """
'''

_WRITE_DOC = '''


def memory_write_backward(dM_new, cache):
    """Backward pass of memory_write_forward.

    Inputs:
        dM_new: (B, N, W) upstream gradient of the new memory.
        cache: from memory_write_forward.
    Returns:
        dict with 'dM' (B, N, W), 'dw' (B, N), 'de' (B, W), 'da' (B, W).
    """
'''

VARIANTS = [
    # A loop over the locations, the cosine's gradient in its textbook form, and a cache of the
    # inputs only (the norms recomputed in the backward).
    variant(
        "content_loop_over_locations",
        "content_address_code",
        _CONTENT_FWD + _CONTENT_DOC + _CONTENT_BWD,
        """    B, N, _ = M.shape
    scores = np.zeros((B, N))
    for i in range(N):
        num = np.sum(M[:, i] * k, axis=1)
        scores[:, i] = beta * num / (np.sqrt(np.sum(M[:, i] ** 2, axis=1) + EPS)
                                     * np.sqrt(np.sum(k ** 2, axis=1) + EPS))
    z = np.exp(scores - scores.max(axis=1, keepdims=True))
    w = z / z.sum(axis=1, keepdims=True)
    return w, {"M": M, "k": k, "beta": beta, "w": w}"""
        + _CONTENT_DOC
        + """    M, k, beta, w = cache["M"], cache["k"], cache["beta"], cache["w"]
    B, N, _ = M.shape
    nk = np.sqrt(np.sum(k ** 2, axis=1) + EPS)
    dscore = w * dw - w * np.sum(w * dw, axis=1, keepdims=True)
    dM = np.zeros_like(M)
    dk = np.zeros_like(k)
    dbeta = np.zeros_like(beta)
    for i in range(N):
        m = M[:, i]
        nm = np.sqrt(np.sum(m ** 2, axis=1) + EPS)
        cos = np.sum(m * k, axis=1) / (nm * nk)
        dbeta += dscore[:, i] * cos
        dcos = (dscore[:, i] * beta)[:, None]
        dM[:, i] = dcos * (k / (nm * nk)[:, None] - (cos / nm ** 2)[:, None] * m)
        dk += dcos * (m / (nm * nk)[:, None] - (cos / nk ** 2)[:, None] * k)
    return {"dM": dM, "dk": dk, "dbeta": dbeta}""",
    ),
    # The shift as a (N, N) circulant matrix per example, its adjoint the transpose; the
    # sharpening normalised by hand, its gradient through the power and the normaliser.
    variant(
        "location_circulant_matrix",
        "location_address_code",
        _LOCATION_FWD + _LOCATION_DOC + _LOCATION_BWD,
        """    B, N = wc.shape
    eye = np.eye(N)
    P = [np.roll(eye, -1, axis=0), eye, np.roll(eye, 1, axis=0)]   # P[j] @ v == shifted v
    S = sum(s[:, j, None, None] * P[j] for j in range(3))          # (B, N, N)
    wg = g[:, None] * wc + (1.0 - g[:, None]) * w_prev
    ws = np.einsum("bij,bj->bi", S, wg)
    p = np.power(ws + EPS, gamma[:, None])
    Z = p.sum(axis=1, keepdims=True)
    return p / Z, {"in": (wc, w_prev, g, s, gamma), "P": P, "S": S, "wg": wg, "ws": ws,
                   "p": p, "Z": Z}"""
        + _LOCATION_DOC
        + """    wc, w_prev, g, s, gamma = cache["in"]
    P, S, wg, ws, p, Z = cache["P"], cache["S"], cache["wg"], cache["ws"], cache["p"], cache["Z"]
    dp = dw / Z - np.sum(dw * p, axis=1, keepdims=True) / Z ** 2
    dgamma = np.sum(dp * p * np.log(ws + EPS), axis=1)
    dws = dp * gamma[:, None] * p / (ws + EPS)
    dwg = np.einsum("bij,bi->bj", S, dws)
    ds = np.stack([np.einsum("bi,ij,bj->b", dws, P[j], wg) for j in range(3)], axis=1)
    return {"dwc": g[:, None] * dwg, "dw_prev": (1.0 - g[:, None]) * dwg,
            "dg": np.einsum("bn,bn->b", dwg, wc - w_prev), "ds": ds, "dgamma": dgamma}""",
    ),
    # Erase and add as separate stages with a loop over the locations; no cached erase factor.
    variant(
        "write_two_stages_loop",
        "memory_write_code",
        _WRITE_FWD + _WRITE_DOC + _WRITE_BWD,
        """    B, N, W = M.shape
    erased = np.empty_like(M)
    for i in range(N):
        erased[:, i] = M[:, i] - M[:, i] * (w[:, i:i + 1] * e)
    M_new = erased + np.einsum("bn,bw->bnw", w, a)
    return M_new, [M, w, e, a]"""
        + _WRITE_DOC
        + """    M, w, e, a = cache
    B, N, W = M.shape
    dM = np.empty_like(M)
    dw = np.zeros_like(w)
    de = np.zeros_like(e)
    for i in range(N):
        g = dM_new[:, i]
        dM[:, i] = g * (1.0 - w[:, i:i + 1] * e)
        dw[:, i] = np.sum(g * (a - M[:, i] * e), axis=1)
        de -= g * M[:, i] * w[:, i:i + 1]
    da = np.einsum("bnw,bn->bw", dM_new, w)
    return {"dM": dM, "dw": dw, "de": de, "da": da}""",
    ),
    # The read as a batched matrix product, its backward as the two transposed products.
    variant(
        "read_matmul",
        "memory_read_code",
        _READ_BWD,
        """    M, w = cache
    dM = w[:, :, None] @ dr[:, None, :]                            # (B, N, 1) @ (B, 1, W)
    dw = (M @ dr[:, :, None])[:, :, 0]                             # (B, N, W) @ (B, W, 1)
    return {"dw": dw, "dM": dM}""",
    ),
    # The loss written with its own log-sigmoid, a per-step dict cache read back by key, and the
    # output layer's gradients in one einsum after the loop.
    variant(
        "ntm_own_loss_and_einsum",
        "ntm_code",
        _NTM_LOSS,
        """    x, y = batch
    B, T, D = x.shape
    L = y.shape[1]
    logits, _, _, cache = ntm_forward(params, x, N)
    steps, N, W = cache
    H = params["b_c"].shape[0]
    z = logits[:, T - L:]
    log_p = -np.logaddexp(0.0, -z)
    log_q = -np.logaddexp(0.0, z)
    loss = -np.mean(y * log_p + (1.0 - y) * log_q)
    dlog = np.zeros_like(logits)
    dlog[:, T - L:] = (1.0 / (1.0 + np.exp(-z)) - y) / z.size
    names = ["inp", "h", "hw", "hr", "cw", "lw", "mw", "cr", "lr", "rd", "o"]
    rec = [dict(zip(names, st)) for st in steps]
    O = np.stack([r["o"] for r in rec], axis=1)                    # (B, T, H + W)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    grads["W_o"] = np.einsum("bto,btk->ok", O, dlog)
    grads["b_o"] = dlog.sum(axis=(0, 1))
    dO = dlog @ params["W_o"].T                                    # (B, T, H + W)
    carry = {"M": 0.0, "ww": 0.0, "wr": 0.0, "r": 0.0}
    for t in reversed(range(T)):
        r = rec[t]
        rd = memory_read_backward(carry["r"] + dO[:, t, H:], r["rd"])
        lr = location_address_backward(carry["wr"] + rd["dw"], r["lr"])
        cr = content_address_backward(lr["dwc"], r["cr"])
        mw = memory_write_backward(carry["M"] + rd["dM"] + cr["dM"], r["mw"])
        lw = location_address_backward(carry["ww"] + mw["dw"], r["lw"])
        cw = content_address_backward(lw["dwc"], r["cw"])
        dpw = head_backward({"dk": cw["dk"], "dbeta": cw["dbeta"], "dg": lw["dg"],
                             "ds": lw["ds"], "dgamma": lw["dgamma"], "de": mw["de"],
                             "da": mw["da"]}, r["hw"])
        dpr = head_backward({"dk": cr["dk"], "dbeta": cr["dbeta"], "dg": lr["dg"],
                             "ds": lr["ds"], "dgamma": lr["dgamma"]}, r["hr"])
        h = r["h"]
        grads["W_w"] += np.einsum("bh,bp->hp", h, dpw)
        grads["b_w"] += dpw.sum(axis=0)
        grads["W_r"] += np.einsum("bh,bp->hp", h, dpr)
        grads["b_r"] += dpr.sum(axis=0)
        dh = dO[:, t, :H] + dpw @ params["W_w"].T + dpr @ params["W_r"].T
        da = dh * (1.0 - h * h)
        grads["W_c"] += np.einsum("bi,bh->ih", r["inp"], da)
        grads["b_c"] += da.sum(axis=0)
        dinp = da @ params["W_c"].T
        carry = {"M": mw["dM"] + cw["dM"], "ww": lw["dw_prev"], "wr": lr["dw_prev"],
                 "r": dinp[:, D:]}
    return float(loss), grads""",
    ),
]


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
BUG_CLASSES = {
    # memory_read_backward's dM and dw; through ntm_loss's recurrence the parameters' gradients
    # are not a multiple of the true ones
    "read_mean_instead_of_sum": (
        "factor",
        "dM, dw: N, N the number of memory locations (the forward averages, the backward sums)",
    ),
    "ntm_output_bias_batch_mean": ("factor", "b_o: 1/B, B the batch size"),
    # location_address_backward's dg; its dwc and dw_prev are off by a ratio that differs per row
    "location_gate_swapped": ("sign", "dg: -1"),
}
