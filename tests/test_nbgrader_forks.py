"""The batch's nbgrader fork server: each command is a child of its own with
its own log, status and timeout, and the batch falls back to a process of its
own when the server is gone."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from course import ROOT

from dlcourse.batch import _env, _ForkServers, _nbgrader
from dlcourse.nbgrader_forks import ForkServer, ForkServerError


@pytest.fixture
def server():
    s = ForkServer(env=_env())
    yield s
    s.close()


def test_commands_run_as_children_with_their_own_log_and_status(server, tmp_path):
    code, output = server.run(["--version"], tmp_path, tmp_path / "a" / "version.log", 60)
    assert code == 0
    assert "nbgrader version" in output
    assert (tmp_path / "a" / "version.log").read_text() == output
    # an nbgrader error is the command's exit status, and the server goes on
    code, output = server.run(["autograde", "no_such_assignment"], tmp_path, tmp_path / "b.log", 60)
    assert code != 0
    assert "no_such_assignment" in output or "ERROR" in output
    code, _ = server.run(["--version"], tmp_path, tmp_path / "c.log", 60)
    assert code == 0


def test_a_command_over_its_time_is_killed_and_the_server_goes_on(tmp_path):
    # signal.pause() blocks until a signal: a command that never finishes
    s = ForkServer(env=_env(), entry="signal:pause")
    try:
        code, output = s.run([], tmp_path, tmp_path / "hang.log", 1.0)
        assert code == -signal.SIGKILL
        assert "did not finish within 1 s and was stopped" in output
        assert s.alive
        code, _ = s.run([], tmp_path, tmp_path / "hang2.log", 0.5)
        assert code == -signal.SIGKILL
    finally:
        s.close()
    assert not s.alive


def test_the_batch_falls_back_to_a_process_when_the_server_dies(tmp_path):
    servers = _ForkServers()
    try:
        first = servers.get()
        servers.put(first)
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        with pytest.raises(ForkServerError):
            first.run(["--version"], tmp_path, tmp_path / "x.log", 60)
        # a new server replaces the dead one ...
        code, output = _nbgrader(tmp_path, ["--version"], tmp_path / "v.log", 60, servers)
        assert code == 0 and "nbgrader version" in output
        second = servers.get()
        assert second is not first and second.alive
        servers.put(second)
        # ... once; after that every command is a process of its own
        os.kill(second.proc.pid, signal.SIGKILL)
        second.proc.wait()
        assert servers.get() is None
        code, output = _nbgrader(tmp_path, ["--version"], tmp_path / "w.log", 60, servers)
        assert code == 0 and "nbgrader version" in output
    finally:
        servers.close()


def test_commands_at_once_get_servers_of_their_own_and_give_them_back(tmp_path):
    servers = _ForkServers()
    try:
        one, two = servers.get(), servers.get()
        assert one is not two and one.alive and two.alive
        servers.put(one)
        servers.put(two)
        # given back, they serve the next commands: no third is started
        again = {id(servers.get()), id(servers.get())}
        assert again == {id(one), id(two)}
        servers.put(one)
        servers.put(two)
        servers.keep_at_most(1)
        assert len(servers.started) == 1 and sum(s.alive for s in (one, two)) == 1
    finally:
        servers.close()
    assert not one.alive and not two.alive


def _children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid``."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat_file.parent.name))
    return found


def test_closing_the_pool_stops_a_running_command_and_does_not_run_it_again(tmp_path, monkeypatch):
    """Ctrl-C during a batch closes its servers while commands run: each
    command is stopped with its server (not left running unwatched in its own
    session), and not started again as a process of its own."""
    import dlcourse.startup

    original = ForkServer.__init__

    def pausing(self, env=None, **kwargs):
        original(self, env=env, entry="signal:pause")  # a command that never ends

    def no_process(*args):
        raise AssertionError(f"started again as a process of its own: {args}")

    monkeypatch.setattr(ForkServer, "__init__", pausing)
    monkeypatch.setattr(dlcourse.startup, "nbgrader_command", no_process)
    servers = _ForkServers()
    results = []
    worker = threading.Thread(
        target=lambda: results.append(_nbgrader(tmp_path, ["x"], tmp_path / "a.log", 600, servers))
    )
    worker.start()
    deadline = time.monotonic() + 120
    while not (servers.started and _children(servers.started[0].proc.pid)):
        assert time.monotonic() < deadline, "the command did not start"
        time.sleep(0.05)
    server = servers.started[0]
    (command,) = _children(server.proc.pid)
    started = time.monotonic()
    servers.close()
    worker.join(timeout=60)
    assert not worker.is_alive() and time.monotonic() - started < 10
    assert results and results[0][0] != 0 and "the batch ended" in results[0][1]
    assert not Path(f"/proc/{command}").exists(), "the command outlived its server"


def test_a_server_started_ahead_serves_the_next_command_and_none_outlives_the_pool(monkeypatch):
    from dlcourse.nbgrader_forks import ForkServer as Server

    started = []
    original = Server.__init__
    gate = threading.Event()

    def counted(self, *args, **kwargs):
        started.append(self)
        if len(started) == 2:
            gate.wait(60)  # the second starts only once its pool is closed
        original(self, *args, **kwargs)

    monkeypatch.setattr(Server, "__init__", counted)
    servers = _ForkServers()
    try:
        servers.start_one().join()
        assert len(servers.idle) == 1
        assert servers.get() is started[0] and len(started) == 1
    finally:
        servers.close()
    # one still starting when the pool closes is closed as soon as it is up,
    # and closing waits for that: when close returns, none is left
    late = _ForkServers()
    late.start_one()
    deadline = time.monotonic() + 60
    while len(started) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    threading.Timer(0.5, gate.set).start()  # it comes up while the pool closes
    late.close()
    assert len(started) == 2 and not any(s.alive for s in started)
    assert late.get() is None  # and a closed pool starts no more


@pytest.mark.parametrize("check_reference", [True, False])
def test_a_batch_runs_every_nbgrader_command_from_a_warm_server(
    tmp_path, monkeypatch, check_reference
):
    """The pre-flight's commands, the gradebook's and the workers' are all
    forked from the batch's servers (none starts nbgrader as a process of its
    own), and the pre-flight's servers are the ones the workers use; without
    a pre-flight, the one server started at the batch's start (while it reads
    the configuration) serves the gradebook's command and the worker."""
    from course import scratch_course, submit_reference

    import dlcourse.startup
    from dlcourse.batch import run_batch
    from dlcourse.manifest import write_manifest
    from dlcourse.nbgrader_forks import ForkServer as Server

    a = "01_gradients"
    graders = {p.name: p.read_text() for p in (ROOT / "graders" / a).glob("*.py")}
    scratch_course(tmp_path, a, graders)
    shutil.copytree(ROOT / "release" / a, tmp_path / "release" / a)
    write_manifest(tmp_path, a)
    submit_reference(tmp_path, a, "s1")
    started = []
    original = Server.__init__

    def counted(self, *args, **kwargs):
        started.append(self)
        original(self, *args, **kwargs)

    def no_process(*args):
        raise AssertionError(f"nbgrader started as a process of its own: {args}")

    import dlcourse.batch

    # how many servers were starting or started when the batch read the
    # configuration (waiting up to 10 s for one: a thread starts it)
    when_configured = []
    read_config = dlcourse.batch.course_db_url

    def course_db_url(*args):
        deadline = time.monotonic() + 10
        while not started and time.monotonic() < deadline:
            time.sleep(0.01)
        when_configured.append(len(started))
        return read_config(*args)

    monkeypatch.setattr(Server, "__init__", counted)
    monkeypatch.setattr(dlcourse.startup, "nbgrader_command", no_process)
    monkeypatch.setattr(dlcourse.batch, "course_db_url", course_db_url)
    summary = run_batch(tmp_path, a, workers=1, check_reference=check_reference)
    assert summary["students"]["s1"]["status"] == "graded", summary["students"]
    # the pre-flight's two gradings at once started two; the worker took one;
    # without a pre-flight, one was starting before the configuration was read
    assert when_configured == [len(started)] == [2 if check_reference else 1]
    assert not any(s.alive for s in started)


