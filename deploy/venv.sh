# Sourced by deploy/run.sh and tests/run.sh, from the repository root: `venv_install SPEC`
# makes .venv if needed and installs SPEC into it (`.` or `.[test]`, in editable mode), again
# only when pyproject.toml has changed since. Messages go to stderr: `bash deploy/run.sh
# export` writes the book to stdout.
#
# pip talks a lot, and a machine's pip.conf can add a warning per package: what it says goes
# to .venv/pip.log. Its errors are shown; if it fails, so is the end of that log.

venv_pip() {
    if .venv/bin/python -m pip install "$@" >.venv/pip.log 2>&1; then
        grep '^ERROR' .venv/pip.log >&2 || true
    else
        tail -n 20 .venv/pip.log >&2
        echo "   pip failed; its whole output is in .venv/pip.log" >&2
        return 1
    fi
}

# Whether .venv already has SPEC for this pyproject.toml (an install with the test extras
# has the plain one too). A .venv that is a link to another checkout's (the clone benchmark's
# --quick run) is used as it is: installing would point that checkout's editable install here.
venv_has() {
    local spec="$1"
    if [ -L .venv ] && [ -x .venv/bin/livredor ]; then
        return 0
    fi
    cmp -s pyproject.toml ".venv/.installed-${spec#.}" \
        || { [ "$spec" = . ] && cmp -s pyproject.toml ".venv/.installed-[test]"; }
}

venv_install() {
    local spec="$1"
    if [ ! -x .venv/bin/python ]; then
        echo "== creating .venv" >&2
        "${PYTHON:-python3}" -m venv .venv
        venv_pip --upgrade pip
    fi
    if ! venv_has "$spec"; then
        echo "== installing livredor${spec#.} (pip's output: .venv/pip.log)" >&2
        venv_pip -e "$spec"
        cp pyproject.toml ".venv/.installed-${spec#.}"
    fi
}
