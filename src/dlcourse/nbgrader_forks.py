"""Running one nbgrader command per student without paying nbgrader's
start-up each time.

The batch grades every student with a process of its own
(``nbgrader autograde A --student S``), so that one student's crash, timeout
or garbage touches nobody else. Python and nbgrader's imports (jupyter_server,
nbconvert, sqlalchemy, this course's preprocessors) cost about 1.6 s of every
such process here. A fork server pays them once per batch worker: it imports
nbgrader, then forks a fresh child for every command. The child is still a
process of its own, in its own session, writing its own log, killed with its
whole process group at the timeout; it only starts from an imported nbgrader.

    server = ForkServer(env)
    code, output = server.run(["autograde", "02_layers", "--student", "s1", "--force"],
                              cwd=root, log=root / "autograde.log", timeout=3600)
    server.close()

The server runs no student code and reads nothing of the course; it has no
threads, so forking it is safe. Each child reads the course's
nbgrader_config.py itself, as the ``nbgrader`` command does.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

NBGRADER_MAIN = "nbgrader.apps.nbgraderapp:main"
# imported by the server so that each child finds them loaded: what the
# course's nbgrader_config.py imports
PRELOAD = (
    "nbgrader.apps.nbgraderapp",
    "nbgrader.preprocessors",
    "nbconvert.preprocessors",
    "dlcourse.nbgrader_ext.dedup",
    "dlcourse.nbgrader_ext.feedback",
    "dlcourse.nbgrader_ext.hidden_graders",
    "dlcourse.nbgrader_ext.output_cap",
    "dlcourse.nbgrader_ext.sandboxed_kernel",
    # imported on first use by every autograde otherwise (about 0.15 s of
    # each): IPython by jupyter_client's kernel-spec lookup, the gradebook's
    # database drivers by SQLAlchemy's first engine
    "IPython.paths",
    "ipykernel.kernelspec",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "sqlite3",  # the dialect above loads it only at the first engine
    "sqlalchemy.dialects.postgresql.psycopg",
    "psycopg",
)


class ForkServerError(RuntimeError):
    """The server could not start or stopped answering; run the command as a
    process of its own instead."""


class ServerProcess:
    """The caller's side of a warm server process (this module's fork server,
    :mod:`dlcourse.graders_server`): started isolated, in a session of its
    own; it says it is ready, then answers each request (a JSON line on its
    input) with a JSON line, and ends when its input closes."""

    # who the errors name
    what = "the server"

    def __init__(self, module: str, args: list[str], env: dict | None, start_timeout: float):
        self.proc = subprocess.Popen(
            # isolated (-I): nothing imported from the folder it starts in
            [sys.executable, "-I", "-m", module, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
            start_new_session=True,
        )
        ready = self._reply(start_timeout)
        if not ready.get("ready"):
            self.close()
            raise ForkServerError(f"{self.what} did not start: {ready}")

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def _reply(self, timeout: float) -> dict:
        import select

        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            raise ForkServerError(f"{self.what} stopped answering")
        return json.loads(line)

    def ask(self, request: dict, timeout: float) -> dict:
        """Send ``request``; its reply. ``timeout``: the one the server
        enforces on the work asked for."""
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except OSError:
            self.close()
            raise ForkServerError(f"{self.what} is gone") from None
        # the margin covers the server killing what outlived its timeout
        return self._reply(timeout + 60)

    def close(self) -> None:
        """End the server, and whatever is still running in its process group."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


class ForkServer(ServerProcess):
    """The batch's side: starts the server, sends it commands."""

    what = "the nbgrader fork server"

    def __init__(self, env: dict | None = None, entry: str = NBGRADER_MAIN, start_timeout=120.0):
        super().__init__("dlcourse.nbgrader_forks", [entry], env, start_timeout)

    def run(
        self, args: list[str], cwd: str | Path, log: str | Path, timeout: float
    ) -> tuple[int, str]:
        """Run ``nbgrader ARGS`` in ``cwd``; its output goes to ``log``.
        Returns (exit status, output); negative for a signal, as subprocess."""
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        request = {"args": list(args), "cwd": str(cwd), "log": str(log), "timeout": timeout}
        preload = _sandbox_preload(args, cwd)
        if preload is not None:
            request["preload"] = preload
        reply = self.ask(request, timeout)
        output = Path(log).read_text(errors="replace") if Path(log).exists() else ""
        if reply.get("timed_out"):
            output += (
                f"\n[dlcourse] nbgrader did not finish within {timeout:.0f} s and was stopped\n"
            )
            Path(log).write_text(output)
        return int(reply["code"]), output


# --------------------------------------------------------------- the server
def _load(entry: str):
    import importlib

    module, _, name = entry.partition(":")
    return getattr(importlib.import_module(module), name)


def _child(request: dict, entry: str) -> None:
    """In the forked child: become the command, then exit with its status."""
    try:
        os.setsid()
        os.chdir(request["cwd"])
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(null)
        os.close(log)
        if entry == NBGRADER_MAIN and os.environ.get("DLCOURSE_GRADERS_SPARE") != "0":
            from dlcourse.graders_zygote import start_spare

            # before anything runs here: the hidden graders' process, ready
            start_spare(tuple(request["args"]))
        sys.argv = ["nbgrader", *request["args"]]
    except BaseException:  # noqa: BLE001 - reported in the log, as a crash would be
        exit_after(None)
    exit_after(_load(entry))


