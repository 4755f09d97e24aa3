"""Intake: only a regular, bounded, well-formed notebook file is read; nothing else is used."""

import json
import os

import pytest

from autograder.intake import (
    GradeCell,
    IntakeError,
    Layout,
    extract_module,
    read_notebook_file,
)


def nb(*cells):
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": list(cells)}


def answer(gid, src):
    meta = {"nbgrader": {"grade_id": gid, "solution": True, "grade": False, "locked": False}}
    return {"cell_type": "code", "metadata": meta, "source": src}


LAYOUT = Layout(
    run_cells=[("setup", "setup", "import numpy as np"), ("f_code", "answer", "def f(): pass")],
    grade_cells=[GradeCell("f", 2.0)],
)


def test_symlinked_submission_is_refused(tmp_path):
    target = tmp_path / "real.ipynb"
    target.write_text(json.dumps(nb()))
    link = tmp_path / "sub.ipynb"
    link.symlink_to(target)
    with pytest.raises(IntakeError, match="symbolic link"):
        read_notebook_file(link)


def test_directory_and_fifo_are_refused(tmp_path):
    with pytest.raises(IntakeError, match="regular file"):
        read_notebook_file(tmp_path)
    fifo = tmp_path / "pipe.ipynb"
    os.mkfifo(fifo)
    with pytest.raises(IntakeError, match="regular file"):
        read_notebook_file(fifo)


def test_oversized_file_is_refused_before_parsing(tmp_path):
    big = tmp_path / "big.ipynb"
    big.write_bytes(b" " * 2048)
    with pytest.raises(IntakeError, match="limit"):
        read_notebook_file(big, max_bytes=1024)


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
        (b"{not json", "not valid notebook JSON"),
        (b"[1, 2, 3]", "not a Jupyter notebook"),
        (json.dumps({"nbformat": 3, "cells": []}).encode(), "not supported"),
    ],
)
def test_malformed_files_get_a_clear_reason(tmp_path, content, reason):
    path = tmp_path / "sub.ipynb"
    path.write_bytes(content)
    with pytest.raises(IntakeError, match=reason):
        read_notebook_file(path)


def test_student_answers_replace_only_answer_cells_and_setup_stays_the_instructors():
    student = nb(
        answer("f_code", "def f(): return 1"),
        {
            "cell_type": "code",
            "metadata": {"nbgrader": {"grade_id": "setup", "solution": True}},
            "source": "import os; os.system('evil')",
        },
    )
    ex = extract_module(LAYOUT, student)
    assert ex.cells == [("setup:setup", "import numpy as np"), ("f_code", "def f(): return 1")]
    assert ex.missing == []


def test_missing_answer_cells_are_reported():
    ex = extract_module(LAYOUT, nb({"cell_type": "markdown", "source": "hi", "metadata": {}}))
    assert ex.missing == ["f_code"]
    assert ex.cells == [("setup:setup", "import numpy as np")]
