"""Where the batch's grades are recorded: nbgrader's gradebook, SQLite in the
course folder (``gradebook.db``) unless the instructor names another database
(``dlcourse batch A --db-url postgresql://...``, or
``c.CourseDirectory.db_url`` in nbgrader_config.py).

Every nbgrader command the batch runs is given the URL explicitly
(``--CourseDirectory.db_url=...``, which wins over the configuration file),
so the coordinator, its workers' autograde commands and the reports read
and write the same database. Each autograde command writes only its own
submission's rows (found or created, scores overwritten), so any number of
them can write at once; a write that met a busy database (SQLite's lock, a
PostgreSQL deadlock or a full connection table) is run again.

A PostgreSQL URL may carry a password; it is handed to nbgrader on its
command line, which other users of the machine can read in the process
table. Prefer a URL without one (a password file, ``~/.pgpass``, or peer
authentication over the server's unix socket:
``postgresql:///gradebook?host=/var/run/postgresql``).
"""

from __future__ import annotations

import re
from pathlib import Path

# what a busy gradebook writes in nbgrader's log: running the command again
# is the cure
BUSY = re.compile(
    r"database is locked"  # SQLite: another writer held the lock too long
    r"|deadlock detected|could not serialize access"  # PostgreSQL: a transaction lost
    r"|too many clients already|remaining connection slots are reserved"
)


def sqlite_url(root: Path) -> str:
    return "sqlite:///" + str(Path(root) / "gradebook.db")


def configured_db_url(root: Path) -> str | None:
    """``c.CourseDirectory.db_url`` of the course's nbgrader_config.py (None
    when it sets none or there is none). The file is the instructor's,
    checked by the pre-flight before this runs it, as nbgrader does; one
    that fails raises PreflightError."""
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    try:
        config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    except ConfigFileNotFound:
        return None
    except Exception as exc:  # noqa: BLE001 - whatever the file raised
        from dlcourse.batch.preflight import PreflightError

        # grading into a gradebook other than the one the file names would
        # scatter the grades: stop, and say why
        raise PreflightError(
            f"nbgrader_config.py could not be read to find the gradebook "
            f"({type(exc).__name__}: {str(exc)[:300]}); fix it or name the gradebook "
            "with --db-url"
        ) from None
    if "CourseDirectory" in config and "db_url" in config.CourseDirectory:
        return str(config.CourseDirectory.db_url)
    return None


def course_db_url(root: Path, db_url: str | None = None) -> str:
    """The gradebook of a batch: ``db_url`` if given, else the one the
    course's nbgrader_config.py names, else ``gradebook.db`` in the course
    folder."""
    return db_url or configured_db_url(root) or sqlite_url(root)


def db_url_option(db_url: str) -> str:
    """The nbgrader option that points a command at ``db_url``."""
    return f"--CourseDirectory.db_url={db_url}"


def gradebook_busy(output: str) -> bool:
    """Whether an nbgrader command failed (or may have) on a busy gradebook."""
    return BUSY.search(output) is not None


def describe(db_url: str) -> str:
    """The database of ``db_url`` without its password, for reports."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy rejects is shown as its scheme
        return db_url.split(":", 1)[0]


def ensure_in_gradebook(root: Path, assignment: str, db_url: str, servers=None) -> None:
    """Create the gradebook (its tables, the course) and the assignment's
    entry before any worker writes: nbgrader creates both on first use, and
    two commands creating them at once would collide. ``servers``: the
    batch's nbgrader fork servers (:class:`dlcourse.batch.commands.ForkServers`)."""
    from nbgrader.api import Gradebook, MissingEntry

    from dlcourse.alembic_head import install
    from dlcourse.batch.commands import run_nbgrader

    install()  # a new gradebook here, without starting the alembic command

    with Gradebook(db_url) as gb:
        try:
            gb.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    code, out = run_nbgrader(
        root,
        ["generate_assignment", assignment, "--force", db_url_option(db_url)],
        servers=servers,
    )
    if code:
        from dlcourse.batch.grading import reason_from_log
        from dlcourse.batch.preflight import PreflightError

        raise PreflightError(f"nbgrader could not generate {assignment}: {reason_from_log(out)}")
