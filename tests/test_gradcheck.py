"""s30kit's gradient check: random upstream, norm-wise error, per-tensor diagnosis."""

import numpy as np

from given.gradcheck import check_layer, check_loss, compare, rel_error
from given.layers import affine_backward, affine_forward, softmax


def softmax_forward(x):
    p = softmax(x)
    return p, p


def softmax_backward_wrong(dp, p):
    return {"dx": np.zeros_like(p)}  # "the gradient of a normalised output is zero"


def softmax_backward_right(dp, p):
    return {"dx": p * (dp - np.sum(dp * p, axis=-1, keepdims=True))}


def test_rel_error_is_zero_when_both_are_zero():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0


def test_correct_affine_backward_passes():
    rng = np.random.default_rng(0)
    inputs = dict(
        x=rng.standard_normal((3, 4)), W=rng.standard_normal((4, 2)), b=rng.normal(size=2)
    )
    assert check_layer(affine_forward, affine_backward, inputs, verbose=False).ok


def test_random_upstream_catches_an_all_zero_softmax_backward():
    x = np.random.default_rng(1).standard_normal((2, 5))
    assert check_layer(softmax_forward, softmax_backward_right, {"x": x}, verbose=False).ok
    report = check_layer(softmax_forward, softmax_backward_wrong, {"x": x}, verbose=False)
    assert not report.ok and report["dx"].rel_error > 0.5


def test_report_names_the_wrong_tensor_and_its_worst_index():
    rng = np.random.default_rng(2)
    inputs = dict(
        x=rng.standard_normal((3, 4)), W=rng.standard_normal((4, 2)), b=rng.normal(size=2)
    )

    def bad_backward(dy, cache):
        grads = affine_backward(dy, cache)
        grads["dW"][1, 0] += 1.0
        return grads

    report = check_layer(affine_forward, bad_backward, inputs, verbose=False)
    assert report["dx"].passed and report["db"].passed
    assert not report["dW"].passed and report["dW"].worst_index == (1, 0)
    assert "dW" in str(report) and "WRONG" in str(report)


def test_compare_rejects_non_numeric_and_misshapen_gradients():
    assert "not a numeric array" in compare("dW", "oops", np.zeros(2)).problem
    assert "shape" in compare("dW", np.zeros(3), np.zeros(2)).problem


def test_check_loss_samples_every_parameter():
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))

    def loss_fn(p):
        y, cache = affine_forward(x, p["W"], p["b"])
        d = y - t
        g = affine_backward(2 * d / d.size, cache)
        return float(np.mean(d**2)), {"W": g["dW"], "b": g["db"]}

    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    assert check_loss(loss_fn, params, verbose=False).ok
