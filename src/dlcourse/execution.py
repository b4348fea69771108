"""Running a submission's notebook top to bottom, for graders that grade what
the whole notebook produced: the weights file it saved after training, the
figures it drew.

Most graders call the student's functions in sandboxes (see
:mod:`dlcourse.program`). A few graded cells are about the notebook's
results instead, which only exist after everything before them ran. To keep
the rule that a mistake costs points only in its own cell, the notebook that
runs is an *isolated* one, built like the graders' programs: the
instructor's cells (setup, display), the student's code in the answer cells
of the graded cells being checked, and in every other answer cell the
student's definitions followed by the reference solution. A missing hidden
layer therefore costs the architecture's points, not also the final model's.

It runs in the same confined kernel as nbgrader's execution, in a fresh,
empty folder: nothing submitted beside the notebook (a weights file, say)
is there, so only what the run wrote counts. The graders never read that
folder: the regular files the run left are copied into a folder of their own
(see :mod:`dlcourse.sandbox.harvest`), so a link or a FIFO left there is
never followed or opened.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dlcourse.checks import fail


@dataclass
class ExecutedNotebook:
    """``notebook``: the executed nbformat-4 notebook; ``folder``: where it
    ran (empty before); ``problem``: why the run stopped early, in words
    (None if it ran to the end)."""

    notebook: dict
    folder: Path
    problem: str | None = None
    # the grading machine stopped the run, not the student's code: a sentence
    machine_problem: str | None = None

    def cell(self, grade_id: str):
        """The last cell with nbgrader ``grade_id`` (as nbgrader uses), or None."""
        found = None
        for cell in self.notebook.get("cells", []):
            meta = (cell.get("metadata") or {}).get("nbgrader") or {}
            if isinstance(meta, dict) and meta.get("grade_id") == grade_id:
                found = cell
        return found

    def error_in(self, grade_id: str) -> str | None:
        """ "Name: message" of the error the cell ended with, or None."""
        cell = self.cell(grade_id)
        for output in (cell or {}).get("outputs", []):
            if output.get("output_type") == "error":
                return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
        return None

    def images_in(self, grade_id: str) -> int:
        """How many images (PNG or SVG) the cell displayed."""
        cell = self.cell(grade_id)
        count = 0
        for output in (cell or {}).get("outputs", []):
            data = output.get("data") or {}
            count += int("image/png" in data or "image/svg+xml" in data)
        return count

    def produced(self, name: str, by: str) -> Path:
        """The file ``name`` the run wrote in its folder. ``by``: the grade_id
        of the cell meant to write it, whose error (if any) explains a missing
        file. Fails with a sentence when the file is missing."""
        __tracebackhide__ = True
        path = self.folder / name
        if not path.is_file():
            stopped = self.error_in(by)
            why = f" (the cell '{by}' stopped with {stopped})" if stopped else ""
            if self.problem and not stopped:
                why = f" ({self.problem})"
            fail(
                f"the notebook did not write '{name}' when it ran{why}; run the cell that saves it"
            )
        return path


def isolated_notebook(reference: dict, student: dict | None, own: set[str]) -> dict:
    """The notebook to run: ``reference``'s setup, display and answer cells in
    its order (markdown and graded cells dropped), where the answer cells in
    ``own`` hold the student's code and every other answer cell the student's
    definitions followed by the reference solution. ``student`` None: the
    reference itself. Both are nbformat-4 notebooks (dicts).

    When every cell of ``own`` holds the reference's code, the run is the
    reference's: that code reads none of the student's helpers (it was
    written without them), and a helper that shadowed one of the
    notebook's own names would move these cells' points for what another
    cell holds. (Identical runs are kept once: see :func:`execution_key`.)"""
    import nbformat

    from dlcourse.submission import (
        parse_notebook,
        strip_magics,
        strip_solution_markers,
        student_helpers,
    )

    submitted = parse_notebook(student).answers if student is not None else None
    if submitted is not None and _holds_the_reference(reference, submitted, own):
        submitted = None
    nb = copy.deepcopy(reference)
    cells = []
    for cell in nb.cells:
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if cell.get("cell_type") != "code" or (meta.get("grade") and not meta.get("solution")):
            continue
        cell.outputs, cell.execution_count = [], None
        if meta.get("solution"):
            grade_id = meta.get("grade_id")
            ref_code = strip_solution_markers(cell.source)
            if submitted is None:
                cell.source = ref_code
            elif grade_id in own:
                cell.source = submitted.get(grade_id, "")
            elif grade_id in submitted:
                helpers = student_helpers(strip_magics(submitted[grade_id]), ref_code)
                cell.source = f"{helpers}\n\n{ref_code}" if helpers else ref_code
            else:
                cell.source = ref_code
        cells.append(cell)
    nb.cells = cells
    nbformat.validate(nb)
    return nb


# what surrounds code without changing it (str.strip's default also takes
# Unicode spaces, which Python rejects in code)
BLANK = " \t\r\n"


def _holds_the_reference(reference: dict, answers: dict[str, str], own: set[str]) -> bool:
    """Whether each answer cell of ``own`` in ``answers`` (grade_id -> code)
    is the reference solution's code (leading and trailing blank space aside)."""
    from dlcourse.submission import strip_solution_markers

    solutions = {
        meta.get("grade_id"): strip_solution_markers(cell.get("source", ""))
        for cell in reference.get("cells", [])
        for meta in [(cell.get("metadata") or {}).get("nbgrader") or {}]
        if cell.get("cell_type") == "code" and meta.get("solution")
    }
    return all(
        g in solutions and g in answers and answers[g].strip(BLANK) == solutions[g].strip(BLANK)
        for g in own
    )


