"""nbgrader configuration for the Sutskever-30 course kit.

The course root is this file's folder, as an absolute path, so nbgrader commands work from any
working directory inside the kit and nbgrader does not warn that the root is relative. The venv's
``bin`` folder is put on PATH, so ``.venv/bin/nbgrader ...`` finds ``alembic`` (nbgrader runs it
to create the gradebook) without activating the venv first.
"""

import os
import sys

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

_ROOT = os.path.dirname(os.path.abspath(__file__))
_BIN = os.path.dirname(sys.executable)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

c.CourseDirectory.course_id = "sutskever30"
c.CourseDirectory.root = _ROOT
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.solution_directory = "solutions"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_ROOT, "gradebook.db")
# Student notebooks keep the signature, docstring and shape comments; only bodies are blanked,
# and the stub names the function to write (autograder/nbgrader_stubs.py fills in {function}).
# The kit's code is found from this file's real location (build.py's sync check links this file
# into a scratch course folder).
_KIT = os.path.dirname(os.path.realpath(__file__))
if _KIT not in sys.path:
    sys.path.insert(0, _KIT)
from nbgrader.converters import GenerateAssignment  # noqa: E402
from nbgrader.preprocessors import ClearSolutions  # noqa: E402

from autograder.nbgrader_stubs import NamedClearSolutions  # noqa: E402

c.GenerateAssignment.preprocessors = [
    NamedClearSolutions if p is ClearSolutions else p
    for p in GenerateAssignment.class_traits()["preprocessors"].default()
]
c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\nraise NotImplementedError("write the body of {function}")'
}
# Generated notebooks are committed output-free.
c.ClearOutput.enabled = True

# `nbgrader autograde` (and formgrader's Autograde button) grades with the kit's engine: the
# hidden tests in the sandbox, per-cell scores into the gradebook, the kit's messages into the
# grade cells' outputs. nbgrader's own Execute and SaveAutoGrades never run, so no nbgrader path
# replaces the kit's scores (autograder/nbgrader_autograde.py). An unreadable submission becomes
# a stand-in (the released notebook under a note), graded 0 with the reason.
from nbgrader.converters import Autograde  # noqa: E402

from autograder.nbgrader_autograde import KitExporter, kit_autograde_preprocessors  # noqa: E402

c.Autograde.autograde_preprocessors = kit_autograde_preprocessors(
    Autograde.class_traits()["autograde_preprocessors"].default()
)
c.Autograde.exporter_class = KitExporter
