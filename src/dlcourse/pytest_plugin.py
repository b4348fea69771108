"""The pytest plugin behind the hidden graders.

    pytest graders/02_layers                        # grades the reference solution
    pytest graders/02_layers --submission nb.ipynb  # grades a student's notebook

A grader test is tied to one graded cell and says how much it weighs:

    @pytest.mark.graded("test_activations", weight=2)
    def test_relu_at_zero(student):
        relu_grad = student.relu_grad          # runs in the sandbox
        ...

The ``student`` fixture hands out the student's functions and classes for
that cell (see :mod:`dlcourse.program` for why each cell has its own
namespace); every call goes through the sandbox channel and returns plain
data. A cell's score is its points times the weighted fraction of its tests
that pass; ``--grade-report PATH`` writes the per-test and per-cell outcome
as JSON for the nbgrader step.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sys
from pathlib import Path

import pytest

from dlcourse.checks import GradingFailure

MARKER = "graded"
# how much of a grader's own traceback the report keeps for the instructor
MAX_TRACEBACK_CHARS = 6000


def pytest_addoption(parser):
    group = parser.getgroup("dlcourse", "hidden graders of the deep-learning course")
    group.addoption(
        "--submission",
        default=None,
        help="notebook to grade (default: the reference solution in source/)",
    )
    group.addoption(
        "--grade-report", default=None, help="write per-test and per-cell results as JSON here"
    )
    group.addoption(
        "--grading-seed",
        type=int,
        default=None,
        help="seed for the inputs drawn at grading time (default: a fresh one each run)",
    )
    group.addoption(
        "--grading-seeds",
        default=None,
        help="comma-separated seeds: every hidden check runs once per seed in this one "
        "session and the report has each seed's cell scores under 'rounds' (the "
        "course's tests grade every catalogue entry this way)",
    )
    group.addoption(
        "--execution-cache",
        default=os.environ.get("DLCOURSE_EXECUTION_CACHE"),
        help="folder keeping whole-notebook runs by the code they ran, so gradings of "
        "identical isolated notebooks run it once (default: $DLCOURSE_EXECUTION_CACHE; none)",
    )
    group.addoption(
        "--program-time-limit",
        type=float,
        default=float(os.environ.get("DLCOURSE_PROGRAM_TIME_LIMIT", 120)),
        help="seconds of charged time a graded cell's sandbox has to run the notebook's code "
        "before its checks (default: $DLCOURSE_PROGRAM_TIME_LIMIT, else 120)",
    )
    group.addoption(
        "--real-run-files",
        default=None,
        help="the submission notebook is nbgrader's executed run of it and this folder holds "
        "the files that run wrote (none submitted beside it): checks of what the whole "
        "notebook produced judge that run instead of running an isolated notebook; the "
        "report's executed_cells names the cells so judged",
    )
    group.addoption(
        "--only-cells",
        default=None,
        help="comma-separated graded cells: run only their checks",
    )
    group.addoption(
        "--course-root",
        default=None,
        help="course folder (default: the folder that holds graders/)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"{MARKER}(grade_id, weight=1.0): ties a hidden check to a graded cell of the notebook",
    )
    # Python's own traceback format unless --tb asks for another: pytest's
    # styles walk the syntax tree of each frame's whole module, for every
    # frame (pytest-dev/pytest#1167): a grader error about 1000 frames deep (a
    # RecursionError) took about 10 s to report per check, and a grading whose
    # checks all raised it ran past its time limit
    if config.option.tbstyle == "auto":
        config.option.tbstyle = "native"
    seed = config.getoption("--grading-seed", None)
    config._dlcourse = GradingSession(config, seed if seed is not None else secrets.randbits(32))
    config._dlcourse.round_seeds = _round_seeds(config)


# the parameter and test-id part that runs a check under one of several seeds
ROUND = "grading_round"
ROUND_ID = re.compile(r"grading-seed-\d+")


def _round_seeds(config) -> list[int]:
    text = config.getoption("--grading-seeds", None)
    if not text:
        return []
    try:
        seeds = [int(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        raise pytest.UsageError(f"--grading-seeds takes integers, not {text!r}") from None
    if len(set(seeds)) != len(seeds):
        raise pytest.UsageError(f"--grading-seeds has a seed twice: {text!r}")
    return seeds


def pytest_generate_tests(metafunc):
    seeds = getattr(getattr(metafunc.config, "_dlcourse", None), "round_seeds", None)
    if seeds and metafunc.definition.get_closest_marker(MARKER) is not None:
        metafunc.fixturenames.append(ROUND)
        metafunc.parametrize(ROUND, seeds, ids=[f"grading-seed-{s}" for s in seeds])


def _round_of(item) -> int | None:
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get(ROUND)


def _without_round(name: str) -> str:
    """A test's name (``test_x[a-grading-seed-3]``) or parameter id
    (``a-grading-seed-3``) as a run with one --grading-seed has it."""
    base, bracket, rest = name.partition("[")
    if bracket:
        inner = _without_round(rest[:-1]) if rest.endswith("]") else rest
        return f"{base}[{inner}]" if inner else base
    return ROUND_ID.sub("", name).strip("-").replace("--", "-")


def _assignment_of(path: Path) -> tuple[Path, str] | None:
    """(course root, assignment) for a file under ``<root>/graders/<assignment>/``."""
    for parent in path.parents:
        if parent.parent.name == "graders":
            return parent.parent.parent, parent.name
    return None


def _course_of(request) -> tuple[Path, str]:
    """(course root, assignment) of the test asking."""
    located = _assignment_of(Path(request.node.path))
    if located is None:
        raise pytest.UsageError(f"{request.node.nodeid} is not under graders/<assignment>/")
    root, assignment = located
    override = request.config.getoption("--course-root")
    return (Path(override) if override else root), assignment


class StudentCode:
    """The student's names for one graded cell: ``student.relu`` is the
    student's ``relu`` (a Remote, or plain data)."""

    def __init__(self, box, answers: list[str]):
        self._box = box
        self._answers = answers

    @property
    def sandbox(self):
        return self._box

    def __getattr__(self, name: str):
        from dlcourse.sandbox import StudentError

        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._box.get(name)
        except StudentError as exc:
            if "NameError" in str(exc):
                cells = ", ".join(f"'{a}'" for a in self._answers) or "the answer cell"
                raise StudentError(
                    f"{name} is not defined: the answer cell {cells} must define it "
                    "(was the cell deleted, or the name changed?)",
                    "exception",
                ) from None
            raise


