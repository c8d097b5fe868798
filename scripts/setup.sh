#!/usr/bin/env bash
# Create or update the project's virtual environment in .venv (Python 3.10).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp="$venv/.installed"

is_py310() {
    "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1
}

find_python() {
    local candidate
    if [[ -n "${PYTHON:-}" ]]; then
        if is_py310 "$PYTHON"; then echo "$PYTHON"; return 0; fi
        echo "error: PYTHON=$PYTHON is not a working Python 3.10 interpreter." >&2
        return 1
    fi
    for candidate in python3.10 "$(PYENV_VERSION=3.10 pyenv which python3.10 2>/dev/null || true)"; do
        [[ -n "$candidate" ]] || continue
        if PYENV_VERSION=3.10 is_py310 "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    cat >&2 <<'MSG'
error: Python 3.10 was not found, and lava-nc 0.10 runs only on Python 3.10.
  Install it, then rerun this command:
    - with pyenv:   pyenv install 3.10
    - on Debian/Ubuntu: apt-get install python3.10 python3.10-venv
    - or point to an interpreter: make setup PYTHON=/path/to/python3.10
MSG
    return 1
}

if [[ ! -x "$venv/bin/python" ]] || ! is_py310 "$venv/bin/python"; then
    py=$(find_python)
    echo "creating $venv with $py"
    rm -rf "$venv"
    PYENV_VERSION=3.10 "$py" -m venv "$venv"
fi

if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
    echo "installing glia_neuromorphic and its dependencies into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check uv
    "$venv/bin/uv" pip install -q --python "$venv/bin/python" -e ".[dev,extra]"
    touch "$stamp"
fi