def _sandbox_preload(args, cwd) -> list[str] | None:
    """For ``nbgrader autograde ASSIGNMENT`` in ``cwd``: what its graders'
    sandbox zygote preloads (:func:`dlcourse.sandbox.zygote_template.preload_for`),
    read here, by the batch, so that the server reads nothing of the course;
    else None."""
    from dlcourse.graders_zygote import autograded_assignment

    assignment = autograded_assignment(tuple(args))
    if assignment is None:
        return None
    from dlcourse.sandbox.zygote_template import preload_for

    return preload_for(cwd, assignment)


def _ensure_sandbox_template(request: dict) -> None:
    """Before forking the command of ``request``: the template its graders
    fork their sandbox zygote from (:mod:`dlcourse.sandbox.zygote_template`),
    for the modules the request names (``preload``), started on the first
    such command; the child inherits it. Best effort: without one, the
    graders start their zygote anew."""
    preload = request.get("preload")
    if not isinstance(preload, list) or not all(isinstance(n, str) for n in preload):
        return
    try:
        from dlcourse.sandbox.session import worker_environment
        from dlcourse.sandbox.zygote_template import ensure_template

        ensure_template(worker_environment(), preload)
    except Exception:  # noqa: BLE001 - the graders start their zygote anew
        pass


def exit_after(main) -> None:
    """Run ``main()`` (None: nothing) and end this forked process with its
    status: an int it returns or raises SystemExit with; 70 and the
    traceback in the output for any other exception (or for ``main`` None,
    the exception being handled). Never returns."""
    code = 70
    try:
        if main is None:
            import traceback

            traceback.print_exc()
        else:
            try:
                result = main()
                code = result if isinstance(result, int) else 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - in the output, as a crash would be
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code & 0xFF)


def _wait(pid: int, timeout: float) -> tuple[int, bool]:
    """Wait for the child; at the timeout, or when the batch closes this
    server's input meanwhile (it closed its servers, or ended), kill its
    process group. Then kill whatever the command left in its group (the
    exited child, a zombie until reaped, keeps the group's id from being
    reused) and reap it."""
    deadline = time.monotonic() + timeout
    timed_out = False
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if time.monotonic() > deadline:
            timed_out = True
            break
        if _input_closed():
            break  # nobody waits for this command any more
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), timed_out


def _input_closed() -> bool:
    """Whether this server's input reached its end. The batch sends nothing
    while a command runs, so input ready to read then is its end."""
    import select

    ready, _, _ = select.select([sys.stdin], [], [], 0)
    return bool(ready) and sys.stdin.buffer.peek(1) == b""


def preload(names) -> None:
    """Import ``names`` (one that fails is imported again, and reported, by
    the child that needs it), then freeze every object imported so far: the
    children read them, never collect them. A collection in a child (pytest
    runs one at its end) then skips them, instead of writing to every page
    it inherited and making the kernel copy them all."""
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the child imports it again and reports
            pass
    if "nbformat" in sys.modules:
        warm_notebook_reading()
    if "nbgrader.api" in sys.modules:
        # the gradebook's object mappings, set up by its first query otherwise
        from sqlalchemy.orm import configure_mappers

        configure_mappers()
    gc.freeze()


def warm_notebook_reading() -> None:
    """Build nbformat's schema validators here, once: otherwise the first
    notebook each child reads builds them (about 0.1 s), in nbgrader's command
    and again in the graders' process, for every submission. One validator
    per minor version of format 4: a notebook of 4.4 (no cell ids) and one of
    4.5 are read, as nbgrader reads them, each also as nbconvert checks it."""
    import nbformat

    for minor in (4, 5):
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell("1"), nbformat.v4.new_markdown_cell("a")]
        )
        nb.nbformat_minor = minor
        if minor < 5:
            for cell in nb.cells:
                cell.pop("id", None)
        nbformat.reads(nbformat.writes(nb), as_version=4)
        # the relaxed one nbconvert checks each preprocessor's result with
        # (Exporter._validate_preprocessor): a schema of its own, built anew
        # in every autograde otherwise (another 0.08 s)
        nbformat.validator.get_validator(4, minor, relax_add_props=True)


def answer(handle) -> None:
    """Say this server is ready, then answer each request read from standard
    input with ``handle(request, replies)``: a dict, written as one line.
    ``replies`` is the descriptor the replies go to, which a child must close;
    nothing else may write to it (standard output becomes /dev/null)."""
    replies = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)

    def reply(message: dict) -> None:
        os.write(replies, (json.dumps(message) + "\n").encode())

    reply({"ready": True, "pid": os.getpid()})
    for line in sys.stdin:
        reply(handle(json.loads(line), replies))


def serve(entry: str) -> None:
    from dlcourse.startup import skip_slow_unused_imports

    skip_slow_unused_imports()
    from dlcourse.graders_zygote import PRELOAD as GRADERS_PRELOAD

    zygote = None
    if entry == NBGRADER_MAIN:
        from dlcourse.sandbox.kernel import kernel_environment
        from dlcourse.sandbox.kernel_zygote import start_server_zygote

        # first, so that it imports while this process does
        zygote = start_server_zygote(kernel_environment(os.environ))

    _load(entry)
    preload(PRELOAD + (GRADERS_PRELOAD if entry == NBGRADER_MAIN else ()))
    if entry == NBGRADER_MAIN:
        from dlcourse.alembic_head import install

        install()  # as dlcourse.startup does for nbgrader

    def fork_child(request: dict, replies: int) -> dict:
        if zygote is not None:
            zygote.check_ready()  # read here once, for every child after
        if entry == NBGRADER_MAIN:
            _ensure_sandbox_template(request)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(replies)
            _child(request, entry)
        code, timed_out = _wait(pid, float(request["timeout"]))
        return {"code": code, "timed_out": timed_out}

    answer(fork_child)


if __name__ == "__main__":
    serve(sys.argv[1] if len(sys.argv) > 1 else NBGRADER_MAIN)
