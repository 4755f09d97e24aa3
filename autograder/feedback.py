"""Student feedback files from the JSON reports, without nbgrader's UI.

``python -m autograder feedback REPORTS --out DIR`` (or ``grade-all --feedback DIR``) writes
``DIR/<student>/<ID>.html`` for each report: the score, then per grade cell each hidden test with
its points and the kit's message for the student, and what to do when the notebook could not be
graded at all. The hidden tests' code is never shown: a report does not contain it.

The format is one self-contained HTML file (inline CSS, no scripts, no external resources):
it opens in any browser or LMS preview exactly as written, status colours make the failing
tests stand out, and every piece of text taken from a report goes through ``html.escape``.
Markdown was rejected because its renderers pass raw HTML through and give meaning to ``*``,
``_``, backticks and ``|`` that appear in messages (matrix products, indices, exception text),
so a message could not be shown reliably as the plain text it is.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from html import escape
from pathlib import Path

from autograder.report_tree import (
    GradedReport,
    check_report,
    load_tree,
    printable,
    write_text_atomic,
)

STATUS_LABEL = {
    "passed": "passed",
    "failed": "failed",
    "timeout": "too slow",
    "error": "did not run",
}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
.score { font-size: 1.25rem; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #d0d0d7; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f6; }
td.msg { white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-monospace, monospace;
         font-size: .85rem; }
tr.passed td.st { color: #11701d; }
tr.failed td.st, tr.timeout td.st, tr.error td.st { color: #b00020; font-weight: 600; }
.box { border: 2px solid #b00020; background: #fff4f4; padding: .5rem 1rem; border-radius: 6px; }
.note { color: #555; font-size: .9rem; }
"""

NOT_GRADED_ADVICE = (
    "Open the notebook in Jupyter and run <em>Kernel &rarr; Restart &amp; Run All</em>: "
    "it must run from top to bottom without errors.",
    "Save it from Jupyter and submit that file, named <code>{id}.ipynb</code>, itself: "
    "not an empty or renamed copy, a link, a zip or an exported PDF/HTML.",
    "Keep your code in the answer cells (marked <code># YOUR CODE HERE</code>) and do not "
    "delete, split or re-order the notebook's cells.",
    "If it still cannot be graded, send this page to your instructor.",
)

STATUS_HELP = (
    "<b>failed</b>: your code ran but its result is wrong (the message says where); "
    "<b>too slow</b>: your code did not finish within the time limit (look for needless "
    "loops or a training run larger than asked); <b>did not run</b>: your code raised an "
    "error or a function it needs failed first."
)


def _points(value: float) -> str:
    return f"{round(value, 2):g}"


def _cells(tests: list[dict]) -> list[tuple[str, list[dict]]]:
    """Tests grouped by grade cell, cells in the order of their first test."""
    groups: dict[str, list[dict]] = {}
    for t in tests:
        groups.setdefault(t["cell"], []).append(t)
    return list(groups.items())


