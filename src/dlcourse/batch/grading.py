"""What the batch schedules: grading one submission.

A :class:`GradingTask` describes one submission (student, assignment, the
folder of its files, the course commit it expects, nbgrader's extra options,
the time limit); :func:`grade_submission` grades it with the stock
``nbgrader autograde ASSIGNMENT --student S`` in a course folder (the
course's nbgrader_config.py: confined kernel, hidden graders) and returns a
:class:`StudentResult`: graded, or "could not be graded" with the reason in
words, and notes for the instructor. The autograded notebook, the grade
report (``reports/<assignment>/<student>/``) and the gradebook rows are what
nbgrader leaves in that course folder.

Where it runs is an engine's business (:mod:`dlcourse.batch.engine`); what
records it, the coordinator's (:mod:`dlcourse.batch.state`,
:mod:`dlcourse.batch.reports`).
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.batch.commands import STUDENT_TIMEOUT, ForkServers, run_nbgrader
from dlcourse.batch.gradebook import db_url_option, gradebook_busy

# nbgrader's log lines, turned into reasons a person can act on. A sentence
# may use the pattern's groups (\1); the last match in the log counts.
REASONS = [
    # first: the graders' own output (logged before this line) may quote
    # words the patterns below look for. HiddenGraders raises this when the
    # course's graders could not grade; nbgrader's traceback ends with it,
    # alone on its line but for the log's indent (every line of the graders'
    # output starts with "|" after that indent).
    (
        r"(?m)^[ \t]*dlcourse\.nbgrader_ext\.hidden_graders\.HiddenGradersError: "
        r"(the hidden graders could not run: [^\n]*)$",
        r"\1",
    ),
    # the submission folder held links, FIFOs or too much (see
    # dlcourse.nbgrader_ext.submitted_files): its sentence is the reason
    (r"UnsafeSubmission: (the submission was refused: [^\n]*)", r"\1"),
    (
        r"DeadKernelError|Kernel died|kernel .* died",
        "the notebook's kernel died while running it (it exited, crashed or hit a memory limit)",
    ),
    (
        r"NotJSONError|Notebook does not appear to be JSON|Unreadable Notebook|JSONDecodeError|is not valid",
        "the notebook file is not a readable notebook (invalid JSON or format)",
    ),
    (
        r"No notebooks found|Skipping unknown notebook",
        "no notebook with the assignment's name was submitted (renamed or missing)",
    ),
    (
        r"database is locked|deadlock detected|could not serialize access|too many clients",
        "the gradebook was busy (retried)",
    ),
    (
        r"get_existing_timestamp|Invalid timestamp|timestamp",
        "the submission's timestamp.txt is unreadable, so nbgrader refused the submission",
    ),
    (r"UnicodeDecodeError|codec can't decode", "the notebook file is not UTF-8 text"),
    (
        r"SchemaTooOld|SchemaTooNew|Notebook validation|ValidationError",
        "the notebook does not follow the notebook format",
    ),
]


def reason_from_log(output: str) -> str:
    errors = [line for line in output.splitlines() if "ERROR" in line or "Error" in line]
    for pattern, sentence in REASONS:
        matches = list(re.finditer(pattern, output))
        if matches:
            return matches[-1].expand(sentence).strip()[:600]
    if "did not finish within" in output:
        return "grading this notebook took too long and was stopped"
    return errors[-1].strip()[:300] if errors else "nbgrader failed on this notebook (see its log)"


@dataclass(frozen=True)
class GradingTask:
    """One submission to grade: everything a worker needs besides a course
    checkout at ``course_commit``."""

    student: str
    assignment: str
    # the folder of the submitted files (submitted/<student>/<assignment>)
    submission: Path
    # changes whenever a submitted file changes: what the batch state keeps
    fingerprint: str
    # git HEAD of the course the task was made for; None outside git (the
    # manifest then vouches for graders/ and source/)
    course_commit: str | None = None
    nbgrader_args: tuple[str, ...] = ()
    timeout: float = STUDENT_TIMEOUT


@dataclass
class StudentResult:
    student: str
    status: str  # "graded" | "could not be graded" | "skipped"
    reason: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def course_commit(root: Path) -> str | None:
    """git HEAD of the course at ``root``; None when it is not a git checkout."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--verify", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def grade_submission(
    root: Path, task: GradingTask, db_url: str, servers: ForkServers | None = None
) -> StudentResult:
    """Autograde ``task``'s submission into the gradebook at ``db_url``;
    ``task.submission`` must be ``root``'s submitted/<student>/<assignment>,
    where nbgrader reads it.
    A gradebook that was busy (SQLite locked, a PostgreSQL deadlock) is tried
    again: nbgrader finds or creates the submission's rows and overwrites
    their scores, so a second run adds no row."""
    student, assignment = task.student, task.assignment
    log = root / "reports" / assignment / student / "autograde.log"
    start = time.perf_counter()
    notes = []
    timestamp_note = _set_aside_unreadable_timestamp(task.submission)
    if timestamp_note:
        notes.append(timestamp_note)
    args = [
        "autograde",
        assignment,
        "--student",
        student,
        "--force",
        db_url_option(db_url),
        *task.nbgrader_args,
    ]
    for _attempt in range(3):
        code, out = run_nbgrader(root, args, log, task.timeout, servers)
        if not gradebook_busy(out):
            break
        time.sleep(1.0)
    seconds = time.perf_counter() - start
    if "exists multiple times" in out:
        notes.append("a graded or answer cell was duplicated; the last copy was graded")
    if "Skipping unknown notebook" in out:
        notes.append("extra notebooks were ignored")
    notes.extend(_not_kept(out))
    notes.extend(_drop_large_files(root / "autograded" / student / assignment))
    autograded = root / "autograded" / student / assignment / f"{assignment}.ipynb"
    if code == 0 and autograded.exists():
        from dlcourse.reports.store import read_report, ungradable_reason

        report = read_report(root, assignment, student, assignment)
        reason = ungradable_reason(report) if (root / "graders" / assignment).is_dir() else None
        if reason:
            return StudentResult(student, "could not be graded", reason, seconds, notes)
        notes.extend(_cells_not_graded(report))
        return StudentResult(student, "graded", "", seconds, notes)
    return StudentResult(student, "could not be graded", reason_from_log(out), seconds, notes)


