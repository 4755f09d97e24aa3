"""Wrong implementations of 03_lstm that the hidden tests must catch (test-of-tests).

Each mutant replaces one exact substring of one answer cell of the source notebook (markers
stripped).
"""

from mutants import numerical_backward

# The step backward as written in the reference (the body only).
_STEP_BACKWARD_BODY = """    z, W, f, i, g, o, c_prev, tanh_c = cache
    D = z.shape[1] - f.shape[1]
    do = dh * tanh_c                               # (B, H)
    dc_total = dc + dh * o * (1.0 - tanh_c**2)     # (B, H) both paths into c
    df = dc_total * c_prev
    di = dc_total * g
    dg = dc_total * i
    dc_prev = dc_total * f
    da = np.concatenate([df * f * (1.0 - f),       # (B, 4H) through the nonlinearities
                         di * i * (1.0 - i),
                         dg * (1.0 - g**2),
                         do * o * (1.0 - o)], axis=1)
    dz = da @ W.T                                  # (B, D + H)
    return {"dx": dz[:, :D], "dh_prev": dz[:, D:], "dc_prev": dc_prev,
            "dW": z.T @ da, "db": da.sum(axis=0)}"""

# A step backward that differentiates numerically through the forward. It recovers the bias
# exactly enough from the cached gate values (inverse sigmoid / tanh), so it is accurate to
# ~1e-10 and passes every gradient check; only the realistic-size time budget catches it.
_STEP_NUMERICAL_BACKWARD = numerical_backward(
    setup="""    z, W, f, i, g, o, c_prev, tanh_c = cache
    H = f.shape[1]
    D = z.shape[1] - H
    a = np.concatenate([np.log(f / (1 - f)), np.log(i / (1 - i)), np.arctanh(g),
                        np.log(o / (1 - o))], axis=1)
    args = {"x": z[:, :D].copy(), "h_prev": z[:, D:].copy(), "c_prev": c_prev.copy(),
            "W": W.copy(), "b": (a - z @ W).mean(axis=0)}""",
    # the upstream is (dh, dc) for the outputs (h, c)
    objective="sum(np.sum(out * d) for out, d in zip(lstm_step_forward(**args)[:2], (dh, dc)))",
)

