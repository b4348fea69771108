"""The batch's gradebook on PostgreSQL (``dlcourse batch A --db-url ...`` or
``c.CourseDirectory.db_url`` in nbgrader_config.py), on a real server
(tests/postgres.py): the same scores, cell by cell, as on SQLite; two
workers writing at once lose nothing and duplicate nothing; the pre-flight
never writes to it; an interrupted batch resumes."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import nbformat
import pytest
from course import ROOT, release_notebook, scratch_course, source_notebook, submit_reference
from postgres import postgres  # noqa: F401 - the session's server, a fixture

from dlcourse.batch import PreflightError, StudentResult, run_batch
from dlcourse.batch.gradebook import course_db_url
from dlcourse.batch.state import BatchState
from dlcourse.filled_submission import filled_submission
from dlcourse.manifest import write_manifest

A = "01_gradients"  # the fastest assignment to grade
STUDENTS = ["s1_reference", "s2_sign_error", "s3_broken", "s4_broken"]


def _course(root: Path) -> Path:
    """A scratch course of A with four submissions: the reference, a
    catalogued mistake (0 in one cell, full marks in the others) and two
    files that are not notebooks (could not be graded; quick)."""
    graders = {p.name: p.read_text() for p in (ROOT / "graders" / A).glob("*.py")}
    scratch_course(root, A, graders)
    shutil.copytree(ROOT / "release" / A, root / "release" / A)
    write_manifest(root, A)  # not a git checkout: the batch checks the graders against it
    submit_reference(root, A, STUDENTS[0])
    for student in STUDENTS[1:]:
        (root / "submitted" / student / A).mkdir(parents=True)
    name = f"{A}.ipynb"
    mistake = (ROOT / "tests" / "mistakes" / A / "grad_j1_sign_error.py").read_text()
    nb = filled_submission(
        release_notebook(A), source_notebook(A), append={"grad_j1": mistake.split('"""', 2)[2]}
    )
    nbformat.write(nb, str(root / "submitted" / STUDENTS[1] / A / name))
    for student in STUDENTS[2:]:
        (root / "submitted" / student / A / name).write_text("{ not a notebook")
    return root


def _rows(db_url: str) -> list[tuple]:
    """Every (student, notebook, cell, score, cell type) row of A's grades in the
    gradebook, duplicates included, read with SQL rather than nbgrader's API
    (which would show one row where the table held two)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return sorted(
                conn.execute(
                    text(
                        "SELECT sa.student_id, nb.name, bc.name, "
                        "COALESCE(g.manual_score, g.auto_score), gc.cell_type "
                        "FROM grade g "
                        "JOIN submitted_notebook sn ON g.notebook_id = sn.id "
                        "JOIN notebook nb ON sn.notebook_id = nb.id "
                        "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
                        "JOIN assignment a ON sa.assignment_id = a.id "
                        "JOIN base_cell bc ON g.cell_id = bc.id "
                        "JOIN grade_cells gc ON gc.id = bc.id "
                        "WHERE a.name = :a"
                    ),
                    {"a": A},
                ).all()
            )
    finally:
        engine.dispose()


def _tables(db_url: str) -> list[str]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(db_url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _graded_cells() -> int:
    nb = nbformat.read(str(source_notebook(A)), as_version=4)
    return sum(1 for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))


class _CtrlC(io.StringIO):
    """A terminal where the instructor presses Ctrl-C as soon as the first
    submission's result is shown."""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise KeyboardInterrupt


@pytest.fixture
def graded_both_ways(postgres, tmp_path_factory):  # noqa: F811 - the imported fixture
    """The same submissions graded by two workers into SQLite, and into
    PostgreSQL (``--db-url``, while nbgrader_config.py names another
    database) by a batch interrupted after its first result (pre-flight
    included), then run again."""
    on_sqlite = _course(tmp_path_factory.mktemp("on-sqlite"))
    lite = run_batch(on_sqlite, A, workers=2, check_reference=False)
    on_postgres = _course(tmp_path_factory.mktemp("on-postgres"))
    url = postgres.new_database("gradebook")
    configured = postgres.new_database("configured")
    with (on_postgres / "nbgrader_config.py").open("a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {configured!r}\n")
    write_manifest(on_postgres, A)  # the instructor reviewed the configuration
    with pytest.raises(KeyboardInterrupt):
        run_batch(on_postgres, A, workers=2, progress_stream=_CtrlC(), db_url=url)
    interrupted = _rows(url)
    pg = run_batch(on_postgres, A, workers=2, check_reference=False, db_url=url)
    return on_sqlite, on_postgres, url, lite, pg, interrupted, configured


# what a cell's grading must agree on (the failed checks' messages show
# inputs drawn at grading time, which differ from one grading to the next)
SAME = ("score", "max_score", "status", "reason")


def _check_same_scores_cell_by_cell_as_sqlite(graded_both_ways):
    on_sqlite, on_postgres, url, lite, pg, _, configured = graded_both_ways
    assert pg["gradebook"].startswith("postgresql") and "gradebook" in pg["gradebook"]
    assert 0 < pg["students"][STUDENTS[1]]["total"] < pg["students"][STUDENTS[0]]["total"]
    assert pg["ungradable"] == lite["ungradable"] == STUDENTS[2:]
    for student in STUDENTS:
        ours, theirs = pg["students"][student], lite["students"][student]
        assert ours["status"] == theirs["status"] and ours["total"] == theirs["total"]
        assert {c: [v[k] for k in SAME] for c, v in ours["cells"].items()} == {
            c: [v[k] for k in SAME] for c, v in theirs["cells"].items()
        }, student
    # the grades are in PostgreSQL, and the same as in SQLite's file
    assert _rows(url) == _rows("sqlite:///" + str(on_sqlite / "gradebook.db"))
    # nothing went to the database the configuration names, nor to SQLite
    assert _tables(configured) == []
    assert not (on_postgres / "gradebook.db").exists()


