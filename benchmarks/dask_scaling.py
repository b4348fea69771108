"""The batch on a Dask cluster against the batch on this machine, and the
scores each gives, cell by cell.

    python benchmarks/dask_scaling.py prepare DIR [--students 40] [--assignment 02_layers]
    python benchmarks/dask_scaling.py local DIR [--db sqlite|postgres]
    python benchmarks/dask_scaling.py dask DIR --workers N [--db sqlite|postgres]
    python benchmarks/dask_scaling.py compare DIR
    python benchmarks/dask_scaling.py stop DIR

``prepare`` builds DIR/course (the coordinator's course: ``--students``
submissions, the reference, the blank release and the catalogued mistakes
in turn, as benchmarks/batch_scaling.py builds them), DIR/w1 and DIR/w2
(two worker "machines": their own copies of the course files, no shared
folder) and starts a PostgreSQL server in DIR/pg (Debian's, as an
unprivileged user, on a unix socket only, durable settings) when its
programs are installed. ``stop`` stops that server.

``local`` is today's batch on this machine: ``dlcourse batch A --redo
--skip-preflight`` with its default workers. ``dask`` starts a scheduler on
127.0.0.1 and N ``dask worker --nthreads 1`` processes (each in its machine's
folder, with its own TMPDIR), waits for them, grades the same submissions
with ``--scheduler``, and stops the cluster: the cluster's start is inside
the figure. Both write into the SQLite gradebook of DIR/course or, with
``--db postgres``, into the database ``gradebook`` of DIR/pg's server; both
keep a copy of the run's batch.csv in DIR/results/. Time them side by side
with farm-bench (``local`` as the baseline).

``compare`` checks that every kept batch.csv gives the same status and
score per student and graded cell as the first local SQLite one (the
failure messages quote random points and are left out), and prints the
number of files and rows compared. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
BIN = Path(sys.executable).parent
MACHINES = ("w1", "w2")


def _env(**extra: str) -> dict:
    # nbgrader needs alembic (in this environment's bin/) on PATH
    env = {**os.environ, "PATH": str(BIN) + os.pathsep + os.environ["PATH"], **extra}
    env.pop("DLCOURSE_EXECUTION_CACHE", None)
    env.pop("DLCOURSE_COURSE", None)
    return env


def _settings(folder: Path) -> dict:
    return json.loads((folder / "settings.json").read_text())


def prepare(folder: Path, students: int, assignment: str) -> None:
    from batch_scaling import build_course

    from dlcourse.manifest import write_manifest

    shutil.rmtree(folder, ignore_errors=True)
    course = folder / "course"
    course.mkdir(parents=True)
    build_course(course, assignment, students)
    shutil.copy(ROOT / "constraints.txt", course)
    subprocess.run(
        [str(BIN / "nbgrader"), "generate_assignment", assignment, "--force"],
        cwd=course,
        check=True,
        capture_output=True,
        env=_env(),
    )
    for machine in MACHINES:
        root = folder / machine
        for name in ("source", "graders", "release"):
            shutil.copytree(course / name / assignment, root / name / assignment)
        for name in ("nbgrader_config.py", "constraints.txt"):
            shutil.copy(course / name, root)
        write_manifest(root, assignment)
    settings = {"assignment": assignment, "students": students, "db_url": None}
    settings["db_url"] = _start_postgres(folder / "pg")
    (folder / "settings.json").write_text(json.dumps(settings))
    (folder / "results").mkdir()
    where = settings["db_url"] or "(no PostgreSQL: its server programs are not installed)"
    print(f"prepared {students} submissions of {assignment} in {folder}; PostgreSQL: {where}")


def _start_postgres(folder: Path) -> str | None:
    from postgres import SUPERUSER, _as_unprivileged_user, _run, server_bin

    bindir = server_bin()
    if bindir is None:
        return None
    env, uid, gid = _as_unprivileged_user()
    folder.mkdir(mode=0o700)
    if uid is not None:
        os.chown(folder, uid, gid)
    data = folder / "data"
    init = [str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust"]
    done = _run(init + ["--encoding=UTF8", "--locale=C"], uid, gid, env)
    if done.returncode:
        raise SystemExit(f"initdb failed:\n{done.stdout}\n{done.stderr}")
    options = f"-c listen_addresses='' -c unix_socket_directories='{folder}'"
    start = [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log")]
    done = _run(start + ["-w", "start"], uid, gid, env)
    if done.returncode:
        raise SystemExit(f"pg_ctl start failed:\n{done.stderr}")
    import psycopg

    with psycopg.connect(
        dbname="postgres", user=SUPERUSER, host=str(folder), autocommit=True
    ) as conn:
        conn.execute('CREATE DATABASE "gradebook"')
    return f"postgresql://{SUPERUSER}@/gradebook?host={folder}"


def stop(folder: Path) -> None:
    from postgres import _as_unprivileged_user, _run, server_bin

    data = folder / "pg" / "data"
    if (data / "postmaster.pid").exists():
        env, uid, gid = _as_unprivileged_user()
        _run([str(server_bin() / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], uid, gid, env)
    print("stopped")


def _batch(folder: Path, db: str, label: str, scheduler: str | None = None) -> None:
    settings = _settings(folder)
    a = settings["assignment"]
    command = [sys.executable, "-m", "dlcourse.cli", "batch", a, "--redo", "--skip-preflight"]
    if db == "postgres":
        if not settings["db_url"]:
            raise SystemExit("no PostgreSQL server was started by prepare")
        command += ["--db-url", settings["db_url"]]
    if scheduler:
        command += ["--scheduler", scheduler]
    course = folder / "course"
    done = subprocess.run(command, cwd=course, env=_env(), stdin=subprocess.DEVNULL)
    kept = folder / "results" / f"{label}-{db}-{time.time_ns()}.csv"
    shutil.copy(course / "reports" / a / "batch.csv", kept)
    if done.returncode:
        raise SystemExit(f"the batch exited with {done.returncode}")


def local(folder: Path, db: str) -> None:
    _batch(folder, db, "local")


def dask(folder: Path, workers: int, db: str) -> None:
    """Start a scheduler and ``workers`` workers, grade, stop them."""
    from dask_cluster import start_scheduler, start_worker, wait_for_workers

    run = folder / "cluster"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir()
    started = []
    try:
        scheduler, address = start_scheduler(run, _env())
        started.append(scheduler)
        for k in range(workers):
            machine = folder / MACHINES[k % len(MACHINES)]
            tmp = machine / f"tmp{k}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            env = _env(TMPDIR=str(tmp))
            started.append(start_worker(address, machine, f"w{k + 1}", run, env))
        wait_for_workers(address, workers)
        _batch(folder, db, f"dask{workers}", address)
    finally:
        for proc in reversed(started):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in started:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _cells(path: Path) -> dict:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {
        tuple(row[k] for k in ("student", "cell")): {
            k: v for k, v in row.items() if k not in ("reason", "failed_checks")
        }
        for row in rows
    }


def compare(folder: Path) -> None:
    kept = sorted((folder / "results").glob("*.csv"), key=lambda p: int(p.stem.rsplit("-")[-1]))
    baseline = next((p for p in kept if p.name.startswith("local-sqlite-")), None)
    if baseline is None:
        raise SystemExit("no local SQLite run to compare with")
    expected = _cells(baseline)
    differ = []
    for path in kept:
        got = _cells(path)
        if got != expected:
            keys = sorted(set(got) | set(expected))
            wrong = [k for k in keys if got.get(k) != expected.get(k)]
            differ.append(f"{path.name}: {len(wrong)} rows differ, first {wrong[0]}")
    labels = sorted({p.name.rsplit("-", 1)[0] for p in kept})
    print(f"compared {len(kept)} runs ({', '.join(labels)}), {len(expected)} rows each")
    if differ:
        raise SystemExit("\n".join(differ))
    print("same status and score per student and graded cell in every run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("folder", type=Path)
    p.add_argument("--students", type=int, default=40)
    p.add_argument("--assignment", default="02_layers")
    p = sub.add_parser("local")
    p.add_argument("folder", type=Path)
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p = sub.add_parser("dask")
    p.add_argument("folder", type=Path)
    p.add_argument("--workers", type=int, required=True)
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    for step in ("compare", "stop"):
        sub.add_parser(step).add_argument("folder", type=Path)
    args = parser.parse_args()
    folder = args.folder.resolve()
    if args.step == "prepare":
        prepare(folder, args.students, args.assignment)
    elif args.step == "local":
        local(folder, args.db)
    elif args.step == "dask":
        dask(folder, args.workers, args.db)
    elif args.step == "compare":
        compare(folder)
    else:
        stop(folder)


if __name__ == "__main__":
    main()
