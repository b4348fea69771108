"""Running the hidden graders of one assignment on one notebook file.

The graders run in their own trusted Python process (``pytest`` with this
package's plugin); student code runs in sandboxes that process starts. The
result is the plugin's grade report: per test and per graded cell.

The graders fail closed: when they could not grade (they did not finish,
wrote no report, pytest stopped with an exit status other than 0 or 1, a
grader file could not be collected, no check ran, or a graded cell of the
reference has no check), the report carries an ``error`` sentence starting
with :data:`GRADERS_FAILED` and no consumer may score the notebook from it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# Every sentence that says the course's graders (not the student's notebook)
# failed starts with this; the batch maps it to the reason it reports.
GRADERS_FAILED = "the hidden graders could not run"

# Address space of the graders' own process. It decodes whatever the
# student's sandboxes send back, so without a limit a hostile value could
# take the grading machine's memory. RLIMIT_AS counts virtual memory, which
# torch reserves beyond what it uses: measured VmPeak 0.8 GiB after `import
# torch` and a matrix product, 1.6 GiB while 05's reference is graded
# (FashionMNIST and models in memory), so 8 GiB leaves a wide margin.
DEFAULT_MEMORY_BYTES = 8 * 1024**3

# pytest's exit statuses: 0 every check passed, 1 some failed (the student's
# doing); 2 interrupted (a grader file did not import), 3 internal error, 4
# usage error (e.g. a conftest.py that raises), 5 no tests collected.
GRADED_EXIT_STATUSES = (0, 1)

# Runs dlcourse.startup with RLIMIT_AS lowered first. Only the soft limit is
# set: it is what the kernel enforces on this process, and the sandboxes it
# starts set their own limits (as root they may raise the hard one anyway).
# Started with -I: neither the current folder nor PYTHONPATH is on sys.path.
_LIMITED_START = """\
import resource, runpy, sys
limit = int(sys.argv.pop(1))
if limit > 0:
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    soft = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
sys.argv[0] = "dlcourse.startup"
runpy.run_module("dlcourse.startup", run_name="__main__", alter_sys=True)
"""


# the graders' pytest loads the plugins its command names (-p), no other
PLUGIN_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def graders_command(memory_bytes: int | None, *args: str) -> list[str]:
    """The command line that runs ``python -m dlcourse.startup ARGS``
    isolated (``-I``) under an address-space limit of ``memory_bytes`` (None
    or 0: no limit)."""
    return [
        sys.executable, "-I", "-W", "ignore", "-c", _LIMITED_START, str(int(memory_bytes or 0)),
        *args,
    ]  # fmt: skip


def run_hidden_graders(
    notebook: str | Path,
    assignment: str,
    root: str | Path,
    timeout: float = 900.0,
    seed: int | None = None,
    graders_dir: str = "graders",
    seeds: list[int] | None = None,
    memory_bytes: int | None = DEFAULT_MEMORY_BYTES,
    real_run_files: str | Path | None = None,
    only_cells: list[str] | None = None,
) -> dict:
    """Grade ``notebook`` with ``<root>/<graders_dir>/<assignment>``.

    Returns the grade report (``cells``: grade_id -> points, fraction,
    score, checks; ``exitstatus``: pytest's; with ``seeds``, ``rounds``:
    str(seed) -> that seed's cells, each check having run once per seed with
    the inputs ``seed=`` would give it). When the graders could not
    grade, the report has ``error``: a sentence starting with
    :data:`GRADERS_FAILED`, and the graders' output under ``log`` for the
    instructor. The process starts in the course root (never the notebook's
    folder), isolated, with at most ``memory_bytes`` of address space.

    ``real_run_files``: ``notebook`` is nbgrader's executed run and this
    folder holds only the files that run wrote. The checks of what the whole
    notebook produced judge that run first (so a correct submission is run
    once, by nbgrader); the cells they fail are graded again on the isolated
    run (:mod:`dlcourse.execution`), whose result then counts, so that a
    mistake upstream still costs points only in its own cell. The report's
    ``isolated_for`` lists those cells.

    ``only_cells``: run only the checks of these graded cells (the others
    are in the report with no score; whole-notebook checks then run with the
    student's code in the answer cells of these cells only).
    """
    root = Path(root).resolve()
    argv = [
        str(root / graders_dir / assignment),
        "--submission", str(Path(notebook).resolve()),
        "--course-root", str(root),
        "--rootdir", str(root),
        "-q", "-p", "no:cacheprovider",
        # only this plugin: with PLUGIN_ENV, pytest loads no other installed
        # one (xdist, anyio: about 0.15 s of imports a grading, and code the
        # trusted process has no need to run)
        "-p", "dlcourse.pytest_plugin",
    ]  # fmt: skip
    if seed is not None:
        argv += ["--grading-seed", str(seed)]
    if seeds:
        # every check once per seed, in this one process (see the plugin)
        argv += ["--grading-seeds", ",".join(str(int(s)) for s in seeds)]
    if only_cells is not None:
        argv += ["--only-cells", ",".join(only_cells)]
    from dlcourse.sandbox.zygote_template import preload_for

    # what the graders' sandbox zygote preloads, for a server's template
    preload = preload_for(root, assignment)
    if real_run_files is None:
        return _graded(argv, root, timeout, memory_bytes, only_cells, preload)
    report = _graded(
        argv + ["--real-run-files", str(real_run_files)],
        root,
        timeout,
        memory_bytes,
        only_cells,
        preload,
    )
    if report.get("error"):
        return report
    cells = report["cells"]
    again = [
        g
        for g in report.get("executed_cells", [])
        if g in cells and (cells[g].get("fraction") != 1.0 or cells[g].get("needs_review"))
    ]
    report["isolated_for"] = again
    if not again:
        return report
    isolated = _graded(
        argv + ["--only-cells", ",".join(again)], root, timeout, memory_bytes, again, preload
    )
    if isolated.get("error"):
        isolated["log"] = report["log"] + "\n--- the isolated run ---\n" + isolated["log"]
        return isolated
    return _merged(report, isolated, again)


def _merged(report: dict, isolated: dict, cells: list[str]) -> dict:
    """``report`` with the results of ``cells`` taken from ``isolated``."""
    merged = dict(report)
    merged["cells"] = {**report["cells"], **{g: isolated["cells"][g] for g in cells}}
    merged["tests"] = [t for t in report["tests"] if t.get("grade_id") not in cells] + [
        t for t in isolated["tests"] if t.get("grade_id") in cells
    ]
    merged["rounds"] = {
        seed: {**round_cells, **{g: isolated["rounds"][seed][g] for g in cells}}
        for seed, round_cells in report.get("rounds", {}).items()
    }
    merged["exitstatus"] = max(report["exitstatus"], isolated["exitstatus"])
    merged["log"] = report["log"] + "\n--- the isolated run ---\n" + isolated["log"]
    return merged


def _graded(
    argv: list[str],
    root: Path,
    timeout: float,
    memory_bytes,
    only: list[str] | None = None,
    preload: list[str] | None = None,
) -> dict:
    """One pytest session of the graders with ``argv``; its checked report.
    ``only``: the graded cells it was asked to run (the others have no
    result); ``preload``: what their sandbox zygote preloads, if known."""
    with tempfile.TemporaryDirectory(prefix="dlcourse-grade-") as tmp:
        report_path = Path(tmp) / "report.json"
        argv = [*argv, "--grade-report", str(report_path)]
        from dlcourse.graders_server import run_in_server
        from dlcourse.graders_zygote import take_spare

        # -I ignores PYTHONWARNINGS in this process; the variable still
        # quiets the processes it starts
        env = {**os.environ, "PYTHONWARNINGS": "ignore", **PLUGIN_ENV}
        output = Path(tmp) / "output.txt"
        spare = take_spare()
        if spare is not None:
            # the same command, in a process that already imported it all
            ran = spare.run(argv, str(root), memory_bytes, str(output), timeout)
        else:
            # the same, forked from this process's graders' server
            ran = run_in_server(argv, str(root), memory_bytes, str(output), timeout, env, preload)
        if ran is not None:
            returncode, timed_out = ran
            log = _tail(output.read_bytes() if output.exists() else b"", None)
        else:
            try:
                proc = subprocess.run(
                    graders_command(memory_bytes, "pytest", *argv),
                    cwd=str(root),
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    errors="replace",
                    timeout=timeout,
                    env=env,
                )
                returncode, timed_out = proc.returncode, False
                log = _tail(proc.stdout, proc.stderr)
            except subprocess.TimeoutExpired as exc:
                timed_out, log = True, _tail(exc.stdout, exc.stderr)
        if timed_out:
            return {
                "error": f"{GRADERS_FAILED}: they did not finish within {timeout:.0f} s",
                "log": log,
            }
        try:
            report = json.loads(report_path.read_text())
            if not isinstance(report, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            return {
                "error": f"{GRADERS_FAILED}: {_stopped(returncode)} and wrote no grade "
                f"report ({type(exc).__name__})",
                "log": log,
            }
    report["exitstatus"] = returncode  # the process's, whatever the report says
    report["log"] = log
    problem = graders_problem(report, only)
    if problem:
        report["error"] = f"{GRADERS_FAILED}: {problem}"
    return report


def graders_problem(report: dict, only: list[str] | None = None) -> str | None:
    """Why ``report`` cannot be trusted to score a notebook (None: it can);
    ``only``: the graded cells the graders were asked to run.

    These are the course's failures, never the student's: the student's
    code runs in sandboxes and cannot make pytest stop, skip collecting a
    grader file or leave a graded cell without a check.
    """
    status = report.get("exitstatus")
    if status not in GRADED_EXIT_STATUSES:
        problem = _stopped(status)
        errors = report.get("collection_errors") or []
        if errors:
            problem += f"; grader files that could not be collected: {'; '.join(errors[:3])}"
        return problem
    if report.get("collection_errors"):
        return f"grader files could not be collected: {'; '.join(report['collection_errors'][:3])}"
    if not report.get("tests"):
        return "no hidden check ran"
    cells = report.get("cells")
    if not isinstance(cells, dict) or not cells:
        return "the grade report has no graded cells"
    unchecked = sorted(
        g
        for g, c in cells.items()
        if (only is None or g in only) and (not c or c.get("fraction") is None)
    )
    if only is not None:
        unchecked += sorted(set(only) - set(cells))
    if unchecked:
        return f"no hidden check ran for the graded cells {', '.join(unchecked)}"
    return None


def _stopped(status) -> str:
    meaning = {
        2: "interrupted",
        3: "internal error",
        4: "usage error",
        5: "no tests collected",
    }.get(status, "killed or crashed")
    return f"pytest stopped with exit status {status} ({meaning})"


def _tail(stdout, stderr, limit: int = 4000) -> str:
    """The last ``limit`` characters of the graders' output (either stream
    may be bytes, text or None)."""
    parts = []
    for part in (stdout, stderr):
        if isinstance(part, bytes):
            part = part.decode(errors="replace")
        parts.append(part or "")
    return "".join(parts)[-limit:]
