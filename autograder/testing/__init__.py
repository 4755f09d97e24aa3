"""The toolkit hidden tests are written with (see docs/AUTHORING.md).

Hidden tests run in the trusted process. They reach the student's code only through the
``student`` fixture (a :class:`~autograder.student.StudentProxy`); ``ref`` is the reference
module, built from the source notebook. Checks raise :class:`Fail` with a message for the
student: what is wrong, where, by how much, never the reference's values or the test's code.

The toolkit is split by concern:

* :mod:`~autograder.testing.checks`: marks, :class:`Fail`, value checks, calling a forward.
* :mod:`~autograder.testing.memo`: results shared by parametrised cases.
* :mod:`~autograder.testing.gradients`: layer and whole-model gradient checks.
* :mod:`~autograder.testing.training`: training with the student's gradients, curve checks.
* :mod:`~autograder.testing.timing`: the realistic-size time budgets (integrity).
* :mod:`~autograder.testing.inputs`: shared input builders.
"""

from autograder.student import Handle
from autograder.testing.checks import (
    KINDS,
    Fail,
    call_forward,
    expect_array,
    expect_array_shape_only,
    expect_close,
    expect_inputs_unchanged,
    expect_keys,
    expect_loss_pair,
    expect_tuple,
    graded,
    type_name,
)
from autograder.testing.gradients import (
    GradResult,
    expect_backward_like_reference,
    expect_gradient,
    expect_loss_value,
    expect_matches_numerical,
    expect_params,
    layer_gradcheck,
    loss_gradcheck,
    numerically_flat,
    student_numerical_gradient,
)
from autograder.testing.memo import copy_inputs, digest, memoised
from autograder.testing.timing import expect_backward_fast, expect_call_fast, reference_seconds
from autograder.testing.training import (
    expect_curve_tracks,
    expect_loss_decreases,
    expect_training_like_reference,
    expect_trains_like_reference,
    train_both,
    train_with_student,
)

__all__ = [
    "KINDS",
    "Fail",
    "GradResult",
    "Handle",
    "call_forward",
    "copy_inputs",
    "digest",
    "expect_array",
    "expect_array_shape_only",
    "expect_backward_fast",
    "expect_backward_like_reference",
    "expect_call_fast",
    "expect_close",
    "expect_curve_tracks",
    "expect_gradient",
    "expect_inputs_unchanged",
    "expect_keys",
    "expect_loss_decreases",
    "expect_loss_pair",
    "expect_loss_value",
    "expect_matches_numerical",
    "expect_params",
    "expect_training_like_reference",
    "expect_trains_like_reference",
    "expect_tuple",
    "graded",
    "layer_gradcheck",
    "loss_gradcheck",
    "memoised",
    "numerically_flat",
    "reference_seconds",
    "student_numerical_gradient",
    "train_both",
    "train_with_student",
    "type_name",
]
