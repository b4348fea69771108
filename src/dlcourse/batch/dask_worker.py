"""The Dask worker's side of the batch: grades one submission sent by the
coordinator (:mod:`dlcourse.batch.dask_engine`), on a machine of its own.

    cd /path/to/course && dask worker tcp://HOST:8786 --nthreads 1

Where a worker's course is: the folder named by ``DLCOURSE_COURSE`` when it
is set, else the folder the worker was started from. It must be a checkout
of the same course (same commit, same graders/ and source/ files) with the
same grading environment installed (``scripts/install.sh``).

What travels (no shared file system is assumed):

- to the worker, one :class:`RemoteTask` per submission: the submitted
  files as bytes, the course commit the coordinator grades at, the sha256
  of every file that decides the grades (:func:`dlcourse.manifest.course_files`)
  and the versions of the grading environment (:func:`environment`);
- back, one :class:`RemoteOutcome`: the autograded folder
  (``autograded/<student>/<assignment>/``, what nbgrader keeps), the grade
  report folder (``reports/<assignment>/<student>/``, with the autograde
  log) and the submission's rows of the worker's gradebook: per graded
  cell the automatic score, per answer cell the automatic comment, the
  submission's timestamp and late penalty.

A worker whose course or environment differs refuses the task with a
sentence; the coordinator records the submission as "could not be graded"
with that sentence, never as 0. Before its first grading of an assignment a
worker runs the batch's pre-flight on its own course (the reference at full
marks, the blank release at 0) unless the coordinator skipped it
(``--skip-preflight``); a failed pre-flight refuses every task of that
assignment.

The worker grades with :func:`~dlcourse.batch.grading.grade_submission`,
the local engine's pipeline (stock ``nbgrader autograde`` with the course's
nbgrader_config.py: confined kernel, hidden graders, the same time limit;
forked from a fork server per worker thread, as the local engine does),
in a scratch course of its own made from its course checkout, into a SQLite
gradebook in that scratch course. It never writes the coordinator's
gradebook (see :mod:`dlcourse.batch.dask_engine` for why).
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from dlcourse.batch.commands import STUDENT_TIMEOUT, ForkServers
from dlcourse.batch.gradebook import ensure_in_gradebook, sqlite_url
from dlcourse.batch.grading import GradingTask, course_commit, grade_submission

# the environment variable naming a worker's course folder (else its cwd)
COURSE_ENV = "DLCOURSE_COURSE"
# the packages whose versions decide a grade: a worker with another version
# of any of them refuses
ENVIRONMENT_PACKAGES = ("dlcourse", "nbgrader", "torch", "numpy", "nbconvert", "nbclient")
# how long the coordinator waits for the first worker to join


def environment() -> dict[str, str]:
    """Python's version and the installed versions of ENVIRONMENT_PACKAGES
    (from their metadata: importing torch is not needed)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": ".".join(str(n) for n in sys.version_info[:3])}
    for name in ENVIRONMENT_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


@dataclass(frozen=True)
class RemoteTask:
    """What a Dask worker receives for one submission."""

    student: str
    assignment: str
    # path relative to the submission folder (with /) -> the file's bytes
    files: dict[str, bytes]
    course_commit: str | None
    # dlcourse.manifest.course_files of the coordinator's course
    course_files: dict[str, str]
    environment: dict[str, str]
    nbgrader_args: tuple[str, ...] = ()
    timeout: float = STUDENT_TIMEOUT
    preflight: bool = True


@dataclass
class RemoteOutcome:
    """What a worker sends back. ``status``: "graded", "could not be graded"
    or "refused" (the worker's course or environment differs)."""

    status: str
    reason: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    worker: str = ""
    # path relative to the course (with /) -> bytes: autograded/<s>/<a>/...
    # and reports/<a>/<s>/...
    files: dict[str, bytes] = field(default_factory=dict)
    # the submission's gradebook rows (see _read_grades); None: no rows
    grades: dict | None = None


