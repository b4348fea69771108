"""Wall time of executing each instructor notebook top to bottom (the course
promises under 60 s each on a 2-core machine).

    python benchmarks/notebook_times.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for path in sorted((ROOT / "source").glob("*/*.ipynb")):
        times = []
        for _ in range(args.runs):
            nb = nbformat.read(str(path), as_version=4)
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                NotebookClient(nb, timeout=600, resources={"metadata": {"path": tmp}}).execute()
                times.append(time.perf_counter() - start)
        print(
            f"{path.stem:20s} median {statistics.median(times):6.1f} s  (runs: {', '.join(f'{t:.1f}' for t in times)})"
        )


if __name__ == "__main__":
    main()
