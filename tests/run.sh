#!/usr/bin/env bash
# The whole test suite, from a fresh clone: creates .venv, installs livredor with its test
# extras, installs Chromium and poppler (for the PDF test) where apt-get can, then runs
# ruff, ruff format --check, mypy and pytest. Exits non-zero on the first failure.
# Usage: bash tests/run.sh [extra pytest arguments] (with arguments, the benchmarks' smoke
# runs are left out: the arguments choose tests)
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=deploy/venv.sh
. deploy/venv.sh
venv_install ".[test]"

# The HTML book is checked in a real headless browser; install one where we may.
if ! command -v chromium >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing chromium and poppler-utils (apt-get)"
        # apt and debconf talk a lot; what they said is shown only if they fail.
        if ! apt_log=$({ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install \
                -y -qq --no-install-recommends chromium poppler-utils fonts-dejavu-core; } 2>&1); then
            printf '%s\n' "$apt_log" | tail -n 5 | sed 's/^/   /'
            echo "   could not install them: the PDF test will be skipped"
        fi
    else
        echo "== no chromium (not root or no apt-get): the PDF test will be skipped"
    fi
fi

echo "== ruff check"
.venv/bin/ruff check .
echo "== ruff format --check"
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
# Bytecode caches on, whatever the shell says: without them every pytest worker rewrites every
# test module's asserts again (~4 s each) and every bot process the suite starts compiles
# livredor from source. They go to __pycache__/, which git ignores.
unset PYTHONDONTWRITEBYTECODE
# One worker per core (pytest-xdist); `bash tests/run.sh -n 0 ...` runs in one process. A
# worker that runs out of tests takes some from the other (worksteal): the long tests do not
# all end up at the tail of one worker.
.venv/bin/pytest -q -n auto --dist worksteal "$@"
if [ "$#" -eq 0 ]; then
    echo "== pytest -m bench (each benchmark at a tiny size, its figures checked)"
    .venv/bin/pytest -q -n auto --dist worksteal -m bench tests/test_benchmarks_run.py
else
    # Arguments choose tests (-k, a path): the benchmarks' smoke runs are not among them.
    echo "== pytest -m bench: skipped (arguments given; run bash tests/run.sh alone for all)"
fi
