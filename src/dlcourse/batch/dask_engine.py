"""The Dask engine: the coordinator's side of grading on the workers of a
``dask.distributed`` cluster (the workers' side: :mod:`dlcourse.batch.dask_worker`).

    dask scheduler                                   # on one machine (port 8786)
    cd /path/to/course && dask worker tcp://HOST:8786 --nthreads 1   # on each machine
    dlcourse batch 01_gradients --scheduler tcp://HOST:8786          # on the coordinator

The coordinator packs each submission into a
:class:`~dlcourse.batch.dask_worker.RemoteTask`, keeps a bounded number of
them in flight (a few per worker thread: every worker always has its next
submission queued, and the coordinator never holds a whole class's files in
memory), and records each outcome as it arrives.

How the grades reach the coordinator's gradebook: the coordinator writes
them, one submission at a time, with nbgrader's Gradebook API
(:func:`record_outcome`), into whichever database the batch uses (SQLite or
``--db-url``). Workers never write the coordinator's gradebook, because

- they need no route to the database nor its password (a PostgreSQL behind
  the instructor's firewall, or a SQLite file on the coordinator's disk);
- one writer means no lock contention: SQLite serialises writers anyway;
- a grading that was not recorded did not happen: a worker killed after its
  grading but before the coordinator read the result leaves nothing behind
  (Dask grades the task again on another worker), and the coordinator
  records a result only once, at the moment it records the batch state.
  Rows are found or created by (assignment, student, notebook, cell) and
  their automatic scores overwritten, so recording a submission again (a
  coordinator interrupted between the gradebook and the batch state, then
  run again) adds no row.

A worker killed in the middle of a grading: the scheduler sees its
connection drop and gives its task to another worker; after
``distributed.scheduler.allowed-failures`` (3) workers died on the same
task, the submission is "could not be graded" with that reason (a
submission that kills every worker it meets).
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from dlcourse.batch.dask_worker import (
    RemoteOutcome,
    RemoteTask,
    environment,
    grade_remote,
    pack_files,
    safe_relative,
)
from dlcourse.batch.grading import GradingTask, StudentResult

# how long the coordinator waits for the first worker to join
WORKER_WAIT = 120.0
# submissions sent and not yet recorded, per worker thread: the one being
# graded and the next, queued on its worker, so that no worker waits for
# the coordinator (each holds one submission's files in memory)
IN_FLIGHT_PER_THREAD = 2
IN_FLIGHT_MIN = 4


def pack_submission(folder: Path) -> dict[str, bytes]:
    """The submitted files, for a worker. Raises UnsafeSubmission (the
    sentence the local batch reports) for links, FIFOs or too much."""
    from dlcourse.nbgrader_ext.submitted_files import check_submission

    check_submission(str(folder))
    return pack_files(folder, folder)


def record_outcome(
    root: Path, task: GradingTask, outcome: RemoteOutcome, db_url: str
) -> StudentResult:
    """Store what a worker sent back in the coordinator's course (the
    autograded and report folders, replaced) and gradebook; returns the
    result the coordinator records."""
    from datetime import datetime

    from nbgrader.api import Gradebook, MissingEntry

    student, assignment = task.student, task.assignment
    if outcome.status == "refused":
        return StudentResult(student, "could not be graded", outcome.reason, outcome.seconds)
    allowed = (f"autograded/{student}/{assignment}/", f"reports/{assignment}/{student}/")
    for top in (
        root / "autograded" / student / assignment,
        root / "reports" / assignment / student,
    ):
        shutil.rmtree(top, ignore_errors=True)
    for rel, data in outcome.files.items():
        if not rel.startswith(allowed):
            continue
        path = root / safe_relative(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    grades = outcome.grades
    if grades is not None:
        for attempt in range(3):
            try:
                with Gradebook(db_url) as gb:
                    try:
                        gb.find_student(student)
                    except MissingEntry:
                        gb.add_student(student)
                    extra = {}
                    if grades["timestamp"]:
                        extra["timestamp"] = datetime.fromisoformat(grades["timestamp"])
                    gb.update_or_create_submission(assignment, student, **extra)
                    for nb_name, nb in grades["notebooks"].items():
                        try:
                            notebook = gb.find_submission_notebook(nb_name, assignment, student)
                        except MissingEntry:
                            continue  # a notebook the coordinator's assignment lacks
                        notebook.late_submission_penalty = nb["late_submission_penalty"]
                        for name, g in nb["grades"].items():
                            grade = gb.find_grade(name, nb_name, assignment, student)
                            grade.auto_score = g["auto_score"]
                            grade.needs_manual_grade = g["needs_manual_grade"]
                        for name, text in nb["comments"].items():
                            gb.find_comment(name, nb_name, assignment, student).auto_comment = text
                    gb.db.commit()
                break
            except Exception as exc:  # noqa: BLE001 - a busy database is tried again
                from dlcourse.batch.gradebook import gradebook_busy

                if attempt == 2 or not gradebook_busy(str(exc)):
                    return StudentResult(
                        student,
                        "could not be graded",
                        f"graded on {outcome.worker}, but its grades could not be recorded: "
                        f"{type(exc).__name__}: {str(exc)[:300]}",
                        outcome.seconds,
                        outcome.notes,
                    )
                time.sleep(1.0)
    return StudentResult(student, outcome.status, outcome.reason, outcome.seconds, outcome.notes)


class DaskEngine:
    """See the module's docstring; follows :class:`dlcourse.batch.engine.Engine`."""

    def __init__(self, root: Path, scheduler: str, db_url: str, preflight: bool = True):
        from distributed import Client

        self.root = Path(root)
        self.db_url = db_url
        self.preflight = preflight
        self.client = Client(scheduler, timeout="30s")
        try:
            self.client.wait_for_workers(1, timeout=WORKER_WAIT)
        except Exception:  # noqa: BLE001 - distributed raises TimeoutError
            self.client.close()
            from dlcourse.batch.preflight import PreflightError

            raise PreflightError(
                f"no Dask worker joined the scheduler at {scheduler} within {WORKER_WAIT:.0f} s "
                "(start one with `dask worker` from the course folder)"
            ) from None
        self.workers = sum(self.client.nthreads().values())
        self.futures: dict = {}
        # the most submissions ever in flight at once (tests read it)
        self.peak_in_flight = 0

    def _remote(self, task: GradingTask, expected: dict) -> RemoteTask:
        return RemoteTask(
            task.student,
            task.assignment,
            pack_submission(task.submission),
            task.course_commit,
            expected[task.assignment],
            expected["environment"],
            task.nbgrader_args,
            task.timeout,
            self.preflight,
        )

    def in_flight(self) -> int:
        """How many submissions the coordinator keeps sent and not yet
        recorded: IN_FLIGHT_PER_THREAD per worker thread of the cluster now
        (workers that join later raise it), at least IN_FLIGHT_MIN."""
        try:
            threads = sum(self.client.nthreads().values())
        except Exception:  # noqa: BLE001 - the scheduler is unreachable: keep going
            threads = self.workers
        return max(IN_FLIGHT_MIN, IN_FLIGHT_PER_THREAD * threads)

    def grade(self, tasks: Iterable[GradingTask]) -> Iterator[tuple[GradingTask, StudentResult]]:
        """Each task's result as it is recorded (in the order they finish).
        ``tasks`` is read lazily: a submission's files are read only when it
        is sent."""
        from distributed import as_completed

        from dlcourse.manifest import course_files

        expected: dict = {"environment": environment()}
        self.futures = futures = {}
        pending = iter(tasks)
        done = as_completed()
        early: list[tuple[GradingTask, StudentResult]] = []

        def send_more() -> None:
            limit = self.in_flight()
            while len(futures) < limit:
                task = next(pending, None)
                if task is None:
                    return
                if task.assignment not in expected:
                    expected[task.assignment] = course_files(self.root, task.assignment)
                try:
                    remote = self._remote(task, expected)
                except Exception as exc:  # noqa: BLE001 - UnsafeSubmission, an unreadable file
                    reason = str(exc)
                    early.append((task, StudentResult(task.student, "could not be graded", reason)))
                    continue
                key = f"dlcourse-grade-{task.assignment}-{task.student}-{uuid.uuid4().hex[:8]}"
                future = self.client.submit(grade_remote, remote, key=key, pure=False)
                futures[future] = task
                done.add(future)
                self.peak_in_flight = max(self.peak_in_flight, len(futures))

        try:
            send_more()
            while early or futures:
                if early:
                    yield early.pop(0)
                    continue
                future = next(done)
                task = futures.pop(future)
                send_more()  # before recording: the workers never wait on this process
                yield task, self._result(task, future)
        finally:
            self._cancel()

    def _result(self, task: GradingTask, future) -> StudentResult:
        from distributed import KilledWorker

        try:
            outcome = future.result()
        except KilledWorker:
            return StudentResult(
                task.student,
                "could not be graded",
                "every Dask worker that graded it died while grading (it was tried on several)",
            )
        except Exception as exc:  # noqa: BLE001 - one student's failure never ends the batch
            return StudentResult(
                task.student,
                "could not be graded",
                f"internal error on the Dask worker: {type(exc).__name__}: {str(exc)[:300]}",
            )
        finally:
            future.release()
        return record_outcome(self.root, task, outcome, self.db_url)

    def _cancel(self) -> None:
        """Grade nothing more: the tasks not done are cancelled (a grading
        already running on a worker ends by its timeout at the latest; its
        result is never recorded, and the next batch grades it again)."""
        if self.futures:
            self.client.cancel(list(self.futures))
            self.futures = {}

    def close(self) -> None:
        self._cancel()
        self.client.close()

    def __enter__(self) -> DaskEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
