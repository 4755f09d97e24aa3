"""Grade an assignment's catalogue: the source, the blank release, every mutant and variant.

    python scripts/catalogue.py grade 03_lstm [13_transformer ...] [--out DIR] [--jobs 2]
    python scripts/catalogue.py grade 03_lstm --baseline OLD_REPORTS   # what changed?

The first form writes ``DIR/submitted/<entry>/<ID>/<ID>.ipynb`` (entries: ``source``,
``release``, ``mutant-<name>``, ``variant-<name>``), grades them with ``grade-all`` and prints
each entry's score with the tests it lost. With ``--baseline`` it compares every test's score with
an earlier run's reports (``<entry>/<ID>.json``) and exits 1 if any differs: a refactoring of the
hidden tests must not change what any entry earns.

The kit's tests (``tests/test_assignments.py``) use the same functions.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # catalogues import their templates from tests/mutants.py

from build import solution_notebook  # noqa: E402

from autograder.registry import catalogue, release_notebook  # noqa: E402


def load_catalogue(aid: str, kind: str = "MUTANTS") -> list[dict]:
    """The wrong implementations (``MUTANTS``) or correct alternatives (``VARIANTS``) of ``aid``."""
    path = catalogue(aid)
    if not path.is_file():
        return []
    spec = importlib.util.spec_from_file_location(f"catalogue_{aid}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, kind, [])


def bug_classes(aid: str) -> dict[str, tuple[str, str]]:
    """The catalogue's ``BUG_CLASSES``: for each mutant whose gradient error has a shape the
    gradient check diagnoses (``factor``, ``sign``, ``transpose``, ``zero``, ``slices``), that
    class and a note; mutants not listed are of class ``other``."""
    found = load_catalogue(aid, "BUG_CLASSES")
    return dict(found) if isinstance(found, dict) else {}


def answer_cell(nb: dict, grade_id: str) -> dict:
    """The cell of ``nb`` whose nbgrader ``grade_id`` is ``grade_id``.

    Raises:
        KeyError: no such cell.
    """
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def mutate(aid: str, entry: dict) -> dict:
    """The markers-stripped source with one answer cell edited as the catalogue entry says.

    Raises:
        ValueError: the entry's ``old`` text does not occur exactly once in its cell.
    """
    nb = copy.deepcopy(solution_notebook(aid))
    cell = answer_cell(nb, entry["cell"])
    count = cell["source"].count(entry["old"])
    if count != 1:
        raise ValueError(f"{entry['name']}: 'old' occurs {count} times in {entry['cell']}")
    cell["source"] = cell["source"].replace(entry["old"], entry["new"])
    return nb


def write_nb(path: Path, nb: dict) -> Path:
    """Write ``nb`` as JSON at ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))
    return path


def entries(aid: str) -> dict[str, dict]:
    """Every notebook to grade for ``aid``, by entry name."""
    out = {
        "source": solution_notebook(aid),
        "release": json.loads(release_notebook(aid).read_text()),
    }
    for m in load_catalogue(aid):
        out[f"mutant-{m['name']}"] = mutate(aid, m)
    for v in load_catalogue(aid, "VARIANTS"):
        out[f"variant-{v['name']}"] = mutate(aid, v)
    return out


def write_submissions(aid: str, submitted: Path) -> list[str]:
    """Lay ``aid``'s entries out in nbgrader's ``submitted/<entry>/<ID>/<ID>.ipynb`` form."""
    names = []
    for name, nb in entries(aid).items():
        write_nb(submitted / name / aid / f"{aid}.ipynb", nb)
        names.append(name)
    return names


def grade_submissions(submitted: Path, reports: Path, jobs: int = 2, timeout: float = 3000) -> None:
    """Grade a submitted/ tree with ``grade-all`` (no gradebook)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade-all",
            str(submitted),
            "--jobs",
            str(jobs),
            "--reports",
            str(reports),
            "--gradebook",
            "none",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=timeout,
    )


def scores(report: dict) -> dict[str, float]:
    """Each test's score in a report."""
    return {t["name"]: t["score"] for t in report["tests"]}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["grade"])
    parser.add_argument("ids", nargs="+")
    parser.add_argument("--out", help="working folder (default: a temporary one)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--baseline", help="reports folder of an earlier run to compare with")
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="catalogue-"))
    changed = 0
    names = {aid: write_submissions(aid, out / "submitted") for aid in args.ids}
    grade_submissions(out / "submitted", out / "reports", args.jobs)
    for aid in args.ids:
        for name in names[aid]:
            report = json.loads((out / "reports" / name / f"{aid}.json").read_text())
            lost = [t["name"] for t in report["tests"] if t["score"] < t["max_score"]]
            line = f"{aid} {name}: {report['score']:g}/{report['max_score']:g}"
            if args.baseline:
                old_path = Path(args.baseline) / name / f"{aid}.json"
                if not old_path.is_file():
                    line += "  (no baseline)"
                else:
                    old, new = scores(json.loads(old_path.read_text())), scores(report)
                    diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                    if diff:
                        changed += 1
                        line += f"  CHANGED: {diff[:6]}"
            print(line + (f"  lost: {lost[:8]}" if lost and not name.startswith("mutant") else ""))
    print(f"reports in {out / 'reports'}")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