# ---------------------------------------------------------------- worker side


def worker_course() -> Path:
    """The course folder of this worker process."""
    return Path(os.environ.get(COURSE_ENV) or os.getcwd()).resolve()


_lock = threading.Lock()
# (course, assignment, version) -> None (pre-flight passed) or why it failed
_preflights: dict[tuple[str, str, str], str | None] = {}
# (course, assignment, version) -> this process's scratch course
_scratches: dict[tuple[str, str, str], Path] = {}
# this process's nbgrader fork servers, one per command running at once, as
# the local engine has (each exits when this process does: its stdin closes)
_servers = ForkServers()


def grade_remote(task: RemoteTask) -> RemoteOutcome:
    """Run on a Dask worker: grade ``task`` in a scratch course made from
    this worker's course checkout; see the module's docstring."""
    root = worker_course()
    where = f"worker {socket.gethostname()}:{root}"
    refusal = _refusal(root, task)
    # the files that grade the task: a worker whose checkout is updated
    # while it runs makes a new scratch course (and pre-flight) for them
    version = _version(task)
    if refusal is None and task.preflight:
        refusal = _preflight_once(root, task.assignment, version)
    if refusal:
        return RemoteOutcome("refused", f"{where} refused it: {refusal}", worker=where)
    scratch = _scratch(root, task.assignment, version)
    student, assignment = task.student, task.assignment
    folder = scratch / "submitted" / student / assignment
    # what an earlier grading of this student on this worker left
    for old in (
        folder,
        scratch / "autograded" / student / assignment,
        scratch / "reports" / assignment / student,
    ):
        shutil.rmtree(old, ignore_errors=True)
    # and its rows: a grading that fails before nbgrader writes must not
    # send back the scores of an earlier one
    _forget(sqlite_url(scratch), assignment, student)
    folder.mkdir(parents=True)
    for rel, data in task.files.items():
        path = folder / safe_relative(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    result = grade_submission(
        scratch,
        GradingTask(
            student,
            assignment,
            folder,
            "",
            course_commit=task.course_commit,
            nbgrader_args=task.nbgrader_args,
            timeout=task.timeout,
        ),
        sqlite_url(scratch),
        _servers,
    )
    files = {}
    for top in (
        scratch / "autograded" / student / assignment,
        scratch / "reports" / assignment / student,
    ):
        files.update(pack_files(top, scratch))
    return RemoteOutcome(
        result.status,
        result.reason,
        result.seconds,
        result.notes,
        where,
        files,
        _read_grades(sqlite_url(scratch), assignment, student),
    )


def _refusal(root: Path, task: RemoteTask) -> str | None:
    """Why this worker's course or environment cannot grade ``task`` (None: it can)."""
    from dlcourse.manifest import course_files

    mine = environment()
    differ = [
        f"{name} {mine.get(name, 'not installed')} here, {wanted} on the coordinator"
        for name, wanted in sorted(task.environment.items())
        if mine.get(name) != wanted
    ]
    if differ:
        return "its grading environment differs (" + "; ".join(differ) + ")"
    if not (root / "source" / task.assignment).is_dir():
        return (
            f"{root} holds no course with source/{task.assignment} (start the worker from the "
            f"course folder, or set {COURSE_ENV})"
        )
    if task.course_commit:
        here = course_commit(root)
        if here != task.course_commit:
            return (
                f"its course checkout is at commit {here or '(not a git checkout)'}, "
                f"the batch grades commit {task.course_commit}"
            )
    files = course_files(root, task.assignment)
    changes = [
        f"{p} (changed)"
        for p in sorted(task.course_files)
        if p in files and files[p] != task.course_files[p]
    ]
    changes += [f"{p} (only here)" for p in sorted(files) if p not in task.course_files]
    changes += [f"{p} (missing here)" for p in sorted(task.course_files) if p not in files]
    if changes:
        more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
        return "its course files differ from the coordinator's: " + ", ".join(changes[:3]) + more
    return None


def _version(task: RemoteTask) -> str:
    """A digest of the commit and the files that grade ``task``."""
    import hashlib
    import json

    text = json.dumps([task.course_commit, sorted(task.course_files.items())])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _preflight_once(root: Path, assignment: str, version: str) -> str | None:
    """The batch's pre-flight of this worker's course, once per process,
    assignment and ``version`` of its files; why it failed, or None."""
    from dlcourse.batch.preflight import PreflightError, preflight

    key = (str(root), assignment, version)
    with _lock:  # the other threads of this worker wait for its outcome
        if key not in _preflights:
            try:
                preflight(root, assignment, check_files=True, servers=_servers)
                _preflights[key] = None
                # the pre-flight's gradings ran two at once: keep a server
                # for each of this worker's threads, no more
                _servers.keep_at_most(_threads())
            except PreflightError as exc:
                _preflights[key] = f"its pre-flight failed: {exc}"[:2000]
        return _preflights[key]


def _threads() -> int:
    """How many tasks this Dask worker runs at once (1 outside a worker)."""
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


def _scratch(root: Path, assignment: str, version: str) -> Path:
    """This process's scratch course for ``assignment``: the files that
    grade it, copied from ``root`` (just checked to be ``version``), and a
    SQLite gradebook with the assignment in it. Made once per process and
    version."""
    from dlcourse.manifest import SHARED_FILES

    key = (str(root), assignment, version)
    with _lock:
        if key in _scratches and _scratches[key].is_dir():
            return _scratches[key]
        scratch = Path(tempfile.mkdtemp(prefix=f"dlcourse-dask-{assignment}-"))
        for name in ("source", "graders", "release"):
            if (root / name / assignment).is_dir():
                shutil.copytree(
                    root / name / assignment,
                    scratch / name / assignment,
                    ignore=shutil.ignore_patterns("__pycache__"),
                )
        for shared in (*SHARED_FILES, "constraints.txt"):
            if (root / shared).is_file():
                (scratch / shared).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(root / shared, scratch / shared)
        ensure_in_gradebook(scratch, assignment, sqlite_url(scratch), _servers)
        _scratches[key] = scratch
        return scratch


def pack_files(top: Path, base: Path) -> dict[str, bytes]:
    """The regular files below ``top`` (path relative to ``base`` -> bytes);
    links are not followed (what a notebook wrote is the student's)."""
    found = {}
    if not top.is_dir() or top.is_symlink():
        return found
    for here, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if not (Path(here) / d).is_symlink()]
        for name in names:
            path = Path(here) / name
            if path.is_file() and not path.is_symlink():
                found[path.relative_to(base).as_posix()] = path.read_bytes()
    return found


def _forget(db_url: str, assignment: str, student: str) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            gb.remove_submission(assignment, student)
        except MissingEntry:
            pass


def _read_grades(db_url: str, assignment: str, student: str) -> dict | None:
    """The submission's rows nbgrader's autograde wrote: its timestamp, and
    per notebook the late penalty, per graded cell the automatic score
    (and whether it needs a person), per answer cell the automatic comment."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        return {
            "timestamp": sub.timestamp.isoformat() if sub.timestamp else None,
            "notebooks": {
                nb.name: {
                    "late_submission_penalty": nb.late_submission_penalty,
                    "grades": {
                        g.name: {
                            "auto_score": g.auto_score,
                            "needs_manual_grade": g.needs_manual_grade,
                        }
                        for g in nb.grades
                    },
                    "comments": {c.name: c.auto_comment for c in nb.comments},
                }
                for nb in sub.notebooks
            },
        }


def safe_relative(rel: str) -> PurePosixPath:
    """``rel`` as a relative path that stays below its folder."""
    path = PurePosixPath(rel)
    if path.is_absolute() or not path.parts or ".." in path.parts:
        raise ValueError(f"not a relative path below the folder: {rel!r}")
    return path
