"""Wrong implementations of 26_cs231n that the hidden tests must catch (test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook.
"""

from mutants import fd_loop, numerical_backward_mutant


# Gradients by centred differences through the forward (tests/mutants.py). They are accurate to
# ~1e-10 away from kinks and pass every gradient check; only the realistic-size time budget (and,
# for ReLU and the hinge, inputs next to a kink) catch them.
def _numerical_dscores(loss_of):
    """Lines that return ``(loss, dscores)`` with dscores by centred differences of ``loss_of(s)``
    (its body given), inserted before the analytic gradient of a loss, which becomes unreachable."""
    return f"""
    def loss_of(s):
{loss_of}

    s = scores.copy()
{fd_loop("s", "dscores", "loss_of(s)")}
    return float(loss), dscores
"""


# The whole network's gradients (keyed like params) by centred differences of its loss.
_TWO_LAYER_NUMERICAL_GRADS = f"""
    def loss_of(p):
        a_, _ = affine_forward(X, p["W1"], p["b1"])
        h_, _ = relu_forward(a_)
        s_, _ = affine_forward(h_, p["W2"], p["b2"])
        return softmax_loss(s_, y)[0] + 0.5 * reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))

    p = {{k: v.copy() for k, v in params.items()}}
    grads = {{}}
    for k, arr in p.items():
{fd_loop("arr", "g", "loss_of(p)", indent=8)}
        grads[k] = g
    return loss, grads
    g2 = affine_backward(dscores, cache2)
"""

_GRAD_CASES = "grad_check_flags_planted_bugs[{}]"

