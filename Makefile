# The two commands a newcomer needs (see README.md):
#   make demo   set up .venv, regenerate release/, grade the bundled example submissions
#   make test   set up .venv, lint, run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint format release solutions check examples bench wheel

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[kit]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/build.py release
	$(BIN)/python -m autograder grade-all examples/submitted --force --reports reports

# Both cores: catalogue entries, notebooks and sync checks are separate tests spread by
# pytest-xdist; modules that grade a batch once (hostile cases, examples) stay on one worker.
# One BLAS thread per process: two workers on two cores, not four spinning BLAS threads.
JOBS ?= 2
ONE_THREAD := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

test: $(STAMP) lint
	$(ONE_THREAD) $(BIN)/python -m pytest -n $(JOBS) --dist loadgroup --durations=15

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

release: $(STAMP)
	$(BIN)/python scripts/build.py release

solutions: $(STAMP)
	$(BIN)/python scripts/build.py solutions

check: $(STAMP)
	$(BIN)/python scripts/build.py check

examples: $(STAMP)
	$(BIN)/python scripts/make_examples.py

bench: $(STAMP)
	$(BIN)/python scripts/benchmark.py

# The student package alone (no source/, solutions/ or autograder/): what students install.
wheel: $(STAMP)
	$(BIN)/python -m pip wheel --quiet --no-deps -w dist .
	@ls dist/s30kit-*.whl
