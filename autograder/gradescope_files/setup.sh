#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (an Ubuntu base
# image). It installs Python 3 from apt and the kit's grading dependencies, pinned in
# requirements.txt, from PyPI into a venv at @VENV@; run_autograder grades with that venv.
# Built by `python -m autograder gradescope`; see the kit's README ("Grading on Gradescope").
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="@VENV@"
MIN_PYTHON="@MIN_PYTHON@"  # the oldest Python the pinned requirements install on

export DEBIAN_FRONTEND=noninteractive
apt-get update
# python3-venv: the venv; libseccomp2: the sandbox's seccomp layer (pyseccomp loads it);
# util-linux: `unshare`, the sandbox's namespace layer where the container allows it.
apt-get install -y --no-install-recommends python3 python3-venv libseccomp2 util-linux \
    ca-certificates

new_enough() {
    "$1" -c "import sys; sys.exit(sys.version_info[:2] < tuple(map(int, '$MIN_PYTHON'.split('.'))))" \
        2>/dev/null
}

PYTHON=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && new_enough "$candidate"; then
        PYTHON="$candidate"
        break
    fi
done
if [ -z "$PYTHON" ]; then
    # An older base image (Ubuntu 22.04 ships 3.10): its universe has python3.11.
    apt-get install -y --no-install-recommends "python$MIN_PYTHON" "python$MIN_PYTHON-venv"
    PYTHON="python$MIN_PYTHON"
fi
echo "grading with $("$PYTHON" --version) in $VENV"

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --no-cache-dir --upgrade pip
"$VENV/bin/python" -m pip install --no-cache-dir -r "$HERE/requirements.txt"
# The sandbox's unprivileged uid runs the student's code with this interpreter.
chmod -R a+rX "$(dirname "$VENV")"
# Fail the build now, not at the first submission, if anything the grader imports is missing.
"$VENV/bin/python" -c "@IMPORTS_CHECK@"