def execution_key(nb: dict) -> str:
    """What decides a run's result: the code of the cells, in order, and
    which cells they are (SHA-256, hex)."""
    import hashlib
    import json

    cells = [
        [
            c.get("cell_type"),
            c.get("source"),
            ((c.get("metadata") or {}).get("nbgrader") or {}).get("grade_id"),
        ]
        for c in nb.get("cells", [])
    ]
    return hashlib.sha256(json.dumps([_CACHE_VERSION, cells]).encode()).hexdigest()


_CACHE_VERSION = 1  # bump when what a run produces changes


def store_execution(run: ExecutedNotebook, cache: Path, key: str) -> None:
    """Keep ``run`` (its notebook and the files it wrote) under ``cache/key``,
    atomically: another process storing the same key at once is harmless."""
    import json

    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=cache))
    shutil.copytree(run.folder, staging / "files")
    (staging / "run.json").write_text(
        json.dumps({"notebook": run.notebook, "problem": run.problem})
    )
    try:
        staging.rename(cache / key)
    except OSError:  # stored meanwhile by another process
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def execution_lock(cache: Path, key: str):
    """Held while one process looks ``key`` up in ``cache`` and, missing,
    runs and stores it: a second grading of the same notebook at once (the
    test suite's workers start on the same reference together) waits for
    that run instead of making it again. The kernel drops the lock when its
    holder ends, however it ends."""
    import fcntl

    cache.mkdir(parents=True, exist_ok=True)
    fd = os.open(
        cache / f"{key}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
    )
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def load_execution(cache: Path, key: str) -> ExecutedNotebook | None:
    """A stored run as a fresh copy (the caller removes its folder), or None."""
    import json

    import nbformat

    stored = cache / key
    if not (stored / "run.json").is_file():
        return None
    data = json.loads((stored / "run.json").read_text())
    folder = Path(tempfile.mkdtemp(prefix="dlcourse-run-"))
    shutil.copytree(stored / "files", folder, dirs_exist_ok=True)
    return ExecutedNotebook(nbformat.from_dict(data["notebook"]), folder, data["problem"])


# a cell's wall-clock backstop, as a multiple of its charged-time limit:
# past it the machine, not the student, is too slow ("could not be graded")
BACKSTOP_FACTOR = 10