class GradingSession:
    """Per pytest run: the notebooks, one sandbox per graded cell, results."""

    def __init__(self, config, seed: int):
        self.config = config
        self.seed = seed
        self.results: list[dict] = []
        self.boxes: dict[tuple[str, str], object] = {}
        self.failures: dict[tuple[str, str], str] = {}
        self.notebooks: dict[str, object] = {}
        self.student_error: str | None = None
        self.student_nb = None
        self.student_loaded = False
        self.references: dict[str, object] = {}
        self.course_root: Path | None = None
        self.execution_cells: set[str] = set()  # graded cells whose tests need a run
        self.round_seeds: list[int] = []  # --grading-seeds
        self.execution = None
        self.execution_error: Exception | None = None
        self.execution_scratch: Path | None = None
        # grader files pytest could not collect: a broken course, never a 0
        self.collection_errors: list[str] = []
        self._zygote = None

    def executed(self, root: Path, assignment: str):
        """The submission (or the reference) run top to bottom, isolated so
        that only the answer cells of the graded cells that asked for it hold
        the student's own code (see :mod:`dlcourse.execution`). Run once per
        grading, on first use. Raises SubmissionError when the notebook is
        unreadable."""
        if self.execution_error is not None:
            raise self.execution_error
        if self.execution is None:
            try:
                self.execution = self._execute(root, assignment)
            except Exception as exc:  # every later test gets the same sentence
                self.execution_error = exc
                raise
        return self.execution

    def _execute(self, root: Path, assignment: str):
        from dlcourse.execution import (
            ExecutedNotebook,
            execute_notebook,
            execution_key,
            execution_lock,
            isolated_notebook,
            load_execution,
            store_execution,
        )
        from dlcourse.submission import read_notebook_json

        real_files = self.config.getoption("--real-run-files")
        if real_files:
            # nbgrader's own run of the submission: its notebook (outputs
            # included) is the submission, its files are what it wrote
            self.student()
            notebook = read_notebook_json(self.config.getoption("--submission"))
            return ExecutedNotebook(notebook=notebook, folder=Path(real_files))
        reference = self.reference(root, assignment)
        own = {
            a
            for g in self.execution_cells
            if g in reference.graded
            for a in reference.graded[g].answers
        }
        student = None
        if self.student() is not None:
            student = read_notebook_json(self.config.getoption("--submission"))
        nb = isolated_notebook(read_notebook_json(reference.path), student, own)
        cache = self.config.getoption("--execution-cache")
        if not cache:
            execution = execute_notebook(nb, root)
        else:
            key = execution_key(nb)
            with execution_lock(Path(cache), key):
                execution = load_execution(Path(cache), key)
                if execution is None:
                    execution = execute_notebook(nb, root)
                    if not execution.machine_problem:
                        store_execution(execution, Path(cache), key)
        self.execution_scratch = execution.folder
        return execution

    # notebooks ---------------------------------------------------------
    def reference(self, root: Path, assignment: str):
        from dlcourse.submission import load_notebook

        if assignment not in self.references:
            self.references[assignment] = load_notebook(
                root / "source" / assignment / f"{assignment}.ipynb"
            )
        return self.references[assignment]

    def student(self):
        """The submitted notebook (None: grade the reference). Raises
        SubmissionError when it cannot be read."""
        from dlcourse.submission import SubmissionError, load_notebook

        if not self.student_loaded:
            self.student_loaded = True
            path = self.config.getoption("--submission")
            if path:
                try:
                    self.student_nb = load_notebook(path)
                except SubmissionError as exc:
                    self.student_error = str(exc)
        if self.student_error:
            raise SubmissionError(self.student_error)
        return self.student_nb

    # sandboxes ---------------------------------------------------------
    def hidden_paths(self, root: Path) -> list[str]:
        from dlcourse.sandbox.hiding import paths_to_hide

        return paths_to_hide(root)

    def sandbox_for(
        self,
        root: Path,
        assignment: str,
        grade_id: str,
        limits: dict | None = None,
        reference_only: bool = False,
    ):
        """The sandbox of ``grade_id``: the notebook's code up to that cell,
        the submission's in its answer cells; with ``reference_only``, the
        reference solution's alone (no code of the submission runs in it)."""
        from dlcourse.program import program_for
        from dlcourse.sandbox import Sandbox, StudentError
        from dlcourse.sandbox.hiding import module_paths

        key = (assignment, grade_id, "reference") if reference_only else (assignment, grade_id)
        box = self.boxes.get(key)
        if box is not None and box.alive:
            return box
        if key in self.failures:
            raise StudentError(self.failures[key], "exception")
        reference = self.reference(root, assignment)
        student = None if reference_only else self.student()
        if grade_id not in reference.graded:
            raise pytest.UsageError(f"graded cell '{grade_id}' is not in the {assignment} notebook")
        limits = dict(limits or {})
        call_timeout = float(limits.pop("call_timeout", 20.0))
        hidden_modules = tuple(limits.pop("hidden_modules", ()))
        box = Sandbox(
            hidden_paths=self.hidden_paths(root) + module_paths(hidden_modules),
            limits=limits,
            call_timeout=call_timeout,
            zygote=self.zygote(reference, hidden_modules),
        )
        try:
            box.run(
                program_for(grade_id, reference, student),
                timeout=self.config.getoption("--program-time-limit"),
            )
        except StudentError as exc:
            box.close()
            if reference_only:
                # the course's own code: a grader error, for the instructor
                raise RuntimeError(f"the reference solution could not be run: {exc}") from None
            self.failures[key] = f"your code could not be run: {exc}"
            raise StudentError(self.failures[key], exc.kind) from None
        self.boxes[key] = box
        return box

    def zygote(self, reference, hidden_modules=()):
        """This grading's sandbox zygote (:mod:`dlcourse.sandbox.zygote`),
        started on first use with the slow imports of the notebook preloaded;
        None when ``DLCOURSE_SANDBOX_ZYGOTE=0``: every sandbox then starts
        anew. None too when it preloaded one of ``hidden_modules``, which a
        sandbox forked from it would hold in memory however well its files
        are hidden."""
        from dlcourse.sandbox.zygote import PRELOADABLE, imported_modules

        if os.environ.get("DLCOURSE_SANDBOX_ZYGOTE", "1") == "0":
            return None
        # (the notebook's imports are read only where a module is hidden: this
        # runs for every sandbox)
        hidden = PRELOADABLE & set(hidden_modules)
        if hidden and hidden & imported_modules(reference):
            return None
        if self._zygote is None or not self._zygote.alive:
            from dlcourse.graders_zygote import take_early_zygote
            from dlcourse.sandbox.session import worker_environment
            from dlcourse.sandbox.zygote import Zygote
            from dlcourse.sandbox.zygote_template import fork_zygote

            env, preload = worker_environment(), imported_modules(reference)
            # the one this process's spare started while nbgrader ran the
            # notebook, when it is the one needed here; else one forked from
            # the template of the server this process was forked from
            self._zygote = take_early_zygote(env, preload) or fork_zygote(env, preload)
            if self._zygote is None:
                self._zygote = Zygote(env, preload=preload)
                self._zygote.start()
        return self._zygote

    def close(self) -> None:
        import shutil

        for box in self.boxes.values():
            box.close()
        self.boxes.clear()
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None
        if self.execution_scratch is not None:
            shutil.rmtree(self.execution_scratch, ignore_errors=True)
            self.execution_scratch = None