MUTANTS = [
    dict(
        name="step_backward_numerical",
        cell="lstm_step_code",
        old=_STEP_BACKWARD_BODY,
        new=_STEP_NUMERICAL_BACKWARD,
        catches=["lstm_step_backward_fast", "lstm_backward_fast"],
    ),
    dict(
        # dL/dc through h = o * tanh(c) without the tanh derivative
        name="step_backward_missing_tanh_derivative_of_c",
        cell="lstm_step_code",
        old="dc_total = dc + dh * o * (1.0 - tanh_c**2)",
        new="dc_total = dc + dh * o",
        catches=[
            "lstm_step_backward_gradcheck[dc_prev]",
            "lstm_step_backward_gradcheck[dW]",
            "lstm_backward_gradcheck[dc0]",
        ],
    ),
    dict(
        # tanh's derivative used for the (sigmoid) forget gate
        name="step_backward_wrong_sigmoid_derivative",
        cell="lstm_step_code",
        old="df * f * (1.0 - f)",
        new="df * (1.0 - f**2)",
        catches=[
            "lstm_step_backward_gradcheck[dx]",
            "lstm_step_backward_gradcheck[dh_prev]",
            "lstm_step_backward_gradcheck[dW]",
            "lstm_step_backward_gradcheck[db]",
        ],
    ),
    dict(
        # the cell gradient passed back without the forget gate
        name="step_backward_dc_prev_without_forget_gate",
        cell="lstm_step_code",
        old="dc_prev = dc_total * f",
        new="dc_prev = dc_total",
        catches=[
            "lstm_step_backward_gradcheck[dc_prev]",
            "lstm_step_forget_path",
            "lstm_backward_gradcheck[dc0]",
        ],
    ),
    dict(
        # forward-only bug: the candidate enters the cell without the input gate
        name="step_forward_forgets_input_gate",
        cell="lstm_step_code",
        old="c = f * c_prev + i * g                    # (B, H) additive cell update",
        new="c = f * c_prev + g                        # (B, H) additive cell update",
        catches=[
            "lstm_step_forward_matches_reference",
            "lstm_forward_matches_reference",
            "lstm_step_backward_gradcheck[dW]",
        ],
    ),
    dict(
        # weight gradient overwritten at every step instead of summed over time
        name="bptt_weight_gradient_not_accumulated",
        cell="lstm_code",
        old='dW = dW + g["dW"]',
        new='dW = g["dW"]',
        catches=[
            "lstm_backward_gradcheck[dW]",
            "lstm_classifier_loss_gradcheck[W]",
            "lstm_training_loss_falls_and_tracks_reference",
        ],
    ),
    dict(
        # the cell gradient is not carried from step t + 1 to step t
        name="bptt_cell_gradient_not_carried",
        cell="lstm_code",
        old="g = lstm_step_backward(dhs[:, t] + dh, dc, caches[t])",
        new="g = lstm_step_backward(dhs[:, t] + dh, np.zeros_like(dc), caches[t])",
        catches=[
            "lstm_backward_gradcheck[dc0]",
            "lstm_backward_gradcheck[dW]",
            "lstm_cell_state_carousel",
        ],
    ),
    dict(
        # the recurrent hidden-state gradient is dropped: only dhs[:, t] reaches step t
        name="bptt_recurrent_hidden_gradient_dropped",
        cell="lstm_code",
        old="g = lstm_step_backward(dhs[:, t] + dh, dc, caches[t])",
        new="g = lstm_step_backward(dhs[:, t], dc, caches[t])",
        catches=[
            "lstm_backward_gradcheck[dh0]",
            "lstm_backward_gradcheck[dx]",
            "lstm_classifier_loss_gradcheck[W]",
        ],
    ),
    dict(
        # RNN step backward without the tanh derivative
        name="rnn_step_backward_missing_tanh_derivative",
        cell="rnn_code",
        old="da = dh * (1.0 - h**2)",
        new="da = dh",
        catches=[
            "rnn_step_backward_gradcheck[dWx]",
            "rnn_backward_gradcheck[dWh]",
            "rnn_classifier_loss_gradcheck",
        ],
    ),
    dict(
        # transposed recurrent weight in the hidden-state gradient
        name="rnn_step_backward_transposed_Wh",
        cell="rnn_code",
        old='"dh_prev": da @ Wh.T',
        new='"dh_prev": da @ Wh',
        catches=["rnn_step_backward_gradcheck[dh_prev]", "rnn_backward_gradcheck[dh0]"],
    ),
    dict(
        # the forget-gate bias written into the input-gate block
        name="forget_bias_in_input_gate_block",
        cell="model_code",
        old="b[0:H] = forget_bias",
        new="b[H:2 * H] = forget_bias",
        catches=["init_lstm_params_layout", "forget_bias_opens_the_gradient_path"],
    ),
    dict(
        # the read-out weight gradient divided by B a second time (the loss is already a mean)
        name="readout_gradient_double_averaged",
        cell="model_code",
        old='grads = {"W": g["dW"], "b": g["db"], "Wy": h_last.T @ dlogits,',
        new='grads = {"W": g["dW"], "b": g["db"], "Wy": h_last.T @ dlogits / B,',
        catches=[
            "lstm_classifier_loss_gradcheck[Wy]",
            "lstm_training_loss_falls_and_tracks_reference",
        ],
    ),
    # ---- added after the coverage review: every hidden test is named by some mutant
    dict(
        name="rnn_step_forward_forgets_bias",
        cell="rnn_code",
        old="h = np.tanh(x @ Wx + h_prev @ Wh + b)",
        new="h = np.tanh(x @ Wx + h_prev @ Wh)",
        catches=["rnn_forward_matches_reference"],
    ),
]


# Correct but slow implementations: they must still score full marks (the integrity budget
# catches finite differences, not honest Python loops).
VARIANTS = [
    dict(
        name="lstm_step_backward_loops_over_the_batch",
        cell="lstm_step_code",
        old="    do = dh * tanh_c ",
        new="""    dz, dW = np.zeros_like(z), np.zeros_like(W)
    db, dc_prev = np.zeros(W.shape[1]), np.zeros_like(c_prev)
    for n in range(z.shape[0]):
        dct = dc[n] + dh[n] * o[n] * (1.0 - tanh_c[n] ** 2)
        da_n = np.concatenate([dct * c_prev[n] * f[n] * (1.0 - f[n]),
                               dct * g[n] * i[n] * (1.0 - i[n]),
                               dct * i[n] * (1.0 - g[n] ** 2),
                               dh[n] * tanh_c[n] * o[n] * (1.0 - o[n])])
        dc_prev[n] = dct * f[n]
        dz[n] = W @ da_n
        dW += np.outer(z[n], da_n)
        db += da_n
    return {"dx": dz[:, :D], "dh_prev": dz[:, D:], "dc_prev": dc_prev, "dW": dW, "db": db}
    do = dh * tanh_c """,
    ),
]
