"""The batch's pre-flight: before any submission is graded, check that this
course grades the assignment as released (see :func:`preflight`).

It grades in a scratch copy of the course, always into a SQLite gradebook of
its own there, whatever database the course's gradebook is: the reference
and the blank release never reach the real gradebook.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dlcourse.batch.commands import ForkServers, nbgrader_env, run_nbgrader
from dlcourse.batch.gradebook import db_url_option, gradebook_busy, sqlite_url
from dlcourse.batch.grading import reason_from_log
from dlcourse.nbgrader_ext.report import format_score


class PreflightError(RuntimeError):
    """The grading environment cannot grade the reference correctly."""


REFERENCE_STUDENT = "preflight"
BLANK_STUDENT = "preflight-blank"


def preflight(
    root: Path, assignment: str, check_files: bool = True, servers: ForkServers | None = None
) -> float:
    """Check that this course grades ``assignment`` as released. Returns the
    seconds it took; raises PreflightError with what is wrong. ``servers``:
    the batch's nbgrader fork servers, which its commands then run from (and
    leave warm for the batch).

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
        # the server for the second of the two gradings below, started
        # while generate_assignment runs
        ahead = servers.start_one() if servers is not None else None
        code, out = run_nbgrader(
            scratch,
            ["generate_assignment", assignment, "--force", db_url_option(sqlite_url(scratch))],
            servers=servers,
        )
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
        if ahead is not None:
            ahead.join(timeout=180)  # ready (or failed) before they start
        # both at once, as the batch grades (a locked gradebook is retried)
        with ThreadPoolExecutor(max_workers=2) as pool:
            (ref_code, ref_out), (blank_code, blank_out) = pool.map(
                lambda student: _autograde_retrying(scratch, assignment, student, servers),
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


def _autograde_retrying(
    root: Path, assignment: str, student: str, servers: ForkServers | None
) -> tuple[int, str]:
    args = ["autograde", assignment, "--student", student, "--force"]
    args.append(db_url_option(sqlite_url(root)))
    for _attempt in range(3):
        code, out = run_nbgrader(root, args, servers=servers)
        if not gradebook_busy(out):
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
    """The autograded cells where ``student`` earned anything, in words."""
    return _code_grades(root, assignment, student, lambda grade: grade.score != 0)


def _not_full_marks(root: Path, assignment: str, student: str) -> list[str]:
    """The autograded cells where ``student`` lost anything, in words."""
    return _code_grades(root, assignment, student, lambda grade: grade.score != grade.max_score)


def _code_grades(root: Path, assignment: str, student: str, chosen) -> list[str]:
    """ "cell: score of points" for ``student``'s code cells where
    ``chosen(grade)``; one sentence when nothing was recorded."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(sqlite_url(root)) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return ["no grades were recorded"]
        return [
            f"{grade.name}: {format_score(grade.score)} of {format_score(grade.max_score)}"
            for nb in sub.notebooks
            for grade in nb.grades
            if grade.cell_type == "code" and chosen(grade)
        ]


def _autograded_cells(root: Path, assignment: str) -> list[str]:
    """grade_ids of the assignment's autograded (code) cells, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(sqlite_url(root)) as gb:
        return [
            cell.name
            for nb in gb.find_assignment(assignment).notebooks
            if nb.name == assignment  # the notebook the hidden graders grade
            for cell in nb.grade_cells
            if cell.cell_type == "code"
        ]


def _environment_problems(root: Path, assignment: str) -> list[str]:
    problems = []
    if shutil.which("alembic", path=nbgrader_env()["PATH"]) is None:
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
            # the installed distribution's version, read from its metadata:
            # importing torch for it cost the batch 2.3 s (a broken install
            # still fails the reference's grading below)
            version = importlib.metadata.version(module)
        except importlib.metadata.PackageNotFoundError:
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
