"""Wrong implementations of 26_cs231n that the hidden tests must catch (test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook.
"""

from mutants import fd_loop, mutant, numerical_backward_mutant, variant


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

# ---- 11. the conv net: the reference's two bodies and the docstring between them.
_CN_BODY0 = """    X, y = batch
    N = X.shape[0]
    a, c_conv = conv_naive_forward(X, params["w"], params["b"], stride=1, pad=0)  # (N, F, H-2, W-2)
    r, c_relu = relu_forward(a)
    q, c_pool = max_pool_forward(r)                                # (N, F, P, Q)
    scores, c_aff = affine_forward(q.reshape(N, -1), params["W"], params["bW"])  # (N, K)
    loss, dscores = softmax_loss(scores, y)                        # dscores: (N, K)

    g_aff = affine_backward(dscores, c_aff)
    dq = g_aff["dx"].reshape(q.shape)                              # (N, F, P, Q)
    dr = max_pool_backward(dq, c_pool)["dx"]                       # (N, F, H-2, W-2)
    da = relu_backward(dr, c_relu)["dx"]
    g_conv = conv_naive_backward(da, c_conv)
    grads = {"w": g_conv["dw"], "b": g_conv["db"], "W": g_aff["dW"], "bW": g_aff["db"]}
    return loss, grads"""
_CN_HEAD1 = '''


def conv_net_score_gradient(params, X, y):
    """Class scores of conv_net_loss's network, and the gradient of the correct classes' scores
    with respect to the images (for saliency maps).

    Inputs:
        params: as in conv_net_loss.
        X: (N, C, H, W) images with H - 2 and W - 2 even.
        y: (N,) int labels in [0, K), the class whose score is differentiated in each image.
    Returns:
        scores: (N, K), the scores of the network of conv_net_loss.
        dX: (N, C, H, W), the gradient of sum_n scores[n, y[n]] with respect to X (image n only
            affects its own scores, so dX[n] is the gradient of scores[n, y[n]] alone).
    """
'''
_CN_BODY1 = """    N = X.shape[0]
    a, c_conv = conv_naive_forward(X, params["w"], params["b"], stride=1, pad=0)  # (N, F, H-2, W-2)
    r, c_relu = relu_forward(a)
    q, c_pool = max_pool_forward(r)                                # (N, F, P, Q)
    scores, c_aff = affine_forward(q.reshape(N, -1), params["W"], params["bW"])  # (N, K)

    dscores = np.zeros_like(scores)
    dscores[np.arange(N), y] = 1.0                                 # (N, K)
    dq = affine_backward(dscores, c_aff)["dx"].reshape(q.shape)    # (N, F, P, Q)
    dr = max_pool_backward(dq, c_pool)["dx"]                       # (N, F, H-2, W-2)
    da = relu_backward(dr, c_relu)["dx"]
    dX = conv_naive_backward(da, c_conv)["dx"]                     # (N, C, H, W)
    return scores, dX"""

# The conv net's forward with the reference layers, for the numerical-gradient mutants.
_CN_SCORES = """
    def scores_of(p, Z):
        a_, _ = conv_naive_forward(Z, p["w"], p["b"], stride=1, pad=0)
        r_, _ = relu_forward(a_)
        q_, _ = max_pool_forward(r_)
        return affine_forward(q_.reshape(N, -1), p["W"], p["bW"])[0]
"""


