"""Wall time and peak memory of grading a class: the batch command with 1 and
2 workers against the stock sequential `nbgrader autograde`.

    python benchmarks/batch_scaling.py [--students 40] [--runs 3] [--assignment 02_layers]

Builds a scratch course with ``--students`` submissions (the reference, the
blank release and the catalogued mistakes, in turn), then, ``--runs`` times
each and from an empty gradebook every time:

- stock: ``nbgrader autograde A --force`` (one process, students in turn,
  with the course configuration: confined kernel and hidden graders);
- batch 1 / batch 2: ``dlcourse batch A --workers N --redo --skip-preflight``.

Prints the median wall time of each, per submission, the ratios to stock,
and the peak memory of the whole process tree (summed RSS, sampled every
0.2 s from /proc). A benchmark, not a test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def _tree_rss(pid: int) -> int:
    """Summed resident memory (bytes) of ``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def _env() -> dict:
    # nbgrader needs alembic (in this environment's bin/) on PATH
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
    env.pop("DLCOURSE_EXECUTION_CACHE", None)
    return env


def timed(cmd: list[str], cwd: Path) -> tuple[float, int]:
    """(wall seconds, peak summed RSS of the process tree) of running ``cmd``."""
    env = _env()
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    proc.wait()
    done.set()
    sampler.join()
    return time.perf_counter() - start, peak


def build_course(root: Path, assignment: str, students: int) -> None:
    from catalogue import load

    from dlcourse.filled_submission import filled_submission

    for name in ("source", "graders"):
        shutil.copytree(
            ROOT / name / assignment,
            root / name / assignment,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    shutil.copy(ROOT / "nbgrader_config.py", root)
    from dlcourse.manifest import write_manifest

    write_manifest(root, assignment)  # the batch checks the graders against it
    release = ROOT / "release" / assignment / f"{assignment}.ipynb"
    source = ROOT / "source" / assignment / f"{assignment}.ipynb"
    kinds = [("reference", {}), ("blank", None)] + [
        (m.name, {m.fields["cell"]: m.code}) for m in load("mistakes", assignment)
    ]
    for k in range(students):
        name, planted = kinds[k % len(kinds)]
        folder = root / "submitted" / f"s{k:03d}_{name}"[:40] / assignment
        folder.mkdir(parents=True)
        nb = (
            nbformat.read(str(release), 4)
            if planted is None
            else filled_submission(release, source, append=planted)
        )
        nbformat.write(nb, str(folder / f"{assignment}.ipynb"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--assignment", default="02_layers")
    parser.add_argument("--only", choices=["stock", "batch 1", "batch 2"], action="append")
    args = parser.parse_args()
    a = args.assignment
    nbgrader = [str(Path(sys.executable).parent / "nbgrader")]
    dlcourse = [sys.executable, "-m", "dlcourse.cli"]
    commands = {
        "stock": nbgrader + ["autograde", a, "--force"],
        "batch 1": dlcourse + ["batch", a, "--workers", "1", "--redo", "--skip-preflight"],
        "batch 2": dlcourse + ["batch", a, "--workers", "2", "--redo", "--skip-preflight"],
    }
    chosen = args.only or list(commands)
    results: dict[str, list[tuple[float, int]]] = {k: [] for k in chosen}
    with tempfile.TemporaryDirectory(prefix="dlcourse-scaling-") as tmp:
        root = Path(tmp)
        build_course(root, a, args.students)

        def release():
            cmd = nbgrader + ["generate_assignment", a, "--force"]
            subprocess.run(cmd, cwd=root, check=True, capture_output=True, env=_env())

        release()
        for run in range(args.runs):
            for label in chosen:
                for leftover in ("gradebook.db", "autograded", "reports"):
                    path = root / leftover
                    if path.is_dir():
                        shutil.rmtree(path)
                    elif path.exists():
                        path.unlink()
                release()
                seconds, peak = timed(commands[label], root)
                results[label].append((seconds, peak))
                print(
                    f"run {run + 1} {label:8s} {seconds:7.1f} s, peak {peak / 2**30:.2f} GiB",
                    flush=True,
                )
    print(f"\n{a}: {args.students} submissions, median of {args.runs} runs")
    medians = {k: statistics.median(s for s, _ in v) for k, v in results.items()}
    for label, values in results.items():
        peak = max(p for _, p in values)
        line = f"  {label:8s} {medians[label]:7.1f} s  ({medians[label] / args.students:5.1f} s per submission)"
        line += f"  peak memory {peak / 2**30:.2f} GiB"
        if "stock" in medians and label != "stock":
            line += f"  = {medians[label] / medians['stock']:.2f} x stock"
        print(line)


if __name__ == "__main__":
    main()
