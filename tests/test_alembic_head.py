"""The gradebook schema revision read in-process (dlcourse.alembic_head) is the
one nbgrader's ``alembic heads`` command gives, and the nbgrader processes the
course starts create gradebooks with it without running that command."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from dlcourse.alembic_head import alembic_head
from dlcourse.batch.commands import nbgrader_env
from dlcourse.nbgrader_forks import ForkServer
from dlcourse.startup import nbgrader_command


def _stock_revision() -> str:
    """What stock nbgrader writes into a new gradebook: the first word of
    ``alembic heads`` (nbgrader.api.get_alembic_version, run as nbgrader
    runs it)."""
    code = "import nbgrader.api as api; print(api.get_alembic_version())"
    out = subprocess.run(
        [sys.executable, "-c", code], env=nbgrader_env(), capture_output=True, text=True, check=True
    )
    return out.stdout.split()[-1]


def _revision_in(db: Path) -> str:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def _without_alembic() -> dict:
    """The nbgrader environment with no ``alembic`` command on PATH: a
    process that still ran it would fail."""
    env = nbgrader_env()
    env["PATH"] = os.pathsep.join(
        d for d in env["PATH"].split(os.pathsep) if not (Path(d) / "alembic").exists()
    )
    return env


def test_the_revision_is_the_alembic_commands():
    assert alembic_head() == _stock_revision()


def test_nbgrader_started_by_the_course_creates_a_gradebook_without_the_command(tmp_path):
    env = _without_alembic()
    args = ["db", "student", "add", "s1", f"--db=sqlite:///{tmp_path / 'started.db'}"]
    ran = subprocess.run(nbgrader_command(*args), cwd=tmp_path, env=env, capture_output=True)
    assert ran.returncode == 0, ran.stdout.decode() + ran.stderr.decode()
    assert _revision_in(tmp_path / "started.db") == _stock_revision()
    # the stock command, which starts alembic, fails in that environment:
    # the test's environment really lacks it
    stock = [sys.executable, "-m", "nbgrader", *args[:-1], f"--db=sqlite:///{tmp_path / 's.db'}"]
    failed = subprocess.run(stock, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert failed.returncode != 0 and "alembic" in failed.stdout + failed.stderr


def test_the_fork_servers_children_create_a_gradebook_without_the_command(tmp_path):
    server = ForkServer(env=_without_alembic())
    try:
        db = tmp_path / "forked.db"
        code, output = server.run(
            ["db", "student", "add", "s1", f"--db=sqlite:///{db}"],
            tmp_path,
            tmp_path / "log.txt",
            120,
        )
    finally:
        server.close()
    assert code == 0, output
    assert _revision_in(db) == _stock_revision()