MUTANTS = [
    # ---- 1. gradient checking
    dict(
        name="numerical_gradient_one_sided",
        cell="gradcheck_code",
        old="""        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old                                               # restore before moving on
        grad[idx] = (f_plus - f_minus) / (2.0 * h)""",
        new="""        x[idx] = old
        f_minus = f(x)
        grad[idx] = (f_plus - f_minus) / h""",
        catches=[
            "numerical_gradient_matches_reference",
            "numerical_gradient_is_centred",
            _GRAD_CASES.format("tanh"),
        ],
    ),
    dict(
        name="numerical_gradient_does_not_restore_x",
        cell="gradcheck_code",
        old="        x[idx] = old" + " " * 47 + "# restore before moving on\n",
        new="",
        catches=["numerical_gradient_matches_reference"],
    ),
    dict(
        name="relative_error_divides_by_first_norm",
        cell="gradcheck_code",
        old="return float(np.linalg.norm(a - b) / denom)",
        new="return float(np.linalg.norm(a - b) / np.linalg.norm(a))",
        catches=["relative_error_matches_reference", _GRAD_CASES.format("softmax_zero_grad")],
    ),
    dict(
        # Checking the gradient of sum(y): a correct softmax looks wrong (both gradients are pure
        # rounding noise) and the forgotten flip looks right.
        name="grad_check_all_ones_upstream",
        cell="gradcheck_code",
        old="dout = np.random.default_rng(seed).standard_normal(size=out.shape)",
        new="dout = np.ones(out.shape)",
        catches=[_GRAD_CASES.format("softmax"), _GRAD_CASES.format("flip_forgotten")],
    ),
    dict(
        name="grad_check_numerical_side_ignores_upstream",
        cell="gradcheck_code",
        old="return float(np.sum(forward(z)[0] * dout))",
        new="return float(np.sum(forward(z)[0]))",
        catches=[
            _GRAD_CASES.format("tanh"),
            _GRAD_CASES.format("softmax"),
            _GRAD_CASES.format("square_missing_2"),
        ],
    ),
    # ---- 2. affine
    dict(
        name="affine_forward_forgets_bias",
        cell="affine_code",
        old="y = x @ W + b ",
        new="y = x @ W ",
        catches=["affine_forward_matches_reference", "two_layer_loss_matches_reference"],
    ),
    dict(
        name="affine_dx_divided_by_batch_size",
        cell="affine_code",
        old="dx = dy @ W.T ",
        new="dx = dy @ W.T / x.shape[0] ",
        catches=["affine_backward_gradcheck[dx]", "two_layer_loss_gradcheck[W1]"],
    ),
    dict(
        name="affine_transposed_weight_gradient",
        cell="affine_code",
        old="dW = x.T @ dy ",
        new="dW = dy.T @ x ",
        catches=["affine_backward_gradcheck[dW]", "two_layer_loss_gradcheck[W2]"],
    ),
    dict(
        name="affine_bias_gradient_averaged",
        cell="affine_code",
        old="db = dy.sum(axis=0)",
        new="db = dy.mean(axis=0)",
        catches=[
            "affine_backward_gradcheck[db]",
            "two_layer_loss_gradcheck[b1]",
            "two_layer_loss_gradcheck[b2]",
            "two_layer_training_reduces_loss_like_reference",
        ],
    ),
    numerical_backward_mutant(
        "affine_numerical_backward",
        "affine_code",
        "    x, W = cache\n    dx = dy @ W.T",
        """    args = {"x": x.copy(), "W": W.copy()}
    zero_b = np.zeros(W.shape[1])""",
        'np.sum(affine_forward(args["x"], args["W"], zero_b)[0] * dy)',
        grads='{"db": dy.sum(axis=0)}',
        catches=["affine_backward_fast", "two_layer_loss_fast"],
    ),
    # ---- 3. relu
    dict(
        name="relu_forward_leaky",
        cell="relu_code",
        old="out = np.maximum(x, 0.0)",
        new="out = np.maximum(x, 0.01 * x)",
        catches=["relu_forward_matches_reference", "two_layer_loss_matches_reference"],
    ),
    dict(
        name="relu_backward_applies_relu_to_the_gradient",
        cell="relu_code",
        old='return {"dx": dout * (x > 0)}',
        new='return {"dx": np.maximum(dout, 0.0)}',
        catches=[
            "relu_backward_gradcheck",
            "relu_backward_at_kinks",
            "two_layer_loss_gradcheck[W1]",
            "two_layer_loss_gradcheck[b1]",
            "two_layer_training_reduces_loss_like_reference",
        ],
    ),
    numerical_backward_mutant(
        "relu_numerical_backward",
        "relu_code",
        '    x = cache\n    return {"dx": dout * (x > 0)}',
        '    args = {"x": x.copy()}',
        'np.sum(relu_forward(args["x"])[0] * dout)',
        catches=["relu_backward_at_kinks", "relu_backward_fast"],
    ),
    # ---- 4. svm loss
    dict(
        name="svm_correct_class_not_excluded",
        cell="svm_loss_code",
        old="    margins[rows, y] = 0.0 ",
        new="    pass ",
        catches=[
            "svm_loss_matches_reference",
            "svm_loss_gradient",
            "svm_loss_zero_when_margins_met_and_C_minus_1_when_tied",
        ],
    ),
    dict(
        name="svm_gradient_missing_1_over_N",
        cell="svm_loss_code",
        old="dscores = active / N",
        new="dscores = active",
        catches=["svm_loss_gradient", "svm_loss_at_margin_kinks"],
    ),
    dict(
        name="svm_numerical_gradient",
        cell="svm_loss_code",
        old="""    active = (margins > 0).astype(np.float64)""",
        new=_numerical_dscores(
            """        m = s - s[rows, y][:, None] + 1.0
        m[rows, y] = 0.0
        return np.maximum(m, 0.0).sum() / N"""
        )
        + "    active = (margins > 0).astype(np.float64)",
        catches=["svm_loss_at_margin_kinks", "svm_loss_fast"],
    ),
    # ---- 5. softmax loss
    dict(
        name="softmax_without_max_shift",
        cell="softmax_loss_code",
        old="shifted = scores - scores.max(axis=1, keepdims=True)",
        new="shifted = scores",
        catches=["softmax_loss_is_stable_for_large_scores"],
    ),
    dict(
        name="softmax_gradient_missing_1_over_N",
        cell="softmax_loss_code",
        old="    dscores /= N\n",
        new="",
        catches=["softmax_loss_gradient", "softmax_loss_uniform_scores_give_ln_C"],
    ),
    dict(
        name="softmax_loss_summed_not_averaged",
        cell="softmax_loss_code",
        old="loss = -log_probs[rows, y].mean()",
        new="loss = -log_probs[rows, y].sum()",
        catches=[
            "softmax_loss_matches_reference",
            "softmax_loss_uniform_scores_give_ln_C",
            "two_layer_loss_matches_reference",
        ],
    ),
    dict(
        name="softmax_numerical_gradient",
        cell="softmax_loss_code",
        old="    dscores = np.exp(log_probs)",
        new=_numerical_dscores(
            """        z = s - s.max(axis=1, keepdims=True)
        return -(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))[rows, y].mean()"""
        )
        + "    dscores = np.exp(log_probs)",
        catches=["softmax_loss_fast"],
    ),
    # ---- 6. two-layer net
    dict(
        name="two_layer_forward_skips_relu",
        cell="two_layer_code",
        old="hid, cache_relu = relu_forward(a)",
        new="hid, cache_relu = a, a",
        catches=[
            "two_layer_loss_matches_reference",
            "two_layer_loss_gradcheck[W2]",
            "two_layer_loss_gradcheck[b2]",
            "two_layer_training_reduces_loss_like_reference",
        ],
    ),
    dict(
        name="two_layer_penalty_without_half",
        cell="two_layer_code",
        old="loss = data_loss + 0.5 * reg *",
        new="loss = data_loss + reg *",
        catches=["two_layer_loss_regularisation"],
    ),
    dict(
        name="two_layer_numerical_gradients",
        cell="two_layer_code",
        old="    g2 = affine_backward(dscores, cache2)\n",
        new=_TWO_LAYER_NUMERICAL_GRADS,
        catches=["two_layer_loss_fast"],
    ),
    # ---- 7. optimisers
    dict(
        name="sgd_step_goes_uphill",
        cell="optim_code",
        old="return {k: p - lr * grads[k] for k, p in params.items()}",
        new="return {k: p + lr * grads[k] for k, p in params.items()}",
        catches=["sgd_step_trajectory_matches_reference"],
    ),
    dict(
        name="momentum_velocity_not_decayed",
        cell="optim_code",
        old='v = {k: mu * state["v"][k] - lr * grads[k] for k in params}',
        new='v = {k: state["v"][k] - lr * grads[k] for k in params}',
        catches=["sgd_momentum_trajectory_matches_reference"],
    ),
    dict(
        name="adam_without_bias_correction",
        cell="optim_code",
        old="""        m_hat = m[k] / (1.0 - beta1**t)                            # bias correction
        v_hat = v[k] / (1.0 - beta2**t)""",
        new="""        m_hat = m[k]
        v_hat = v[k]""",
        catches=[
            "adam_trajectory_matches_reference",
            "adam_first_step_moves_each_parameter_by_lr",
            "adam_trains_two_layer_net_like_reference",
        ],
    ),
    dict(
        name="adam_second_moment_of_unsquared_gradient",
        cell="optim_code",
        old="(1.0 - beta2) * grads[k] ** 2",
        new="(1.0 - beta2) * np.abs(grads[k])",
        catches=["adam_trajectory_matches_reference", "adam_trains_two_layer_net_like_reference"],
    ),
    # ---- 8. conv
    dict(
        name="conv_flipped_filter",
        cell="conv_code",
        old="np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b",
        new="np.tensordot(window, w[:, :, ::-1, ::-1], axes=([1, 2, 3], [1, 2, 3])) + b",
        catches=["conv_naive_forward_matches_reference", "conv_delta_filter_shifts_the_image"],
    ),
    dict(
        name="conv_dx_not_accumulated_over_overlapping_windows",
        cell="conv_code",
        old="dxp[:, :, hs, ws] += np.tensordot(d, w, axes=([1], [0]))",
        new="dxp[:, :, hs, ws] = np.tensordot(d, w, axes=([1], [0]))",
        catches=["conv_naive_backward_gradcheck[dx]"],
    ),
    dict(
        name="conv_dw_from_first_example_only",
        cell="conv_code",
        old="dw += np.tensordot(d, xp[:, :, hs, ws], axes=([0], [0]))",
        new="dw += np.tensordot(d[:1], xp[:1, :, hs, ws], axes=([0], [0]))",
        catches=["conv_naive_backward_gradcheck[dw]"],
    ),
    dict(
        name="conv_db_averaged_over_batch",
        cell="conv_code",
        old="db = dout.sum(axis=(0, 2, 3))",
        new="db = dout.sum(axis=(2, 3)).mean(axis=0)",
        catches=["conv_naive_backward_gradcheck[db]"],
    ),
    numerical_backward_mutant(
        "conv_numerical_backward",
        "conv_code",
        "    x, w, stride, pad = cache\n",
        """    args = {"x": x.copy(), "w": w.copy()}
    zero_b = np.zeros(w.shape[0])""",
        'np.sum(conv_naive_forward(args["x"], args["w"], zero_b, stride, pad)[0] * dout)',
        grads='{"db": dout.sum(axis=(0, 2, 3))}',
        catches=["conv_naive_backward_fast"],
    ),
]


