"""Class analytics: the numbers are right for a hand-made class, every plot is a PNG the page
links, and odd or broken report trees give a page and warnings, never a crash."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import pytest
from reports_kit import (
    GRAD_PATTERN,
    LOSS,
    NAMED,
    case,
    graded,
    not_graded,
    run_command,
    small_class,
    write_tree,
)

from autograder import analytics
from autograder.analytics import (
    class_stats,
    heat_matrix,
    message_pattern,
    run_analytics,
    score_bins,
)
from autograder.report_tree import load_tree

PNG = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (and proof that the file is a PNG)."""
    data = path.read_bytes()
    assert data[:8] == PNG, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _links(index: Path) -> set[str]:
    return set(re.findall(r'src="([^"]+)"', index.read_text()))


@pytest.mark.parametrize(
    ("message", "pattern"),
    [
        ("relative error of 3.10e-01 at index (1, 2)", "relative error of # at index (#, #)"),
        ("relative error of 7e-3 at index (0, 14)", "relative error of # at index (#, #)"),
        ("dW2 is wrong at [3]", "dW2 is wrong at [#]"),
        ("x_1 got -0.5, expected shape (4,)", "x_1 got #, expected shape (#,)"),
        ("loss nan after 12 steps", "loss # after # steps"),
        ("ends with a number 3.", "ends with a number #."),
    ],
)
def test_message_pattern_replaces_numbers_but_keeps_names_with_digits(message, pattern):
    assert message_pattern(message) == pattern


def test_score_bins_put_each_share_in_its_tenth_and_full_marks_in_the_last():
    assert score_bins([0.0, 0.05, 0.1, 0.35, 0.999, 1.0]) == [2, 1, 0, 1, 0, 0, 0, 0, 0, 2]


def test_the_hand_made_class_gives_the_known_distribution_rates_and_messages(tmp_path):
    items, warnings = load_tree(write_tree(tmp_path / "reports", small_class()))
    assert warnings == []
    a1, a2 = class_stats(items)
    assert (a1.assignment, a1.max_score, a2.max_score) == ("A1", 10, 8)
    assert a1.bins == [0, 0, 0, 2, 0, 0, 0, 0, 0, 1]  # bob 3/10, carol 3/10, alice 10/10
    assert a1.not_graded == [("dave", "the notebook is not valid JSON")]
    assert [(t.name, t.cell, t.failed, t.runs) for t in a1.tests] == [
        ("t1", "c1", 2, 3),
        ("t2", "c1", 1, 3),
        ("t3", "c2", 1, 3),
    ]
    assert a1.tests[0].rate == pytest.approx(2 / 3)
    grouped = {m.pattern: (m.count, m.students, m.tests) for m in a1.messages}
    assert grouped == {
        GRAD_PATTERN: (2, 2, ["t1"]),
        message_pattern(NAMED): (1, 1, ["t2"]),
        message_pattern(LOSS): (1, 1, ["t3"]),
    }
    assert a1.messages[0].pattern == GRAD_PATTERN  # the most common first
    assert a2.bins == [0, 0, 0, 0, 0, 0, 1, 0, 0, 0]  # 5/8 = 62.5%

    students, ids, matrix, errors = heat_matrix(items, [a1, a2])
    assert (students, ids) == (["alice", "bob", "carol", "dave"], ["A1", "A2"])
    assert matrix[0] == [1.0, 5 / 8]
    assert matrix[1][0] == pytest.approx(0.3) and math.isnan(matrix[1][1])
    assert matrix[3][0] == 0.0 and errors == {(3, 0)}


