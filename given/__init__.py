"""Given blocks: code an assignment hands to its students ready-made.

This folder is the one place they are written. ``make release`` copies the modules an
assignment asks for (its source notebook's metadata ``s30kit.given``) into
``source/<ID>/given/``, and nbgrader releases them beside the notebook, where the notebook
imports them as ``from given.layers import affine_forward``. The grader imports the same
modules from here.

A block is never given to an assignment that grades it: each module's ``ANSWERS_FOR`` names
the assignments in which students write its functions themselves, and the kit refuses to give
it to them (``autograder/given_blocks.py``).
"""
