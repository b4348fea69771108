"""A real PostgreSQL server for the tests, started and stopped by them.

    from postgres import postgres  # the session fixture

    def test_x(postgres):
        url = postgres.new_database("gradebook_x")  # a fresh, empty database

The server is Debian's (package ``postgresql``: initdb and pg_ctl in
/usr/lib/postgresql/<version>/bin), its cluster in a temporary folder,
owned and run by an unprivileged user (``nobody`` when the tests run as
root: initdb refuses root), listening on a unix socket in that folder only
(no TCP: ``listen_addresses=''``). Tests that use it skip, saying why, only
where the server's programs are missing.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "grader"


def server_bin() -> Path | None:
    """The newest installed server's bin/ (holding initdb and pg_ctl)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found and (found[-1].parent / "pg_ctl").exists() else None


@dataclass
class Server:
    folder: Path  # the cluster's data (data/) and socket folder

    @property
    def socket_dir(self) -> str:
        return str(self.folder)

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def new_database(self, name: str) -> str:
        """Create the empty database ``name``; returns its SQLAlchemy URL."""
        import psycopg

        # CREATE DATABASE runs outside a transaction
        with psycopg.connect(
            dbname="postgres", user=SUPERUSER, host=self.socket_dir, autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_unprivileged_user() -> tuple[dict, int | None, int | None]:
    """How to run the server's programs: (environment, uid, gid), as
    ``nobody`` when we are root; uid None: as ourselves."""
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"}
    if os.geteuid() != 0:
        return {**env, "HOME": os.environ.get("HOME", "/tmp")}, None, None
    user = pwd.getpwnam("nobody")
    return {**env, "HOME": "/tmp"}, user.pw_uid, user.pw_gid


def _run(cmd: list[str], uid: int | None, gid: int | None, env: dict, timeout: float = 120):
    as_user = {} if uid is None else {"user": uid, "group": gid, "extra_groups": []}
    return subprocess.run(
        cmd,
        env=env,
        **as_user,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
    )


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for this test session (see the module's docstring)."""
    bindir = server_bin()
    if bindir is None:
        pytest.skip(
            "PostgreSQL's server programs (initdb, pg_ctl in /usr/lib/postgresql/*/bin) are not "
            "installed: apt-get install postgresql (scripts/install.sh does)"
        )
    pytest.importorskip("psycopg", reason="the PostgreSQL driver (scripts/install.sh installs it)")
    env, uid, gid = _as_unprivileged_user()
    # in /tmp itself: pytest's own temporary folders are private to root.
    # mkdtemp's folder is private to its owner: the socket is reachable by
    # that user (and root) only, so "trust" lets no one else in
    folder = Path(tempfile.mkdtemp(prefix="dlcourse-pg-"))
    if uid is not None:
        os.chown(folder, uid, gid)
    data = folder / "data"
    try:
        init = _run(
            [str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
             "--encoding=UTF8", "--locale=C", "--no-sync"],
            uid, gid, env,
        )  # fmt: skip
        assert init.returncode == 0, f"initdb failed:\n{init.stdout}\n{init.stderr}"
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{folder}' "
            "-c max_connections=40 -c shared_buffers=16MB -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        start = _run(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
             "-l", str(folder / "server.log"), "-w", "-t", "60", "start"],
            uid, gid, env,
        )  # fmt: skip
        logfile = folder / "server.log"
        log = logfile.read_text(errors="replace") if logfile.exists() else ""
        assert start.returncode == 0, f"pg_ctl start failed:\n{start.stderr}\n{log}"
        yield Server(folder)
    finally:
        if (data / "postmaster.pid").exists():
            _run(
                [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], uid, gid, env
            )
        shutil.rmtree(folder, ignore_errors=True)
