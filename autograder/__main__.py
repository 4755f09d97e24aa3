import os

# One BLAS thread in the trusted process too: reference timings (the integrity budgets) stay
# stable, and parallel gradings (grade-all --jobs N) do not fight over the cores.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from autograder.cli import main  # noqa: E402

raise SystemExit(main())
