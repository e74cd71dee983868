#!/usr/bin/env bash
# Run livredor from a fresh clone: creates .venv, installs livredor, then runs
# `livredor run` (or any subcommand you pass: `bash deploy/run.sh demo`, `... check`).
# Settings come from LIVREDOR_* variables or a .env file in the current folder.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -qq --upgrade pip
fi
# Installed again only when pyproject.toml changed (a `git pull` that brings a new
# dependency). pip at -qq prints its errors only; the rest is in .venv/pip.log.
if [ ! -x .venv/bin/livredor ] || ! cmp -s pyproject.toml .venv/.installed-run; then
    echo "== installing livredor (pip's log: .venv/pip.log)" >&2
    rm -f .venv/pip.log
    if ! .venv/bin/python -m pip install -qq --log .venv/pip.log -e .; then
        echo "   pip failed; the whole story is in .venv/pip.log" >&2
        exit 1
    fi
    cp pyproject.toml .venv/.installed-run
fi
if [ "$#" -eq 0 ]; then
    set -- run
fi
exec .venv/bin/livredor "$@"
