"""grade-all --shard K/N and merge: the shards partition the submissions (stably), a sharded run
merges to what an unsharded run gives, and merge refuses reports that disagree or are broken."""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from autograder.batch import discover
from autograder.shard import Shard, collect, parse_shard, select, shard_of
from autograder.submission import Submission

EXAMPLES = ROOT / "examples" / "submitted"
#: One of the quickest assignments to grade (about 1 s a submission).
QUICK = "01_complexodynamics"


def autograder(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m autograder ARGS`` in ``cwd`` (the kit importable from anywhere)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- which submissions a shard owns (no grading) ---------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_the_shards_of_n_cover_every_example_submission_exactly_once(count):
    subs = discover(EXAMPLES)
    assert len(subs) >= 4
    seen: dict[tuple[str, str], int] = {}
    for index in range(count):
        for s in select(subs, Shard(index, count)):
            seen[s.student, s.assignment] = seen.get((s.student, s.assignment), 0) + 1
    assert seen == {(s.student, s.assignment): 1 for s in subs}


def test_each_of_seven_shards_gets_a_share_of_the_examples():
    subs = discover(EXAMPLES)
    sizes = [len(select(subs, Shard(k, 7))) for k in range(7)]
    # 120 submissions over 7 shards: a hash split spreads them (unevenly: sizes vary by about
    # the square root of a shard's share), never leaving a shard empty here.
    assert min(sizes) >= 1 and max(sizes) < len(subs) // 2, sizes


def test_a_submission_keeps_its_shard_when_submissions_are_added(tmp_path):
    subs = discover(EXAMPLES)
    before = {(s.student, s.assignment): shard_of(s.student, s.assignment, 3) for s in subs}
    added = [Submission(tmp_path / f"{i}.ipynb", QUICK, student=f"late{i}") for i in range(40)]
    for k in range(3):
        for s in select(added + subs, Shard(k, 3)):
            if (s.student, s.assignment) in before:
                assert before[s.student, s.assignment] == k


def test_the_split_is_the_same_in_every_process_whatever_its_hash_seed():
    keys = [("alice", QUICK), ("bob", "13_transformer"), ("zoë", "26_cs231n")]
    here = [shard_of(s, a, 7) for s, a in keys]
    code = f"from autograder.shard import shard_of; print([shard_of(s, a, 7) for s, a in {keys!r}])"
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED=seed)
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == str(here)


@pytest.mark.parametrize("text,expected", [("0/1", Shard(0, 1)), ("6/7", Shard(6, 7))])
def test_shard_k_of_n_is_zero_based(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["7/7", "1/0", "-1/3", "a/b", "3", "1/2/3", "", "1.0/2", "²/3"])
def test_a_bad_shard_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="0 <= K < N"):
        parse_shard(text)


def test_grade_all_refuses_a_bad_shard_with_a_usage_message_and_no_traceback(tmp_path):
    proc = autograder("grade-all", str(EXAMPLES), "--shard", "8/8", "--reports", str(tmp_path))
    assert proc.returncode == 2
    assert "--shard" in proc.stderr and "0 <= K < N" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir())


