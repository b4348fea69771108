"""Grading a whole class: pre-flight, parallel workers, resume, reports.

    dlcourse batch 02_layers --workers 2 [--db-url postgresql:///gradebook]

1. Pre-flight (:mod:`~dlcourse.batch.preflight`): the assignment's graders
   and source are checked against the git commit or the manifest written
   when they were final (see :mod:`dlcourse.manifest`); then the reference
   solution and the blank release are autograded in a scratch copy of the
   course. Unless the files are unchanged, the reference earns every
   autograded point and the blank release earns none (with every graded
   cell scored by hidden checks), nothing is graded and the message says
   what is wrong.
2. What is scheduled (:mod:`~dlcourse.batch.grading`): one task per
   submission, graded by the stock ``nbgrader autograde ASSIGNMENT
   --student S`` in its own process. One submission's crash, timeout or
   garbage never stops the others.
3. Where it runs (:mod:`~dlcourse.batch.engine`): the local engine
   (:mod:`~dlcourse.batch.local`) grades ``workers`` submissions at a time
   on this machine; with ``--scheduler tcp://HOST:8786`` the Dask engine
   (:mod:`~dlcourse.batch.dask_engine`) sends them to a Dask cluster's
   workers.
4. What records it, on the coordinator: the gradebook
   (:mod:`~dlcourse.batch.gradebook`; SQLite by default, or PostgreSQL),
   written one submission's rows at a time, so the scores equal a
   sequential run's; the batch state (:mod:`~dlcourse.batch.state`): work
   already graded (the submission unchanged since) is skipped unless
   ``redo``, and an interrupted batch resumes where it stopped; the
   progress line (:mod:`~dlcourse.batch.progress`); and the reports
   (:mod:`~dlcourse.batch.reports`): ``reports/<assignment>/batch.csv``
   (per student and graded cell) and ``batch.json`` (per student) tell
   "earned 0" from "could not be graded", with the reason in words. The
   command exits non-zero when any submission could not be graded, after
   grading all the others.
"""

from __future__ import annotations

import os
import time
from contextlib import closing
from pathlib import Path

from dlcourse.batch.commands import STUDENT_TIMEOUT, ForkServers, nbgrader_env, run_nbgrader
from dlcourse.batch.gradebook import course_db_url, describe, ensure_in_gradebook
from dlcourse.batch.grading import (
    MAX_KEPT_BYTES,
    MAX_NOT_KEPT_NOTES,
    REASONS,
    GradingTask,
    StudentResult,
    _drop_large_files,
    _not_kept,
    course_commit,
    grade_submission,
    reason_from_log,
)
from dlcourse.batch.local import LocalEngine
from dlcourse.batch.preflight import PreflightError, _environment_problems, preflight
from dlcourse.batch.progress import Progress
from dlcourse.batch.reports import write_reports
from dlcourse.batch.state import BatchState, fingerprint, state_path, submissions

# the names this module had before it became a package (tests use them)
_env = nbgrader_env
_nbgrader = run_nbgrader
_ForkServers = ForkServers

__all__ = [
    "MAX_KEPT_BYTES",
    "MAX_NOT_KEPT_NOTES",
    "REASONS",
    "STUDENT_TIMEOUT",
    "GradingTask",
    "LocalEngine",
    "PreflightError",
    "Progress",
    "StudentResult",
    "grade_submission",
    "preflight",
    "reason_from_log",
    "run_batch",
    "submissions",
    "_drop_large_files",
    "_environment_problems",
    "_not_kept",
]


def run_batch(
    root: Path,
    assignment: str,
    workers: int | None = None,
    redo: bool = False,
    students: list[str] | None = None,
    extra_args: list[str] | None = None,
    check_reference: bool = True,
    timeout: float = STUDENT_TIMEOUT,
    progress_stream=None,
    check_files: bool = True,
    db_url: str | None = None,
    scheduler: str | None = None,
) -> dict:
    """Grade every submission of ``assignment``; returns the batch summary
    (also written to reports/<assignment>/batch.json and batch.csv).

    ``check_reference=False`` skips grading the reference and the blank
    release; the graders and source are still checked against the commit or
    the manifest unless ``check_files=False`` (tests of broken graders).
    ``db_url``: the gradebook (default: what nbgrader_config.py names, else
    gradebook.db in the course folder; see :mod:`dlcourse.batch.gradebook`).
    ``scheduler``: the address of a Dask scheduler (``tcp://HOST:8786``)
    whose workers grade (:mod:`~dlcourse.batch.dask_engine`); None grades
    on this machine with ``workers`` processes."""
    root = Path(root).resolve()
    # nbgrader commands started as processes of their own, and stock tools
    # they run, are found on PATH
    os.environ["PATH"] = nbgrader_env()["PATH"]
    workers = workers or max(1, min(os.cpu_count() or 1, 4))
    summary: dict = {"assignment": assignment, "workers": workers}
    # the nbgrader fork servers of this machine's commands: the pre-flight's
    # two gradings start them, and the workers grade from them warm
    with closing(ForkServers()) as servers:
        starting = None
        if not check_reference and not scheduler:
            # the first worker's server starts (nbgrader's imports, about
            # 2 s) while this process checks the files and reads the
            # configuration (nbgrader's imports again, about 1 s)
            starting = servers.start_one()
        if check_reference:
            summary["preflight_seconds"] = round(
                preflight(root, assignment, check_files, servers), 1
            )
        elif check_files:
            from dlcourse.manifest import ManifestError, verify_course_files

            try:
                verify_course_files(root, assignment)
            except ManifestError as exc:
                raise PreflightError(str(exc)) from None
        # after the check of nbgrader_config.py, which may name the gradebook
        db_url = course_db_url(root, db_url)
        summary["gradebook"] = describe(db_url)
        if starting is not None:
            starting.join()  # idle when the gradebook or the first worker asks
        ensure_in_gradebook(root, assignment, db_url, servers)
        state = BatchState(state_path(root, assignment), summary["gradebook"])
        commit = course_commit(root)
        tasks, results = [], {}
        for student in students or submissions(root, assignment):
            folder = root / "submitted" / student / assignment
            files = fingerprint(folder)
            if not redo and state.done(student, files):
                results[student] = StudentResult(
                    student, "skipped", "already graded; unchanged since"
                )
            else:
                tasks.append(
                    GradingTask(
                        student,
                        assignment,
                        folder,
                        files,
                        course_commit=commit,
                        nbgrader_args=tuple(extra_args or ()),
                        timeout=timeout,
                    )
                )
        progress = Progress(len(tasks), progress_stream)
        start = time.perf_counter()
        if scheduler:
            from dlcourse.batch.dask_engine import DaskEngine

            servers.close()  # the Dask workers grade with servers of their own
            engine = DaskEngine(root, scheduler, db_url, preflight=check_reference)
            summary["workers"] = engine.workers
            summary["scheduler"] = scheduler
        else:
            servers.keep_at_most(workers)
            engine = LocalEngine(root, workers, db_url, servers)
        with engine:
            for task, result in engine.grade(tasks):
                results[task.student] = result
                state.record(result, task.fingerprint)
                progress.update(task.student)
        summary["seconds"] = round(time.perf_counter() - start, 1)
        return write_reports(root, assignment, summary, results, state, db_url)
