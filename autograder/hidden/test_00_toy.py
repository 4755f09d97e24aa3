import numpy as np
import pytest

from autograder.testing import expect_backward_fast, expect_close, expect_gradient, graded, layer_gradcheck


@graded(cell="affine", kind="forward", points=1)
def test_affine_forward(student, ref, rng):
    x, W, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    out = student.call("affine_forward", x, W, b, keep=(-1,))
    expect_close("out", out[0], ref.affine_forward(x, W, b)[0])


@graded(cell="affine", kind="gradcheck", points=0.5)
@pytest.mark.parametrize("grad", ["dx", "dW", "db"])
def test_affine_backward_gradcheck(student, ref, memo, grad):
    rng = np.random.default_rng(1)
    inputs = dict(x=rng.standard_normal((3, 4)), W=rng.standard_normal((4, 5)), b=rng.standard_normal(5))
    res = layer_gradcheck(student, ref, "affine_forward", "affine_backward", inputs, memo=memo)
    expect_gradient(res, grad)


@graded(cell="affine", kind="integrity", points=1.5)
def test_affine_backward_fast(student, ref):
    rng = np.random.default_rng(2)
    inputs = dict(x=rng.standard_normal((64, 200)), W=rng.standard_normal((200, 100)), b=rng.standard_normal(100))
    expect_backward_fast(student, ref, "affine_forward", "affine_backward", inputs)
