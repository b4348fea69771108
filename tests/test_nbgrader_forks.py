"""The batch's nbgrader fork server: each command is a child of its own with
its own log, status and timeout, and the batch falls back to a process of its
own when the server is gone."""

import os
import signal

import pytest

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
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        with pytest.raises(ForkServerError):
            first.run(["--version"], tmp_path, tmp_path / "x.log", 60)
        # a new server is started for the worker ...
        code, output = _nbgrader(tmp_path, ["--version"], tmp_path / "v.log", 60, servers)
        assert code == 0 and "nbgrader version" in output
        second = servers.get()
        assert second is not first and second.alive
        # ... once; after that every command is a process of its own
        os.kill(second.proc.pid, signal.SIGKILL)
        second.proc.wait()
        assert servers.get() is None
        code, output = _nbgrader(tmp_path, ["--version"], tmp_path / "w.log", 60, servers)
        assert code == 0 and "nbgrader version" in output
    finally:
        servers.close()


def test_a_server_that_cannot_start_says_so():
    with pytest.raises(ForkServerError, match="did not start|stopped answering"):
        ForkServer(env=_env(), entry="no_such_module:main")