def test_command_writes_valid_pngs_and_an_index_linking_every_plot_with_the_right_tables(
    tmp_path,
):
    reports = write_tree(tmp_path / "reports", small_class())
    out = tmp_path / "analytics"
    proc = run_command("analytics", str(reports), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    plots = {p.name for p in (out / "plots").iterdir()}
    assert plots == {"A1.png", "A2.png", "overview.png", "heatmap.png"}
    for name in plots:
        width, height = _png_size(out / "plots" / name)
        assert width > 300 and height > 200
    index = out / "index.html"
    assert _links(index) == {f"plots/{n}" for n in plots}
    page = index.read_text()
    # t1 failed in 2 of the 3 graded submissions of A1
    assert re.search(
        r"<code>t1</code></td><td>c1</td><td>forward</td>"
        r'<td class="num">2</td><td class="num">3</td><td class="num">67%</td>',
        page,
    )
    # the distribution row of A1: 2 submissions at 30-40%, 1 at 90-100%
    row = "".join(f'<td class="num">{n}</td>' for n in [0, 0, 0, 2, 0, 0, 0, 0, 0, 1])
    assert f"<tr><th>submissions</th>{row}</tr>" in page
    assert (
        f'<td class="num">2</td><td class="num">2</td><td><code>t1</code></td>'
        f'<td class="msg">{GRAD_PATTERN}</td>' in page
    )
    assert "dave" in page and "not valid JSON" in page


def test_malformed_reports_are_skipped_with_a_warning_and_the_rest_analysed(tmp_path, capsys):
    reports = write_tree(tmp_path / "reports", small_class())
    (reports / "eve").mkdir()
    (reports / "eve" / "A1.json").write_text("{not json")
    (reports / "eve" / "A2.json").write_text("[1, 2]")
    (reports / "frank").mkdir()
    bad = graded("A1", [case("t1", "c1", 4)])
    bad["score"] = "ten"
    (reports / "frank" / "A1.json").write_text(json.dumps(bad))
    (reports / "frank" / "A2.json").write_text(json.dumps(graded("A1", [case("t1", "c1", 4)])))
    (reports / "frank" / ".A1.json.x.tmp").write_text("{half")  # a temporary file: ignored
    (reports / "grades.csv").write_text("student,assignment\n")

    assert run_analytics(reports, tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert err.count("warning: skipped") == 4
    assert "eve/A1.json: cannot be read as JSON" in err
    assert "frank/A1.json: 'score' is not a number" in err
    assert "named A2.json but reports on 'A1'" in err
    page = (tmp_path / "out" / "index.html").read_text()
    assert "4 report file(s) skipped" in page
    assert "5 report(s): 4 student(s), 2 assignment(s)" in page  # the good ones only


def test_one_student_whose_only_report_could_not_be_graded_still_gets_a_page(tmp_path):
    reports = write_tree(tmp_path / "reports", {("solo", "A1"): not_graded("A1", "too large")})
    assert run_analytics(reports, tmp_path / "out") == 0
    page = (tmp_path / "out" / "index.html").read_text()
    assert "No graded submission, so no test ran" in page and "too large" in page
    for link in _links(tmp_path / "out" / "index.html"):
        _png_size(tmp_path / "out" / link)


def test_an_empty_or_missing_reports_folder_is_a_message_not_a_crash(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert run_analytics(tmp_path / "empty", tmp_path / "out") == 0
    assert "no usable report" in capsys.readouterr().err
    assert "No usable report" in (tmp_path / "out" / "index.html").read_text()
    assert run_analytics(tmp_path / "missing", tmp_path / "out2") == 2
    assert "no reports directory" in capsys.readouterr().err


def test_many_students_are_split_over_several_labelled_heat_maps(tmp_path, monkeypatch):
    monkeypatch.setattr(analytics, "HEATMAP_ROWS", 2)
    tree = {(f"s{k}", "A1"): graded("A1", [case("t1", "c1", 1)]) for k in range(5)}
    reports = write_tree(tmp_path / "reports", tree)
    assert run_analytics(reports, tmp_path / "out") == 0
    heatmaps = sorted(p for p in _links(tmp_path / "out" / "index.html") if "heatmap" in p)
    assert heatmaps == ["plots/heatmap-2.png", "plots/heatmap-3.png", "plots/heatmap.png"]
    for h in heatmaps:
        _png_size(tmp_path / "out" / h)


def test_student_names_and_messages_are_escaped_on_the_instructors_page(tmp_path):
    hostile = "<script>alert(1)</script>"
    tree = {
        ("mallory", "A1"): graded("A1", [case("t1", "c1", 1, f"your code raised {hostile}")]),
        ("eve<img src=x onerror=alert(1)>", "A1"): not_graded("A1", f"bad notebook {hostile}"),
    }
    reports = write_tree(tmp_path / "reports", tree)
    assert run_analytics(reports, tmp_path / "out") == 0
    page = (tmp_path / "out" / "index.html").read_text()
    assert "<script" not in page and "<img src=x" not in page
    assert "bad notebook &lt;script&gt;alert(1)&lt;/script&gt;" in page  # the error, as text
    assert "raised &lt;script&gt;alert(#)&lt;/script&gt;" in page  # the message pattern
    assert "eve&lt;img src=x onerror=alert(1)&gt;" in page


def test_messages_most_students_got_rank_above_one_students_many_failures(tmp_path):
    unfinished = "f is not finished (it raises NotImplementedError)"
    tree = {
        ("x", "A1"): graded("A1", [case(f"t{k}", "c", 1, unfinished) for k in range(3)]),
        ("y", "A1"): graded("A1", [case("t0", "c", 1, "dW wrong at 1"), case("t1", "c", 1)]),
        ("z", "A1"): graded("A1", [case("t0", "c", 1, "dW wrong at 2"), case("t1", "c", 1)]),
    }
    items, _ = load_tree(write_tree(tmp_path / "reports", tree))
    (a1,) = class_stats(items)
    ranked = [(m.pattern, m.count, m.students) for m in a1.messages]
    assert ranked == [("dW wrong at #", 2, 2), (unfinished, 3, 1)]


def test_odd_student_folder_names_still_give_plots_and_a_page(tmp_path):
    reports = tmp_path / "reports"
    odd = ["$x^{$", os.fsdecode(b"caf\xe9"), "a b & c"]
    tree = {(name, "A1"): graded("A1", [case("t$1", "c", 1, "wrong")]) for name in odd}
    write_tree(reports, tree)
    assert run_analytics(reports, tmp_path / "out") == 0
    page = (tmp_path / "out" / "index.html").read_text()
    assert "3 report(s): 3 student(s)" in page
    _png_size(tmp_path / "out" / "plots" / "heatmap.png")


def test_a_report_with_an_infinite_score_is_skipped_not_plotted(tmp_path, capsys):
    reports = write_tree(tmp_path / "reports", small_class())
    (reports / "bob" / "A1.json").write_text(
        (reports / "bob" / "A1.json").read_text().replace('"score": 3.0', '"score": Infinity')
    )
    assert run_analytics(reports, tmp_path / "out") == 0
    assert "bob/A1.json: 'score' is not a number" in capsys.readouterr().err
