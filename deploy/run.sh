#!/usr/bin/env bash
# Run livredor from a fresh clone: creates .venv, installs livredor, then runs
# `livredor run` (or any subcommand you pass: `bash deploy/run.sh demo`, `... check`).
# Settings come from LIVREDOR_* variables or a .env file at the repository root (the
# script runs from there).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=deploy/venv.sh
. deploy/venv.sh
venv_install .
if [ "$#" -eq 0 ]; then
    set -- run
fi
exec .venv/bin/livredor "$@"
