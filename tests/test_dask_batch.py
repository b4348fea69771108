"""The Dask engine with real processes: a local ``dask scheduler`` and two
``dask worker`` processes, each started in a scratch folder holding its own
copy of the course (standing in for machines that share no file system).

Same scores, cell by cell, as the local batch on the same submissions; a
worker whose course differs, or whose pre-flight fails, refuses with a
sentence ("could not be graded", never 0); a coordinator interrupted resumes
from what it recorded; a worker killed in the middle of a grading: the
submission is graded again on the other worker and recorded once (into a
PostgreSQL gradebook). The cluster is shared by the module; the test that
kills a worker comes last."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from course import ROOT
from dask_cluster import start_scheduler, start_worker, wait_for_workers
from postgres import postgres, server_bin  # noqa: F401 - the session's server, a fixture

pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install '.[dask]')"
)

from dlcourse.batch import run_batch  # noqa: E402
from dlcourse.manifest import write_manifest  # noqa: E402

A = "01_gradients"
MISTAKE = "grad_j1_sign_error"
STUDENTS = ("s_reference", "s_mistake", "s_blank")


def _course_files(root: Path) -> Path:
    """The files that grade A, as a worker's checkout (not a git one: the
    manifest vouches for graders/ and source/)."""
    for name in ("source", "graders", "release"):
        shutil.copytree(
            ROOT / name / A, root / name / A, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copy(ROOT / "constraints.txt", root)
    write_manifest(root, A)
    return root


def _submissions(root: Path) -> None:
    import nbformat
    from catalogue import load

    from dlcourse.filled_submission import filled_submission

    release = ROOT / "release" / A / f"{A}.ipynb"
    source = ROOT / "source" / A / f"{A}.ipynb"
    mistake = next(m for m in load("mistakes", A) if m.name == MISTAKE)
    notebooks = {
        "s_reference": filled_submission(release, source),
        "s_mistake": filled_submission(
            release, source, append={mistake.fields["cell"]: mistake.code}
        ),
        "s_blank": nbformat.read(str(release), as_version=4),
    }
    for student, nb in notebooks.items():
        folder = root / "submitted" / student / A
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{A}.ipynb"))


def _coordinator(tmp: Path, name: str, like: Path) -> Path:
    """A coordinator's course: the course files and the submissions of ``like``."""
    root = tmp / name
    shutil.copytree(
        like, root, ignore=shutil.ignore_patterns("gradebook.db", "autograded", "reports")
    )
    return root


class Cluster:
    """A scheduler and two workers, each a process group of its own."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.scheduler, self.address = start_scheduler(tmp)
        self.workers = {name: self.start_worker(name) for name in ("w1", "w2")}

    def start_worker(self, name: str) -> subprocess.Popen:
        """A worker on its own "machine": its course copy, its own TMPDIR
        (where it makes its scratch course)."""
        machine = self.tmp / name
        if not machine.exists():
            _course_files(machine)
            (machine / "tmp").mkdir()
        env = {**os.environ, "TMPDIR": str(machine / "tmp")}
        env.pop("DLCOURSE_COURSE", None)  # the worker's course is its folder
        return start_worker(self.address, machine, name, self.tmp, env)

    def wait_for_workers(self, n: int) -> None:
        wait_for_workers(self.address, n)

    def kill(self, proc: subprocess.Popen, machine: str | None = None) -> None:
        """Kill ``proc``'s process group and, with ``machine``, every process
        working in that machine's folder (the nbgrader command a worker
        runs is in a session of its own, as the local engine's are)."""
        import psutil

        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        if machine is None:
            return
        folder = str(self.tmp / machine)
        for other in psutil.process_iter(["cwd"]):
            if (other.info.get("cwd") or "").startswith(folder + os.sep):
                try:
                    other.kill()
                except psutil.Error:
                    pass

    def close(self) -> None:
        for name, proc in self.workers.items():
            self.kill(proc, name)
        self.kill(self.scheduler)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dask")
    cluster = Cluster(tmp)
    try:
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The local batch's grading of the submissions (the reference figures)."""
    root = _course_files(tmp_path_factory.mktemp("local"))
    _submissions(root)
    return root, run_batch(root, A, workers=2, check_reference=False)


def _cells(summary: dict) -> dict:
    return {
        student: {cell: (c["score"], c["status"]) for cell, c in info["cells"].items()}
        for student, info in summary["students"].items()
    }


def _csv(root: Path) -> list[dict]:
    import csv

    with open(root / "reports" / A / "batch.csv", newline="") as fh:
        return [
            {k: v for k, v in row.items() if k not in ("reason", "failed_checks")}
            for row in csv.DictReader(fh)
        ]


