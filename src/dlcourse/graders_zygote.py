"""The hidden graders' process, forked from one that already imported them.

Every submission's hidden graders run in a trusted process of their own
(``pytest graders/<a> --submission ...``, see :mod:`dlcourse.grading`).
Started fresh, that process pays Python's, pytest's, numpy's and torch's
imports first: 2.5 s of a 02_layers grading that otherwise costs about as much
again. The batch's nbgrader fork server (:mod:`dlcourse.nbgrader_forks`)
imports them once. Each nbgrader command it forks makes, before anything
else runs in it (no kernel, no thread, no student file read), a *spare*:
a forked copy that waits on a pipe. When the hidden graders run,
:func:`dlcourse.grading.run_hidden_graders` hands the spare the pytest
command; the spare becomes the graders' process (the same limits, folder,
flags and command as a fresh one), and is used once. Without a spare (stock
``nbgrader autograde``, a second notebook, a spare that died) the graders
start as a fresh process, as before.

A spare of ``nbgrader autograde ASSIGNMENT`` also starts, as soon as it is
made, the sandbox zygote (:mod:`dlcourse.sandbox.zygote`) its graders will
ask for: the one :class:`dlcourse.pytest_plugin.GradingSession` would start
at its first sandbox, for the reference notebook in
``source/ASSIGNMENT/``. Its imports (numpy, and torch where the notebook
imports it: up to 2 s) then run while nbgrader executes the notebook
instead of after it. The zygote is started afresh (exec), exactly as the
graders start one, and is used only when the graders ask for a zygote with
the same environment and preloaded modules (:func:`take_early_zygote`);
otherwise, and when the command ends without grading, it is closed.

    spare = take_spare()          # None: start a fresh process instead
    code, timed_out = spare.run(argv, cwd=root, memory_bytes=8 * 2**30,
                                output=log_path, timeout=900)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

# what the graders' process imports before its first check: what each spare
# finds loaded (the server imports them; a module that fails is imported,
# and reported, by the graders themselves)
PRELOAD = (
    "numpy",
    "torch",
    "pytest",
    "_pytest.python",
    "nbformat",
    "dlcourse.pytest_plugin",
    "dlcourse.checks",
    "dlcourse.gradcheck",
    "dlcourse.program",
    "dlcourse.submission",
    "dlcourse.execution",
    "dlcourse.sandbox.session",
)

_spare: Spare | None = None
_early_zygote = None


class Spare:
    """A forked copy of this process waiting for one pytest command."""

    def __init__(
        self,
        close: tuple[int, ...] = (),
        die_with_parent: bool = False,
        command: tuple[str, ...] = (),
    ):
        """``close``: descriptors of this process the spare must not keep;
        ``die_with_parent``: the spare is killed when this process ends;
        ``command``: the nbgrader command's arguments (its sandbox zygote is
        started ahead for ``autograde ASSIGNMENT``)."""
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(write)
            for fd in close:
                os.close(fd)
            if die_with_parent:
                from dlcourse.sandbox.confine import die_with_parent as pdeathsig

                pdeathsig()
            _start_early_zygote(command)
            _serve(read)  # never returns
        os.close(read)
        self.pid, self._requests = pid, write

    def alive(self) -> bool:
        try:
            return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
        except ChildProcessError:
            return False

    def run(
        self,
        argv: list[str],
        cwd: str,
        memory_bytes: int | None,
        output: str,
        timeout: float,
        env: dict[str, str] | None = None,
    ) -> tuple[int, bool]:
        """Run ``pytest ARGV`` in ``cwd`` under an address-space limit of
        ``memory_bytes``, its output into the file ``output``, with the
        environment ``env`` (None: this process's). Returns (exit status,
        negative for a signal; whether it was killed at ``timeout``)."""
        return self.send(spare_request(argv, cwd, memory_bytes, output, env), timeout)

    def send(self, request: dict, timeout: float) -> tuple[int, bool]:
        """:meth:`run` with its :func:`spare_request`."""
        try:
            os.write(self._requests, json.dumps(request).encode())
        finally:
            os.close(self._requests)
        deadline = time.monotonic() + timeout
        timed_out = False
        while os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            if time.monotonic() > deadline:
                # as subprocess.run's timeout: the process itself is killed;
                # its sandboxes die with it (their parent-death signal)
                timed_out = True
                os.kill(self.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status), timed_out

    def discard(self) -> None:
        """Let an unused spare go (it exits when its pipe closes)."""
        try:
            os.close(self._requests)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def spare_request(
    argv: list[str], cwd: str, memory_bytes: int | None, output: str, env: dict | None
) -> dict:
    """What a spare is sent (see :meth:`Spare.run`)."""
    return {"argv": list(argv), "cwd": str(cwd), "memory": int(memory_bytes or 0),
            "output": str(output), "env": None if env is None else dict(env)}  # fmt: skip


def start_spare(command: tuple[str, ...] = ()) -> None:
    """Fork this process's spare (called by a fresh fork of the server,
    before it runs anything); ``command``: the nbgrader command's
    arguments."""
    global _spare
    _spare = Spare(command=tuple(command))


# an assignment's name as nbgrader takes it on the command line: no path
_ASSIGNMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def autograded_assignment(command: tuple[str, ...]) -> str | None:
    """ASSIGNMENT for ``autograde ASSIGNMENT ...``; else None."""
    if len(command) < 2 or command[0] != "autograde" or not _ASSIGNMENT.fullmatch(command[1]):
        return None
    return command[1]


def _start_early_zygote(command: tuple[str, ...]) -> None:
    """In a spare of ``nbgrader autograde ASSIGNMENT ...`` run in the course
    folder: start the sandbox zygote for ``source/ASSIGNMENT``'s notebook,
    forked from the fork server's template when it has one for it (best
    effort: without one, the graders start theirs when they need it)."""
    global _early_zygote
    a = autograded_assignment(command)
    if a is None or os.environ.get("DLCOURSE_SANDBOX_ZYGOTE", "1") == "0":
        return
    try:
        from dlcourse.sandbox.session import worker_environment
        from dlcourse.sandbox.zygote import Zygote, imported_modules
        from dlcourse.sandbox.zygote_template import fork_zygote
        from dlcourse.submission import load_notebook

        path = os.path.join(os.getcwd(), "source", a, f"{a}.ipynb")
        if not os.path.isfile(path):
            return
        env, preload = worker_environment(), imported_modules(load_notebook(path))
        zygote = fork_zygote(env, preload)
        if zygote is None:
            zygote = Zygote(env, preload=preload)
            # not into nbgrader's log, which the batch reads for reasons; a
            # zygote that fails is not taken, and the graders' own says why
            zygote.start(stderr=subprocess.DEVNULL)
        _early_zygote = zygote
    except Exception:  # noqa: BLE001 - the graders start one later instead
        _early_zygote = None


def take_early_zygote(env: dict, preload) -> object | None:
    """The zygote this process's spare started ahead, if it is running and
    was started with ``env`` and the preloadable modules of ``preload``;
    else None (and a zygote that does not match is closed). Used once."""
    global _early_zygote
    zygote, _early_zygote = _early_zygote, None
    if zygote is None:
        return None
    if zygote.alive and zygote.started_for(env, preload):
        return zygote
    zygote.close()
    return None


def _close_early_zygote() -> None:
    """Close the zygote started ahead when no grading took it."""
    global _early_zygote
    zygote, _early_zygote = _early_zygote, None
    if zygote is not None:
        zygote.close()


def take_spare() -> Spare | None:
    """The unused spare of this process, or None; each is used once."""
    global _spare
    spare, _spare = _spare, None
    if spare is not None and not spare.alive():
        spare.discard()
        return None
    return spare


def _serve(requests: int) -> None:
    """In the spare: wait for one command, become the graders' process."""
    from dlcourse.nbgrader_forks import exit_after

    try:
        chunks = []
        while chunk := os.read(requests, 65536):
            chunks.append(chunk)
        os.close(requests)
        if not chunks:  # the command ended without grading: nothing to do
            _close_early_zygote()
            os._exit(0)
        request = json.loads(b"".join(chunks))
        _become_graders(request)
        sys.argv = ["pytest", *request["argv"]]
    except BaseException:  # noqa: BLE001 - in its output, as a crash would be
        _close_early_zygote()
        exit_after(None)
    exit_after(_graders_main)


def _graders_main():
    import pytest

    try:
        return pytest.console_main()
    finally:
        # a grading that never asked for a sandbox leaves none running
        _close_early_zygote()


def _become_graders(request: dict) -> None:
    """What a fresh graders' process gets from its command line
    (:func:`dlcourse.grading.graders_command`): the address-space limit, the
    course folder as working folder, its output in a file, warnings quiet."""
    import resource
    import warnings

    if request.get("env") is not None:
        import tempfile

        # the caller's environment of now (a long-lived server was started
        # with an older one); tempfile looks at TMPDIR again
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None
    limit = int(request["memory"])
    if limit > 0:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        soft = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    os.chdir(request["cwd"])
    out = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(null)
    os.close(out)
    # -W ignore and PYTHONWARNINGS=ignore, as the fresh process has
    warnings.simplefilter("ignore")
    os.environ["PYTHONWARNINGS"] = "ignore"
    from dlcourse.grading import PLUGIN_ENV

    os.environ.update(PLUGIN_ENV)
