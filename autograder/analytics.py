"""Class analytics from the JSON reports: ``python -m autograder analytics REPORTS --out DIR``.

Per assignment: the distribution of scores (as a share of the assignment's points, in tenths),
each hidden test's failure rate, and the most common failure messages, grouped so that messages
differing only in numbers (errors, indices, sizes) count as one. Across the class: a student x
assignment heat map of the share of points earned. Plots are PNG files drawn with matplotlib's
Agg canvas (no display needed); ``DIR/index.html`` is one self-contained page linking them, with
the tables behind them. Only graded submissions enter the distributions and failure rates; the
ones that could not be graded are listed separately (they score 0 in the heat map, marked ``!``).
"""

from __future__ import annotations

import io
import math
import re
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from urllib.parse import quote

from autograder.report_tree import (
    GradedReport,
    load_tree,
    printable,
    write_bytes_atomic,
    write_text_atomic,
)

#: The score distribution's bins: tenths of the assignment's points (the last one includes 100%).
BINS = 10
#: How many message patterns each assignment lists.
TOP_MESSAGES = 8
#: Students per heat-map image (more students: more images, each still readable).
HEATMAP_ROWS = 50
#: Assignments per row of the overview grid of score histograms.
GRID_COLUMNS = 5

# A number standing on its own (not the digit of a name such as dW2 or x_1): integers, decimals,
# exponents, an optional sign, and nan/inf as NumPy prints them.
NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z0-9_])"
    r"|(?<![A-Za-z0-9_])[-+]?(?:nan|inf)(?![A-Za-z0-9_])"
)


@dataclass
class TestStat:
    """One hidden test's outcomes over an assignment's graded submissions."""

    name: str
    cell: str
    kind: str
    runs: int = 0
    failed: int = 0

    @property
    def rate(self) -> float:
        """The share of graded submissions in which the test did not pass."""
        return self.failed / self.runs if self.runs else 0.0


@dataclass
class MessageGroup:
    """Failure messages that differ only in numbers: the pattern, how often, where, who."""

    pattern: str
    count: int
    students: int
    tests: list[str]


@dataclass
class AssignmentStats:
    """Everything the report says about one assignment."""

    assignment: str
    max_score: float
    scores: list[float] = field(default_factory=list)
    not_graded: list[tuple[str, str]] = field(default_factory=list)
    bins: list[int] = field(default_factory=list)
    tests: list[TestStat] = field(default_factory=list)
    messages: list[MessageGroup] = field(default_factory=list)

    @property
    def submissions(self) -> int:
        """Reports for this assignment, graded or not."""
        return len(self.scores) + len(self.not_graded)

    def shares(self) -> list[float]:
        """Graded scores as shares of the assignment's points (0..1)."""
        if self.max_score <= 0:
            return []
        return [min(max(s / self.max_score, 0.0), 1.0) for s in self.scores]


def message_pattern(message: str) -> str:
    """``message`` with every stand-alone number replaced by ``#`` and whitespace collapsed, so
    that messages differing only in numbers (errors, indices, sizes) group together."""
    return " ".join(NUMBER.sub("#", message).split())


def score_bins(shares: list[float], bins: int = BINS) -> list[int]:
    """How many shares fall in each of ``bins`` equal bins of [0, 1]; 1.0 lands in the last."""
    counts = [0] * bins
    for s in shares:
        counts[min(int(s * bins), bins - 1)] += 1
    return counts


def bin_labels(bins: int = BINS) -> list[str]:
    """``0-10%`` ... ``90-100%`` for ten bins."""
    return [f"{100 * i // bins}-{100 * (i + 1) // bins}%" for i in range(bins)]


def failure_rates(reports: list[dict]) -> list[TestStat]:
    """Each hidden test's outcomes over ``reports`` (graded ones), in collection order."""
    stats: dict[str, TestStat] = {}
    for r in reports:
        for t in r["tests"]:
            kind = t.get("kind") if isinstance(t.get("kind"), str) else ""
            s = stats.setdefault(t["name"], TestStat(t["name"], t["cell"], kind))
            s.runs += 1
            s.failed += t["status"] != "passed"
    return list(stats.values())