@pytest.fixture
def grading_seed(request) -> int:
    """The seed of this run's hidden inputs, combined with the test's name so
    tests do not share inputs."""
    session = request.config._dlcourse
    seed = _round_of(request.node)
    seed = session.seed if seed is None else seed
    # the same inputs as a run with --grading-seed <seed>
    name = _without_round(request.node.name)
    return (seed * 1_000_003 + sum(map(ord, name))) % 2**32


@pytest.fixture
def rng(grading_seed):
    import numpy as np

    return np.random.default_rng(grading_seed)


@pytest.fixture
def sandbox_limits() -> dict:
    """Limits of the sandboxes that run student code; override this fixture in
    an assignment's conftest.py to change them. Keys: cpu_seconds,
    memory_bytes, processes, file_bytes, open_files (see
    dlcourse.sandbox.confine.DEFAULT_LIMITS), call_timeout (wall-clock
    seconds for one call) and hidden_modules (top-level modules whose files
    the sandbox cannot see, so that no code in it can import them: torch
    where an assignment forbids it)."""
    return {}


def _code_of_the_cell(request, limits: dict, fixture: str, reference_only: bool) -> StudentCode:
    """The names of the sandbox of the test's graded cell (see sandbox_for)."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        raise pytest.UsageError(
            f"{request.node.nodeid} uses `{fixture}` without @pytest.mark.{MARKER}"
        )
    root, assignment = _course_of(request)
    session = request.config._dlcourse
    grade_id = marker.args[0]
    box = session.sandbox_for(root, assignment, grade_id, limits, reference_only=reference_only)
    answers = session.reference(root, assignment).graded[grade_id].answers
    return StudentCode(box, answers)


@pytest.fixture
def student(request, sandbox_limits) -> StudentCode:
    """The student's functions and classes for the test's graded cell."""
    return _code_of_the_cell(request, sandbox_limits, "student", reference_only=False)


@pytest.fixture
def reference_code(request, sandbox_limits) -> StudentCode:
    """The reference solution's functions and classes for the test's graded
    cell, in a sandbox of their own where no code of the submission runs:
    for expected values a grader computes with the notebook's own code. (In
    the ``student`` sandbox the student's answer cell runs after the earlier
    cells' reference code and can replace any of it.)"""
    return _code_of_the_cell(request, sandbox_limits, "reference_code", reference_only=True)


