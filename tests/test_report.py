"""Student text in reports and CSVs is bounded and inert."""

from autograder.batch import csv_safe, grade_table
from autograder.report import clean_text


def test_control_characters_are_removed_and_long_text_is_cut():
    text = clean_text("a\x00b\x1b[31mc" + "x" * 5000, limit=100)
    assert "\x00" not in text and "\x1b" not in text
    assert text.endswith("[...truncated]") and len(text) < 130


def test_spreadsheet_formulas_are_neutralised():
    assert csv_safe('=HYPERLINK("http://x")').startswith("'=")
    assert csv_safe("@SUM(A1)").startswith("'@")
    assert csv_safe("alice") == "alice"


def test_grade_table_marks_ungradable_submissions():
    rows = [
        ("alice", {"assignment": "03_lstm", "score": 30.0, "max_score": 30.0, "status": "graded"}),
        ("dave", {"assignment": "03_lstm", "score": 0.0, "max_score": 30.0, "status": "error"}),
    ]
    table = grade_table(rows)
    assert "30/30" in table and "0/30!" in table