def render_feedback(item: GradedReport) -> str:
    """One self-contained HTML page of feedback for ``item`` (all report text escaped)."""
    r = item.report
    aid, who = escape(item.assignment), escape(printable(item.student))
    top = r["max_score"]
    share = f" ({100 * r['score'] / top:.0f}%)" if top > 0 else ""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Feedback: {aid} ({who})</title><style>{STYLE}</style></head><body>",
        f"<h1>Feedback on {aid}</h1>",
        f"<p>Student: <b>{who}</b></p>",
        f'<p class="score">Score: {_points(r["score"])} / {_points(top)}{share}</p>',
    ]
    tests = r["tests"]
    if not item.graded:
        reason = escape(r.get("error") or "no reason was recorded")
        advice = "".join(f"<li>{a.format(id=aid)}</li>" for a in NOT_GRADED_ADVICE)
        out += [
            '<div class="box"><h2>Your notebook could not be graded</h2>',
            f"<p>Why: {reason}</p>",
            "<p>No hidden test could run, so this submission scores 0. What to do:</p>",
            f"<ol>{advice}</ol></div>",
        ]
        if all(t["status"] == "error" for t in tests):
            if tests:
                out.append(f'<p class="note">None of the {len(tests)} hidden tests ran.</p>')
            tests = []
    if tests:
        out.append("<h2>Points by grade cell</h2>")
        out.append("<table><tr><th>grade cell</th><th>points</th><th>tests passed</th></tr>")
        for cell, mine in _cells(tests):
            got = sum(t["score"] for t in mine)
            best = sum(t["max_score"] for t in mine)
            passed = sum(t["status"] == "passed" for t in mine)
            out.append(
                f"<tr><td><code>{escape(cell)}</code></td><td>{_points(got)} / {_points(best)}"
                f"</td><td>{passed} of {len(mine)}</td></tr>"
            )
        out.append("</table>")
        for cell, mine in _cells(tests):
            got = sum(t["score"] for t in mine)
            best = sum(t["max_score"] for t in mine)
            out.append(
                f"<h2>Grade cell <code>{escape(cell)}</code>: {_points(got)} / {_points(best)}</h2>"
            )
            out.append(
                "<table><tr><th>test</th><th>result</th><th>points</th><th>message</th></tr>"
            )
            for t in mine:
                status = t["status"]
                message = t["message"] if status != "passed" else ""
                out.append(
                    f'<tr class="{status}"><td><code>{escape(t["name"])}</code></td>'
                    f'<td class="st">{STATUS_LABEL[status]}</td>'
                    f"<td>{_points(t['score'])} / {_points(t['max_score'])}</td>"
                    f'<td class="msg">{escape(message)}</td></tr>'
                )
            out.append("</table>")
        out.append(f'<p class="note">{STATUS_HELP}</p>')
    elif item.graded:
        out.append('<p class="note">The report lists no hidden tests.</p>')
    out.append(
        '<p class="note">Written by the course autograder from its report. The messages say '
        "what is wrong without giving the expected values; the hidden tests themselves are "
        "not shown.</p></body></html>"
    )
    return "\n".join(out) + "\n"


def _safe_component(name: str) -> bool:
    """True if ``name`` can be a single folder name under the output folder."""
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\x00")


def write_feedback(items: Iterable[GradedReport], out_dir: Path) -> tuple[list[Path], list[str]]:
    """Write ``out_dir/<student>/<ID>.html`` for each item (atomically): (files, warnings)."""
    written: list[Path] = []
    warnings: list[str] = []
    for item in items:
        if not _safe_component(item.student):
            warnings.append(f"skipped a report: student name {item.student!r} is not a folder name")
            continue
        path = out_dir / item.student / f"{item.assignment}.html"
        write_text_atomic(path, render_feedback(item))
        written.append(path)
    return written, warnings


def feedback_for_rows(rows: list[tuple[str, dict]], out_dir: Path) -> tuple[list[Path], list[str]]:
    """Feedback for ``grade-all``'s (student, report) rows; unusable reports are skipped."""
    items: list[GradedReport] = []
    warnings: list[str] = []
    for student, report in rows:
        try:
            items.append(check_report(student, report))
        except ValueError as exc:
            warnings.append(f"skipped the report of {student!r}: {exc}")
    written, more = write_feedback(items, out_dir)
    return written, warnings + more


def run_feedback(reports_dir: Path, out_dir: Path) -> int:
    """The ``feedback`` command: exit 0 when done (skipped files are warned about), 2 when
    there is no reports folder."""
    if not reports_dir.is_dir():
        print(f"error: no reports directory {reports_dir}", file=sys.stderr)
        return 2
    items, warnings = load_tree(reports_dir)
    written, more = write_feedback(items, out_dir)
    for w in warnings + more:
        print(f"warning: {w}", file=sys.stderr)
    students = len({p.parent.name for p in written})
    print(f"feedback: {len(written)} file(s) for {students} student(s) in {out_dir}/<student>/")
    return 0
