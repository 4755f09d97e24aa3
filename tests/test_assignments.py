"""Test-of-tests: for every assignment, the reference scores full marks, the blank release scores
zero, every hidden test has points on a real grade cell, and every realistic wrong
implementation in the catalogue loses points on the test meant to catch it.

Each submission is graded in its own test, so `pytest -n 2` spreads them over the cores and
pytest's progress shows how far grading has got.
"""

from __future__ import annotations

import json

import pytest
from catalogue import bug_classes
from conftest import ASSIGNMENTS, grade_notebook, load_catalogue, mutate, solution_notebook
from diagnosis_rates import diagnosed, outcome

from autograder.reference import source_layout
from autograder.registry import release_notebook
from autograder.runner import rubric
from autograder.sandbox import probe
from autograder.testing import KINDS

MUTANTS = [(aid, m["name"]) for aid in ASSIGNMENTS for m in load_catalogue(aid)]
VARIANTS = [(aid, v["name"]) for aid in ASSIGNMENTS for v in load_catalogue(aid, "VARIANTS")]


def failing(report: dict) -> dict[str, dict]:
    return {t["name"]: t for t in report["tests"] if t["score"] < t["max_score"]}


def entry(aid: str, name: str, kind: str = "MUTANTS") -> dict:
    return next(m for m in load_catalogue(aid, kind) if m["name"] == name)


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_source_notebook_scores_full_marks(aid, tmp_path):
    report = grade_notebook(solution_notebook(aid), aid, tmp_path)
    assert report["status"] == "graded"
    lost = {n: t["message"] for n, t in failing(report).items()}
    assert not lost, f"the reference loses points: {lost}"
    assert report["score"] == report["max_score"] == source_layout(aid).max_score
    layers, iso = probe(), report["isolation"]
    assert iso["uid_drop"] == layers["root"] and iso["seccomp"] == layers["seccomp"]
    assert iso["namespaces"]["pid"] == layers["namespaces"], "full marks with every layer active"


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_release_notebook_scores_zero(aid, tmp_path):
    report = grade_notebook(json.loads(release_notebook(aid).read_text()), aid, tmp_path)
    passed = [t["name"] for t in report["tests"] if t["score"] > 0]
    assert report["score"] == 0, f"the blank release earns points on {passed}"


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_hidden_test_points_sum_to_each_grade_cell(aid):
    tests = rubric(aid)
    cells = {g.grade_id: g.points for g in source_layout(aid).grade_cells}
    assert {t.cell for t in tests} == set(cells), "every grade cell is tested, no test is orphan"
    for cell, points in cells.items():
        total = sum(t.max_score for t in tests if t.cell == cell)
        assert total == pytest.approx(points), f"cell {cell}: tests give {total}, cell {points}"


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_hidden_tests_cover_all_five_kinds(aid):
    assert {t.kind for t in rubric(aid)} == set(KINDS)


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_every_hidden_test_is_named_by_some_wrong_implementation(aid):
    """A hidden test no mutant is expected to fail could be one that cannot fail."""
    named = set().union(*(set(m["catches"]) for m in load_catalogue(aid)))
    unnamed = [
        t.name for t in rubric(aid) if t.name not in named and t.name.split("[")[0] not in named
    ]
    assert not unnamed, f"{aid}: no catalogue mutant names {unnamed}"


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_catalogue_has_at_least_six_wrong_implementations(aid):
    catalogue = load_catalogue(aid)
    assert len(catalogue) >= 6
    names = {t.name for t in rubric(aid)}
    for m in catalogue:
        unknown = set(m["catches"]) - names
        assert m["catches"] and not unknown, f"{m['name']} names unknown tests {unknown}"


@pytest.mark.parametrize("aid, name", MUTANTS)
def test_wrong_implementation_loses_points_on_its_target(aid, name, tmp_path):
    mutant = entry(aid, name)
    report = grade_notebook(mutate(aid, mutant), aid, tmp_path)
    lost = failing(report)
    missed = [t for t in mutant["catches"] if t not in lost]
    assert not missed, f"{name} was not caught by {missed}"
    assert report["score"] < report["max_score"]
    label = bug_classes(aid).get(name, ("other", ""))[0]
    kinds = diagnosed(report)
    assert outcome(label, kinds) != "wrong", (
        f"{name}'s bug is of class {label}, but the messages diagnose {sorted(kinds)}"
    )


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_catalogue_has_a_correct_but_slow_variant(aid):
    assert load_catalogue(aid, "VARIANTS"), "a loop-based backward shows the budget is fair"


@pytest.mark.parametrize("aid, name", VARIANTS)
def test_correct_but_slow_variant_scores_full_marks(aid, name, tmp_path):
    report = grade_notebook(mutate(aid, entry(aid, name, "VARIANTS")), aid, tmp_path)
    lost = {n: t["message"] for n, t in failing(report).items()}
    assert not lost, f"a correct loop-based implementation loses points: {lost}"