def _check_two_workers_writing_at_once_lose_and_duplicate_nothing(graded_both_ways):
    _, _, url, _, _, _, _ = graded_both_ways
    rows = _rows(url)
    graded = [r for r in rows if r[0] in STUDENTS[:2]]
    # one row per student and graded cell, each autograded one with a score
    assert {r[0] for r in graded} == set(STUDENTS[:2])
    assert len(graded) == len({r[:3] for r in graded}) == 2 * _graded_cells()
    assert all(r[3] is not None for r in graded if r[4] == "code")


def _check_interrupted_batch_resumes_and_the_preflight_stays_out(graded_both_ways):
    _, _, _, _, pg, interrupted, _ = graded_both_ways
    # Ctrl-C after the first result (s1 or s2): the two workers' gradings
    # then running (the other one, s3) were finished, s4 was not started;
    # nothing of the pre-flight
    assert {r[0] for r in interrupted} <= set(STUDENTS[:3])
    assert set(STUDENTS[:2]) <= {r[0] for r in interrupted}
    # again: the result recorded before Ctrl-C stands, the rest is graded
    assert sum(pg["students"][s]["graded_now"] for s in STUDENTS[:2]) == 1
    assert all(pg["students"][s]["graded_now"] for s in STUDENTS[2:])


def _check_the_instructors_commands_read_the_postgres_gradebook(
    graded_both_ways, monkeypatch, capsys
):
    """``dlcourse scores``, ``export`` and ``summary`` with ``--db-url`` read
    PostgreSQL and print what they print from SQLite; without it they read
    the database nbgrader_config.py names (here one without the assignment)."""
    import csv

    from dlcourse.cli import main

    on_sqlite, on_postgres, url, _, _, _, _ = graded_both_ways

    def run(root: Path, *args: str) -> str:
        monkeypatch.chdir(root)
        main(list(args))
        return capsys.readouterr().out

    table = run(on_postgres, "scores", A, "--db-url", url)
    assert table == run(on_sqlite, "scores", A)
    assert STUDENTS[0] in table and STUDENTS[1] in table
    assert run(on_postgres, "scores", A) == f"{A}: not in the gradebook (run release first)\n"

    def cells(path: Path) -> list[dict]:
        with path.open(newline="") as fh:
            return [{k: r[k] for k in ("student", "cell", *SAME)} for r in csv.DictReader(fh)]

    ours = Path(run(on_postgres, "export", A, "--db-url", url).strip())
    theirs = Path(run(on_sqlite, "export", A).strip())
    assert ours.is_file() and len(cells(ours)) == len(STUDENTS) * _graded_cells()
    assert cells(ours) == cells(theirs)

    page = Path(run(on_postgres, "summary", "--db-url", url).strip())
    assert page.is_file() and A in page.read_text()
    assert not (on_postgres / "gradebook.db").exists()


def test_postgres_gradebook(graded_both_ways, monkeypatch, capsys):
    """One test, so that one xdist worker grades the batches (a module
    fixture is set up again on every worker that runs a test using it)."""
    _check_same_scores_cell_by_cell_as_sqlite(graded_both_ways)
    _check_two_workers_writing_at_once_lose_and_duplicate_nothing(graded_both_ways)
    _check_interrupted_batch_resumes_and_the_preflight_stays_out(graded_both_ways)
    _check_the_instructors_commands_read_the_postgres_gradebook(
        graded_both_ways, monkeypatch, capsys
    )


def test_the_gradebook_is_the_option_else_the_configuration_else_sqlite(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    sqlite = "sqlite:///" + str(tmp_path / "gradebook.db")
    assert course_db_url(tmp_path) == sqlite
    given = "postgresql:///other?host=/run/postgresql"
    assert course_db_url(tmp_path, given) == given
    with (tmp_path / "nbgrader_config.py").open("a") as config:
        config.write("\nc.CourseDirectory.db_url = 'postgresql:///gradebook'\n")
    assert course_db_url(tmp_path) == "postgresql:///gradebook"
    assert course_db_url(tmp_path, given) == given
    (tmp_path / "nbgrader_config.py").unlink()
    assert course_db_url(tmp_path) == sqlite


def test_a_batch_into_another_gradebook_grades_again(tmp_path):
    path = tmp_path / "batch-state.json"
    result = StudentResult("s1", "graded")
    BatchState(path, "sqlite:////course/gradebook.db").record(result, "files")
    assert BatchState(path, "sqlite:////course/gradebook.db").done("s1", "files")
    assert not BatchState(path, "postgresql:///gradebook").done("s1", "files")


def test_a_configuration_that_fails_stops_the_batch_with_a_sentence(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nraise OSError('no disk')\n")
    with pytest.raises(PreflightError, match=r"nbgrader_config.py could not be read .*no disk"):
        course_db_url(tmp_path)
    assert course_db_url(tmp_path, "postgresql:///given") == "postgresql:///given"
