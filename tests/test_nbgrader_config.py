"""nbgrader_config.py loads (nbgrader only logs a broken config and goes on with defaults), and
the release's stubs name the function to write."""

from __future__ import annotations

from conftest import ROOT
from nbformat.v4 import new_code_cell
from traitlets.config.loader import PyFileConfigLoader

from autograder.nbgrader_stubs import NamedClearSolutions, enclosing_function

CODE = """def outer(x):
    \"\"\"Doc.\"\"\"
    y = x + 1
    ### BEGIN SOLUTION
    z = y * 2
    ### END SOLUTION
    return z


def second():
    ### BEGIN SOLUTION
    return 3
    ### END SOLUTION
"""


def test_the_nbgrader_config_loads_and_uses_the_named_stub():
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert NamedClearSolutions in config.GenerateAssignment.preprocessors
    assert "{function}" in config.ClearSolutions.code_stub["python"]


def test_each_stub_names_the_function_whose_body_it_replaces():
    stubs = NamedClearSolutions(
        code_stub={"python": 'raise NotImplementedError("write {function}")'}
    )
    cell = new_code_cell(CODE)
    assert stubs._replace_solution_region(cell, "python")
    assert 'raise NotImplementedError("write outer")' in cell.source
    assert 'raise NotImplementedError("write second")' in cell.source
    assert "z = y * 2" not in cell.source and "return z" in cell.source
    assert "y = x + 1" in cell.source, "code before the region is kept"


def test_the_enclosing_function_is_the_innermost_def_above():
    lines = ["def a():", "    def b():", "        x = 1", "    y = 2"]
    assert enclosing_function(lines, 2) == "b"
    assert enclosing_function(lines, 3) == "a"
    assert enclosing_function(["x = 1"], 0) is None
