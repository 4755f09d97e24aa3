"""The Sutskever-30 kit's grading engine. Never released to students.

``python -m autograder grade SUBMISSION.ipynb --assignment ID [--json OUT.json]``
``python -m autograder grade-all [SUBMITTED_DIR] [--assignment ID] [--jobs N] [--force]``
``python -m autograder rubric ID``
"""