MUTANTS = [
    # ---- 1. gradient checking
    mutant(
        "numerical_gradient_one_sided",
        "gradcheck_code",
        """        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old                                               # restore before moving on
        grad[idx] = (f_plus - f_minus) / (2.0 * h)""",
        """        x[idx] = old
        f_minus = f(x)
        grad[idx] = (f_plus - f_minus) / h""",
        "numerical_gradient_matches_reference",
        "numerical_gradient_is_centred",
        _GRAD_CASES.format("tanh"),
    ),
    mutant(
        "numerical_gradient_does_not_restore_x",
        "gradcheck_code",
        "        x[idx] = old" + " " * 47 + "# restore before moving on\n",
        "",
        "numerical_gradient_matches_reference",
    ),
    mutant(
        "relative_error_divides_by_first_norm",
        "gradcheck_code",
        "return float(np.linalg.norm(a - b) / denom)",
        "return float(np.linalg.norm(a - b) / np.linalg.norm(a))",
        "relative_error_matches_reference",
        _GRAD_CASES.format("softmax_zero_grad"),
    ),
    mutant(
        # Checking the gradient of sum(y): a correct softmax looks wrong (both gradients are pure
        # rounding noise) and the forgotten flip looks right.
        "grad_check_all_ones_upstream",
        "gradcheck_code",
        "dout = np.random.default_rng(seed).standard_normal(size=out.shape)",
        "dout = np.ones(out.shape)",
        _GRAD_CASES.format("softmax"),
        _GRAD_CASES.format("flip_forgotten"),
    ),
    mutant(
        "grad_check_numerical_side_ignores_upstream",
        "gradcheck_code",
        "return float(np.sum(forward(z)[0] * dout))",
        "return float(np.sum(forward(z)[0]))",
        _GRAD_CASES.format("tanh"),
        _GRAD_CASES.format("softmax"),
        _GRAD_CASES.format("square_missing_2"),
    ),
    # ---- 2. affine
    mutant(
        "affine_forward_forgets_bias",
        "affine_code",
        "y = x @ W + b ",
        "y = x @ W ",
        "affine_forward_matches_reference",
        "two_layer_loss_matches_reference",
    ),
    mutant(
        "affine_dx_divided_by_batch_size",
        "affine_code",
        "dx = dy @ W.T ",
        "dx = dy @ W.T / x.shape[0] ",
        "affine_backward_gradcheck[dx]",
        "two_layer_loss_gradcheck[W1]",
    ),
    mutant(
        "affine_transposed_weight_gradient",
        "affine_code",
        "dW = x.T @ dy ",
        "dW = dy.T @ x ",
        "affine_backward_gradcheck[dW]",
        "two_layer_loss_gradcheck[W2]",
    ),
    mutant(
        "affine_bias_gradient_averaged",
        "affine_code",
        "db = dy.sum(axis=0)",
        "db = dy.mean(axis=0)",
        "affine_backward_gradcheck[db]",
        "two_layer_loss_gradcheck[b1]",
        "two_layer_loss_gradcheck[b2]",
        "two_layer_training_reduces_loss_like_reference",
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
    mutant(
        "relu_forward_leaky",
        "relu_code",
        "out = np.maximum(x, 0.0)",
        "out = np.maximum(x, 0.01 * x)",
        # The backward (no slope where x <= 0) is not the derivative of this forward either.
        "relu_forward_matches_reference",
        "relu_backward_gradcheck",
        "two_layer_loss_matches_reference",
    ),
    mutant(
        "relu_backward_applies_relu_to_the_gradient",
        "relu_code",
        'return {"dx": dout * (x > 0)}',
        'return {"dx": np.maximum(dout, 0.0)}',
        "relu_backward_gradcheck",
        "relu_backward_at_kinks",
        "two_layer_loss_gradcheck[W1]",
        "two_layer_loss_gradcheck[b1]",
        "two_layer_training_reduces_loss_like_reference",
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
    mutant(
        "svm_correct_class_not_excluded",
        "svm_loss_code",
        "    margins[rows, y] = 0.0 ",
        "    pass ",
        "svm_loss_matches_reference",
        "svm_loss_gradient",
        "svm_loss_zero_when_margins_met_and_C_minus_1_when_tied",
    ),
    mutant(
        "svm_gradient_missing_1_over_N",
        "svm_loss_code",
        "dscores = active / N",
        "dscores = active",
        "svm_loss_gradient",
        "svm_loss_at_margin_kinks",
    ),
    mutant(
        "svm_numerical_gradient",
        "svm_loss_code",
        """    active = (margins > 0).astype(np.float64)""",
        _numerical_dscores(
            """        m = s - s[rows, y][:, None] + 1.0
        m[rows, y] = 0.0
        return np.maximum(m, 0.0).sum() / N"""
        )
        + "    active = (margins > 0).astype(np.float64)",
        "svm_loss_at_margin_kinks",
        "svm_loss_fast",
    ),
    # ---- 5. softmax loss
    mutant(
        "softmax_without_max_shift",
        "softmax_loss_code",
        "shifted = scores - scores.max(axis=1, keepdims=True)",
        "shifted = scores",
        "softmax_loss_is_stable_for_large_scores",
    ),
    mutant(
        "softmax_gradient_missing_1_over_N",
        "softmax_loss_code",
        "    dscores /= N\n",
        "",
        "softmax_loss_gradient",
        "softmax_loss_uniform_scores_give_ln_C",
    ),
    mutant(
        "softmax_loss_summed_not_averaged",
        "softmax_loss_code",
        "loss = -log_probs[rows, y].mean()",
        "loss = -log_probs[rows, y].sum()",
        # dscores (still divided by N) is no longer the derivative of this loss.
        "softmax_loss_matches_reference",
        "softmax_loss_gradient",
        "softmax_loss_uniform_scores_give_ln_C",
        "two_layer_loss_matches_reference",
    ),
    mutant(
        "softmax_numerical_gradient",
        "softmax_loss_code",
        "    dscores = np.exp(log_probs)",
        _numerical_dscores(
            """        z = s - s.max(axis=1, keepdims=True)
        return -(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))[rows, y].mean()"""
        )
        + "    dscores = np.exp(log_probs)",
        "softmax_loss_fast",
    ),
    # ---- 6. two-layer net
    mutant(
        "two_layer_forward_skips_relu",
        "two_layer_code",
        "hid, cache_relu = relu_forward(a)",
        "hid, cache_relu = a, a",
        # The backward still gates by a > 0, which is not the derivative of this forward.
        "two_layer_loss_matches_reference",
        "two_layer_loss_gradcheck[W1]",
        "two_layer_loss_gradcheck[b1]",
        "two_layer_training_reduces_loss_like_reference",
    ),
    mutant(
        "two_layer_penalty_without_half",
        "two_layer_code",
        "loss = data_loss + 0.5 * reg *",
        "loss = data_loss + reg *",
        "two_layer_loss_regularisation",
    ),
    mutant(
        "two_layer_numerical_gradients",
        "two_layer_code",
        "    g2 = affine_backward(dscores, cache2)\n",
        _TWO_LAYER_NUMERICAL_GRADS,
        "two_layer_loss_fast",
    ),
    # ---- 7. optimisers
    mutant(
        "sgd_step_goes_uphill",
        "optim_code",
        "return {k: p - lr * grads[k] for k, p in params.items()}",
        "return {k: p + lr * grads[k] for k, p in params.items()}",
        "sgd_step_trajectory_matches_reference",
    ),
    mutant(
        "momentum_velocity_not_decayed",
        "optim_code",
        'v = {k: mu * state["v"][k] - lr * grads[k] for k in params}',
        'v = {k: state["v"][k] - lr * grads[k] for k in params}',
        "sgd_momentum_trajectory_matches_reference",
    ),
    mutant(
        "adam_without_bias_correction",
        "optim_code",
        """        m_hat = m[k] / (1.0 - beta1**t)                            # bias correction
        v_hat = v[k] / (1.0 - beta2**t)""",
        """        m_hat = m[k]
        v_hat = v[k]""",
        "adam_trajectory_matches_reference",
        "adam_first_step_moves_each_parameter_by_lr",
        "adam_trains_two_layer_net_like_reference",
    ),
    mutant(
        "adam_second_moment_of_unsquared_gradient",
        "optim_code",
        "(1.0 - beta2) * grads[k] ** 2",
        "(1.0 - beta2) * np.abs(grads[k])",
        "adam_trajectory_matches_reference",
        "adam_trains_two_layer_net_like_reference",
    ),
    # ---- 8. conv
    mutant(
        "conv_flipped_filter",
        "conv_code",
        "np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b",
        "np.tensordot(window, w[:, :, ::-1, ::-1], axes=([1, 2, 3], [1, 2, 3])) + b",
        "conv_naive_forward_matches_reference",
        "conv_delta_filter_shifts_the_image",
    ),
    mutant(
        "conv_dx_not_accumulated_over_overlapping_windows",
        "conv_code",
        "dxp[:, :, hs, ws] += np.tensordot(d, w, axes=([1], [0]))",
        "dxp[:, :, hs, ws] = np.tensordot(d, w, axes=([1], [0]))",
        "conv_naive_backward_gradcheck[dx]",
    ),
    mutant(
        "conv_dw_from_first_example_only",
        "conv_code",
        "dw += np.tensordot(d, xp[:, :, hs, ws], axes=([0], [0]))",
        "dw += np.tensordot(d[:1], xp[:1, :, hs, ws], axes=([0], [0]))",
        "conv_naive_backward_gradcheck[dw]",
    ),
    mutant(
        "conv_db_averaged_over_batch",
        "conv_code",
        "db = dout.sum(axis=(0, 2, 3))",
        "db = dout.sum(axis=(2, 3)).mean(axis=0)",
        "conv_naive_backward_gradcheck[db]",
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
    # ---- added with the fair-grading rules: a placeholder (fast but wrong) earns nothing on the
    # time budgets, and the optimisers must not change the arrays they are given
    mutant(
        "affine_backward_placeholder_zeros",
        "affine_code",
        '    return {"dx": dx, "dW": dW, "db": db}',
        """    zero = np.zeros_like
    return {"dx": zero(x), "dW": zero(W), "db": np.zeros(W.shape[1])}""",
        "affine_backward_gradcheck[dx]",
        "affine_backward_gradcheck[dW]",
        "affine_backward_gradcheck[db]",
        "affine_backward_fast",
    ),
    mutant(
        "svm_loss_zero_gradient_placeholder",
        "svm_loss_code",
        "    return float(loss), dscores",
        "    return float(loss), np.zeros_like(scores)",
        "svm_loss_gradient",
        "svm_loss_at_margin_kinks",
        "svm_loss_fast",
    ),
    mutant(
        "conv_backward_placeholder_zeros",
        "conv_code",
        '    return {"dx": dx, "dw": dw, "db": db}',
        """    zero = np.zeros_like
    return {"dx": zero(x), "dw": zero(w), "db": np.zeros(w.shape[0])}""",
        "conv_naive_backward_gradcheck[dx]",
        "conv_naive_backward_gradcheck[dw]",
        "conv_naive_backward_gradcheck[db]",
        "conv_naive_backward_fast",
    ),
    mutant(
        "sgd_step_updates_params_in_place",
        "optim_code",
        "    return {k: p - lr * grads[k] for k, p in params.items()}",
        """    for k in params:
        params[k] -= lr * grads[k]
    return params""",
        "sgd_step_trajectory_matches_reference",
    ),
    mutant(
        "adam_updates_moments_in_place",
        "optim_code",
        """    m = {k: beta1 * state["m"][k] + (1.0 - beta1) * grads[k] for k in params}
    v = {k: beta2 * state["v"][k] + (1.0 - beta2) * grads[k] ** 2 for k in params}""",
        """    m, v = state["m"], state["v"]
    for k in params:
        m[k] *= beta1
        m[k] += (1.0 - beta1) * grads[k]
        v[k] *= beta2
        v[k] += (1.0 - beta2) * grads[k] ** 2""",
        "adam_trajectory_matches_reference",
    ),
    # ---- 9. kNN
    mutant(
        "knn_squared_distances",
        "knn_code",
        "    return np.sqrt(np.maximum(sq, 0.0))",
        "    return np.maximum(sq, 0.0)",
        "knn_distances_matches_reference",
    ),
    mutant(
        "knn_cross_term_missing_factor_2",
        "knn_code",
        "sq_test + sq_train - 2.0 * X_test @ X_train.T",
        "sq_test + sq_train - X_test @ X_train.T",
        "knn_distances_matches_reference",
    ),
    mutant(
        # Correct, but a Python loop over the 10^6 pairs of the timing test.
        "knn_distances_double_loop",
        "knn_code",
        """    sq_test = np.sum(X_test**2, axis=1)[:, None]                   # (M, 1)""",
        """    dists = np.zeros((X_test.shape[0], X_train.shape[0]))
    for i in range(X_test.shape[0]):
        for j in range(X_train.shape[0]):
            dists[i, j] = np.sqrt(np.sum((X_test[i] - X_train[j]) ** 2))
    return dists
    sq_test = np.sum(X_test**2, axis=1)[:, None]                   # (M, 1)""",
        "knn_distances_vectorised",
    ),
    mutant(
        "knn_votes_of_the_farthest",
        "knn_code",
        "nearest = np.argsort(dists, axis=1)[:, :k]",
        "nearest = np.argsort(-dists, axis=1)[:, :k]",
        "knn_predict_matches_reference",
        "knn_predict_breaks_vote_ties_by_smallest_label",
    ),
    mutant(
        # Ties between labels go to the nearest neighbour's label (what Counter.most_common does).
        "knn_tie_to_nearest_label",
        "knn_code",
        "    return counts.argmax(axis=1)",
        """    best = counts.max(axis=1, keepdims=True)                       # (M, 1)
    tied = counts[np.arange(M)[:, None], votes] == best            # (M, k)
    return votes[np.arange(M), tied.argmax(axis=1)]""",
        "knn_predict_matches_reference",
        "knn_predict_breaks_vote_ties_by_smallest_label",
    ),
    # ---- 10. max pooling
    mutant(
        "max_pool_average_forward",
        "max_pool_code",
        "out = windows.max(axis=(3, 5))",
        "out = windows.mean(axis=(3, 5))",
        "max_pool_forward_matches_reference",
        "max_pool_backward_gradcheck",
    ),
    mutant(
        # Windows cut by a wrong reshape: each output takes the max over a strided 2x2 grid.
        "max_pool_wrong_windows",
        "max_pool_code",
        "out = windows.max(axis=(3, 5))",
        "out = x.reshape(N, C, 2, H // 2, 2, W // 2).max(axis=(2, 4))",
        "max_pool_forward_matches_reference",
    ),
    mutant(
        "max_pool_backward_spreads_over_window",
        "max_pool_code",
        "    dx = winner * dout[:, :, :, None, :, None]",
        "    dx = 0.25 * dout[:, :, :, None, :, None] * np.ones_like(windows)",
        "max_pool_backward_gradcheck",
    ),
    numerical_backward_mutant(
        "max_pool_numerical_backward",
        "max_pool_code",
        "    x, out = cache\n",
        """    args = {"x": x.copy()}""",
        'np.sum(max_pool_forward(args["x"])[0] * dout)',
        catches=["max_pool_backward_near_ties", "max_pool_backward_fast"],
    ),
    # ---- 11. a small convolutional network
    mutant(
        "conv_net_relu_backward_skipped",
        "conv_net_code",
        """    da = relu_backward(dr, c_relu)["dx"]
    g_conv = conv_naive_backward(da, c_conv)""",
        """    da = dr
    g_conv = conv_naive_backward(da, c_conv)""",
        "conv_net_loss_gradcheck[w]",
        "conv_net_loss_gradcheck[b]",
        "conv_net_loss_fast",  # it requires the gradient check
    ),
    mutant(
        # The flattened gradient put back as if q were channels-last: entries land on wrong maps.
        "conv_net_flatten_gradient_reordered",
        "conv_net_code",
        'dq = g_aff["dx"].reshape(q.shape)',
        'dq = g_aff["dx"].reshape(N, q.shape[2], q.shape[3], q.shape[1]).transpose(0, 3, 1, 2)',
        "conv_net_loss_gradcheck[w]",
        "conv_net_loss_gradcheck[b]",
        "conv_net_loss_fast",
    ),
    mutant(
        # Forward pools the pre-activations (ReLU forgotten); the backward still masks by a > 0.
        "conv_net_forward_skips_relu",
        "conv_net_code",
        """    q, c_pool = max_pool_forward(r)                                # (N, F, P, Q)
    scores, c_aff = affine_forward(q.reshape(N, -1), params["W"], params["bW"])  # (N, K)
    loss, dscores""",
        """    q, c_pool = max_pool_forward(a)                                # (N, F, P, Q)
    scores, c_aff = affine_forward(q.reshape(N, -1), params["W"], params["bW"])  # (N, K)
    loss, dscores""",
        "conv_net_loss_matches_reference",
        "conv_net_loss_gradcheck[w]",
        "conv_net_loss_gradcheck[b]",
        "conv_net_loss_fast",
    ),
    mutant(
        # The saliency started from the loss's dscores instead of the correct classes' scores.
        "conv_net_score_gradient_of_the_loss",
        "conv_net_code",
        """    dscores = np.zeros_like(scores)
    dscores[np.arange(N), y] = 1.0""",
        "    _, dscores = softmax_loss(scores, y)",
        "conv_net_score_gradient_gradcheck",
        "conv_net_score_gradient_fast",
    ),
    mutant(
        "conv_net_numerical_gradients",
        "conv_net_code",
        "    g_aff = affine_backward(dscores, c_aff)\n",
        _CN_SCORES
        + f"""
    p = {{k: v.copy() for k, v in params.items()}}
    grads = {{}}
    for k, arr in p.items():
{fd_loop("arr", "g", "softmax_loss(scores_of(p, X), y)[0]", indent=8)}
        grads[k] = g
    return loss, grads
    g_aff = affine_backward(dscores, c_aff)
""",
        "conv_net_loss_fast",
    ),
    mutant(
        "conv_net_numerical_score_gradient",
        "conv_net_code",
        "    dscores = np.zeros_like(scores)\n",
        _CN_SCORES
        + f"""
    Z = X.copy()
{fd_loop("Z", "dX", "scores_of(params, Z)[np.arange(N), y].sum()")}
    return scores, dX
    dscores = np.zeros_like(scores)
""",
        "conv_net_score_gradient_fast",
        # Each of the 576 evaluations of its own scores that the check needs runs the loop too.
        "conv_net_score_gradient_gradcheck",
    ),
]


# ------------------------------------------------------------------------------ variants
# Reference text the variants below rewrite whole (function bodies, and the headers between them,
# so that a variant may change the cache's layout).
_GC_BODY0 = """    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old                                               # restore before moving on
        grad[idx] = (f_plus - f_minus) / (2.0 * h)
    return grad"""

_GC_HEAD1 = '''


def relative_error(a, b):
    """Norm-wise relative error |a - b| / (|a| + |b|) (Euclidean norms over all entries).

    Inputs:
        a, b: arrays of the same shape.
    Returns:
        float; 0.0 when a and b are both all zeros.
    """
'''

_GC_BODY1 = """    denom = np.linalg.norm(a) + np.linalg.norm(b)
    if denom == 0.0:
        return 0.0
    return float(np.linalg.norm(a - b) / denom)"""

_AFF_BODY0 = """    y = x @ W + b                                                  # (N, M)
    cache = (x, W)
    return y, cache"""

_AFF_HEAD1 = '''


def affine_backward(dy, cache):
    """Backward pass of affine_forward.

    Inputs:
        dy: (N, M) upstream gradient.
        cache: from affine_forward.
    Returns:
        dict with 'dx': (N, D), 'dW': (D, M), 'db': (M,).
    """
'''

_AFF_BODY1 = """    x, W = cache
    dx = dy @ W.T                                                  # (N, D)
    dW = x.T @ dy                                                  # (D, M)
    db = dy.sum(axis=0)                                            # (M,)
    return {"dx": dx, "dW": dW, "db": db}"""

_RELU_BODY0 = """    out = np.maximum(x, 0.0)
    cache = x
    return out, cache"""

_RELU_HEAD1 = '''


def relu_backward(dout, cache):
    """Backward pass of relu_forward (an input of exactly 0 counts as negative).

    Inputs:
        dout: upstream gradient, shaped like x.
        cache: from relu_forward.
    Returns:
        dict with 'dx': shaped like x.
    """
'''

_RELU_BODY1 = """    x = cache
    return {"dx": dout * (x > 0)}"""

_SM_BODY0 = """    N = scores.shape[0]
    rows = np.arange(N)
    shifted = scores - scores.max(axis=1, keepdims=True)           # (N, C), each row's max is 0
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].mean()
    dscores = np.exp(log_probs)                                    # (N, C) probabilities
    dscores[rows, y] -= 1.0
    dscores /= N
    return float(loss), dscores"""

_TL_BODY0 = """    X, y = batch
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    a, cache1 = affine_forward(X, W1, b1)                          # (N, H)
    hid, cache_relu = relu_forward(a)                              # (N, H)
    scores, cache2 = affine_forward(hid, W2, b2)                   # (N, C)
    data_loss, dscores = softmax_loss(scores, y)
    loss = data_loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

    g2 = affine_backward(dscores, cache2)
    da = relu_backward(g2["dx"], cache_relu)["dx"]                 # (N, H)
    g1 = affine_backward(da, cache1)
    grads = {"W1": g1["dW"] + reg * W1, "b1": g1["db"], "W2": g2["dW"] + reg * W2, "b2": g2["db"]}
    return loss, grads"""

_OPT_BODY0 = """    return {k: p - lr * grads[k] for k, p in params.items()}"""

_OPT_HEAD1 = '''


def sgd_momentum_step(params, grads, state, lr, mu=0.9):
    """One step of SGD with momentum: v <- mu v - lr g; theta <- theta + v.

    Inputs:
        params: dict of arrays. grads: dict with the same keys and shapes.
        state: {"v": dict of velocities like params} (init_momentum_state for the first step).
        lr: float, learning rate. mu: float, momentum coefficient.
    Returns:
        new_params: dict like params.
        new_state: {"v": the updated velocities}.
    """
'''

_OPT_BODY1 = """    v = {k: mu * state["v"][k] - lr * grads[k] for k in params}
    new_params = {k: p + v[k] for k, p in params.items()}
    return new_params, {"v": v}"""

_OPT_HEAD2 = '''


def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One step of Adam with bias correction.

    Inputs:
        params: dict of arrays. grads: dict with the same keys and shapes.
        state: {"t": int, the number of steps taken so far, "m": dict of first moments,
            "v": dict of second moments} (init_adam_state for the first step).
        lr: float, learning rate. beta1, beta2: moment decay rates. eps: float.
    Returns:
        new_params: dict like params.
        new_state: {"t": t + 1, "m": ..., "v": ...}, updated.
    """
'''

_OPT_BODY2 = """    t = state["t"] + 1
    m = {k: beta1 * state["m"][k] + (1.0 - beta1) * grads[k] for k in params}
    v = {k: beta2 * state["v"][k] + (1.0 - beta2) * grads[k] ** 2 for k in params}
    new_params = {}
    for k, p in params.items():
        m_hat = m[k] / (1.0 - beta1**t)                            # bias correction
        v_hat = v[k] / (1.0 - beta2**t)
        new_params[k] = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new_params, {"t": t, "m": m, "v": v}"""

_CONV_BODY0 = (
    """    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho = 1 + (H + 2 * pad - HH) // stride
    Wo = 1 + (W + 2 * pad - WW) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))       # (N, C, H + 2pad, W + 2pad)
    out = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]"""
    """  # (N, C, HH, WW)
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b  # (N, F)
    cache = (x, w, stride, pad)
    return out, cache"""
)

_CONV_HEAD1 = '''


def conv_naive_backward(dout, cache):
    """Backward pass of conv_naive_forward.

    Inputs:
        dout: (N, F, H', W') upstream gradient.
        cache: from conv_naive_forward.
    Returns:
        dict with 'dx': (N, C, H, W), 'dw': (F, C, HH, WW), 'db': (F,).
    """
'''

_CONV_BODY1 = """    x, w, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(Ho):
        for j in range(Wo):
            hs, ws = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW)
            d = dout[:, :, i, j]                                   # (N, F)
            dw += np.tensordot(d, xp[:, :, hs, ws], axes=([0], [0]))   # (F, C, HH, WW)
            dxp[:, :, hs, ws] += np.tensordot(d, w, axes=([1], [0]))   # (N, C, HH, WW)
    dx = dxp[:, :, pad:pad + H, pad:pad + W]                       # drop the padding
    db = dout.sum(axis=(0, 2, 3))                                  # (F,)
    return {"dx": dx, "dw": dw, "db": db}"""

_KNN_BODY0 = """    sq_test = np.sum(X_test**2, axis=1)[:, None]                   # (M, 1)
    sq_train = np.sum(X_train**2, axis=1)[None, :]                 # (1, N)
    sq = sq_test + sq_train - 2.0 * X_test @ X_train.T             # (M, N)
    return np.sqrt(np.maximum(sq, 0.0))                            # rounding can dip below 0"""

_KNN_HEAD1 = '''


def knn_predict(dists, y_train, k=1):
    """Majority vote of the k nearest training examples of each test example.

    Inputs:
        dists: (M, N) distances, as returned by knn_distances.
        y_train: (N,) int labels of the training examples, in [0, C).
        k: int, the number of neighbours that vote (1 <= k <= N).
    Returns:
        y_pred: (M,) int, for each test example the label that occurs most often among its k
            nearest training examples; when several labels tie for the most votes, the SMALLEST
            of them. (The tests use distances without ties, so which k examples are the nearest
            is never ambiguous.)
    """
'''

_KNN_BODY1 = """    M = dists.shape[0]
    nearest = np.argsort(dists, axis=1)[:, :k]                     # (M, k) indices
    votes = y_train[nearest]                                       # (M, k) labels
    counts = np.zeros((M, int(y_train.max()) + 1), dtype=np.int64)  # (M, C)
    for j in range(k):
        counts[np.arange(M), votes[:, j]] += 1
    return counts.argmax(axis=1)                                   # first max: smallest label"""

_POOL_BODY0 = """    N, C, H, W = x.shape
    windows = x.reshape(N, C, H // 2, 2, W // 2, 2)                # (N, C, H/2, 2, W/2, 2)
    out = windows.max(axis=(3, 5))                                 # (N, C, H/2, W/2)
    cache = (x, out)
    return out, cache"""

_POOL_HEAD1 = '''


def max_pool_backward(dout, cache):
    """Backward pass of max_pool_forward.

    Ties: where several entries of a window share its maximum, this implementation gives the
    gradient to every one of them. (The tests draw inputs without ties, so any rule for ties
    passes. In the network of the experiments ties happen only between zeros after a ReLU,
    whose own backward passes nothing there.)

    Inputs:
        dout: (N, C, H // 2, W // 2) upstream gradient.
        cache: from max_pool_forward.
    Returns:
        dict with 'dx': (N, C, H, W).
    """
'''

_POOL_BODY1 = """    x, out = cache
    N, C, H, W = x.shape
    windows = x.reshape(N, C, H // 2, 2, W // 2, 2)                # (N, C, H/2, 2, W/2, 2)
    winner = windows == out[:, :, :, None, :, None]                # (N, C, H/2, 2, W/2, 2)
    dx = winner * dout[:, :, :, None, :, None]
    return {"dx": dx.reshape(N, C, H, W)}"""

# Correct implementations in other styles: they must score full marks (the integrity budgets catch
# finite differences, not honest Python loops; forward checks allow any equivalent arithmetic; the
# cache is the student's business).
VARIANTS = [
    variant(
        "conv_backward_four_nested_loops",
        "conv_code",
        "    for i in range(Ho):\n        for j in range(Wo):\n            hs, ws =",
        """    for n in range(N):
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
    variant(
        "svm_loss_naive_loops",
        "svm_loss_code",
        "    rows = np.arange(N)\n    correct = scores[rows, y][:, None]",
        """    C = scores.shape[1]
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
    # A flat index unravelled per entry, and the norms written out as square roots of sums.
    variant(
        "gradcheck_flat_index_and_explicit_norms",
        "gradcheck_code",
        _GC_BODY0 + _GC_HEAD1 + _GC_BODY1,
        """    grad = np.zeros(x.shape)
    for flat in range(x.size):
        i = np.unravel_index(flat, x.shape)
        saved = x[i]
        x[i] = saved + h
        up = f(x)
        x[i] = saved - h
        down = f(x)
        x[i] = saved
        grad[i] = (up - down) / (2 * h)
    return grad"""
        + _GC_HEAD1
        + """    diff = np.sqrt(np.sum((a - b) ** 2))
    total = np.sqrt(np.sum(a**2)) + np.sqrt(np.sum(b**2))
    return 0.0 if total == 0 else float(diff / total)""",
    ),
    # einsum, and a dict cache.
    variant(
        "affine_einsum_dict_cache",
        "affine_code",
        _AFF_BODY0 + _AFF_HEAD1 + _AFF_BODY1,
        """    y = np.einsum("nd,dm->nm", x, W) + b
    return y, {"x": x, "W": W}"""
        + _AFF_HEAD1
        + """    x, W = cache["x"], cache["W"]
    return {
        "dx": np.einsum("nm,dm->nd", dy, W),
        "dW": np.einsum("nd,nm->dm", x, dy),
        "db": np.einsum("nm->m", dy),
    }""",
    ),
    # The boolean mask of active units as the cache, np.where both ways.
    variant(
        "relu_where_mask_cache",
        "relu_code",
        _RELU_BODY0 + _RELU_HEAD1 + _RELU_BODY1,
        """    active = x > 0
    return np.where(active, x, 0.0), active"""
        + _RELU_HEAD1
        + """    return {"dx": np.where(cache, dout, 0.0)}""",
    ),
    # log-sum-exp per row, and probabilities minus a one-hot matrix.
    variant(
        "softmax_loss_logsumexp_onehot",
        "softmax_loss_code",
        _SM_BODY0,
        """    N = scores.shape[0]
    m = scores.max(axis=1, keepdims=True)                          # (N, 1)
    lse = m[:, 0] + np.log(np.sum(np.exp(scores - m), axis=1))     # (N,)
    loss = np.mean(lse - scores[np.arange(N), y])
    onehot = np.zeros_like(scores)
    onehot[np.arange(N), y] = 1.0
    return float(loss), (np.exp(scores - lse[:, None]) - onehot) / N""",
    ),
    # The network written out with matrix products instead of the layer functions.
    variant(
        "two_layer_inline_matrix_products",
        "two_layer_code",
        _TL_BODY0,
        """    X, y = batch
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    pre = X @ W1 + b1                                              # (N, H)
    hid = np.maximum(pre, 0.0)
    scores = hid @ W2 + b2                                         # (N, C)
    data_loss, dscores = softmax_loss(scores, y)
    loss = data_loss + 0.5 * reg * (np.sum(W1**2) + np.sum(W2**2))
    dpre = (dscores @ W2.T) * (pre > 0)                            # (N, H)
    return loss, {
        "W1": X.T @ dpre + reg * W1,
        "b1": dpre.sum(axis=0),
        "W2": hid.T @ dscores + reg * W2,
        "b2": dscores.sum(axis=0),
    }""",
    ),
    # Loops over the keys, copies updated in place, Adam's moments as m + (1 - beta) (g - m).
    variant(
        "optimisers_loops_over_keys",
        "optim_code",
        _OPT_BODY0 + _OPT_HEAD1 + _OPT_BODY1 + _OPT_HEAD2 + _OPT_BODY2,
        """    new = {}
    for k in params:
        new[k] = params[k].copy()
        new[k] -= lr * grads[k]
    return new"""
        + _OPT_HEAD1
        + """    new_params, new_v = {}, {}
    for k, p in params.items():
        new_v[k] = mu * state["v"][k] - lr * grads[k]
        new_params[k] = p + new_v[k]
    return new_params, {"v": new_v}"""
        + _OPT_HEAD2
        + """    t = state["t"] + 1
    new_params, m, v = {}, {}, {}
    for k in params:
        g = grads[k]
        m[k] = state["m"][k] + (1.0 - beta1) * (g - state["m"][k])
        v[k] = state["v"][k] + (1.0 - beta2) * (g * g - state["v"][k])
        m_hat = m[k] / (1.0 - beta1**t)
        v_hat = v[k] / (1.0 - beta2**t)
        new_params[k] = params[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new_params, {"t": t, "m": m, "v": v}""",
    ),
    # Every window at once (sliding_window_view) contracted with einsum; dx by filter offsets.
    variant(
        "conv_sliding_windows_einsum",
        "conv_code",
        _CONV_BODY0 + _CONV_HEAD1 + _CONV_BODY1,
        """    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho = 1 + (H + 2 * pad - HH) // stride
    Wo = 1 + (W + 2 * pad - WW) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (HH, WW), axis=(2, 3))
    win = win[:, :, ::stride, ::stride][:, :, :Ho, :Wo]            # (N, C, Ho, Wo, HH, WW)
    out = np.einsum("nchwij,fcij->nfhw", win, w) + b[None, :, None, None]
    return out, (x, w, stride, pad)"""
        + _CONV_HEAD1
        + """    x, w, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (HH, WW), axis=(2, 3))
    win = win[:, :, ::stride, ::stride][:, :, :Ho, :Wo]            # (N, C, Ho, Wo, HH, WW)
    dw = np.einsum("nfhw,nchwij->fcij", dout, win)
    dxp = np.zeros_like(xp)
    for i in range(HH):
        for j in range(WW):
            rows = slice(i, i + stride * Ho, stride)
            cols = slice(j, j + stride * Wo, stride)
            dxp[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dout, w[:, :, i, j])
    return {"dx": dxp[:, :, pad:pad + H, pad:pad + W], "dw": dw, "db": dout.sum(axis=(0, 2, 3))}""",
    ),
    # One loop over the test rows with broadcasting; the vote with np.unique per row.
    variant(
        "knn_one_loop_unique_votes",
        "knn_code",
        _KNN_BODY0 + _KNN_HEAD1 + _KNN_BODY1,
        """    dists = np.empty((X_test.shape[0], X_train.shape[0]))
    for i, row in enumerate(X_test):
        dists[i] = np.sqrt(np.sum((X_train - row) ** 2, axis=1))   # (N,)
    return dists"""
        + _KNN_HEAD1
        + """    y_pred = np.empty(dists.shape[0], dtype=np.int64)
    for i, row in enumerate(dists):
        labels, counts = np.unique(y_train[np.argsort(row)[:k]], return_counts=True)
        y_pred[i] = labels[np.argmax(counts)]                      # labels sorted: smallest wins
    return y_pred""",
    ),
    # Loops over the output positions; the gradient to the argmax of each window.
    variant(
        "max_pool_loops_argmax",
        "max_pool_code",
        _POOL_BODY0 + _POOL_HEAD1 + _POOL_BODY1,
        """    N, C, H, W = x.shape
    out = np.empty((N, C, H // 2, W // 2))
    for i in range(H // 2):
        for j in range(W // 2):
            out[:, :, i, j] = x[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max(axis=(2, 3))
    return out, x"""
        + _POOL_HEAD1
        + """    x = cache
    N, C, H, W = x.shape
    dx = np.zeros_like(x)
    for i in range(H // 2):
        for j in range(W // 2):
            win = x[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2].reshape(N, C, 4)
            a = win.argmax(axis=2)                                 # (N, C), first maximum
            r, c = 2 * i + a // 2, 2 * j + a % 2
            n_idx, c_idx = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
            dx[n_idx, c_idx, r, c] += dout[:, :, i, j]
    return {"dx": dx}""",
    ),
    # Pooling, ReLU and the affine layer written inline (masks and matrix products); the
    # convolution with the layer functions.
    variant(
        "conv_net_inline_numpy",
        "conv_net_code",
        _CN_BODY0 + _CN_HEAD1 + _CN_BODY1,
        """    X, y = batch
    w, b, W, bW = (params[k] for k in ("w", "b", "W", "bW"))
    N = X.shape[0]
    a, c_conv = conv_naive_forward(X, w, b)                        # (N, F, H-2, W-2)
    F, Ho, Wo = a.shape[1:]
    win = (a * (a > 0)).reshape(N, F, Ho // 2, 2, Wo // 2, 2)
    q = win.max(axis=(3, 5))                                       # (N, F, P, Q)
    z = q.reshape(N, -1)                                           # (N, F*P*Q)
    loss, dscores = softmax_loss(z @ W + bW, y)
    dz = dscores @ W.T
    mask = win == q[:, :, :, None, :, None]
    dr = (mask * dz.reshape(q.shape)[:, :, :, None, :, None]).reshape(a.shape)
    g = conv_naive_backward(dr * (a > 0), c_conv)
    return loss, {"w": g["dw"], "b": g["db"], "W": z.T @ dscores, "bW": dscores.sum(axis=0)}"""
        + _CN_HEAD1
        + """    w, b, W, bW = (params[k] for k in ("w", "b", "W", "bW"))
    N = X.shape[0]
    a, c_conv = conv_naive_forward(X, w, b)                        # (N, F, H-2, W-2)
    F, Ho, Wo = a.shape[1:]
    win = np.maximum(a, 0.0).reshape(N, F, Ho // 2, 2, Wo // 2, 2)
    q = win.max(axis=(3, 5))                                       # (N, F, P, Q)
    scores = q.reshape(N, -1) @ W + bW
    dz = W.T[y]                                                    # (N, F*P*Q)
    mask = win == q[:, :, :, None, :, None]
    dr = (mask * dz.reshape(q.shape)[:, :, :, None, :, None]).reshape(a.shape)
    return scores, conv_naive_backward(dr * (a > 0), c_conv)["dx"]""",
    ),
]


# Part 11's conv net is built from the layers of parts 2, 3, 8 and 10 and the loss of part 5, so a
# wrong layer also fails the conv-net tests that go through it (a numerical backward, their time
# budgets too); the conv-net timing tests that only require a failed gradient check are not named.
_CONV_NET_ALSO = {
    "affine_forward_forgets_bias": [
        "conv_net_loss_gradcheck[bW]",
        "conv_net_loss_matches_reference",
        "conv_net_scores_match_reference",
    ],
    "affine_dx_divided_by_batch_size": [
        "conv_net_loss_gradcheck[b]",
        "conv_net_loss_gradcheck[w]",
        "conv_net_score_gradient_gradcheck",
    ],
    "affine_transposed_weight_gradient": [
        "conv_net_loss_gradcheck[W]",
        "conv_net_loss_gradcheck[bW]",
        "conv_net_loss_gradcheck[b]",
        "conv_net_loss_gradcheck[w]",
    ],
    "affine_bias_gradient_averaged": [
        "conv_net_loss_gradcheck[bW]",
    ],
    "relu_forward_leaky": [
        "conv_net_loss_gradcheck[b]",
        "conv_net_loss_gradcheck[w]",
        "conv_net_loss_matches_reference",
        "conv_net_score_gradient_gradcheck",
        "conv_net_scores_match_reference",
    ],
    "relu_backward_applies_relu_to_the_gradient": [
        "conv_net_loss_gradcheck[b]",
        "conv_net_loss_gradcheck[w]",
        "conv_net_score_gradient_gradcheck",
    ],
    "relu_numerical_backward": [
        "conv_net_loss_fast",
        "conv_net_score_gradient_fast",
    ],
    "softmax_gradient_missing_1_over_N": [
        "conv_net_loss_gradcheck[W]",
        "conv_net_loss_gradcheck[bW]",
        "conv_net_loss_gradcheck[b]",
        "conv_net_loss_gradcheck[w]",
    ],
    "softmax_loss_summed_not_averaged": [
        "conv_net_loss_gradcheck[W]",
        "conv_net_loss_gradcheck[bW]",
        "conv_net_loss_gradcheck[b]",
        "conv_net_loss_gradcheck[w]",
        "conv_net_loss_matches_reference",
    ],
    "conv_flipped_filter": [
        "conv_net_loss_gradcheck[w]",
        "conv_net_loss_matches_reference",
        "conv_net_score_gradient_gradcheck",
        "conv_net_scores_match_reference",
    ],
    "conv_dx_not_accumulated_over_overlapping_windows": [
        "conv_net_score_gradient_gradcheck",
    ],
    "conv_dw_from_first_example_only": [
        "conv_net_loss_gradcheck[w]",
    ],
    "conv_db_averaged_over_batch": [
        "conv_net_loss_gradcheck[b]",
    ],
    "conv_numerical_backward": [
        "conv_net_loss_fast",
        "conv_net_score_gradient_fast",
        "conv_net_score_gradient_gradcheck",
    ],
    "affine_backward_placeholder_zeros": [
        "conv_net_loss_gradcheck[W]",
        "conv_net_loss_gradcheck[bW]",
        "conv_net_loss_gradcheck[b]",
        "conv_net_loss_gradcheck[w]",
        "conv_net_score_gradient_gradcheck",
    ],
    "conv_backward_placeholder_zeros": [
        "conv_net_loss_gradcheck[b]",
        "conv_net_loss_gradcheck[w]",
        "conv_net_score_gradient_gradcheck",
    ],
    "max_pool_average_forward": [
        "conv_net_loss_gradcheck[b]",
        "conv_net_loss_gradcheck[w]",
        "conv_net_loss_matches_reference",
        "conv_net_score_gradient_gradcheck",
        "conv_net_scores_match_reference",
    ],
    "max_pool_wrong_windows": [
        "conv_net_loss_gradcheck[b]",
        "conv_net_loss_gradcheck[w]",
        "conv_net_loss_matches_reference",
        "conv_net_score_gradient_gradcheck",
        "conv_net_scores_match_reference",
    ],
    "max_pool_backward_spreads_over_window": [
        "conv_net_loss_gradcheck[b]",
        "conv_net_loss_gradcheck[w]",
        "conv_net_score_gradient_gradcheck",
    ],
    "max_pool_numerical_backward": [
        "conv_net_loss_fast",
        "conv_net_score_gradient_fast",
    ],
}
for _m in MUTANTS:
    _m["catches"] += _CONV_NET_ALSO.get(_m["name"], [])


#: The shape of each mutant's gradient error, for the gradient check's diagnosis
#: (scripts/diagnosis_rates.py measures it): class and the factor, axis or tensor it concerns.
#: Mutants not listed are of class "other".
#: The class is that of the error in the gradient of the function the mutant edits; further
#: from the bug (two_layer_loss, conv_net_loss, the saliency dX) the entries may mix with right
#: paths. (affine_transposed_weight_gradient: dW is 4 x 5 in the test, so the shape check
#: reports it.)
BUG_CLASSES = {
    "relu_forward_leaky": ("zero", "relu's dx: 0 at the negative entries, right elsewhere"),
    "max_pool_wrong_windows": ("zero", "max_pool's dx: 0 where the right windows' maxima are"),
    "affine_dx_divided_by_batch_size": (
        "factor",
        "dx: 1/N, N the batch size (through it two_layer_loss's W1 and b1, conv_net_loss's w "
        "and b, and the saliency dX)",
    ),
    "affine_bias_gradient_averaged": (
        "factor",
        "db: 1/N, N the batch size (two_layer_loss's b1 and b2, conv_net_loss's bW)",
    ),
    "svm_gradient_missing_1_over_N": ("factor", "dscores: N, N the number of examples"),
    "softmax_gradient_missing_1_over_N": (
        "factor",
        "dscores: N, N the number of examples (every parameter of two_layer_loss and "
        "conv_net_loss too)",
    ),
    "softmax_loss_summed_not_averaged": (
        "factor",
        "dscores: 1/N, N the number of examples (the loss sums, the gradient averages; every "
        "parameter of two_layer_loss and conv_net_loss too)",
    ),
    "conv_db_averaged_over_batch": (
        "factor",
        "db: 1/N, N the batch size (conv_net_loss's b)",
    ),
    "affine_backward_placeholder_zeros": (
        "zero",
        "dx, dW and db everywhere (and every gradient of two_layer_loss, conv_net_loss and the "
        "saliency dX)",
    ),
    "svm_loss_zero_gradient_placeholder": ("zero", "dscores everywhere"),
    "conv_backward_placeholder_zeros": (
        "zero",
        "dx, dw and db everywhere (conv_net_loss's w and b, the saliency dX)",
    ),
    "max_pool_average_forward": (
        "zero",
        "dx everywhere: the backward routes to the entries equal to the output, and no entry "
        "equals its window's mean (conv_net_loss's w and b, the saliency dX likewise)",
    ),
}
