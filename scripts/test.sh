#!/usr/bin/env bash
# The whole test suite: install (idempotent), lint, then the library tests,
# the hidden graders against every reference solution, and the catalogues.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"   # nbgrader needs alembic on PATH
ruff check .
ruff format --check .
# loadgroup: a test module that builds one course for all its tests (xdist_group)
# runs on one worker, so the course is built once, not once per worker
pytest -n 2 --dist loadgroup "$@"
