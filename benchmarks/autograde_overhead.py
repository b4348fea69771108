"""Per-submission wall time of the stock `nbgrader autograde` on the demo, and
the overhead of the hidden graders over executing the notebooks alone.

    python benchmarks/autograde_overhead.py [--runs 3] [--assignment 02_layers]

Copies the course to a scratch folder, releases the assignment, then runs
`nbgrader autograde --force` on the bundled demo submissions `--runs` times
with the hidden graders and `--runs` times without them
(`--HiddenGraders.enabled=False`), and prints medians and their ratio. A
benchmark, not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(root: Path, *args: str) -> float:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
    start = time.perf_counter()
    subprocess.run(["nbgrader", *args], cwd=root, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--assignment", default="02_layers")
    args = parser.parse_args()
    a = args.assignment
    with tempfile.TemporaryDirectory(prefix="dlcourse-bench-") as tmp:
        root = Path(tmp)
        for name in ("source", "graders", "submitted"):
            shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "nbgrader_config.py", root)
        students = sorted(p.parent.name for p in (root / "submitted").glob(f"*/{a}"))
        _run(root, "generate_assignment", a, "--force")
        times = {"with hidden graders": [], "notebook execution only": []}
        for _ in range(args.runs):
            times["with hidden graders"].append(_run(root, "autograde", a, "--force"))
            times["notebook execution only"].append(
                _run(root, "autograde", a, "--force", "--HiddenGraders.enabled=False")
            )
    print(f"{a}: {len(students)} demo submissions, {args.runs} runs each, medians:")
    medians = {k: statistics.median(v) for k, v in times.items()}
    for label, median in medians.items():
        print(
            f"  {label:26s} {median:7.1f} s per batch, {median / len(students):6.1f} s per submission"
        )
    ratio = medians["with hidden graders"] / medians["notebook execution only"]
    print(f"  hidden-grader overhead: x{ratio:.2f} the time of executing the notebooks alone")


if __name__ == "__main__":
    main()
