"""How well the gradient check's diagnosis names the bug class of the catalogue's mutants.

    python scripts/catalogue.py grade 01_complexodynamics ... --out DIR   # grade the catalogues
    python scripts/diagnosis_rates.py DIR/reports [--readme]              # then measure

Every mutant has a class (its catalogue's ``BUG_CLASSES``, else ``other``), decided from the bug
itself: the shape of the error in the gradient of the function the mutant edits. A mutant's
diagnosis is what the messages of the tests it loses say (:func:`given.diagnosis.kinds_in`). It is
*right* when they name the mutant's class, *wrong* when they name classes but not that one (a
mutant of class ``other`` must get none), and *none* when they say nothing more than the relative
error. A right diagnosis may come with another class on a tensor further from the bug (a
whole-model gradient where the scaled path mixes with others can be right except on some
slices); the table counts those. Variants lose no test, so they get none. With ``--readme`` the
table replaces the one between the README's diagnosis markers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from catalogue import bug_classes  # noqa: E402

from given.diagnosis import SIGNATURES, kinds_in  # noqa: E402

CLASSES = list(SIGNATURES)
BEGIN, END = "<!-- diagnosis-table -->", "<!-- /diagnosis-table -->"


def diagnosed(report: dict) -> set[str]:
    """The classes named in the messages of the tests a report loses points on."""
    found: set[str] = set()
    for t in report.get("tests", []):
        if t["score"] < t["max_score"]:
            found |= kinds_in(t.get("message") or "")
    return found


def classes_of(label) -> tuple[str, ...]:
    """A ``BUG_CLASSES`` class entry as a tuple: the class of the error in the edited function's
    gradient first, then the classes other checked tensors show exactly (e.g. a gradient zero
    everywhere further from the bug)."""
    return (label,) if isinstance(label, str) else tuple(label)


def outcome(label, kinds: set[str]) -> str:
    """``right``, ``also`` (only a further class the mutant shows), ``wrong`` or ``none`` for a
    mutant of class(es) ``label`` diagnosed as ``kinds``."""
    allowed = classes_of(label)
    if not kinds:
        return "none"
    if kinds - set(allowed):
        return "wrong"
    return "right" if allowed[0] in kinds else "also"


def measure(reports: Path) -> tuple[Counter, list[tuple[str, str, str, str, set[str]]]]:
    """Counts per (class, outcome) over every mutant and variant report under ``reports``."""
    counts: Counter = Counter()
    rows = []
    for entry in sorted(p for p in reports.iterdir() if p.is_dir()):
        for path in sorted(entry.glob("*.json")):
            aid = path.stem
            report = json.loads(path.read_text())
            name = entry.name
            if name.startswith("mutant-"):
                label = bug_classes(aid).get(name[len("mutant-") :], ("other", ""))[0]
            elif name.startswith("variant-"):
                label = "variant"
            else:
                continue
            kinds = diagnosed(report)
            result = outcome(label, kinds) if label != "variant" else ("wrong" if kinds else "none")
            primary = classes_of(label)[0]
            counts[primary, result] += 1
            if result == "right" and kinds != {primary}:
                counts[primary, "extra"] += 1
            rows.append((aid, name, label, result, kinds))
    return counts, rows


def table(counts: Counter) -> str:
    """The Markdown table of the counts."""
    lines = [
        "| class | mutants | right diagnosis | no diagnosis | wrong diagnosis | right, share "
        "| right, with another class elsewhere |",
        "|---|---|---|---|---|---|---|",
    ]
    tot = Counter()
    for label in CLASSES:
        n = sum(counts[label, r] for r in ("right", "none", "wrong"))
        r, none, w = counts[label, "right"], counts[label, "none"], counts[label, "wrong"]
        tot.update(n=n, right=r, none=none, wrong=w)
        share = f"{r / n:.0%}" if n else "-"
        extra = counts[label, "extra"]
        tot.update(extra=extra)
        lines.append(f"| {label} | {n} | {r} | {none} | {w} | {share} | {extra} |")
    share = f"{tot['right'] / tot['n']:.0%}" if tot["n"] else "-"
    lines.append(
        f"| **all five classes** | {tot['n']} | {tot['right']} | {tot['none']} | "
        f"{tot['wrong']} | **{share}** | {tot['extra']} |"
    )
    n = sum(counts["other", r] for r in ("none", "also", "wrong"))
    lines.append(
        f"| other mutants (no class of their own) | {n} | - | {counts['other', 'none']} | "
        f"{counts['other', 'wrong']} | - | {counts['other', 'also']} (a checked tensor shows "
        "a class exactly) |"
    )
    n = counts["variant", "none"] + counts["variant", "wrong"]
    lines.append(
        f"| correct variants (must get none) | {n} | - | {counts['variant', 'none']} | "
        f"{counts['variant', 'wrong']} | - | - |"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("reports", type=Path)
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    parser.add_argument("--list", action="store_true", help="print every mutant's outcome")
    args = parser.parse_args()
    counts, rows = measure(args.reports)
    if args.list:
        for aid, name, label, result, kinds in rows:
            print(f"{aid} {name}: {label} -> {result} {sorted(kinds)}")
    text = table(counts)
    print(text)
    wrong = [r for r in rows if r[3] == "wrong"]
    for aid, name, label, _, kinds in wrong:
        print(f"WRONG: {aid} {name}: class {label}, diagnosed {sorted(kinds)}")
    if args.readme:
        readme = ROOT / "README.md"
        s = readme.read_text()
        start, end = s.index(BEGIN) + len(BEGIN), s.index(END)
        readme.write_text(s[:start] + "\n" + text + "\n" + s[end:])
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