def common_messages(items: list[GradedReport], top: int = TOP_MESSAGES) -> list[MessageGroup]:
    """The ``top`` most common failure-message patterns over ``items`` (graded ones): those
    that most students got first, then those seen most often."""
    count: Counter[str] = Counter()
    students: dict[str, set[str]] = {}
    tests: dict[str, list[str]] = {}
    for item in items:
        for t in item.report["tests"]:
            if t["status"] == "passed" or not t["message"].strip():
                continue
            key = message_pattern(t["message"])
            count[key] += 1
            students.setdefault(key, set()).add(item.student)
            names = tests.setdefault(key, [])
            if t["name"] not in names:
                names.append(t["name"])
    # Most students first (one student's unfinished function fails many tests), then most often.
    ranked = sorted(count.items(), key=lambda kv: (-len(students[kv[0]]), -kv[1], kv[0]))[:top]
    return [MessageGroup(k, n, len(students[k]), tests[k]) for k, n in ranked]


def assignment_stats(assignment: str, items: list[GradedReport]) -> AssignmentStats:
    """The statistics of one assignment's reports."""
    graded = [i for i in items if i.graded]
    top = max((i.report["max_score"] for i in items), default=0.0)
    stats = AssignmentStats(assignment, top)
    stats.scores = [i.report["score"] for i in graded]
    stats.not_graded = [(i.student, i.report.get("error") or "") for i in items if not i.graded]
    stats.bins = score_bins(stats.shares())
    stats.tests = failure_rates([i.report for i in graded])
    stats.messages = common_messages(graded)
    return stats


def class_stats(items: list[GradedReport]) -> list[AssignmentStats]:
    """:func:`assignment_stats` for every assignment, sorted by ID."""
    by_id: dict[str, list[GradedReport]] = {}
    for item in items:
        by_id.setdefault(item.assignment, []).append(item)
    return [assignment_stats(a, by_id[a]) for a in sorted(by_id)]


def heat_matrix(
    items: list[GradedReport], stats: list[AssignmentStats]
) -> tuple[list[str], list[str], list[list[float]], set[tuple[int, int]]]:
    """(students, assignments, share of points with NaN where nothing was submitted, the
    (row, column) cells of submissions that could not be graded: share 0)."""
    students = sorted({i.student for i in items})
    ids = [s.assignment for s in stats]
    top = {s.assignment: s.max_score for s in stats}
    row = {s: k for k, s in enumerate(students)}
    col = {a: k for k, a in enumerate(ids)}
    matrix = [[math.nan] * len(ids) for _ in students]
    errors: set[tuple[int, int]] = set()
    for i in items:
        r, c = row[i.student], col[i.assignment]
        if not i.graded:
            matrix[r][c] = 0.0
            errors.add((r, c))
        elif top[i.assignment] > 0:
            matrix[r][c] = min(max(i.report["score"] / top[i.assignment], 0.0), 1.0)
    return students, ids, matrix, errors


# ---------------------------------------------------------------- plots


def _label(text: str) -> str:
    """Text for a plot: printable, and ``$`` escaped so matplotlib draws it instead of parsing
    mathematics (an unbalanced ``$`` in a student ID would otherwise fail the drawing)."""
    return printable(text).replace("$", r"\$")