# Correct but slow implementations: they must still score full marks (the integrity budgets
# catch finite differences, not honest Python loops).
VARIANTS = [
    dict(
        name="conv_backward_four_nested_loops",
        cell="conv_code",
        old="    for i in range(Ho):\n        for j in range(Wo):\n            hs, ws =",
        new="""    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    hs = slice(i * stride, i * stride + HH)
                    ws = slice(j * stride, j * stride + WW)
                    dw[f] += dout[n, f, i, j] * xp[n, :, hs, ws]
                    dxp[n, :, hs, ws] += dout[n, f, i, j] * w[f]
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    return {"dx": dx, "dw": dw, "db": dout.sum(axis=(0, 2, 3))}
    for i in range(Ho):
        for j in range(Wo):
            hs, ws =""",
    ),
    dict(
        name="svm_loss_naive_loops",
        cell="svm_loss_code",
        old="    rows = np.arange(N)\n    correct = scores[rows, y][:, None]",
        new="""    C = scores.shape[1]
    loss = 0.0
    dscores = np.zeros_like(scores)
    for i in range(N):
        for j in range(C):
            if j == y[i]:
                continue
            margin = scores[i, j] - scores[i, y[i]] + 1.0
            if margin > 0:
                loss += margin
                dscores[i, j] += 1.0
                dscores[i, y[i]] -= 1.0
    return float(loss / N), dscores / N
    rows = np.arange(N)
    correct = scores[rows, y][:, None]""",
    ),
]