def test_a_server_that_cannot_start_says_so():
    with pytest.raises(ForkServerError, match="did not start|stopped answering"):
        ForkServer(env=_env(), entry="no_such_module:main")


def test_a_server_s_children_find_the_first_use_work_of_a_grading_done():
    """The server does, before it forks, what every autograde would otherwise
    do on first use: nbformat's validators built (the course's notebooks,
    format 4.5, and an older one, 4.4 with no cell ids, are then read by a
    child without building another), the gradebook's object mappings set up,
    IPython (which jupyter_client's kernel-spec lookup imports) loaded."""
    import subprocess
    import sys

    code = f"""
import sys
import nbformat, nbformat.validator as v
from dlcourse.nbgrader_forks import NBGRADER_MAIN, PRELOAD, _load, preload
_load(NBGRADER_MAIN)
preload(PRELOAD)
built = set(v.validators)
assert built, "no validator built"
nbformat.read({str(ROOT / "source" / "02_layers" / "02_layers.ipynb")!r}, as_version=4)
old = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
old.nbformat_minor = 4
old.cells[0].pop("id")
nbformat.reads(nbformat.writes(old), as_version=4)
assert set(v.validators) == built, sorted(set(v.validators) - built)
from sqlalchemy import inspect
import nbgrader.api
assert inspect(nbgrader.api.SubmittedNotebook).configured, "mappers not set up"
assert "IPython.paths" in sys.modules
assert "sqlite3" in sys.modules, "the gradebook's driver not loaded"
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


WARM_CHECK = """
import nbformat
from nbformat import validator
from dlcourse.nbgrader_forks import warm_notebook_reading
warm_notebook_reading()
built = len(validator.validators)
for minor in (4, 5):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    nb.nbformat_minor = minor
    if minor < 5:
        nb.cells[0].pop("id", None)
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)  # as nbgrader reads it
    nbformat.validate(nb, relax_add_props=True)  # as nbconvert checks each step
print(built, len(validator.validators))
"""


def test_a_warm_server_s_children_build_no_notebook_validator():
    # each one a child built cost it about 0.1 s, in every autograde
    done = subprocess.run(
        [sys.executable, "-c", WARM_CHECK], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    built, after = map(int, done.stdout.split())
    assert built > 0 and after == built
