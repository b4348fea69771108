#!/usr/bin/env bash
# Set up everything and run the instructor's main job on the bundled demo:
# generate the releases, autograde the demo submissions with the stock
# `nbgrader autograde`, print the scores and write feedback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"
dlcourse demo "$@"