def _cells_not_graded(report: dict | None) -> list[str]:
    """One note per graded cell where a hidden check could not run."""
    from dlcourse.reports.store import checks_not_run

    sentences = {g: checks_not_run(report, g) for g in ((report or {}).get("cells") or {})}
    return [f"could not be graded: cell {g}: {s}" for g, s in sorted(sentences.items()) if s]


# what SandboxedExecute left behind of the notebook's folder (links, FIFOs,
# oversized files), one log line each: at most this many become notes
NOT_KEPT = re.compile(r"WARNING\] not kept: (.+)$", re.M)
MAX_NOT_KEPT_NOTES = 5


def _not_kept(output: str) -> list[str]:
    """Notes for the files the notebook left that were not kept (the first
    few, then how many more)."""
    found = list(dict.fromkeys(NOT_KEPT.findall(output)))
    notes = found[:MAX_NOT_KEPT_NOTES]
    if len(found) > MAX_NOT_KEPT_NOTES:
        notes.append(
            f"and {len(found) - MAX_NOT_KEPT_NOTES} more files the notebook wrote were not kept"
        )
    return notes


# Files a notebook wrote while it was graded stay in autograded/ and nbgrader's
# generate_feedback copies them to feedback/ for the student: a 256 MB file
# (the kernel's file-size limit) would be stored twice per student. Anything
# larger than this is removed once the grades are recorded (05's weights file
# is about 1 MB).
MAX_KEPT_BYTES = 20 * 1024**2


def _drop_large_files(folder: Path, limit: int = MAX_KEPT_BYTES) -> list[str]:
    """Remove files over ``limit`` bytes below ``folder`` (never notebooks);
    one note per file removed."""
    notes = []
    if not folder.is_dir():
        return notes
    for path in sorted(folder.rglob("*")):
        try:
            if path.is_symlink() or not path.is_file() or path.suffix == ".ipynb":
                continue
            size = path.stat().st_size
            if size > limit:
                path.unlink()
                notes.append(
                    f"{path.relative_to(folder)} ({size / 2**20:.0f} MB, written by the notebook) "
                    f"was not kept: files over {limit // 2**20} MB are removed after grading"
                )
        except OSError:
            continue
    return notes


def _set_aside_unreadable_timestamp(folder: Path) -> str | None:
    """nbgrader stops on a timestamp.txt it cannot parse, so an honest notebook
    beside a garbage timestamp would go ungraded. Such a file is renamed to
    timestamp.txt.unreadable (kept for the instructor) and the submission is
    graded without a submission time; the returned note says so."""
    from nbgrader.utils import parse_utc

    path = folder / "timestamp.txt"
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8").strip()
        if not text:
            return None
        parse_utc(text)
        return None
    except UnicodeDecodeError:
        why = "it is not text"
    except (ValueError, OverflowError):
        why = f"{text[:40]!r} is not a date"
    path.replace(folder / "timestamp.txt.unreadable")
    return (
        f"timestamp.txt could not be read ({why}): it was renamed timestamp.txt.unreadable and "
        "the notebook graded without a submission time (no late penalty)"
    )
