#!/usr/bin/env bash
# Run livredor from a fresh clone: creates .venv, installs livredor, then runs
# `livredor run` (or any subcommand you pass: `bash deploy/run.sh demo`, `... check`).
# Settings come from LIVREDOR_* variables or a .env file in the current folder.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/livredor ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e .
fi
if [ "$#" -eq 0 ]; then
    set -- run
fi
exec .venv/bin/livredor "$@"
