"""Generate and check the kit's derived notebooks.

    python scripts/build.py release     # release/<ID>/<ID>.ipynb via nbgrader generate_assignment
    python scripts/build.py solutions   # solutions/<ID>/<ID>.ipynb: markers removed, executed
    python scripts/build.py check       # release/ and solutions/ are in sync with source/

``release/`` and ``solutions/`` are never edited by hand. Nor are the ``given/`` folders beside
the notebooks: ``release`` and ``solutions`` write them from the kit's ``given/`` (see
``autograder/given_blocks.py``), and ``check`` compares them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")

from autograder import given_blocks  # noqa: E402
from autograder.registry import ASSIGNMENT_IDS, source_notebook  # noqa: E402


def source_ids() -> list[str]:
    """The assignments with a source notebook, in course order (IDs from the registry).

    Raises:
        SystemExit: a folder in source/ is not one of the thirty registered IDs.
    """
    strays = sorted(
        p.name for p in (ROOT / "source").iterdir() if p.is_dir() and p.name not in ASSIGNMENT_IDS
    )
    if strays:
        raise SystemExit(f"source/ has folders that are not assignment IDs: {strays}")
    return [aid for aid in ASSIGNMENT_IDS if source_notebook(aid).is_file()]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def nbgrader_view(nb: dict) -> list[tuple]:
    """What nbgrader decides about a notebook: each cell's type, source and nbgrader metadata.

    (with the editable/deletable locks it sets). Editors add or rewrite everything else
    (kernelspec, language_info, cell ids, collapsed or scrolled flags, JSON layout) when a
    notebook is opened and saved; none of that changes what students get.
    """
    view = []
    for c in nb.get("cells", []):
        meta = c.get("metadata") or {}
        locks = (meta.get("editable", True), meta.get("deletable", True))
        view.append((c.get("cell_type"), _source(c), meta.get("nbgrader"), locks))
    return view


def nbgrader(*args: str, cwd: Path) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    # nbgrader only logs a config file that fails to load, then goes on with its defaults
    if proc.returncode != 0 or "Exception while loading config file" in proc.stderr:
        raise SystemExit(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


def generate_release(course_root: Path, ids: list[str]) -> None:
    """Write each assignment's given blocks into its source folder, then run nbgrader."""
    for aid in ids:
        given_blocks.write(aid, course_root / "source" / aid)
        nbgrader("generate_assignment", aid, "--force", cwd=course_root)


def strip_markers(source: str) -> str:
    return "\n".join(line for line in source.split("\n") if line.strip() not in MARKERS)


def solution_notebook(aid: str) -> dict:
    """The source notebook with solution markers removed (not executed)."""
    nb = json.loads((ROOT / "source" / aid / f"{aid}.ipynb").read_text())
    for cell in nb["cells"]:
        cell["source"] = strip_markers(_source(cell))
    return nb


def build_solutions(ids: list[str]) -> None:
    """Execute each source notebook (markers removed) into solutions/<ID>/, one BLAS thread.

    One thread, as in the test suite and the grader: on a shared 2-core machine threaded BLAS
    made a notebook several times slower, for no gain at these sizes.
    """
    import nbformat
    from nbclient import NotebookClient

    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # the kernel inherits the environment

    for aid in ids:
        nb = nbformat.from_dict(solution_notebook(aid))
        out_dir = ROOT / "solutions" / aid
        out_dir.mkdir(parents=True, exist_ok=True)
        given_blocks.write(aid, out_dir)
        t0 = time.monotonic()
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(out_dir)}}
        ).execute()
        nbformat.write(nb, out_dir / f"{aid}.ipynb")
        print(f"solutions/{aid}/{aid}.ipynb executed in {time.monotonic() - t0:.1f} s")


def check_release(ids: list[str], release_dir: Path = ROOT / "release") -> list[str]:
    """Problems with release/: what nbgrader would generate now differs from what is there."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "nbgrader_config.py").symlink_to(ROOT / "nbgrader_config.py")
        for aid in ids:
            shutil.copytree(ROOT / "source" / aid, tmp / "source" / aid)
            problems += [
                f"source/{p}" for p in given_blocks.out_of_sync(aid, ROOT / "source" / aid)
            ]
            problems += [f"release/{p}" for p in given_blocks.out_of_sync(aid, release_dir / aid)]
        generate_release(tmp, ids)
        for aid in ids:
            want = json.loads((tmp / "release" / aid / f"{aid}.ipynb").read_text())
            have_path = release_dir / aid / f"{aid}.ipynb"
            if not have_path.is_file() or nbgrader_view(json.loads(have_path.read_text())) != (
                nbgrader_view(want)
            ):
                problems.append(
                    f"release/{aid} differs from nbgrader's output: "
                    "run `python scripts/build.py release`"
                )
    return problems


def check_solutions(ids: list[str], solutions_dir: Path = ROOT / "solutions") -> list[str]:
    """Problems with solutions/: missing, or cell sources that differ from the stripped source."""
    problems = []
    for aid in ids:
        path = solutions_dir / aid / f"{aid}.ipynb"
        if not path.is_file():
            problems.append(f"solutions/{aid} is missing: run `python scripts/build.py solutions`")
            continue
        problems += [f"solutions/{p}" for p in given_blocks.out_of_sync(aid, solutions_dir / aid)]
        have = json.loads(path.read_text())
        want = solution_notebook(aid)
        if [_source(c) for c in have["cells"]] != [c["source"] for c in want["cells"]]:
            problems.append(f"solutions/{aid} is stale: run `python scripts/build.py solutions`")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["release", "solutions", "check"])
    parser.add_argument("ids", nargs="*", help="assignment IDs (default: all in source/)")
    parser.add_argument("--release-dir", type=Path, default=ROOT / "release", help="for check")
    parser.add_argument("--solutions-dir", type=Path, default=ROOT / "solutions", help="for check")
    args = parser.parse_args()
    ids = args.ids or source_ids()
    if args.what == "release":
        generate_release(ROOT, ids)
        print(f"release/ regenerated for {len(ids)} assignment(s)")
    elif args.what == "solutions":
        build_solutions(ids)
    else:
        problems = check_release(ids, args.release_dir) + check_solutions(ids, args.solutions_dir)
        for p in problems:
            print(p)
        print("release/ and solutions/ are in sync with source/" if not problems else "")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