@pytest.fixture
def once_per_course(request):
    """``once_per_course(parts, compute)``: ``compute()``'s result (JSON
    data), computed once per machine and code version and kept between
    gradings (:mod:`dlcourse.reference_cache`), under a key made of
    ``parts`` (a dict with ``what``: the computation, in words; and whatever
    else it depends on), the assignment and its reference notebook. For
    values no submission can influence: the reference's own runs."""
    from dlcourse.reference_cache import cached_json

    root, assignment = _course_of(request)
    # the assignment's graders folder (its conftest.py too), wherever the test is in it
    test = Path(request.node.path).resolve()
    graders = next((p for p in test.parents if p.name == assignment), test.parent)
    reference = root / "source" / assignment / f"{assignment}.ipynb"

    def get(parts: dict, compute):
        try:
            notebook = hashlib.sha256(reference.read_bytes()).hexdigest()
        except OSError:
            return compute()  # the reference's own error, raised where it is used
        return cached_json(
            {**parts, "assignment": assignment, "reference": notebook}, compute, graders
        )

    return get


@pytest.fixture
def executed_notebook(request):
    """The graded notebook after it ran top to bottom
    (:class:`dlcourse.execution.ExecutedNotebook`), for checks of what the
    whole notebook produced: files it saved, figures it drew. The student's
    own code is in the answer cells of the graded cells whose tests use this
    fixture, the reference elsewhere. Executed once per grading, and only if
    a test asks for it."""
    from dlcourse.sandbox import StudentError

    root, assignment = _course_of(request)
    execution = request.config._dlcourse.executed(root, assignment)
    if execution.machine_problem:
        # the machine's failure, not the student's: "could not be graded"
        raise StudentError(execution.machine_problem, "infrastructure")
    return execution


