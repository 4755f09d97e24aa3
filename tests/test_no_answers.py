"""The kit hands out no answers: neither the student package nor the given blocks released with
an assignment hold a function that assignment grades, and answer cells that only delegate to
kit code earn nothing.
"""

from __future__ import annotations

import copy
import json

import pytest
from conftest import ASSIGNMENTS, ROOT, answer_cells, grade_notebook

from autograder import given_blocks
from autograder.registry import release_notebook


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_given_blocks_released_with_an_assignment_hold_none_of_its_answers(aid):
    modules = given_blocks.modules_for(aid)  # raises GivenError on an answer
    graded = given_blocks.graded_names(aid)
    for path in (release_notebook(aid).parent / "given").glob("*.py"):
        assert path.stem in modules + ["__init__"], f"release/{aid}/given/{path.name} not asked for"
        assert not given_blocks.top_level_names(path.read_text()) & graded, (
            f"release/{aid}/given/{path.name} holds answers"
        )


def test_the_student_package_defines_no_function_any_assignment_grades():
    graded = set().union(*(given_blocks.graded_names(aid) for aid in ASSIGNMENTS))
    for path in (ROOT / "s30kit").rglob("*.py"):
        clash = given_blocks.top_level_names(path.read_text()) & graded
        assert not clash, f"{path.relative_to(ROOT)} defines {sorted(clash)}, graded in the course"


def test_a_block_is_refused_to_the_assignment_that_grades_it(monkeypatch):
    monkeypatch.setattr(given_blocks, "declared", lambda aid: ["layers"])
    with pytest.raises(given_blocks.GivenError, match="holds answers of 26_cs231n"):
        given_blocks.modules_for("26_cs231n")
    monkeypatch.setattr(given_blocks, "declared", lambda aid: ["recurrent"])
    with pytest.raises(given_blocks.GivenError, match="03_lstm"):
        given_blocks.modules_for("03_lstm")


# Appended to every answer cell of the release: bind each function the cell should define to a
# function of the same name anywhere a student can import from (the student package and the
# given blocks beside the notebook), as a student who delegates to kit code would.
DELEGATE = """
import importlib as _importlib
import pkgutil as _pkgutil

def _kit_modules():
    for _top in ("s30kit", "given"):
        try:
            _pkg = _importlib.import_module(_top)
        except ImportError:
            continue
        yield _pkg
        for _info in _pkgutil.walk_packages(_pkg.__path__, _top + "."):
            yield _importlib.import_module(_info.name)

for _name in {names!r}:
    for _mod in _kit_modules():
        if callable(getattr(_mod, _name, None)):
            globals()[_name] = getattr(_mod, _name)
            break
"""


def delegating_submission(aid: str) -> dict:
    """The release notebook with every answer cell delegating to kit code of the same name."""
    nb = copy.deepcopy(json.loads(release_notebook(aid).read_text()))
    for cell in answer_cells(nb):
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        names = sorted(given_blocks.top_level_names(src))
        cell["source"] = src + "\n" + DELEGATE.format(names=names)
    return nb


def test_the_delegating_code_binds_a_kit_function_where_one_exists():
    # the check below can fail: where a kit module does define the name, the cell uses it
    import given.layers

    namespace: dict = {}
    exec(DELEGATE.format(names=["affine_forward", "no_such_function"]), namespace)
    assert namespace["affine_forward"] is given.layers.affine_forward
    assert "no_such_function" not in namespace


@pytest.mark.slow
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_answer_cells_that_delegate_to_kit_code_score_zero(aid, tmp_path):
    nb = delegating_submission(aid)
    report = grade_notebook(nb, aid, tmp_path)
    earned = {t["name"]: t["score"] for t in report["tests"] if t["score"] > 0}
    assert report["score"] == 0, f"{aid}: delegating to kit code earned {earned}"
