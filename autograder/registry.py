"""The one registry of assignments: the fixed thirty IDs and where each one's files live.

The engine, the build script, the kit's tests and the benchmark all ask this module which
assignments exist. An assignment is *built* when it has a source notebook and hidden tests.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
KIT_ROOT = HERE.parent
SOURCE_DIR = KIT_ROOT / "source"
RELEASE_DIR = KIT_ROOT / "release"
SOLUTIONS_DIR = KIT_ROOT / "solutions"
HIDDEN_DIR = HERE / "hidden"
CATALOGUE_DIR = KIT_ROOT / "tests" / "catalogue"

#: The thirty assignments of the course, one per paper (folder and notebook names are fixed).
ASSIGNMENT_IDS: tuple[str, ...] = (
    "01_complexodynamics",
    "02_char_rnn",
    "03_lstm",
    "04_rnn_regularization",
    "05_keeping_nn_simple",
    "06_pointer_networks",
    "07_alexnet",
    "08_order_matters",
    "09_gpipe",
    "10_resnet",
    "11_dilated_convolutions",
    "12_message_passing",
    "13_transformer",
    "14_bahdanau_attention",
    "15_identity_mappings",
    "16_relation_networks",
    "17_variational_lossy_ae",
    "18_relational_rnn",
    "19_coffee_automaton",
    "20_neural_turing_machine",
    "21_deep_speech_ctc",
    "22_scaling_laws",
    "23_mdl_principle",
    "24_machine_super_intelligence",
    "25_kolmogorov_complexity",
    "26_cs231n",
    "27_multi_token_prediction",
    "28_dense_passage_retrieval",
    "29_rag",
    "30_lost_in_the_middle",
)


class UnknownAssignment(Exception):
    """The assignment ID names no gradable assignment in this kit."""


def source_notebook(assignment: str) -> Path:
    """``source/<ID>/<ID>.ipynb``: the instructor notebook."""
    return SOURCE_DIR / assignment / f"{assignment}.ipynb"


def release_notebook(assignment: str) -> Path:
    """``release/<ID>/<ID>.ipynb``: the student notebook nbgrader generates."""
    return RELEASE_DIR / assignment / f"{assignment}.ipynb"


def solution_path(assignment: str) -> Path:
    """``solutions/<ID>/<ID>.ipynb``: the executed answer key."""
    return SOLUTIONS_DIR / assignment / f"{assignment}.ipynb"


def hidden_tests(assignment: str) -> Path:
    """``autograder/hidden/test_<ID>.py``: the hidden tests."""
    return HIDDEN_DIR / f"test_{assignment}.py"


def catalogue(assignment: str) -> Path:
    """``tests/catalogue/<ID>.py``: the wrong implementations and correct variants."""
    return CATALOGUE_DIR / f"{assignment}.py"


def is_built(assignment: str) -> bool:
    """True if the assignment has a source notebook and hidden tests."""
    return source_notebook(assignment).is_file() and hidden_tests(assignment).is_file()


def assignments() -> list[str]:
    """The built assignments, in course order."""
    return [aid for aid in ASSIGNMENT_IDS if is_built(aid)]


def check_assignment(assignment: str) -> str:
    """``assignment`` if it is built.

    Raises:
        UnknownAssignment: not one of the thirty, or not built yet (the message lists the
            gradable ones).
    """
    if assignment not in ASSIGNMENT_IDS or not is_built(assignment):
        known = ", ".join(assignments()) or "none"
        why = "not built yet" if assignment in ASSIGNMENT_IDS else "not one of the thirty"
        raise UnknownAssignment(f"unknown assignment {assignment!r}, {why} (gradable: {known})")
    return assignment
