"""Student feedback files: one per student and assignment, with the score, each grade cell's
tests, points and messages, advice when nothing could be graded, and hostile text made inert."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser

from reports_kit import (
    GRAD_BOB,
    LOSS,
    case,
    graded,
    not_graded,
    run_command,
    small_class,
    write_tree,
)

from autograder.feedback import feedback_for_rows, render_feedback, run_feedback
from autograder.report import build_report
from autograder.report_tree import check_report


class _Tags(HTMLParser):
    """Every start tag and its attributes, to prove what a page really contains."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def _tags(page: str) -> list[tuple[str, list]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def test_command_writes_one_file_per_student_and_assignment(tmp_path):
    reports = write_tree(tmp_path / "reports", small_class())
    out = tmp_path / "feedback"
    proc = run_command("feedback", str(reports), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.html"))
    assert written == [
        "alice/A1.html",
        "alice/A2.html",
        "bob/A1.html",
        "carol/A1.html",
        "dave/A1.html",
    ]
    assert "5 file(s) for 4 student(s)" in proc.stdout


def test_feedback_shows_score_cells_points_and_the_messages_of_failed_tests_only(tmp_path):
    report = small_class()[("bob", "A1")]
    page = render_feedback(check_report("bob", report))
    assert "Score: 3 / 10 (30%)" in page
    assert (
        "Grade cell <code>c1</code>: 3 / 7" in page and "Grade cell <code>c2</code>: 0 / 3" in page
    )
    assert "<td>0 / 4</td>" in page and "<td>3 / 3</td>" in page  # t1 failed, t2 passed
    assert GRAD_BOB in page and LOSS in page
    assert page.count('<tr class="failed">') == 2 and page.count('<tr class="passed">') == 1
    assert "could not be graded" not in page


def test_a_passed_test_shows_no_message(tmp_path):
    tests = [case("t1", "c1", 1)]
    tests[0]["message"] = "internal note that must not be shown"
    page = render_feedback(check_report("amy", graded("A1", tests)))
    assert "internal note" not in page


def test_a_submission_that_could_not_be_graded_says_why_and_what_to_do():
    page = render_feedback(check_report("dave", not_graded("A1", "the notebook is not JSON")))
    assert "Your notebook could not be graded" in page
    assert "Why: the notebook is not JSON" in page
    assert "Restart &amp; Run All" in page and "<code>A1.ipynb</code>" in page
    assert "Score: 0 / 0" in page and "Grade cell" not in page


def test_an_unreadable_notebook_lists_no_repeated_test_rows():
    why = "the submission is a symbolic link"
    tests = [{**case(f"t{k}", "c1", 1, why), "status": "error", "score": 0.0} for k in range(4)]
    report = build_report("A1", "x.ipynb", tests, 4.0, {}, 0.1, error=why)
    page = render_feedback(check_report("zed", report))
    assert "None of the 4 hidden tests ran." in page
    assert page.count(why) == 1 and "Grade cell" not in page


def test_hostile_student_text_is_escaped_and_inert():
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    tests = [case(f"t{hostile}", f"c{hostile}", 1, f"your code raised ValueError: {hostile}")]
    page = render_feedback(check_report(f"eve{hostile}", graded("A1", tests)))
    tags = _tags(page)
    assert not [t for t, _ in tags if t in ("script", "img", "iframe", "object")]
    assert not [a for _, attrs in tags for a, _ in attrs if a.startswith("on")]
    assert "ValueError: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    error = render_feedback(check_report("eve", not_graded("A1", hostile)))
    assert not [t for t, _ in _tags(error) if t in ("script", "img")]


def test_malformed_reports_are_skipped_with_a_warning_and_the_others_written(tmp_path, capsys):
    reports = write_tree(tmp_path / "reports", small_class())
    (reports / "eve").mkdir()
    (reports / "eve" / "A1.json").write_text("")
    broken = small_class()[("bob", "A1")]
    broken["tests"][0]["status"] = "exploded"
    (reports / "eve" / "A2.json").write_text(json.dumps(broken))
    assert run_feedback(reports, tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert "eve/A1.json: cannot be read as JSON" in err
    assert "eve/A2.json: test 0 has an unknown status" in err
    assert len(list((tmp_path / "out").rglob("*.html"))) == 5
    assert not (tmp_path / "out" / "eve").exists()


def test_grade_all_rows_with_a_broken_report_or_a_bad_student_name_are_skipped(tmp_path):
    good = small_class()[("bob", "A1")]
    rows = [("bob", good), ("eve", {"assignment": "A1"}), ("..", good)]
    written, warnings = feedback_for_rows(rows, tmp_path)
    assert written == [tmp_path / "bob" / "A1.html"]
    assert len(warnings) == 2 and "'eve'" in warnings[0] and "'..'" in warnings[1]
    assert not (tmp_path.parent / "A1.html").exists()


def test_a_missing_reports_folder_is_a_usage_error(tmp_path, capsys):
    assert run_feedback(tmp_path / "nope", tmp_path / "out") == 2
    assert "no reports directory" in capsys.readouterr().err


def test_a_student_folder_name_that_is_not_utf8_still_gets_its_page(tmp_path):
    name = os.fsdecode(b"caf\xe9")
    reports = write_tree(tmp_path / "reports", {(name, "A1"): small_class()[("bob", "A1")]})
    assert run_feedback(reports, tmp_path / "out") == 0
    page = (tmp_path / "out" / name / "A1.html").read_text()
    assert "Student: <b>caf\\xe9</b>" in page
