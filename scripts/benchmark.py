"""Benchmark the kit: hidden-suite grading time per assignment, notebook execution time, and
batch throughput. Prints a Markdown table to paste into the README.

    python scripts/benchmark.py                 # grading medians (5 repeats) + batch throughput
    python scripts/benchmark.py --notebooks     # also execute every source notebook once
    python scripts/benchmark.py --nbgrader      # also time `nbgrader autograde` on the examples
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from build import ROOT, solution_notebook, source_ids

sys.path.insert(0, str(ROOT))
from autograder.registry import assignments  # noqa: E402


def grade_once(nb_path: Path, aid: str, out: Path, env: dict | None = None):
    """Grade once through the CLI: (wall seconds, the engine's duration_s, the report)."""
    t0 = time.perf_counter()
    cmd = [
        sys.executable,
        "-m",
        "autograder",
        "grade",
        str(nb_path),
        "--assignment",
        aid,
        "--json",
        str(out),
    ]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    report = json.loads(out.read_text())
    return wall, report["duration_s"], report


def bench_grading(ids: list[str], repeats: int, tmp: Path) -> list[str]:
    rows = [
        "| assignment | score | grading wall, median (min-max) | engine duration_s, median |",
        "|---|---|---|---|",
    ]
    for aid in ids:
        path = tmp / f"{aid}.ipynb"
        path.write_text(json.dumps(solution_notebook(aid)))
        walls, durs = [], []
        for _ in range(repeats):
            wall, dur, report = grade_once(path, aid, tmp / f"{aid}.json")
            walls.append(wall)
            durs.append(dur)
        rows.append(
            f"| {aid} | {report['score']:g}/{report['max_score']:g} | "
            f"{statistics.median(walls):.2f} s ({min(walls):.2f}-{max(walls):.2f}) | "
            f"{statistics.median(durs):.2f} s |"
        )
    return rows


def bench_isolation(ids: list[str], repeats: int, tmp: Path) -> list[str]:
    """What the root-only layers and seccomp cost: basic isolation vs every layer."""
    import os

    basic = dict(os.environ, AUTOGRADER_ISOLATION="basic")
    rows = [
        "| assignment | basic layers only, median | every layer, median | overhead |",
        "|---|---|---|---|",
    ]
    for aid in ids:
        path = tmp / f"{aid}.ipynb"
        path.write_text(json.dumps(solution_notebook(aid)))
        walls = {"basic": [], "full": []}
        layers = ""
        for _ in range(repeats):
            for mode, env in (("basic", basic), ("full", None)):
                wall, _, report = grade_once(path, aid, tmp / f"{aid}-{mode}.json", env)
                walls[mode].append(wall)
                if mode == "full":
                    iso = report["isolation"]
                    layers = (
                        f"uid {iso['uid_drop']}, namespaces "
                        f"{iso['namespaces']['network']}, seccomp {iso['seccomp']}"
                    )
        b, f = statistics.median(walls["basic"]), statistics.median(walls["full"])
        rows.append(f"| {aid} | {b:.2f} s | {f:.2f} s ({layers}) | {f - b:+.2f} s |")
    return rows


def bench_notebooks(ids: list[str]) -> list[str]:
    import nbformat
    from nbclient import NotebookClient

    rows = ["| notebook | execution time |", "|---|---|"]
    for aid in ids:
        nb = nbformat.from_dict(solution_notebook(aid))
        with tempfile.TemporaryDirectory() as cwd:
            given = ROOT / "solutions" / aid / "given"  # the blocks released beside the notebook
            if given.is_dir():
                shutil.copytree(given, Path(cwd) / "given")
            t0 = time.perf_counter()
            NotebookClient(
                nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": cwd}}
            ).execute()
            rows.append(f"| {aid} | {time.perf_counter() - t0:.1f} s |")
    return rows


def bench_batch(tmp: Path, walls: dict[int, float]) -> list[str]:
    examples = ROOT / "examples" / "submitted"
    n = len(list(examples.glob("*/*/*.ipynb")))
    rows = ["| grade-all on examples/submitted | wall | submissions/min |", "|---|---|---|"]
    for jobs in (1, 2):
        reports = tmp / f"reports-{jobs}"
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "autograder",
                "grade-all",
                str(examples),
                "--force",
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
        )
        wall = time.perf_counter() - t0
        walls[jobs] = wall
        rows.append(f"| {n} submissions, --jobs {jobs} | {wall:.1f} s | {60 * n / wall:.1f} |")
        shutil.rmtree(reports, ignore_errors=True)
    return rows


def bench_nbgrader(tmp: Path, ids: list[str], our_wall: float) -> list[str]:
    """`nbgrader autograde` on the same example submissions, in a scratch course directory."""
    import os

    course = tmp / "course"
    course.mkdir()
    (course / "nbgrader_config.py").symlink_to(ROOT / "nbgrader_config.py")
    shutil.copytree(ROOT / "source", course / "source")
    shutil.copytree(ROOT / "examples" / "submitted", course / "submitted")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    n = len(list((course / "submitted").glob("*/*/*.ipynb")))
    t0 = time.perf_counter()
    for aid in ids:
        for args in (["generate_assignment", aid, "--force"], ["autograde", aid, "--force"]):
            subprocess.run(
                [sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True
            )
    wall = time.perf_counter() - t0
    return [
        "| same submissions | wall | submissions/min |",
        "|---|---|---|",
        f"| `nbgrader autograde` (runs every cell) | {wall:.1f} s | {60 * n / wall:.1f} |",
        f"| this grader, --jobs 1 | {our_wall:.1f} s | {60 * n / our_wall:.1f} "
        f"({wall / our_wall:.1f}x faster) |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--notebooks", action="store_true", help="also execute the notebooks")
    parser.add_argument("--nbgrader", action="store_true", help="also time nbgrader autograde")
    parser.add_argument("ids", nargs="*")
    args = parser.parse_args()
    ids = args.ids or [a for a in assignments() if a in source_ids()]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        walls: dict[int, float] = {}
        lines = bench_grading(ids, args.repeats, tmp) + [""] + bench_batch(tmp, walls)
        lines += [""] + bench_isolation(ids, args.repeats, tmp)
        if args.nbgrader:
            lines += [""] + bench_nbgrader(tmp, ids, walls[1])
        if args.notebooks:
            lines += [""] + bench_notebooks(ids)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
