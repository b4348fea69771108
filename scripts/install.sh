#!/usr/bin/env bash
# Installs everything the course needs into ./.venv (idempotent, quick when
# already done): the pinned grading environment from constraints.txt, this
# library in editable mode with the PostgreSQL driver, and, where apt and root
# are available, Debian's FashionMNIST package, Chromium and PostgreSQL (the
# server the gradebook tests start).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
fi
# torch comes pinned (constraints.txt): a range would pull a multi-GB CUDA build.
EXTRAS=".[grading,dev,postgres,dask]"

pip_install() {
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt "$@" \
        2>&1 | grep -v "is ignored: it is neither" || true
}

# uv (pinned too) installs the same set in about 35 s where pip takes 70. It
# reads no pip configuration (indexes, constraint files): it installs from
# PyPI, pinned by constraints.txt, and is used only when a folder of local
# wheels pip is configured with holds the pinned torch's CPU build for this
# Python and machine; it is held to that build ("+cpu", which no PyPI release
# carries: else uv would take PyPI's CUDA build). Its files are hard links into
# uv's cache, uv's default (root's, never changed in place; copying them costs
# 15-25 s more). pip installs when uv cannot; it stays in the environment
# either way (the student kit builds its wheel with it).
uv_install() {
    local torch_pin tag folder candidate links=() found=""
    torch_pin=$(sed -n 's/^torch==//p' constraints.txt)
    tag=$(.venv/bin/python -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
    for folder in $(.venv/bin/python -m pip config list 2>/dev/null |
        sed -n "s/^[^=]*find-links='\(.*\)'\$/\1/p"); do
        links+=(--find-links "$folder")
        for candidate in "$folder"/torch-"$torch_pin"+cpu-"$tag"-"$tag"-*linux*_"$(uname -m)".whl; do
            [ -f "$candidate" ] && found=1
        done
    done
    [ -n "$found" ] || return 1
    pip_install uv
    [ -x .venv/bin/uv ] || return 1
    .venv/bin/uv pip install --quiet --compile-bytecode \
        --python .venv/bin/python "${links[@]}" -c constraints.txt \
        -c <(echo "torch==$torch_pin+cpu") -e "$EXTRAS"
}

uv_install || pip_install -e "$EXTRAS"
# one import check, and the versions it prints at the end (each Python start
# that imports torch and nbgrader costs about 4 s)
installed=$(.venv/bin/python -c 'import dlcourse, psycopg, torch, nbgrader, numpy; print(f"torch {torch.__version__}, nbgrader {nbgrader.__version__}, numpy {numpy.__version__}")')

# Debian packages: the FashionMNIST files (assignment 05), Chromium (the
# browser test of the feedback pages) and PostgreSQL's server (the tests of a
# PostgreSQL gradebook start one of their own; the package's own cluster is
# not used)
missing=()
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
            || echo "note: could not install ${missing[*]}"
    else
        echo "note: run 'sudo apt-get install ${missing[*]}' (FashionMNIST data, browser tests, PostgreSQL)"
    fi
fi
echo "installed: $installed"
