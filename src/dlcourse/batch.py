"""Grading a whole class: pre-flight, parallel workers, resume, reports.

    dlcourse batch 02_layers --workers 2

1. Pre-flight: the assignment's graders and source are checked against the
   git commit or the manifest written when they were final (see
   :mod:`dlcourse.manifest`); then the reference solution and the blank
   release are autograded in a scratch copy of the course. Unless the files
   are unchanged, the reference earns every autograded point and the blank
   release earns none (with every graded cell scored by hidden checks),
   nothing is graded and the message says what is wrong.
2. Every submission is autograded by the stock ``nbgrader autograde
   ASSIGNMENT --student S`` in its own process, ``workers`` at a time (each
   forked from a worker's server that has nbgrader imported: see
   :mod:`dlcourse.nbgrader_forks`). Each
   writes only its own rows of the gradebook (SQLite serialises the writes;
   a run that meets a locked database is retried), so the scores equal a
   sequential run's. One submission's crash, timeout or garbage never stops
   the others.
3. Work already graded (the submission unchanged since) is skipped unless
   ``redo``; an interrupted batch resumes where it stopped.
4. ``reports/<assignment>/batch.csv`` (per student and graded cell) and
   ``batch.json`` (per student) tell "earned 0" from "could not be graded",
   with the reason in words. The command exits non-zero when any submission
   could not be graded, after grading all the others.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

STUDENT_TIMEOUT = 3600.0

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
    (r"database is locked", "the gradebook was busy (retried)"),
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


@dataclass
class StudentResult:
    student: str
    status: str  # "graded" | "could not be graded" | "skipped"
    reason: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


class PreflightError(RuntimeError):
    """The grading environment cannot grade the reference correctly."""


def _env() -> dict:
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}


def _nbgrader(
    root: Path,
    args: list[str],
    log: Path | None = None,
    timeout: float = STUDENT_TIMEOUT,
    servers: _ForkServers | None = None,
) -> tuple[int, str]:
    """Run nbgrader in ``root``; returns (exit status, its output). The whole
    process group is killed on timeout so no kernel is left behind. With
    ``servers`` (and a ``log``) the command is a child of this worker's fork
    server, which has nbgrader imported already."""
    server = servers.get() if servers is not None and log is not None else None
    if server is not None:
        from dlcourse.nbgrader_forks import ForkServerError

        try:
            return server.run(args, root, log, timeout)
        except ForkServerError:
            pass  # a process of its own, as without a server
    from dlcourse.startup import nbgrader_command

    proc = subprocess.Popen(
        nbgrader_command(*args),
        cwd=root,
        env=_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        output += f"\n[dlcourse] nbgrader did not finish within {timeout:.0f} s and was stopped\n"
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(output)
    return proc.returncode, output


class _ForkServers:
    """One nbgrader fork server per worker thread (see
    :mod:`dlcourse.nbgrader_forks`), started on first use, all closed at the
    end of the batch. A server that cannot start or dies is replaced once;
    after that the worker starts a process per student."""

    def __init__(self):
        self.local = threading.local()
        self.started: list = []
        self.lock = threading.Lock()

    def get(self):
        from dlcourse.nbgrader_forks import ForkServer, ForkServerError

        server = getattr(self.local, "server", None)
        if server is not None and server.alive:
            return server
        if getattr(self.local, "starts", 0) >= 2:
            return None
        self.local.starts = getattr(self.local, "starts", 0) + 1
        try:
            server = ForkServer(env=_env())
        except (ForkServerError, OSError):
            return None
        self.local.server = server
        with self.lock:
            self.started.append(server)
        return server

    def close(self) -> None:
        with self.lock:
            for server in self.started:
                server.close()
            self.started.clear()


def reason_from_log(output: str) -> str:
    errors = [line for line in output.splitlines() if "ERROR" in line or "Error" in line]
    for pattern, sentence in REASONS:
        matches = list(re.finditer(pattern, output))
        if matches:
            return matches[-1].expand(sentence).strip()[:600]
    if "did not finish within" in output:
        return "grading this notebook took too long and was stopped"
    return errors[-1].strip()[:300] if errors else "nbgrader failed on this notebook (see its log)"


# ----------------------------------------------------------------- pre-flight
REFERENCE_STUDENT = "preflight"
BLANK_STUDENT = "preflight-blank"


def preflight(root: Path, assignment: str, check_files: bool = True) -> float:
    """Check that this course grades ``assignment`` as released. Returns the
    seconds it took; raises PreflightError with what is wrong.

    1. the environment (pins, nbgrader's alembic, data);
    2. with ``check_files``, the graders and source against the git commit
       or the manifest (:func:`dlcourse.manifest.verify_course_files`);
    3. in a scratch copy of the course, stock ``nbgrader autograde`` of the
       reference solution (every autograded point) and of the blank release
       students were given (no point, every graded cell scored by hidden
       checks: a grader that passes without the student's code, or a cell
       the graders do not check, would give points for nothing).
    """
    import nbformat

    from dlcourse.filled_submission import filled_submission
    from dlcourse.manifest import SHARED_FILES, ManifestError, verify_course_files

    problems = _environment_problems(root, assignment)
    if problems:
        raise PreflightError("; ".join(problems))
    start = time.perf_counter()
    if check_files:
        try:
            verify_course_files(root, assignment)
        except ManifestError as exc:
            raise PreflightError(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="dlcourse-preflight-") as tmp:
        scratch = Path(tmp)
        shutil.copytree(root / "source" / assignment, scratch / "source" / assignment)
        if (root / "graders" / assignment).is_dir():
            shutil.copytree(
                root / "graders" / assignment,
                scratch / "graders" / assignment,
                ignore=shutil.ignore_patterns("__pycache__"),
            )
        for shared in SHARED_FILES:  # the graders' pytest loads them too
            if (root / shared).is_file():
                (scratch / shared).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(root / shared, scratch / shared)
        shutil.copy(root / "nbgrader_config.py", scratch)
        code, out = _nbgrader(scratch, ["generate_assignment", assignment, "--force"])
        if code:
            raise PreflightError(
                f"nbgrader could not generate {assignment}: {reason_from_log(out)}"
            )
        name = f"{assignment}.ipynb"
        release = scratch / "release" / assignment / name
        # the blank notebook the students were given (the fresh one if the
        # course has no release/ of it)
        given = root / "release" / assignment / name
        blank = given if given.is_file() else release
        source = scratch / "source" / assignment / name
        for student, nb in (
            (REFERENCE_STUDENT, filled_submission(release, source)),
            (BLANK_STUDENT, nbformat.read(str(blank), as_version=4)),
        ):
            folder = scratch / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(nb, str(folder / name))
        # both at once, as the batch grades (a locked gradebook is retried)
        with ThreadPoolExecutor(max_workers=2) as pool:
            (ref_code, ref_out), (blank_code, blank_out) = pool.map(
                lambda student: _autograde_retrying(scratch, assignment, student),
                (REFERENCE_STUDENT, BLANK_STUDENT),
            )
        if (
            ref_code
            or not (scratch / "autograded" / REFERENCE_STUDENT / assignment / name).exists()
        ):
            # the gradebook's entries, if any, are placeholders: the log says why
            missing = [reason_from_log(ref_out) if ref_code else "nbgrader did not autograde it"]
        else:
            missing = _not_full_marks(scratch, assignment, REFERENCE_STUDENT)
        if missing:
            raise PreflightError(
                f"the reference solution of {assignment} does not earn full marks here "
                f"({', '.join(missing)}); nothing was graded. Check the grading environment "
                "(scripts/install.sh) and the log:\n" + _tail(ref_out)
            )
        wrong = _blank_problems(
            scratch, assignment, BLANK_STUDENT, reason_from_log(blank_out) if blank_code else ""
        )
        if wrong:
            raise PreflightError(
                f"the blank release of {assignment} (release/{assignment}/{name}) is not graded 0 "
                f"by hidden checks in every graded cell ({', '.join(wrong)}); "
                "a check that passes without the student's code, or a graded cell without hidden "
                "checks, gives points for nothing. Nothing was graded; the log:\n"
                + _tail(blank_out)
            )
    return time.perf_counter() - start


def _tail(output: str, lines: int = 15) -> str:
    return "\n".join(output.splitlines()[-lines:])


def _autograde_retrying(root: Path, assignment: str, student: str) -> tuple[int, str]:
    args = ["autograde", assignment, "--student", student, "--force"]
    for _attempt in range(3):
        code, out = _nbgrader(root, args)
        if "database is locked" not in out:
            break
        time.sleep(1.0)
    return code, out


def _blank_problems(scratch: Path, assignment: str, student: str, why: str = "") -> list[str]:
    """Why the blank release's grading is not "0 by hidden checks in every
    autograded cell" (empty: it is). ``why``: the reason nbgrader failed, if
    it did."""
    from dlcourse.reports.store import read_report

    name = f"{assignment}.ipynb"
    if why or not (scratch / "autograded" / student / assignment / name).exists():
        return [why or "nbgrader did not autograde it"]
    problems = _earned_points(scratch, assignment, student)
    if not (scratch / "graders" / assignment).is_dir():
        return problems
    report = read_report(scratch, assignment, student, assignment) or {}
    if report.get("error") or report.get("submission_error"):
        return problems + [report.get("error") or report.get("submission_error")]
    cells = report.get("cells") or {}
    for grade_id in _autograded_cells(scratch, assignment):
        result = cells.get(grade_id)
        if not result or result.get("fraction") is None:
            problems.append(f"{grade_id}: no hidden checks")
    return problems


def _earned_points(root: Path, assignment: str, student: str) -> list[str]:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return ["no grades were recorded"]
        return [
            f"{grade.name}: {grade.score:g} of {grade.max_score:g}"
            for nb in sub.notebooks
            for grade in nb.grades
            if grade.cell_type == "code" and grade.score != 0
        ]


def _autograded_cells(root: Path, assignment: str) -> list[str]:
    """grade_ids of the assignment's autograded (code) cells, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
        return [
            cell.name
            for nb in gb.find_assignment(assignment).notebooks
            if nb.name == assignment  # the notebook the hidden graders grade
            for cell in nb.grade_cells
            if cell.cell_type == "code"
        ]


def _environment_problems(root: Path, assignment: str) -> list[str]:
    problems = []
    if shutil.which("alembic", path=_env()["PATH"]) is None:
        problems.append(
            "alembic is not on PATH (install the grading environment: bash scripts/install.sh)"
        )
    if not (root / "source" / assignment / f"{assignment}.ipynb").exists():
        problems.append(f"source/{assignment}/{assignment}.ipynb does not exist")
    pins = _pins(root)
    for module in ("torch", "numpy", "nbgrader"):
        if module not in pins:
            continue
        try:
            version = __import__(module).__version__
        except ImportError:
            problems.append(f"{module} is not installed (bash scripts/install.sh)")
            continue
        if version.split("+")[0] != pins[module]:
            problems.append(
                f"{module} {version} is installed but the course pins {pins[module]} (bash scripts/install.sh)"
            )
    source = root / "source" / assignment / f"{assignment}.ipynb"
    if source.exists() and "load_fashion_mnist" in source.read_text(errors="replace"):
        problem = _fashion_mnist_problem()
        if problem:
            problems.append(problem)
    return problems


def _pins(root: Path) -> dict[str, str]:
    pins = {}
    path = root / "constraints.txt"
    if path.exists():
        for line in path.read_text().splitlines():
            name, sep, version = line.strip().partition("==")
            if sep and not name.startswith("#"):
                pins[name.lower()] = version
    return pins


def _fashion_mnist_problem() -> str | None:
    """Why the course loader cannot find FashionMNIST here (None: it can)."""
    from dlcourse.data import DatasetError, load_fashion_mnist

    try:
        load_fashion_mnist("test", download=False)
    except DatasetError as exc:
        return f"the FashionMNIST data cannot be loaded: {exc}"
    return None


def _not_full_marks(root: Path, assignment: str, student: str) -> list[str]:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return ["no grades were recorded"]
        short = []
        for nb in sub.notebooks:
            for grade in nb.grades:
                if grade.cell_type == "code" and grade.score != grade.max_score:
                    short.append(f"{grade.name}: {grade.score} of {grade.max_score}")
        return short


# ---------------------------------------------------------------------- batch
def submissions(root: Path, assignment: str) -> list[str]:
    return sorted(p.parent.name for p in (root / "submitted").glob(f"*/{assignment}") if p.is_dir())


def _fingerprint(folder: Path) -> str:
    """Changes whenever any submitted file changes."""
    parts = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            parts.append(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


class _State:
    """reports/<assignment>/batch-state.json: what was graded, from which files."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        try:
            self.data = json.loads(path.read_text())
        except (OSError, ValueError):
            self.data = {}

    def done(self, student: str, fingerprint: str) -> bool:
        entry = self.data.get(student)
        return bool(entry and entry["fingerprint"] == fingerprint and entry["status"] == "graded")

    def record(self, result: StudentResult, fingerprint: str) -> None:
        with self.lock:
            self.data[result.student] = {
                "status": result.status,
                "reason": result.reason,
                "fingerprint": fingerprint,
            }
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=1))
            os.replace(tmp, self.path)


class Progress:
    """One line on a terminal: done/total, the current student, rate, time left.
    Silent when the stream is not a terminal."""

    def __init__(self, total: int, stream=None):
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.active = self.stream.isatty()
        self.lock = threading.Lock()

    def update(self, student: str) -> None:
        with self.lock:
            self.done += 1
            if not self.active:
                return
            elapsed = time.monotonic() - self.start
            rate = self.done / elapsed if elapsed > 0 else 0.0
            left = (self.total - self.done) / rate if rate else 0.0
            width = 24
            filled = int(width * self.done / max(self.total, 1))
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(
                f"\r[{bar}] {self.done}/{self.total}  {student[:20]:20s}  "
                f"{rate * 60:5.1f}/min  about {left / 60:4.1f} min left "
            )
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()


def _grade_one(
    root: Path,
    assignment: str,
    student: str,
    extra: list[str],
    timeout: float,
    servers: _ForkServers | None = None,
) -> StudentResult:
    log = root / "reports" / assignment / student / "autograde.log"
    start = time.perf_counter()
    notes = []
    timestamp_note = _set_aside_unreadable_timestamp(root / "submitted" / student / assignment)
    if timestamp_note:
        notes.append(timestamp_note)
    args = ["autograde", assignment, "--student", student, "--force", *extra]
    for _attempt in range(3):
        code, out = _nbgrader(root, args, log, timeout, servers)
        if "database is locked" not in out:
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


def _ensure_in_gradebook(root: Path, assignment: str) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
        try:
            gb.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    code, out = _nbgrader(root, ["generate_assignment", assignment, "--force"])
    if code:
        raise PreflightError(f"nbgrader could not generate {assignment}: {reason_from_log(out)}")


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
) -> dict:
    """Grade every submission of ``assignment``; returns the batch summary
    (also written to reports/<assignment>/batch.json and batch.csv).

    ``check_reference=False`` skips grading the reference and the blank
    release; the graders and source are still checked against the commit or
    the manifest unless ``check_files=False`` (tests of broken graders)."""
    from dlcourse.reports.cell_export import cell_rows, to_csv

    root = Path(root).resolve()
    # the gradebook, opened in this process too, runs alembic from PATH
    os.environ["PATH"] = _env()["PATH"]
    workers = workers or max(1, min(os.cpu_count() or 1, 4))
    summary: dict = {"assignment": assignment, "workers": workers}
    if check_reference:
        summary["preflight_seconds"] = round(preflight(root, assignment, check_files), 1)
    elif check_files:
        from dlcourse.manifest import ManifestError, verify_course_files

        try:
            verify_course_files(root, assignment)
        except ManifestError as exc:
            raise PreflightError(str(exc)) from None
    _ensure_in_gradebook(root, assignment)
    state = _State(root / "reports" / assignment / "batch-state.json")
    todo, results = [], {}
    for student in students or submissions(root, assignment):
        fingerprint = _fingerprint(root / "submitted" / student / assignment)
        if not redo and state.done(student, fingerprint):
            results[student] = StudentResult(student, "skipped", "already graded; unchanged since")
        else:
            todo.append((student, fingerprint))
    progress = Progress(len(todo), progress_stream)
    start = time.perf_counter()
    servers = _ForkServers()
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(
                    _grade_one, root, assignment, student, list(extra_args or []), timeout, servers
                ): (student, fp)
                for student, fp in todo
            }
            for future in as_completed(futures):
                student, fingerprint = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - one student's failure never ends the batch
                    result = StudentResult(student, "could not be graded", f"internal error: {exc}")
                results[student] = result
                state.record(result, fingerprint)
                progress.update(student)
    finally:
        servers.close()
    summary["seconds"] = round(time.perf_counter() - start, 1)
    rows = cell_rows(root, assignment)
    per_student = {}
    for student, result in sorted(results.items()):
        mine = [r for r in rows if r["student"] == student]
        status = result.status
        if status == "skipped":
            previous = state.data.get(student, {})
            status = previous.get("status", "graded")
        per_student[student] = {
            "status": status,
            "graded_now": result.status != "skipped",
            "reason": result.reason if result.status != "skipped" else "",
            "notes": result.notes,
            "seconds": round(result.seconds, 1),
            "total": sum(float(r["score"]) for r in mine if r["score"] not in ("", None)),
            "cells": {
                r["cell"]: {
                    k: r[k] for k in ("score", "max_score", "status", "reason", "failed_checks")
                }
                for r in mine
            },
        }
    summary["students"] = per_student
    summary["ungradable"] = sorted(
        s for s, v in per_student.items() if v["status"] == "could not be graded"
    )
    out = root / "reports" / assignment
    out.mkdir(parents=True, exist_ok=True)
    (out / "batch.json").write_text(json.dumps(summary, indent=1))
    batch_rows = [r for r in rows if r["student"] in per_student]
    for r in batch_rows:
        if (
            per_student[r["student"]]["status"] == "could not be graded"
            and r["status"] != "could not be graded"
        ):
            r["status"], r["reason"], r["score"] = (
                "could not be graded",
                per_student[r["student"]]["reason"],
                "",
            )
    (out / "batch.csv").write_text(to_csv(batch_rows))
    return summary
