"""Shared helpers for the kit's own tests: notebooks to grade and a way to grade them."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from build import solution_notebook  # noqa: E402

from autograder.paths import assignments  # noqa: E402

FIXED_IDS = {
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
}
ASSIGNMENTS = [a for a in assignments() if a in FIXED_IDS]


def load_catalogue(aid: str, kind: str = "MUTANTS") -> list[dict]:
    """The wrong implementations (MUTANTS) or correct alternatives (VARIANTS) of an assignment."""
    path = ROOT / "tests" / "catalogue" / f"{aid}.py"
    if not path.is_file():
        return []
    spec = importlib.util.spec_from_file_location(f"catalogue_{aid}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, kind, [])


def answer_cell(nb: dict, grade_id: str) -> dict:
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def answer_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def mutate(aid: str, mutant: dict) -> dict:
    """The markers-stripped source with one answer cell edited as the mutant says."""
    nb = copy.deepcopy(solution_notebook(aid))
    cell = answer_cell(nb, mutant["cell"])
    count = cell["source"].count(mutant["old"])
    assert count == 1, f"{mutant['name']}: 'old' occurs {count} times in {mutant['cell']}"
    cell["source"] = cell["source"].replace(mutant["old"], mutant["new"])
    return nb


def write_nb(path: Path, nb: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))
    return path


def run_grade(path: Path, aid: str, out: Path, timeout: float = 300) -> tuple[int, dict]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            str(path),
            "--assignment",
            aid,
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    report = json.loads(out.read_text()) if out.exists() else {}
    return proc.returncode, report


@pytest.fixture(scope="session")
def catalogue_reports(tmp_path_factory) -> dict[tuple[str, str], dict]:
    """Grade, in one parallel batch: each source (stripped), release, mutant and variant."""
    base = tmp_path_factory.mktemp("catalogue")
    submitted = base / "submitted"
    for aid in ASSIGNMENTS:
        write_nb(submitted / "source" / aid / f"{aid}.ipynb", solution_notebook(aid))
        release = json.loads((ROOT / "release" / aid / f"{aid}.ipynb").read_text())
        write_nb(submitted / "release" / aid / f"{aid}.ipynb", release)
        for m in load_catalogue(aid):
            write_nb(submitted / f"mutant-{m['name']}" / aid / f"{aid}.ipynb", mutate(aid, m))
        for v in load_catalogue(aid, "VARIANTS"):
            write_nb(submitted / f"variant-{v['name']}" / aid / f"{aid}.ipynb", mutate(aid, v))
    reports = base / "reports"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade-all",
            str(submitted),
            "--jobs",
            "2",
            "--reports",
            str(reports),
            "--gradebook",
            "none",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=3000,
    )
    out = {}
    for path in reports.glob("*/*.json"):
        out[(path.parent.name, path.stem)] = json.loads(path.read_text())
    return out