def _message(excinfo) -> tuple[str, str]:
    """(outcome kind, one student-facing sentence) for a failed test."""
    from dlcourse.sandbox import StudentError
    from dlcourse.submission import SubmissionError

    exc = excinfo.value
    if isinstance(exc, GradingFailure):
        return "failed", str(exc).split("\nassert ")[0].strip()
    if isinstance(exc, StudentError):
        # the grading machine's fault, not the student's: "could not be graded"
        return ("error" if exc.kind == "infrastructure" else "failed"), str(exc)
    if isinstance(exc, SubmissionError):
        return "ungradable", str(exc)
    if isinstance(exc, AssertionError):
        return "failed", str(exc).split("\n")[0] or "a hidden check failed"
    return "error", f"grader error ({type(exc).__name__}: {exc})"


def pytest_collection_modifyitems(session, config, items):
    state = getattr(config, "_dlcourse", None)
    if state is None:
        return
    only = config.getoption("--only-cells")
    if only:
        wanted = set(only.split(","))

        def chosen(item):
            marker = item.get_closest_marker(MARKER)
            return marker is not None and marker.args[0] in wanted

        config.hook.pytest_deselected(items=[i for i in items if not chosen(i)])
        items[:] = [i for i in items if chosen(i)]
    for item in items:
        marker = item.get_closest_marker(MARKER)
        if marker is not None and "executed_notebook" in getattr(item, "fixturenames", ()):
            state.execution_cells.add(marker.args[0])


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    state = getattr(collector.config, "_dlcourse", None)
    if state is not None and report.failed:
        lines = str(report.longrepr).strip().splitlines() or ["collection failed"]
        last = re.sub(r"^E\s+", "", lines[-1]).strip()[:300]  # pytest's "E   " marker
        state.collection_errors.append(f"{report.nodeid or collector.nodeid}: {last}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return
    if report.when == "call" or (report.when == "setup" and report.failed):
        kind, message = ("passed", "") if report.passed else _message(call.excinfo)
        if report.skipped:
            kind, message = "skipped", ""
        doc = (item.obj.__doc__ or "").strip().splitlines() if hasattr(item, "obj") else []
        check = doc[0] if doc else item.name
        callspec = getattr(item, "callspec", None)
        if callspec is not None and _without_round(callspec.id):
            # the same check on several inputs: say which one
            check += f" [{_without_round(callspec.id)}]"
        result = {
            "nodeid": item.nodeid,
            "name": item.name,
            "check": check,
            "grade_id": marker.args[0],
            "weight": float(marker.kwargs.get("weight", 1.0)),
            "outcome": kind,
            "message": message,
        }
        if _round_of(item) is not None:
            result["seed"] = _round_of(item)
        if kind == "error":
            # for the instructor (the saved report and the graders' log),
            # never shown to the student
            result["traceback"] = str(report.longrepr)[-MAX_TRACEBACK_CHARS:]
        item.config._dlcourse.results.append(result)
        if not report.passed and message and kind != "error":
            report.longrepr = f"{item.name}: {message}"


def cell_scores(results: list[dict], graded: dict) -> dict:
    """Per graded cell: points, weighted fraction passed, score and the
    failed checks. ``graded``: grade_id -> points."""
    cells = {}
    for grade_id, points in graded.items():
        mine = [r for r in results if r["grade_id"] == grade_id and r["outcome"] != "skipped"]
        errors = [r for r in mine if r["outcome"] == "error"]
        # a check the graders could not run (the course's failure) counts
        # neither for nor against the student: the score comes from the
        # checks that ran, and the cell needs the instructor's review
        judged = [r for r in mine if r["outcome"] != "error"]
        total = sum(r["weight"] for r in judged)
        passed = sum(r["weight"] for r in judged if r["outcome"] == "passed")
        if total:
            fraction = passed / total
        else:
            fraction = 0.0 if errors else None
        cells[grade_id] = {
            "points": points,
            "fraction": fraction,
            "score": None if fraction is None else round(points * fraction, 4),
            "checks": mine,
            "grader_errors": errors,
            "needs_review": bool(errors),
        }
    return cells


def pytest_sessionfinish(session, exitstatus):
    state = getattr(session.config, "_dlcourse", None)
    if state is None:
        return
    state.close()
    path = session.config.getoption("--grade-report")
    if not path:
        return
    graded = {}
    for _assignment, nb in state.references.items():
        graded.update({gid: cell.points for gid, cell in nb.graded.items()})
    payload = {
        "seed": state.seed,
        "submission": session.config.getoption("--submission"),
        "submission_error": state.student_error,
        "exitstatus": int(exitstatus),
        "collection_errors": state.collection_errors,
        "tests": state.results,
        "cells": cell_scores(state.results, graded),
        "rounds": {
            str(seed): cell_scores([r for r in state.results if r.get("seed") == seed], graded)
            for seed in state.round_seeds
        },
        # graded cells whose checks judged a whole run of the notebook, and
        # which run: nbgrader's ("real") or the graders' isolated one
        "executed_cells": sorted(state.execution_cells),
        "run": "real" if session.config.getoption("--real-run-files") else "isolated",
        "python": sys.version.split()[0],
        "pid": os.getpid(),
    }
    Path(path).write_text(json.dumps(payload, indent=1))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = getattr(config, "_dlcourse", None)
    if state is None or not state.results:
        return
    graded = {}
    for nb in state.references.values():
        graded.update({gid: cell.points for gid, cell in nb.graded.items()})
    cells = cell_scores(state.results, graded)
    terminalreporter.section("graded cells")
    terminalreporter.write_line(f"grading seed {state.seed}")
    total = earned = 0.0
    for grade_id, cell in cells.items():
        if cell["score"] is None:
            continue
        total += cell["points"]
        earned += cell["score"]
        terminalreporter.write_line(f"{grade_id:32s} {cell['score']:6.2f} / {cell['points']:g}")
    terminalreporter.write_line(f"{'total':32s} {earned:6.2f} / {total:g}")
