"""Hidden tests shared by 02_char_rnn and 03_lstm: the vanilla RNN both assignments grade.

Both notebooks ask for the same four functions, ``rnn_step_forward`` / ``rnn_step_backward``
(one step of h = tanh(x @ Wx + h_prev @ Wh + b)) and ``rnn_forward`` / ``rnn_backward``
(the step over a sequence, and backpropagation through time). The test bodies live here; each
assignment chooses the grade cell, points, seeds and sizes, and binds the test to its own name::

    # B=2, T=5, D=3, H=4. Reference errors vs numeric: 2e-11..6e-11.
    test_rnn_backward_gradcheck = rnn_gradcheck_test("rnn", cell="rnn", points=0.8, seed=31)

pytest collects a module-level name like any ``def test_...``, and the ``rng`` fixture is seeded
from that name (the node id), so the inputs are those of a test written in the file itself.

Also here: :func:`expect_trains_like_reference`, the training check both assignments run with
the same loss-ratio rule (against the mean of the first three losses) and curve tolerance.

This module is imported as ``autograder.hidden._rnn`` (``autograder/hidden`` is a namespace
package; the hidden tests run with ``--import-mode=importlib``, where relative imports fail).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pytest
from autograder.testing.checks import call_forward
from autograder.testing.checks import expect_close
from autograder.testing.checks import graded
from autograder.testing.gradients import expect_gradient
from autograder.testing.gradients import layer_gradcheck
from autograder.testing.inputs import rnn_seq_inputs
from autograder.testing.inputs import rnn_step_inputs
from autograder.testing.timing import expect_backward_fast
from autograder.testing.training import expect_curve_tracks
from autograder.testing.training import expect_loss_decreases
from autograder.testing.training import train_both

STEP_GRADS = ["dx", "dh_prev", "dWx", "dWh", "db"]
SEQ_GRADS = ["dx", "dh0", "dWx", "dWh", "db"]


@dataclass(frozen=True)
class _Layer:
    forward: str
    backward: str
    output: str  # how messages name the forward's output
    dims: tuple[str, ...]  # the names of the input builder's size arguments
    inputs: object  # the input builder, ``inputs(rng, *size)``
    grads: list[str]  # the gradients its backward returns
    check_size: tuple[int, ...]  # the size of the gradient check


_LAYERS = {
    "rnn_step": _Layer(
        "rnn_step_forward",
        "rnn_step_backward",
        "h",
        ("B", "D", "H"),
        rnn_step_inputs,
        STEP_GRADS,
        (2, 3, 4),
    ),
    "rnn": _Layer(
        "rnn_forward",
        "rnn_backward",
        "hs",
        ("B", "T", "D", "H"),
        rnn_seq_inputs,
        SEQ_GRADS,
        (2, 5, 3, 4),
    ),
}


def _bind(test):
    """``test`` as a function of the module that called the factory (so pytest collects it there
    even when imported tests are not collected)."""
    test.__module__ = sys._getframe(2).f_globals["__name__"]
    return test


def rnn_forward_test(cell: str, points: float, step_shapes=(), seq_shapes=(), uses=()):
    """A forward test: ``rnn_step_forward`` at each (B, D, H) of ``step_shapes``, then
    ``rnn_forward`` at each (B, T, D, H) of ``seq_shapes``, each against the reference on inputs
    drawn (in that order) from the test's ``rng``. ``uses``: the grade cells of other functions
    it calls (``rnn_forward`` runs ``rnn_step_forward``)."""

    @graded(cell=cell, kind="forward", points=points, uses=uses)
    def test(student, ref, rng):
        for name, shapes in (("rnn_step", step_shapes), ("rnn", seq_shapes)):
            layer = _LAYERS[name]
            for size in shapes:
                inputs = layer.inputs(rng, *size)
                out, _ = call_forward(student, layer.forward, n_outputs=1, **inputs)
                where = ", ".join(f"{d}={n}" for d, n in zip(layer.dims, size))
                expect_close(
                    f"{layer.output} from {layer.forward} ({where})",
                    out,
                    getattr(ref, layer.forward)(**inputs)[0],
                )

    return _bind(test)


def rnn_gradcheck_test(layer: str, cell: str, points: float, seed: int, uses=()):
    """A gradient check of ``layer`` ("rnn_step" or "rnn") at B=2, (T=5,) D=3, H=4, inputs and
    upstream drawn from ``seed``: one case per returned gradient, ``points`` each, each against
    numerical differentiation of the student's own forward. ``uses`` as in
    :func:`rnn_forward_test`."""
    spec = _LAYERS[layer]

    @graded(cell=cell, kind="gradcheck", points=points, uses=uses)
    @pytest.mark.parametrize("grad", spec.grads)
    def test(student, ref, memo, grad):
        inputs = spec.inputs(np.random.default_rng(seed), *spec.check_size)
        res = layer_gradcheck(
            student, ref, spec.forward, spec.backward, inputs, seed=seed, memo=memo
        )
        expect_gradient(res, grad)

    return _bind(test)


def rnn_backward_fast_test(layer: str, cell: str, points: float, seed: int, size: tuple, uses=()):
    """The time budget of ``layer``'s backward ("rnn_step" or "rnn") at a realistic ``size``
    ((B, D, H) or (B, T, D, H)), inputs drawn from ``seed``. It counts only when the same
    assignment's gradient check of that backward (``<layer>_backward_gradcheck``, made by
    :func:`rnn_gradcheck_test`) passes: a fast but wrong backward earns nothing here."""
    spec = _LAYERS[layer]

    @graded(
        cell=cell,
        kind="integrity",
        points=points,
        uses=uses,
        requires=(f"{layer}_backward_gradcheck",),
    )
    def test(student, ref):
        inputs = spec.inputs(np.random.default_rng(seed), *size)
        expect_backward_fast(student, ref, spec.forward, spec.backward, inputs)

    return _bind(test)


def expect_trains_like_reference(
    student,
    ref,
    loss_fn: str,
    params: dict,
    data: list,
    steps: int,
    lr: float,
    clip: float,
    ratio: float,
    track_tol: float = 1e-6,
    timeout: float = 1.0,
) -> None:
    """Train with Adam on the student's ``loss_fn`` and on the reference's (same initial
    ``params``, the fixed batches of ``data`` in turn), then fail unless the mean of the last 5
    losses is below ``ratio`` x the mean of the first 3, and the student's curve stays within
    ``track_tol`` (absolute; an exact gradient follows the reference to ~1e-15) of the
    reference's at every step. ``timeout``: seconds allowed for one loss call (a correct one
    takes a few ms at the sizes used).

    Raises:
        Fail: from training, the ratio or the curve.
    """

    def batches(step):
        return data[step % len(data)]

    losses, ref_losses = train_both(
        student, ref, loss_fn, params, batches, steps, lr, clip=clip, timeout=timeout
    )
    expect_loss_decreases(losses, ratio, steps, head=3)
    expect_curve_tracks(
        losses,
        ref_losses,
        track_tol,
        what="the loss curve of training with your gradients",
        hint="an exact gradient follows it to ~1e-15",
        relative=False,
    )
