"""Generate and check the kit's derived notebooks.

    python scripts/build.py release     # release/<ID>/<ID>.ipynb via nbgrader generate_assignment
    python scripts/build.py solutions   # solutions/<ID>/<ID>.ipynb: markers removed, executed
    python scripts/build.py check       # release/ and solutions/ are in sync with source/

``release/`` and ``solutions/`` are never edited by hand.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def source_ids() -> list[str]:
    return sorted(p.name for p in (ROOT / "source").iterdir() if (p / f"{p.name}.ipynb").is_file())


def nbgrader(*args: str, cwd: Path) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


def generate_release(course_root: Path, ids: list[str]) -> None:
    for aid in ids:
        nbgrader("generate_assignment", aid, "--force", cwd=course_root)


def strip_markers(source: str) -> str:
    return "\n".join(line for line in source.split("\n") if line.strip() not in MARKERS)


def solution_notebook(aid: str) -> dict:
    """The source notebook with solution markers removed (not executed)."""
    nb = json.loads((ROOT / "source" / aid / f"{aid}.ipynb").read_text())
    for cell in nb["cells"]:
        src = cell["source"]
        src = "".join(src) if isinstance(src, list) else src
        cell["source"] = strip_markers(src)
    return nb


def build_solutions(ids: list[str]) -> None:
    import nbformat
    from nbclient import NotebookClient

    for aid in ids:
        nb = nbformat.from_dict(solution_notebook(aid))
        out_dir = ROOT / "solutions" / aid
        out_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(out_dir)}}
        ).execute()
        nbformat.write(nb, out_dir / f"{aid}.ipynb")
        print(f"solutions/{aid}/{aid}.ipynb executed in {time.monotonic() - t0:.1f} s")


def check_release(ids: list[str]) -> list[str]:
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copy2(ROOT / "nbgrader_config.py", tmp)
        for aid in ids:
            shutil.copytree(ROOT / "source" / aid, tmp / "source" / aid)
        generate_release(tmp, ids)
        for aid in ids:
            want = tmp / "release" / aid / f"{aid}.ipynb"
            have = ROOT / "release" / aid / f"{aid}.ipynb"
            if not have.is_file() or not filecmp.cmp(want, have, shallow=False):
                problems.append(
                    f"release/{aid} differs from nbgrader's output: "
                    "run `python scripts/build.py release`"
                )
    return problems


def check_solutions(ids: list[str]) -> list[str]:
    problems = []
    for aid in ids:
        path = ROOT / "solutions" / aid / f"{aid}.ipynb"
        if not path.is_file():
            problems.append(f"solutions/{aid} is missing: run `python scripts/build.py solutions`")
            continue
        have = json.loads(path.read_text())
        want = solution_notebook(aid)
        src = [
            ("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for c in have["cells"]
        ]
        if src != [c["source"] for c in want["cells"]]:
            problems.append(f"solutions/{aid} is stale: run `python scripts/build.py solutions`")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["release", "solutions", "check"])
    parser.add_argument("ids", nargs="*", help="assignment IDs (default: all in source/)")
    args = parser.parse_args()
    ids = args.ids or source_ids()
    if args.what == "release":
        generate_release(ROOT, ids)
        print(f"release/ regenerated for {len(ids)} assignment(s)")
    elif args.what == "solutions":
        build_solutions(ids)
    else:
        problems = check_release(ids) + check_solutions(ids)
        for p in problems:
            print(p)
        print("release/ and solutions/ are in sync with source/" if not problems else "")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