def _submission_rows(root: Path, db_url: str | None = None) -> list[tuple[str, str]]:
    from nbgrader.api import Gradebook

    with Gradebook(db_url or "sqlite:///" + str(root / "gradebook.db")) as gb:
        return sorted((s.student.id, s.assignment.name) for s in gb.assignment_submissions(A))


@pytest.fixture(scope="module")
def distributed_run(cluster, local, tmp_path_factory):
    """The same submissions graded by the cluster (without the workers'
    pre-flight: grading the reference and the blank release on each worker
    would double the time of this file)."""
    root = _coordinator(tmp_path_factory.mktemp("coord"), "course", local[0])
    summary = run_batch(root, A, check_reference=False, scheduler=cluster.address)
    return root, summary


def test_local_batch_grades_the_submissions_as_expected(local):
    _, summary = local
    students = summary["students"]
    assert all(students[s]["status"] == "graded" for s in STUDENTS)
    assert students["s_reference"]["total"] > students["s_mistake"]["total"] > 0
    assert students["s_blank"]["total"] == 0


def test_dask_batch_gives_the_same_scores_cell_by_cell(local, distributed_run):
    root, summary = distributed_run
    assert summary["scheduler"].startswith("tcp://") and summary["workers"] == 2
    assert summary["ungradable"] == []
    assert _cells(summary) == _cells(local[1])
    for student in STUDENTS:
        # what nbgrader keeps and the grade report travelled back
        assert (root / "autograded" / student / A / f"{A}.ipynb").is_file()
        assert (root / "reports" / A / student / "autograde.log").is_file()
    # the failure messages (reason, failed_checks) quote random points: each
    # grading draws its own seed. Everything else of batch.csv is the same
    assert _csv(root) == _csv(local[0])
    assert _submission_rows(root) == sorted((s, A) for s in STUDENTS)


def test_a_worker_whose_course_differs_refuses_with_a_sentence(cluster, local, tmp_path):
    root = _coordinator(tmp_path, "changed", local[0])
    grader = root / "graders" / A / "test_l1.py"
    grader.write_text(grader.read_text() + "\n# reviewed again\n")
    write_manifest(root, A)  # the coordinator's own check passes
    summary = run_batch(root, A, check_reference=False, scheduler=cluster.address)
    for student in STUDENTS:
        info = summary["students"][student]
        assert info["status"] == "could not be graded", info
        assert "refused it: its course files differ from the coordinator's: " in info["reason"]
        assert f"graders/{A}/test_l1.py (changed)" in info["reason"]
        assert all(c["status"] == "could not be graded" for c in info["cells"].values())
    assert summary["ungradable"] == sorted(STUDENTS)


class _StopAfterFirst(io.StringIO):
    """A terminal whose user presses Ctrl-C once the first result is shown."""

    def isatty(self):
        return True

    def write(self, text):
        raise KeyboardInterrupt


def test_an_interrupted_coordinator_resumes_from_what_it_recorded(cluster, local, tmp_path):
    root = _coordinator(tmp_path, "interrupted", local[0])
    two = ["s_reference", "s_mistake"]
    with pytest.raises(KeyboardInterrupt):
        run_batch(
            root,
            A,
            check_reference=False,
            scheduler=cluster.address,
            progress_stream=_StopAfterFirst(),
            students=two,
        )
    import json

    recorded = json.loads((root / "reports" / A / "batch-state.json").read_text())
    assert len(recorded) == 1
    again = run_batch(root, A, check_reference=False, scheduler=cluster.address, students=two)
    graded_now = {s for s, info in again["students"].items() if info["graded_now"]}
    assert graded_now == set(two) - set(recorded)
    assert _cells(again) == {s: _cells(local[1])[s] for s in two}
    assert _submission_rows(root) == sorted((s, A) for s in two)


def test_a_worker_whose_preflight_fails_refuses_with_its_sentence(
    cluster, local, tmp_path, monkeypatch
):
    """The pre-flight runs on the worker, on its own course, before its first
    grading: workers whose environment is not the one their course pins
    refuse every task with the pre-flight's sentence (here it fails on the
    pins, before grading anything). And the coordinator keeps a bounded
    number of submissions in flight, reading the next only when one is
    back."""
    from dlcourse.batch import GradingTask, dask_engine
    from dlcourse.batch.dask_engine import DaskEngine
    from dlcourse.batch.gradebook import sqlite_url
    from dlcourse.batch.state import fingerprint

    root = _coordinator(tmp_path, "preflight", local[0])
    pins = {m: cluster.tmp / m / "constraints.txt" for m in cluster.workers}
    saved = {m: path.read_text() for m, path in pins.items()}
    tasks = [
        GradingTask(s, A, root / "submitted" / s / A, fingerprint(root / "submitted" / s / A))
        for s in STUDENTS
    ]
    pulled = []

    def lazily():
        for task in tasks:
            pulled.append(task.student)
            yield task

    try:
        for m, path in pins.items():
            path.write_text(saved[m] + "numpy==0.0.0\n")
        # at most two in flight, for three submissions
        monkeypatch.setattr(dask_engine, "IN_FLIGHT_PER_THREAD", 1)
        monkeypatch.setattr(dask_engine, "IN_FLIGHT_MIN", 1)
        with DaskEngine(root, cluster.address, sqlite_url(root), preflight=True) as engine:
            results = {}
            for task, result in engine.grade(lazily()):
                if not results:
                    # the third was read only when the first came back
                    assert len(pulled) == 3
                results[task.student] = result
    finally:
        for m, path in pins.items():
            path.write_text(saved[m])
    assert engine.peak_in_flight == 2
    assert sorted(results) == sorted(STUDENTS)
    for result in results.values():
        assert result.status == "could not be graded"
        assert "refused it: its pre-flight failed: numpy " in result.reason
        assert "is installed but the course pins 0.0.0" in result.reason


