"""What grading costs against what running the notebook costs, for every
assignment, and the whole course for one student.

    python benchmarks/course_speed.py prepare DIR [--students 2]
    python benchmarks/course_speed.py table DIR [--runs 3] [--assignments 01_gradients ...]

``prepare`` builds one scratch course per assignment under DIR, each with
``--students`` submissions of the reference answers filled into the release.
``table`` then times, side by side with farm-bench (A and B in turn, ratio
pair by pair, medians of ``--runs``), for each assignment:

- bare: ``execute DIR/A``: those notebooks run top to bottom, one plain
  (unconfined) kernel each, ended without ipykernel's shutdown hang as graded
  kernels are (what "Run all" costs a student, times the number of
  submissions);
- graded: ``dlcourse batch A --workers 1 --redo --skip-preflight`` on the
  same submissions: nbgrader's confined execution plus the hidden graders;

and prints the per-submission seconds of each, their ratio (the target is at
most 1.3), the per-cell sandbox start (benchmarks/sandbox_start.py) and the
course total per student (sum of the graded medians). The "steady" columns
are the same two costs measured inside the commands, per submission, over
every run (medians): the batch's own seconds for each nbgrader command
(graders included, to 0.1 s) and each notebook's execution in ``execute``.
They leave out what a command pays once (Python's start, the batch's warm
servers: about 2.5 s, which two submissions share), so they are what a
submission costs in a large class. The two steps that
``table`` runs are also commands of their own (``execute``, ``grade``). A
benchmark, not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir())


def prepare(folder: Path, students: int) -> None:
    from dlcourse.filled_submission import filled_submission
    from dlcourse.manifest import write_manifest

    for a in ASSIGNMENTS:
        course = folder / a
        shutil.rmtree(course, ignore_errors=True)
        for name in ("source", "graders"):
            shutil.copytree(
                ROOT / name / a, course / name / a, ignore=shutil.ignore_patterns("__pycache__")
            )
        shutil.copy(ROOT / "nbgrader_config.py", course)
        write_manifest(course, a)
        release = ROOT / "release" / a / f"{a}.ipynb"
        nb = filled_submission(release, ROOT / "source" / a / f"{a}.ipynb")
        for k in range(students):
            target = course / "submitted" / f"s{k:02d}" / a
            target.mkdir(parents=True)
            nbformat.write(nb, str(target / f"{a}.ipynb"))
    print(f"prepared {len(ASSIGNMENTS)} courses of {students} submissions in {folder}")


def execute(course: Path) -> None:
    """Every submission of the course, top to bottom in a plain kernel, each
    in a fresh folder holding what was submitted."""
    from nbclient import NotebookClient

    # plain kernels that end as graded ones do (dlcourse.kernel_app, looked
    # for every 10 ms): ipykernel's own launcher hangs at one shutdown in five
    # or so, which would count 2.5 s against bare
    from dlcourse.sandbox.kernel import OrderlyKernelManager

    # with Python's garbage collector as it is, and ipykernel's debugger, as
    # a student's Jupyter has them (see dlcourse.kernel_app)
    os.environ["DLCOURSE_KERNEL_FREEZE"] = "0"
    os.environ["DLCOURSE_KERNEL_DEBUGGER"] = "1"
    seconds = []
    for notebook in sorted(course.glob("submitted/*/*/*.ipynb")):
        nb = nbformat.read(str(notebook), as_version=4)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            NotebookClient(
                nb,
                timeout=600,
                kernel_name="python3",
                kernel_manager_class=OrderlyKernelManager,
                resources={"metadata": {"path": tmp}},
            ).execute()
            seconds.append(time.perf_counter() - start)
    _record(course, "bare", seconds)


# each command's seconds per submission, measured inside it (without what
# the command pays once: Python's start, the batch's servers), one list per
# run: the steady-state cost of a submission in a large class
TIMES = "course-speed-times.json"


def _times(course: Path) -> dict[str, list[float]]:
    path = course / TIMES
    return json.loads(path.read_text()) if path.is_file() else {}


def _record(course: Path, side: str, seconds: list[float]) -> None:
    times = _times(course)
    times.setdefault(side, []).extend(seconds)
    (course / TIMES).write_text(json.dumps(times))


def _steady_ratio(course: Path) -> tuple[float, float] | None:
    """(median graded, median bare) seconds of one submission inside the
    commands, over every run so far; None without both."""
    times = _times(course)
    if not times.get("graded") or not times.get("bare"):
        return None
    return statistics.median(times["graded"]), statistics.median(times["bare"])


def grade(course: Path, assignment: str) -> int:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
    env.pop("DLCOURSE_EXECUTION_CACHE", None)
    command = [sys.executable, "-m", "dlcourse.cli", "batch", assignment]
    command += ["--workers", "1", "--redo", "--skip-preflight"]
    code = subprocess.run(command, cwd=course, env=env, stdout=subprocess.DEVNULL).returncode
    summary = course / "reports" / assignment / "batch.json"
    if code == 0 and summary.is_file():
        # the batch's own time per submission: its nbgrader command, graders
        # included (to 0.1 s)
        students = json.loads(summary.read_text()).get("students", {})
        _record(course, "graded", [float(s["seconds"]) for s in students.values()])
    return code


def _median(report: str, row: str) -> float | None:
    found = re.search(rf"^{re.escape(row)}\s+(\S+)\s+(\S+)\s+(\S+)", report, re.M)
    return float(found.group(2)) if found else None


def _farm_bench(a_cmd: list[str], b_cmd: list[str], runs: int, timeout: int) -> str:
    if shutil.which("farm-bench") is None:
        raise SystemExit("farm-bench is not on PATH: time the 'execute' and 'grade' commands")
    command = ["farm-bench", "-n", str(runs), "--warmup", "0", "--timeout", str(timeout)]
    command += ["--vs", " ".join(b_cmd), "--", *a_cmd]
    return subprocess.run(command, capture_output=True, text=True).stdout


def table(folder: Path, runs: int, assignments: list[str]) -> None:
    me = [sys.executable, str(Path(__file__).resolve())]
    rows, total = [], 0.0
    for a in assignments:
        course = folder / a
        (course / TIMES).unlink(missing_ok=True)
        students = len(list(course.glob("submitted/*/*/*.ipynb")))
        report = _farm_bench(
            me + ["grade", str(course), a], me + ["execute", str(course)], runs, 3600
        )
        graded, bare = _median(report, "A wall s"), _median(report, "B wall s")
        ratio = _median(report, "A/B wall")
        if graded is None or bare is None:
            rows.append(f"| {a} | (farm-bench gave no figure) | | |")
            continue
        total += graded / students
        steady = _steady_ratio(course)
        rows.append(
            f"| {a} | {bare / students:.1f} | {graded / students:.1f} | "
            + ("?" if ratio is None else f"{ratio:.2f}")
            + " | "
            + (
                "?"
                if steady is None
                else f"{steady[1]:.2f} | {steady[0]:.2f} | {steady[0] / steady[1]:.2f}"
            )
            + " |"
        )
    sandbox = _farm_bench(
        [sys.executable, str(ROOT / "benchmarks" / "sandbox_start.py"), "--mode", "zygote"],
        [sys.executable, str(ROOT / "benchmarks" / "sandbox_start.py"), "--mode", "exec"],
        runs,
        600,
    )
    per_zygote = (_median(sandbox, "A wall s") or 0) / 20
    per_exec = (_median(sandbox, "B wall s") or 0) / 20
    print(
        "| assignment | bare s / submission | graded s / submission | graded / bare "
        "| steady: bare s | steady: graded s | steady: graded / bare |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\ncourse total per student (graded): {total:.0f} s")
    print(
        f"sandbox start per graded cell (20 in a row, zygote start included): "
        f"{per_zygote:.3f} s forked from the zygote, {per_exec:.3f} s started anew"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("folder", type=Path)
    p.add_argument("--students", type=int, default=2)
    p = sub.add_parser("execute")
    p.add_argument("course", type=Path)
    p = sub.add_parser("grade")
    p.add_argument("course", type=Path)
    p.add_argument("assignment")
    p = sub.add_parser("table")
    p.add_argument("folder", type=Path)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--assignments", nargs="+", default=ASSIGNMENTS)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.folder, args.students)
    elif args.command == "execute":
        execute(args.course)
    elif args.command == "grade":
        raise SystemExit(grade(args.course, args.assignment))
    else:
        table(args.folder, args.runs, args.assignments)


if __name__ == "__main__":
    main()
