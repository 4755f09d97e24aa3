"""The files that run INSIDE the sandbox: the worker, its channel and the confinement step.

This is the trust boundary made visible. ``worker.py``, ``channel.py`` and ``confine.py`` import
nothing from the ``autograder`` package (only the standard library, and NumPy for arrays); they
are copied by name into each run directory and executed there with ``python -I``. The trusted
side imports ``channel`` from here to speak the same protocol. Keep them self-contained.
"""

#: The files copied into every run directory, in the order they are needed.
FILES = ("confine.py", "worker.py", "channel.py")