def test_a_hanging_submission_hits_the_batch_timeout_on_its_worker(cluster, local, tmp_path):
    """The batch's time limit travels with the task: a notebook that never
    ends is stopped on the worker and is "could not be graded", in words."""
    import nbformat

    root = _coordinator(tmp_path, "hangs", local[0])
    nb = nbformat.read(str(root / "submitted" / "s_reference" / A / f"{A}.ipynb"), 4)
    nb.cells.append(nbformat.v4.new_code_cell("while True:\n    pass"))
    folder = root / "submitted" / "s_hangs" / A
    folder.mkdir(parents=True)
    nbformat.write(nb, str(folder / f"{A}.ipynb"))
    start = time.monotonic()
    summary = run_batch(
        root,
        A,
        check_reference=False,
        scheduler=cluster.address,
        students=["s_hangs"],
        timeout=10,
    )
    info = summary["students"]["s_hangs"]
    assert info["status"] == "could not be graded"
    assert info["reason"] == "grading this notebook took too long and was stopped"
    assert time.monotonic() - start < 90


def test_a_worker_killed_while_grading_its_submission_is_graded_elsewhere_once(
    cluster, local, tmp_path, request
):
    """Recorded once into a PostgreSQL gradebook (``--db-url``), which the
    coordinator writes as it writes SQLite (into SQLite, with a warning,
    where PostgreSQL's server programs are missing)."""
    root = _coordinator(tmp_path, "killed", local[0])
    two = ["s_reference", "s_mistake"]
    victim = cluster.workers["w1"]
    scratch = cluster.tmp / "w1" / "tmp"
    if server_bin() is not None:
        url = request.getfixturevalue("postgres").new_database("dask_killed")
    else:
        import warnings

        warnings.warn(
            "PostgreSQL is not installed: the killed-worker test writes SQLite", stacklevel=1
        )
        url = None
    killed = []
    start = time.time()

    def kill_when_grading():
        # w1's nbgrader is grading when it has made the autograded folder
        # in w1's scratch course (earlier tests left older ones there)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = scratch.glob(f"dlcourse-dask-{A}-*/autograded/*/{A}")
            if any(p.stat().st_mtime >= start for p in found):
                time.sleep(1.0)  # well into it
                cluster.kill(victim, "w1")
                killed.append(time.monotonic())
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=kill_when_grading)
    watcher.start()
    try:
        summary = run_batch(
            root, A, check_reference=False, scheduler=cluster.address, students=two, db_url=url
        )
    finally:
        watcher.join()
    assert killed, "w1 never started a grading"
    assert summary["ungradable"] == []
    assert summary["workers"] == 2  # both were there when it started
    assert _cells(summary) == {s: _cells(local[1])[s] for s in two}
    assert _submission_rows(root, url) == sorted((s, A) for s in two)
    if url:
        assert summary["gradebook"].startswith("postgresql")
        assert not (root / "gradebook.db").exists()


def test_a_worker_refuses_another_environment_or_commit(tmp_path):
    """The other refusals, asked of a worker's check directly (no cluster):
    another version of a package that grades, another commit."""
    from dlcourse.batch.dask_worker import RemoteTask, _refusal, environment
    from dlcourse.manifest import course_files

    root = _course_files(tmp_path)
    task = RemoteTask(
        "s", A, {}, None, course_files(root, A), {**environment(), "nbgrader": "0.0.1"}
    )
    reason = _refusal(root, task)
    assert reason.startswith("its grading environment differs (nbgrader ")
    assert reason.endswith(" here, 0.0.1 on the coordinator)")
    task = RemoteTask("s", A, {}, "0123abcd", course_files(root, A), environment())
    assert _refusal(root, task) == (
        "its course checkout is at commit (not a git checkout), the batch grades commit 0123abcd"
    )
    assert (
        _refusal(root, RemoteTask("s", A, {}, None, course_files(root, A), environment())) is None
    )