# --- a real sharded run, merged ----------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``QUICK`` for the four example students: graded unsharded, and as shards 0/2 and 1/2
    (run from another folder, relative paths, default gradebook) merged."""
    base = tmp_path_factory.mktemp("shards")
    whole = autograder(
        "grade-all",
        str(EXAMPLES),
        "--assignment",
        QUICK,
        "--reports",
        str(base / "whole"),
        "--gradebook",
        f"sqlite:///{base / 'whole.db'}",
    )
    shards = [
        autograder(
            "grade-all",
            str(EXAMPLES),
            "--assignment",
            QUICK,
            "--shard",
            f"{k}/2",
            "--reports",
            f"shard-{k}",
            cwd=base,
        )
        for k in range(2)
    ]
    merged = autograder(
        "merge",
        "shard-0",
        "shard-1",
        "--reports",
        "merged",
        "--gradebook",
        f"sqlite:///{base / 'merged.db'}",
        cwd=base,
    )
    return base, whole, shards, merged


def csv_rows(path: Path) -> list[dict]:
    with open(path) as fh:
        return [{k: v for k, v in row.items() if k != "duration_s"} for row in csv.DictReader(fh)]


def table(stdout: str) -> str:
    """The grade table ``grade-all`` and ``merge`` print (between the first blank lines)."""
    return stdout.split("\n\n")[1]


@pytest.mark.xdist_group("shard")
def test_sharded_run_merges_to_the_unsharded_csv_and_table(runs):
    base, whole, shards, merged = runs
    for proc in (whole, *shards, merged):
        assert proc.returncode == 0, proc.stderr
    expected = csv_rows(base / "whole" / "grades.csv")
    assert len(expected) == 4
    assert csv_rows(base / "merged" / "grades.csv") == expected
    assert table(merged.stdout) == table(whole.stdout)
    assert sorted(p.relative_to(base / "merged") for p in base.glob("merged/*/*.json")) == sorted(
        p.relative_to(base / "whole") for p in base.glob("whole/*/*.json")
    )


@pytest.mark.xdist_group("shard")
def test_each_shard_grades_only_its_own_submissions_and_writes_no_gradebook(runs):
    base, _, shards, _ = runs
    graded = [{p.parent.name for p in base.glob(f"shard-{k}/*/*.json")} for k in range(2)]
    assert graded[0].isdisjoint(graded[1])
    assert graded[0] | graded[1] == {"alice", "bob", "carol", "dave"}
    for k in range(2):
        assert graded[k] == {s for s in graded[0] | graded[1] if shard_of(s, QUICK, 2) == k}
    assert not (base / "gradebook.db").exists()  # the default gradebook, in the shards' cwd


@pytest.mark.xdist_group("shard")
def test_merge_writes_the_same_scores_into_the_gradebook(runs):
    from nbgrader.api import Gradebook

    base, *_ = runs
    scores = []
    for db in ("whole.db", "merged.db"):
        with Gradebook(f"sqlite:///{base / db}") as gb:
            scores.append(
                {s: gb.find_submission(QUICK, s).score for s in ("alice", "bob", "carol", "dave")}
            )
    assert scores[0] == scores[1]
    assert scores[1]["alice"] > scores[1]["bob"] > 0


@pytest.mark.xdist_group("shard")
def test_off_a_terminal_grade_all_prints_one_plain_line_per_submission(runs):
    _, _, shards, _ = runs
    total = 0
    for proc in shards:
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("[")]
        total += len(lines)
        assert [ln.split("]")[0] for ln in lines] == [
            f"[{i}/{len(lines)}" for i in range(1, len(lines) + 1)
        ]
        for ln in lines:
            assert f"/{QUICK}: " in ln and "/24 in " in ln and ln.endswith((" s", "graded)"))
        assert "\r" not in proc.stdout and "sub/s" not in proc.stdout
    assert total == 4


# --- merge refuses what it cannot trust (synthetic reports, no grading) -----------------------


def fake_report(score: float, status: str = "graded") -> dict:
    return {
        "assignment": QUICK,
        "submission": f"submitted/x/{QUICK}/{QUICK}.ipynb",
        "status": status,
        "error": None,
        "score": score,
        "max_score": 24.0,
        "tests": [
            {"name": "a", "cell": "c1", "kind": "forward", "score": score, "max_score": 24.0}
            | {"status": "passed" if score == 24 else "failed", "message": ""}
        ],
        "isolation": {},
        "duration_s": 1.0,
    }


def put(shard: Path, student: str, report: dict | str) -> Path:
    path = shard / student / f"{QUICK}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report if isinstance(report, str) else json.dumps(report))
    return path


def test_merge_refuses_two_reports_of_one_submission_that_disagree(tmp_path):
    put(tmp_path / "s0", "alice", fake_report(24.0))
    put(tmp_path / "s1", "alice", fake_report(12.0))
    put(tmp_path / "s1", "bob", fake_report(12.0))
    proc = autograder("merge", "s0", "s1", "--reports", "out", "--gradebook", "none", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"alice/{QUICK}" in proc.stderr and "different results" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_merge_accepts_duplicates_that_agree_apart_from_timing(tmp_path):
    put(tmp_path / "s0", "alice", fake_report(24.0))
    put(tmp_path / "s1", "alice", fake_report(24.0) | {"duration_s": 7.5, "isolation": {"x": 1}})
    put(tmp_path / "s1", "bob", fake_report(12.0))
    rows = collect([tmp_path / "s0", tmp_path / "s1"])
    assert [(s, r["score"]) for s, r in rows] == [("alice", 24.0), ("bob", 12.0)]


@pytest.mark.parametrize(
    "content,why",
    [
        ("{not json", "cannot be read as JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps(fake_report(24.0) | {"score": "24"}), "'score' is not a number"),
        (json.dumps(fake_report(24.0) | {"assignment": "02_char_rnn"}), "not '01_"),
        (json.dumps(fake_report(24.0) | {"tests": [{"name": 1}]}), "test 0 has no text"),
        (json.dumps(fake_report(24.0) | {"status": "great"}), "status"),
    ],
    ids=["not-json", "not-object", "text-score", "other-assignment", "bad-test", "bad-status"],
)
def test_merge_names_a_broken_report_and_writes_nothing(tmp_path, content, why):
    put(tmp_path / "s0", "alice", fake_report(24.0))
    bad = put(tmp_path / "s1", "bob", content)
    proc = autograder("merge", "s0", "s1", "--reports", "out", "--gradebook", "none", cwd=tmp_path)
    assert proc.returncode == 2
    assert bad.name in proc.stderr and why in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_merge_says_so_when_the_gradebook_cannot_be_written(tmp_path):
    put(tmp_path / "s0", "alice", fake_report(24.0))
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'gb.db'}"
    proc = autograder("merge", "s0", "--reports", "out", "--gradebook", url, cwd=tmp_path)
    assert proc.returncode == 3
    assert "gradebook" in proc.stderr and "could not be" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "out" / "grades.csv").is_file()


def test_merge_names_a_deeply_nested_report_without_crashing(tmp_path):
    put(tmp_path / "s0", "alice", "[" * 200_000 + "]" * 200_000)
    proc = autograder("merge", "s0", "--reports", "out", "--gradebook", "none", cwd=tmp_path)
    assert proc.returncode == 2 and "cannot be read as JSON" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_merge_refuses_a_missing_folder_and_an_unknown_assignment(tmp_path):
    path = tmp_path / "s0" / "alice" / "99_nothing.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(fake_report(24.0)))
    proc = autograder("merge", "s0", "nowhere", "--gradebook", "none", cwd=tmp_path)
    assert proc.returncode == 2
    assert "nowhere: not a folder" in proc.stderr and "99_nothing" in proc.stderr
    assert "Traceback" not in proc.stderr


# --- the scheduler examples (checked without the scheduler) ------------------------------------

OPS = ROOT / "examples" / "ops"


def test_the_slurm_script_is_valid_bash_and_grades_its_array_tasks_shard(tmp_path):
    script = OPS / "grade-array.slurm"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    shards = int(text.split("SHARDS=")[1].split()[0])
    assert f"#SBATCH --array=0-{shards - 1}\n" in text
    # Run it as Slurm would run task K, on a submitted/ tree holding one broken notebook
    # (quick: it cannot be graded), from a "submit dir" whose .venv is this interpreter's.
    sub = tmp_path / "submitted" / "dave" / QUICK
    sub.mkdir(parents=True)
    shutil.copy(EXAMPLES / "dave" / QUICK / f"{QUICK}.ipynb", sub)
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    task = shard_of("dave", QUICK, shards)
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        SLURM_SUBMIT_DIR=str(tmp_path),
        SLURM_ARRAY_TASK_ID=str(task),
        SLURM_CPUS_PER_TASK="1",
    )
    proc = subprocess.run(
        ["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    report = tmp_path / "reports-shards" / str(task) / "dave" / f"{QUICK}.json"
    assert json.loads(report.read_text())["status"] == "error"
    assert not (tmp_path / "gradebook.db").exists()
    env["SLURM_ARRAY_TASK_ID"] = str((task + 1) % shards)  # another task: not dave's shard
    proc = subprocess.run(
        ["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "0 submission(s) found" in proc.stdout


def test_the_kubernetes_manifest_is_an_indexed_job_running_the_kits_cli():
    import yaml

    from autograder.cli import build_parser

    (job,) = list(yaml.safe_load_all((OPS / "grade-job.yaml").read_text()))
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert int(env["SHARDS"]["value"]) == spec["completions"]
    index_ref = env["SHARD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert index_ref == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    assert container["command"][1:] == ["-m", "autograder"]
    mounts = {m["name"] for m in container["volumeMounts"]}
    assert mounts <= {v["name"] for v in pod["volumes"]}
    for index in (0, spec["completions"] - 1):
        argv = [
            a.replace("$(SHARD_INDEX)", str(index)).replace("$(SHARDS)", env["SHARDS"]["value"])
            for a in container["args"]
        ]
        args = build_parser().parse_args(argv)
        assert args.command == "grade-all"
        assert args.shard == Shard(index, spec["completions"])
        assert args.reports.endswith(f"/{index}")


def test_the_readme_shows_the_committed_scheduler_examples():
    readme = (ROOT / "README.md").read_text()
    for name in ("grade-array.slurm", "grade-job.yaml"):
        assert (OPS / name).read_text() in readme, f"README's copy of {name} is out of date"
