"""nbgrader's ClearSolutions, with a stub that names the function the student has to write.

nbgrader replaces each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region with one fixed
code stub. Here the stub may contain ``{function}``, filled with the name of the function whose
body the region is (the nearest enclosing ``def``), so a fresh release run cell by cell stops at
``NotImplementedError: write the body of rnn_step_forward ...`` instead of a bare error.
``nbgrader_config.py`` puts this class in place of ClearSolutions for generate_assignment.
"""

from __future__ import annotations

import re

from nbgrader.preprocessors import ClearSolutions

DEF = re.compile(r"^(\s*)def\s+(\w+)\s*\(")


def enclosing_function(lines: list[str], index: int) -> str | None:
    """The name of the innermost ``def`` that line ``index`` is indented under, if any."""
    indent = len(lines[index]) - len(lines[index].lstrip())
    for line in reversed(lines[:index]):
        match = DEF.match(line)
        if match and len(match.group(1)) < indent:
            return match.group(2)
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and len(line) - len(line.lstrip()) < indent:
            indent = len(line) - len(line.lstrip())
    return None


class NamedClearSolutions(ClearSolutions):
    """ClearSolutions whose code stub may name the enclosing function (``{function}``)."""

    def _replace_solution_region(self, cell, language: str) -> bool:
        template = self.code_stub[language]
        if cell.cell_type != "code" or "{function}" not in template:
            return super()._replace_solution_region(cell, language)
        saved = self.code_stub
        out: list[str] = []
        replaced = False
        try:
            for chunk in _regions(cell.source.split("\n"), self.begin_solution_delimeter):
                if not chunk or self.begin_solution_delimeter not in chunk[0]:
                    out.extend(chunk)
                    continue
                # the def enclosing this region is among the lines already written
                name = enclosing_function(out + chunk, len(out)) or "this cell's code"
                self.code_stub = {**saved, language: template.replace("{function}", name)}
                piece = type(cell)(cell_type="code", source="\n".join(chunk), metadata={})
                replaced |= super()._replace_solution_region(piece, language)
                out.extend(piece.source.split("\n"))
        finally:
            self.code_stub = saved
        cell.source = "\n".join(out)
        return replaced


def _regions(lines: list[str], begin: str) -> list[list[str]]:
    """Split ``lines`` so each solution region (from its BEGIN line) starts a new chunk."""
    chunks: list[list[str]] = [[]]
    for line in lines:
        if begin in line:
            chunks.append([])
        chunks[-1].append(line)
    return chunks