def execute_notebook(
    nb: dict,
    course_root: str | Path,
    cell_timeout: float = 120.0,
    startup_timeout: float = 180.0,
    backstop: float | None = None,
) -> ExecutedNotebook:
    """Run ``nb`` (modified in place) top to bottom in a confined kernel whose
    working folder is a fresh, empty one; errors do not stop the run, as in
    nbgrader. The caller removes ``result.folder`` when done.

    ``cell_timeout`` is charged time (see :mod:`dlcourse.sandbox.charged_time`:
    a busy machine does not use it up); a cell over it is stopped, the
    student's doing. A cell still running after ``backstop`` wall-clock
    seconds (default BACKSTOP_FACTOR x ``cell_timeout``) is stopped too, and
    the run's ``machine_problem`` says so: the machine's failure."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from traitlets.config import Config

    from dlcourse.sandbox.kernel import SandboxedKernelManager

    backstop = backstop or BACKSTOP_FACTOR * cell_timeout
    folder = Path(tempfile.mkdtemp(prefix="dlcourse-scratch-"))
    config = Config({"SandboxedKernelManager": {"course_root": str(Path(course_root).resolve())}})
    clock = CellClock(cell_timeout, backstop)
    client = None

    def started(cell, **_):
        clock.cell_started(client.km.provisioner.pid)

    def finished(cell, execute_reply, **_):
        verdict = clock.cell_finished()
        content = execute_reply.get("content", {})
        if verdict or content.get("ename") == "CellTimeoutError":
            # as nbgrader does: the timeout is the cell's error, in words; the
            # KeyboardInterrupt our interrupt caused is not the cell's fault
            cell.outputs = [o for o in cell.outputs if o.get("output_type") != "error"]
            cell.outputs.append(
                nbformat.v4.new_output(
                    "error", ename="CellTimeoutError", evalue=verdict or clock.too_busy
                )
            )

    client = NotebookClient(
        nb,
        config=config,
        kernel_name="python3",
        kernel_manager_class=SandboxedKernelManager,
        # the last resort, if an interrupt did not stop the cell
        timeout=int(backstop + 60),
        startup_timeout=int(startup_timeout),
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": clock.too_busy, "traceback": []},
        on_cell_start=started,
        on_cell_executed=finished,
        resources={"metadata": {"path": str(folder)}},
    )
    problem = None
    clock.start()
    try:
        client.execute()
    except CellTimeoutError:
        problem = clock.too_busy
    except DeadKernelError:
        problem = "the notebook's kernel died (it exited or ran out of memory)"
    except RuntimeError as exc:  # the kernel did not start
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"could not start a kernel to run the notebook: {exc}") from None
    finally:
        clock.stop()
    if clock.machine_failed:
        problem = clock.too_busy
    run = ExecutedNotebook(nb, _take_files(folder), problem)
    run.machine_problem = clock.too_busy if clock.machine_failed else None
    return run


class CellClock:
    """Watches the cell that runs: stops it (SIGINT to the kernel) once its
    charged time passes ``limit`` (the student's doing) or its wall time
    passes ``backstop`` (the machine's)."""

    POLL_SECONDS = 0.25

    def __init__(self, limit: float, backstop: float):
        import threading

        self.limit, self.backstop = limit, backstop
        self.too_slow = (
            f"the cell ran longer than {limit:.0f} s and was stopped "
            "(an endless loop, or much slower than needed)"
        )
        self.too_busy = (
            f"the grading machine was too busy to run the cell within {backstop:.0f} s; "
            "it could not be graded"
        )
        self.machine_failed = False
        self._lock = threading.Lock()
        self._watch = None  # (Stopwatch, launcher pid) of the running cell
        self._verdict: str | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def cell_started(self, launcher_pid: int | None) -> None:
        from dlcourse.sandbox.charged_time import Stopwatch

        with self._lock:
            self._verdict = None
            self._watch = None if launcher_pid is None else Stopwatch(launcher_pid)

    def cell_finished(self) -> str | None:
        """Why the cell was stopped (None: it was not)."""
        with self._lock:
            self._watch = None
            return self._verdict

    def _run(self) -> None:
        import signal

        while not self._done.wait(self.POLL_SECONDS):
            with self._lock:
                watch = self._watch
                if watch is None:
                    continue
                if watch.charged() >= self.limit:
                    self._verdict = self.too_slow
                elif watch.wall() >= self.backstop:
                    self._verdict, self.machine_failed = self.too_busy, True
                else:
                    continue
                self._watch = None
                try:
                    # the launcher forwards it to the kernel, as Jupyter's
                    # interrupt does
                    os.kill(watch.launcher_pid, signal.SIGINT)
                except OSError:
                    pass


def _take_files(scratch: Path) -> Path:
    """The regular files the run left in ``scratch``, in a fresh folder of
    the trusted side; ``scratch`` is removed."""
    from dlcourse.sandbox.harvest import harvest

    kept = Path(tempfile.mkdtemp(prefix="dlcourse-run-"))
    try:
        harvest(scratch, kept)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return kept