def _save(fig, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    write_bytes_atomic(path, buf.getvalue())


def _histogram(ax, stats: AssignmentStats, small: bool = False) -> None:
    labels = bin_labels()
    ax.bar(range(BINS), stats.bins, color="#3b6ea8", width=0.85)
    ax.set_xticks(range(BINS))
    ax.set_xticklabels(
        [lab.split("-")[0] for lab in labels] if small else labels,
        rotation=0 if small else 45,
        fontsize=7 if small else 8,
        ha="center" if small else "right",
    )
    ax.set_ylim(0, max(stats.bins + [1]) * 1.15)
    ax.yaxis.get_major_locator().set_params(integer=True)
    if not stats.scores:
        ax.text(0.5, 0.5, "no graded submission", transform=ax.transAxes, ha="center")
    if not small:
        ax.set_xlabel("share of the points")
        ax.set_ylabel("submissions")
        extra = f", {len(stats.not_graded)} not graded" if stats.not_graded else ""
        ax.set_title(f"score distribution ({len(stats.scores)} graded{extra})", fontsize=10)


def plot_assignment(stats: AssignmentStats, path: Path) -> None:
    """Score histogram and per-test failure rates of one assignment, side by side."""
    from matplotlib.figure import Figure

    n = len(stats.tests)
    fig = Figure(figsize=(13, max(4.0, 0.24 * n + 1.6)), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.5])
    _histogram(left, stats)
    if n:
        rates = [100 * t.rate for t in stats.tests]
        ax = right
        ax.barh(range(n), rates, color=["#b00020" if r >= 50 else "#e08a00" for r in rates])
        ax.set_yticks(range(n))
        ax.set_yticklabels([_label(t.name) for t in stats.tests], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("failed in % of graded submissions")
        for k, t in enumerate(stats.tests):
            ax.text(min(100 * t.rate + 1, 92), k, f"{t.failed}/{t.runs}", va="center", fontsize=6)
    else:
        right.axis("off")
        right.text(0.5, 0.5, "no graded submission: no test ran", ha="center")
    right.set_title("hidden tests: failure rate", fontsize=10)
    fig.suptitle(f"{stats.assignment} (max {stats.max_score:g} points)", fontsize=12)
    _save(fig, path)


def plot_overview(all_stats: list[AssignmentStats], path: Path) -> None:
    """One small score histogram per assignment, in a grid."""
    from matplotlib.figure import Figure

    cols = min(GRID_COLUMNS, max(len(all_stats), 1))
    rows = max(math.ceil(len(all_stats) / cols), 1)
    fig = Figure(figsize=(3.0 * cols, 2.3 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(all_stats):
            ax.axis("off")
            continue
        _histogram(ax, all_stats[k], small=True)
        ax.set_title(all_stats[k].assignment, fontsize=9)
    fig.suptitle("score distributions: submissions per tenth of the points (lower edge, %)")
    _save(fig, path)


def plot_heatmap(
    students: list[str],
    ids: list[str],
    matrix: list[list[float]],
    errors: set[tuple[int, int]],
    path: Path,
    title: str = "share of points per student and assignment",
) -> None:
    """Students down, assignments across, coloured by share of points; ``!`` = not graded,
    grey = no submission. Cells are annotated with the percentage when they fit."""
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    data = np.ma.masked_invalid(np.array(matrix, dtype=float).reshape(len(students), len(ids)))
    cmap = colormaps["viridis"].with_extremes(bad="#d9d9d9")
    width = max(6.0, 0.42 * len(ids) + 0.09 * max(map(len, students), default=5) + 2.0)
    height = max(3.0, 0.3 * len(students) + 0.075 * max(map(len, ids), default=5) + 1.5)
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(data, cmap=cmap, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(ids)))
    ax.set_xticklabels(ids, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(students)))
    ax.set_yticklabels([_label(s) for s in students], fontsize=8)
    for r in range(len(students)):
        for c in range(len(ids)):
            if (r, c) in errors:
                text, colour = "!", "white"
            elif data.mask[r, c]:
                continue
            else:
                value = float(data[r, c])
                text, colour = f"{100 * value:.0f}", "black" if value > 0.6 else "white"
            ax.text(c, r, text, ha="center", va="center", fontsize=6.5, color=colour)
    fig.colorbar(image, ax=ax, label="share of the points", shrink=0.8)
    ax.set_title(title + "  (! = could not be graded, grey = no report)", fontsize=10)
    _save(fig, path)


# ---------------------------------------------------------------- the report page

PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; }
table { border-collapse: collapse; margin: .4rem 0 1.2rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.msg { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .8rem;
         max-width: 70rem; overflow-wrap: anywhere; }
img { max-width: 100%; border: 1px solid #eee; }
.warn { color: #8a4b00; }
"""


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _img(href: str, alt: str) -> str:
    q = quote(href)
    return f'<a href="{q}"><img src="{q}" alt="{escape(alt)}"></a>'


def _assignment_section(s: AssignmentStats, plot: str) -> list[str]:
    aid = escape(s.assignment)
    shares = s.shares()
    out = [f'<h2 id="{aid}">{aid}</h2>', _img(plot, f"{s.assignment}: scores and failure rates")]
    out.append("<h3>Score distribution</h3>")
    if shares:
        out.append(
            f"<p>{len(shares)} graded; mean {_pct(statistics.fmean(shares))}, median "
            f"{_pct(statistics.median(shares))} of {s.max_score:g} points.</p>"
        )
    heads = "".join(f"<th>{lab}</th>" for lab in bin_labels())
    counts = "".join(f'<td class="num">{n}</td>' for n in s.bins)
    out.append(f"<table><tr><th>share of points</th>{heads}</tr>")
    out.append(f"<tr><th>submissions</th>{counts}</tr></table>")
    if s.not_graded:
        out.append("<h3>Could not be graded</h3><table><tr><th>student</th><th>why</th></tr>")
        out += [
            f"<tr><td>{escape(printable(who))}</td><td>{escape(why)}</td></tr>"
            for who, why in s.not_graded
        ]
        out.append("</table>")
    out.append("<h3>Hidden tests, most failed first</h3>")
    if s.tests:
        out.append(
            "<table><tr><th>test</th><th>grade cell</th><th>kind</th><th>failed</th>"
            "<th>graded</th><th>failure rate</th></tr>"
        )
        for t in sorted(s.tests, key=lambda t: -t.rate):
            out.append(
                f"<tr><td><code>{escape(t.name)}</code></td><td>{escape(t.cell)}</td>"
                f'<td>{escape(t.kind)}</td><td class="num">{t.failed}</td>'
                f'<td class="num">{t.runs}</td><td class="num">{_pct(t.rate)}</td></tr>'
            )
        out.append("</table>")
    else:
        out.append("<p>No graded submission, so no test ran.</p>")
    out.append("<h3>Most common failure messages</h3>")
    if s.messages:
        out.append(
            "<p>Numbers are replaced by <code>#</code>, so messages that differ only in "
            "errors, indices or sizes count together.</p>"
        )
        out.append("<table><tr><th>times</th><th>students</th><th>tests</th><th>message</th></tr>")
        for m in s.messages:
            names = ", ".join(escape(n) for n in m.tests[:5])
            if len(m.tests) > 5:
                names += f" and {len(m.tests) - 5} more"
            out.append(
                f'<tr><td class="num">{m.count}</td><td class="num">{m.students}</td>'
                f'<td><code>{names}</code></td><td class="msg">{escape(m.pattern)}</td></tr>'
            )
        out.append("</table>")
    else:
        out.append("<p>No test failed.</p>")
    return out


def render_index(
    all_stats: list[AssignmentStats],
    plots: dict[str, str],
    heatmaps: list[str],
    overview: str | None,
    students: int,
    warnings: list[str],
) -> str:
    """The instructor's page: summary table, heat map(s), overview grid, one section per
    assignment. ``plots`` maps assignment IDs to their plot's relative path."""
    reports = sum(s.submissions for s in all_stats)
    out = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Class analytics</title><style>{PAGE_STYLE}</style></head><body>",
        "<h1>Class analytics</h1>",
        f"<p>{reports} report(s): {students} student(s), {len(all_stats)} assignment(s).</p>",
    ]
    if warnings:
        out.append(f'<p class="warn">{len(warnings)} report file(s) skipped:</p><ul>')
        out += [f'<li class="warn">{escape(w)}</li>' for w in warnings]
        out.append("</ul>")
    if not all_stats:
        out.append("<p>No usable report was found.</p></body></html>")
        return "\n".join(out) + "\n"
    out.append(
        "<h2>Assignments</h2><table><tr><th>assignment</th><th>points</th><th>reports</th>"
        "<th>graded</th><th>not graded</th><th>mean</th><th>median</th>"
        "<th>most failed test</th></tr>"
    )
    for s in all_stats:
        shares = s.shares()
        mean = _pct(statistics.fmean(shares)) if shares else "-"
        median = _pct(statistics.median(shares)) if shares else "-"
        worst = max(s.tests, key=lambda t: t.rate, default=None)
        worst_text = (
            f"<code>{escape(worst.name)}</code> ({_pct(worst.rate)})"
            if worst and worst.failed
            else "-"
        )
        aid = escape(s.assignment)
        out.append(
            f'<tr><td><a href="#{aid}">{aid}</a></td><td class="num">{s.max_score:g}</td>'
            f'<td class="num">{s.submissions}</td><td class="num">{len(s.scores)}</td>'
            f'<td class="num">{len(s.not_graded)}</td><td class="num">{mean}</td>'
            f'<td class="num">{median}</td><td>{worst_text}</td></tr>'
        )
    out.append("</table>")
    out.append("<h2>Students x assignments</h2>")
    out += [_img(h, "heat map of the share of points per student and assignment") for h in heatmaps]
    if overview:
        out.append("<h2>Score distributions</h2>")
        out.append(_img(overview, "score histograms of every assignment"))
    for s in all_stats:
        out += _assignment_section(s, plots[s.assignment])
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_analytics(items: list[GradedReport], out_dir: Path, warnings: list[str]) -> Path:
    """Write the plots under ``out_dir/plots/`` and ``out_dir/index.html``; return the page."""
    all_stats = class_stats(items)
    plots: dict[str, str] = {}
    heatmaps: list[str] = []
    overview = None
    if all_stats:
        for s in all_stats:
            plots[s.assignment] = f"plots/{s.assignment}.png"
            plot_assignment(s, out_dir / plots[s.assignment])
        overview = "plots/overview.png"
        plot_overview(all_stats, out_dir / overview)
        students, ids, matrix, errors = heat_matrix(items, all_stats)
        pages = math.ceil(len(students) / HEATMAP_ROWS)
        for p in range(pages):
            lo, hi = p * HEATMAP_ROWS, min((p + 1) * HEATMAP_ROWS, len(students))
            name = "plots/heatmap.png" if p == 0 else f"plots/heatmap-{p + 1}.png"
            part = {(r - lo, c) for r, c in errors if lo <= r < hi}
            title = "share of points" + (f", students {lo + 1}-{hi}" if pages > 1 else "")
            plot_heatmap(students[lo:hi], ids, matrix[lo:hi], part, out_dir / name, title)
            heatmaps.append(name)
    students_n = len({i.student for i in items})
    page = out_dir / "index.html"
    write_text_atomic(
        page, render_index(all_stats, plots, heatmaps, overview, students_n, warnings)
    )
    return page


def run_analytics(reports_dir: Path, out_dir: Path) -> int:
    """The ``analytics`` command: exit 0 when the page is written (skipped files are warned
    about and listed on it), 2 when there is no reports folder."""
    if not reports_dir.is_dir():
        print(f"error: no reports directory {reports_dir}", file=sys.stderr)
        return 2
    items, warnings = load_tree(reports_dir)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not items:
        print(f"warning: no usable report under {reports_dir}", file=sys.stderr)
    page = write_analytics(items, out_dir, warnings)
    ids = len({i.assignment for i in items})
    print(f"analytics: {len(items)} report(s), {ids} assignment(s); open {page}")
    return 0
