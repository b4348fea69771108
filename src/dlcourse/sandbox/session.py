"""The grader's side of the channel: start a sandbox, run code, call into it.

    with Sandbox(hidden_paths=[...]) as box:
        box.run([Cell("answer_relu", student_code)])
        relu = box.get("relu")            # a Remote, or plain data
        out = relu(np.array([-1.0, 2.0]))  # plain data back

What a call returns that is not plain data stays in the sandbox as a Remote;
``plain(value)`` turns tensors into arrays and iterables (generators,
DataLoaders) into lists, running the iteration in the sandbox. A call that
changes an array the grader passed raises StudentError, unless made inside
``with box.arguments_may_change():``.

Every call has a deadline. When the student's code overruns it, crashes the
process or answers with something that is not plain data, the call raises
:class:`StudentError` (with a sentence for the student) and the sandbox is
restarted on the next :meth:`Sandbox.run`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from dlcourse.sandbox import charged_time, confine, wire

log = logging.getLogger("dlcourse.sandbox")

# A call's time limit counts the seconds the student's code had (running,
# or sleeping by its own choice), not the seconds it waited for a CPU on a
# busy grading machine; past BACKSTOP_FACTOR times the limit (and at least
# BACKSTOP_SECONDS more) of wall-clock time the call is the machine's failure.
BACKSTOP_FACTOR = 10.0
BACKSTOP_SECONDS = 120.0
POLL_SECONDS = 0.5
FRAME_SECONDS = 30.0
_warned: set[str] = set()


class StudentError(Exception):
    """Student code failed; ``str()`` is a sentence a student can act on."""

    def __init__(self, message: str, kind: str = "error"):
        super().__init__(message)
        self.kind = kind


@dataclass
class Cell:
    """One piece of code to run in the sandbox, in notebook order.

    ``fatal``: an exception here stops the run and is reported; otherwise it
    is recorded and the next cell runs.
    """

    label: str
    code: str
    fatal: bool = True


def _warn_once(missing: list[str]) -> None:
    key = ", ".join(missing)
    if key in _warned:
        return
    _warned.add(key)
    log.warning(
        "SANDBOX IS WEAKER THAN CONFIGURED: could not apply %s. Student code "
        "can reach what this process can. Grade as root on Linux for the full "
        "sandbox.",
        key,
    )


def worker_environment() -> dict:
    """The environment a sandbox worker runs with (before ``env=``)."""
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/tmp",
        # one thread each: predictable speed beside other graders, and few
        # tasks against the process limit
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        **{k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_CORE")},
    }


class Sandbox:
    """A confined worker process holding one student namespace."""

    def __init__(
        self,
        hidden_paths=(),
        limits: dict | None = None,
        call_timeout: float = 20.0,
        start_timeout: float = 30.0,
        env: dict | None = None,
        allow_list: bool = True,
        zygote=None,
    ):
        self.hidden_paths = [str(p) for p in hidden_paths]
        self.limits = limits or {}
        self.call_timeout = call_timeout
        self.start_timeout = start_timeout
        self.extra_env = env or {}
        self.allow_list = allow_list
        # a dlcourse.sandbox.zygote.Zygote forks the worker when given (and
        # running with this sandbox's environment); else it is started anew
        self.zygote = zygote
        self.proc: subprocess.Popen | None = None
        self.report: dict = {}
        self._worker_pid: int | None = None
        self._cpu_seen, self._cpu_seen_at = 0.0, time.monotonic()
        # each request's id, echoed by its reply (see request)
        self._last_id = 0
        # compare the grader's array arguments before and after every call
        # (see arguments_may_change)
        self._check_arguments = True

    # lifecycle ----------------------------------------------------------
    def start(self) -> None:
        settings = {
            "hidden_paths": self.hidden_paths,
            "limits": self.limits,
            "allow_list": self.allow_list,
        }
        # started as a program, the launcher also learns who started it, so
        # that it ends with this process (a zygote's child ends with the zygote)
        config = json.dumps({**settings, "parent": os.getpid()})
        env = {**worker_environment(), **self.extra_env}
        zygote = self.zygote
        if zygote is not None and zygote.env != env:
            zygote = None
        # no student code has run before the worker says it is ready, so a
        # failure to start is the grading machine's fault: try again once,
        # then report it as such (never as the student's zero)
        for attempt in (1, 2):
            with tempfile.TemporaryFile() as errors:
                self.proc = None
                if zygote is not None and attempt == 1:
                    try:
                        self.proc = zygote.spawn(settings, errors.fileno())
                    except OSError as exc:
                        log.warning("sandbox zygote unavailable, starting anew: %s", exc)
                if self.proc is None:
                    self.proc = subprocess.Popen(
                        [sys.executable, "-I", "-m", "dlcourse.sandbox.worker", config],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=errors,
                        env=env,
                        start_new_session=True,
                        close_fds=True,
                    )
                try:
                    ready = self._read(time.monotonic() + self.start_timeout, "starting")
                    if not ready.get("ready"):
                        raise StudentError(
                            str(ready.get("error", "no ready message")), "infrastructure"
                        )
                    break
                except StudentError as exc:
                    self.close()
                    errors.seek(0)
                    detail = errors.read()[-2000:].decode("utf-8", "replace").strip()
                    log.error("sandbox failed to start (attempt %d): %s %s", attempt, exc, detail)
                    if attempt == 2:
                        raise StudentError(
                            f"the grading sandbox could not start ({detail.splitlines()[-1] if detail else exc})",
                            "infrastructure",
                        ) from None
        self.report = ready
        self._worker_pid = self._find_worker_pid()
        if ready.get("missing"):
            _warn_once(ready["missing"])

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._worker_pid = None
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        # the launcher may have died before it could remove its cgroup
        confine.remove_pids_cgroup(proc.pid)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # transport ----------------------------------------------------------
    # The student's code runs in the worker and can write to the reply pipe
    # (it finds the descriptor in /proc/self/fd). Whatever it writes is read
    # as bounded, plain data (wire.read_frame), and anything that is not a
    # well-formed reply to the request just sent ends the sandbox with a
    # StudentError of kind "channel": a frame the grader took for a reply
    # would otherwise leave the real reply to answer the next request.
    def _broken(self, doing: str, reason: str) -> StudentError:
        """Close the sandbox; the error to raise for a broken channel."""
        self.close()
        return StudentError(
            f"your code broke the grader's channel while {doing} ({reason})", "channel"
        )

    @staticmethod
    def _zygote_ended(when: str, doing: str) -> StudentError:
        """The error for a sandbox that died with its zygote: the machine's
        failure ("could not be graded"), never the student's."""
        return StudentError(
            f"the grading machine stopped the sandbox {when} {doing} (the process it was "
            "forked from ended); this check could not be graded",
            "infrastructure",
        )

    def _read(self, deadline: float, doing: str) -> dict:
        """The next frame. ``deadline`` (a ``time.monotonic()`` value) is
        charged as the student's time: seconds the sandbox spent waiting for a
        CPU on a busy machine do not count (see :meth:`_waiting_seconds`), up
        to a wall-clock backstop after which the call is the machine's
        failure ("infrastructure"), never the student's."""
        fd = self.proc.stdout.fileno()
        start = time.monotonic()
        budget = max(deadline - start, 0.0)
        backstop = start + max(BACKSTOP_FACTOR * budget, budget + BACKSTOP_SECONDS)
        waited_before = self._waiting_seconds()
        cpu_before = self._sandbox_cpu_seconds()
        while True:
            now = time.monotonic()
            # a sandbox whose own processes keep its worker from a CPU (a
            # fork bomb) is charged their CPU time instead
            cpu_now = self._note_cpu(self._sandbox_cpu_seconds())
            charged = max(
                (now - start) - (self._waiting_seconds() - waited_before),
                cpu_now - cpu_before,
            )
            if charged >= budget:
                self.close()
                raise StudentError(
                    f"did not finish within the time limit while {doing} (an endless loop, "
                    "or much slower than needed)",
                    "timeout",
                )
            if now >= backstop:
                self.close()
                raise StudentError(
                    f"the grading machine was too busy to finish {doing} within "
                    f"{backstop - start:.0f} s; this check could not be graded",
                    "infrastructure",
                )
            step = min(budget - charged, backstop - now, POLL_SECONDS)
            try:
                ready, _, _ = select.select([fd], [], [], max(step, 0.0))
            except OSError as exc:
                self.close()
                raise StudentError(
                    f"the channel to the student's process failed while {doing} ({exc})", "crash"
                ) from None
            if ready:
                break
        try:
            # the worker writes a reply whole: once it starts, a frame that
            # does not arrive complete by the backstop was never a reply
            return wire.read_frame(fd, max(backstop, time.monotonic() + FRAME_SECONDS))
        except wire.ChannelTimeout:
            raise self._broken(doing, "an answer was cut off") from None
        except EOFError:
            code = self.proc.wait() if self.proc else None
            if getattr(self.proc, "zygote_died", False):
                self.close()
                raise self._zygote_ended("while", doing) from None
            self.close()
            raise StudentError(
                f"the student's process ended while {doing} ({self._exit_reason(code)})",
                "crash",
            ) from None
        except wire.WireError as exc:
            raise self._broken(doing, f"garbled answer: {_text(str(exc))}") from None
        except OSError as exc:
            self.close()
            raise StudentError(
                f"the channel to the student's process failed while {doing} ({exc})", "crash"
            ) from None

    def _exit_reason(self, code) -> str:
        """Why the worker ended; a kill once its CPU time had (nearly) reached
        the CPU limit is that limit, in words a student can act on."""
        limit = float(self.limits.get("cpu_seconds", confine.DEFAULT_LIMITS["cpu_seconds"]))
        if code in (-signal.SIGKILL, -signal.SIGXCPU, 137) and self._cpu_at_most() >= 0.8 * limit:
            return (
                f"stopped at the CPU time limit of {limit:.0f} s: an endless loop, "
                "or much slower than needed"
            )
        return _exit_reason(code)

    def _note_cpu(self, reading: float) -> float:
        """Keep ``reading`` (CPU seconds of the sandbox's live processes)
        as the base of :meth:`_cpu_at_most` unless it is lower than the base
        already kept: a worker killed at the CPU limit takes its CPU time
        with it, and a reading taken after its death (0) must not make the
        kill look like a crash. Returns ``reading``."""
        if reading >= self._cpu_seen:
            self._cpu_seen, self._cpu_seen_at = reading, time.monotonic()
        return reading

    def _cpu_at_most(self) -> float:
        """The most CPU time the sandbox can have used by now: what was last
        read, plus every CPU for the whole time since."""
        since = time.monotonic() - self._cpu_seen_at
        return self._cpu_seen + since * (os.cpu_count() or 1)

    def _waiting_seconds(self) -> float:
        """Seconds the sandbox's worker has spent runnable but waiting for a
        CPU (the kernel's schedstat run-queue time); 0 where unknown."""
        return charged_time.waiting_seconds(self._worker_pid)

    def _sandbox_cpu_seconds(self) -> float:
        """CPU seconds used by the sandbox's live processes (its pids cgroup);
        0 where unknown."""
        if self._worker_pid is None or self.proc is None:
            return 0.0
        return charged_time.cgroup_cpu_seconds(self.proc.pid)

    def _find_worker_pid(self) -> int | None:
        """The host pid of the process that runs the student's code."""
        return charged_time.confined_pid(self.proc.pid)

    def request(self, message: dict, doing: str, timeout: float | None = None) -> dict:
        """Send ``message`` with a fresh ``id``; the reply with that id, once
        checked to be a well-formed reply. Raises StudentError: kind
        "exception" when the student's code raised, "timeout", "crash", or
        "channel" when anything else came back."""
        if not self.alive:
            if getattr(self.proc, "zygote_died", False):
                raise self._zygote_ended("before", doing)
            raise StudentError(f"the student's process is not running (while {doing})", "crash")
        self._last_id += 1
        ident = self._last_id
        try:
            wire.write_frame(self.proc.stdin.fileno(), {**message, "id": ident})
        except OSError:
            self.close()
            raise StudentError(f"the student's process ended before {doing}", "crash") from None
        deadline = time.monotonic() + (timeout or self.call_timeout)
        reply = self._read(deadline, doing)
        if type(reply.get("id")) is not int or reply["id"] != ident:
            # a frame the student's code wrote, or the reply to an earlier
            # request that such a frame stood in for
            raise self._broken(doing, "an answer to a different request arrived")
        if wire.pending_bytes(self.proc.stdout.fileno()):
            raise self._broken(doing, "more was written after the answer")
        ok = reply.get("ok")
        if ok is True:
            return reply
        err = reply.get("error")
        if ok is not False or not isinstance(err, dict):
            raise self._broken(doing, "malformed answer")
        try:
            text = f"{_text(err.get('type', 'Error'), 100)}: {_foreign(err.get('message', ''))}"
            if err.get("where"):
                text += f" (at {_foreign(err['where'], 500, 1)})"
        except TypeError:
            raise self._broken(doing, "malformed error report") from None
        raise StudentError(f"{doing} raised {text}", "exception")

    def _value(self, reply: dict, doing: str):
        """The value a reply carries: plain data, Remotes for handles."""
        if "value" not in reply:
            raise self._broken(doing, "an answer without a value")
        try:
            return self._wrap(wire.decode(reply["value"], raw=getattr(reply, "raw", b"")))
        except wire.WireError as exc:
            raise self._broken(doing, f"garbled value: {_text(str(exc))}") from None

    # operations ---------------------------------------------------------
    def run(self, cells: list[Cell], timeout: float | None = None) -> list[dict]:
        """Execute cells in order in the student namespace. Returns the errors
        of non-fatal cells; raises StudentError for a fatal one."""
        if not self.alive:
            self.start()
        message = {"op": "exec", "cells": [c.__dict__ for c in cells]}
        doing = "running the notebook's code"
        reply = self.request(message, doing, timeout)
        errors = reply.get("errors", [])
        try:
            if not isinstance(errors, list):
                raise TypeError("errors is not a list")
            errors = [
                {
                    "cell": _text(err["cell"], 200),
                    "type": _text(err["type"], 100),
                    "message": _foreign(err["message"]),
                    "where": _foreign(err.get("where", ""), 500, 1),
                }
                for err in errors
            ]
        except (TypeError, KeyError, AttributeError):
            raise self._broken(doing, "malformed list of errors") from None
        fatal = {c.label for c in cells if c.fatal}
        for err in errors:
            if err.get("cell") in fatal:
                where = f" ({err['where']})" if err.get("where") else ""
                raise StudentError(
                    f"cell '{err['cell']}' raised {err['type']}: {err['message']}{where}",
                    "exception",
                )
        return errors

    def _wrap(self, value):
        if isinstance(value, wire.Handle):
            return Remote(self, value)
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._wrap(v) for v in value)
        if isinstance(value, dict):
            return {k: self._wrap(v) for k, v in value.items()}
        return value

    def _plain(self, remote: Remote, budget: list, limit: int, what: str):
        """See :func:`plain`: one Remote, converted in the sandbox with at
        most ``budget[0]`` items (``limit`` for the message)."""
        doing = f"reading the values of {remote.type_name}"
        reply = self.request(
            {
                "op": "plain",
                "value": self._send(remote),
                "max_items": max(budget[0], 0),
                "limit": limit,
            },
            doing,
        )
        if "refused" in reply:
            try:
                sentence = _text(reply["refused"], 500)
            except TypeError:
                raise self._broken(doing, "malformed refusal") from None
            raise StudentError(f"{what} {sentence}", "exception")
        items = reply.get("items")
        if type(items) is not int or not 0 <= items <= max(budget[0], 0):
            raise self._broken(doing, "a wrong count of items")
        budget[0] -= items
        value = self._value(reply, doing)
        if _holds_remote(value):
            # op_plain encodes without handles: only a forged frame has one
            raise self._broken(doing, "a handle in plain data")
        return value

    def _send(self, value):
        return wire.encode(_unwrap(value))

    def get(self, name: str):
        """The student's global ``name``: plain data, or a :class:`Remote`."""
        doing = f"looking up {name}"
        return self._value(self.request({"op": "get", "name": name}, doing), doing)

    @contextlib.contextmanager
    def arguments_may_change(self):
        """Within this block, calls may change the arrays they are given.

        By default every call compares the numpy arrays among its arguments
        (inside lists, tuples and dicts too) before and after, and a change
        raises StudentError: "softmax(z) changed its argument z in place".
        Graders use this block for the calls whose contract lets the student
        update an argument in place."""
        before = self._check_arguments
        self._check_arguments = False
        try:
            yield self
        finally:
            self._check_arguments = before

    def put_file(self, name: str, data: bytes) -> None:
        import base64

        self.request(
            {"op": "put_file", "name": name, "b64": base64.b64encode(data).decode()},
            f"copying {name}",
        )


def _holds_remote(value) -> bool:
    if isinstance(value, Remote):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_remote(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_remote(v) for v in value.values())
    return False


def _unwrap(value):
    if isinstance(value, Remote):
        return value._handle
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _text(value, limit: int = 4000) -> str:
    """A string from the sandbox, made safe to show: at most ``limit``
    characters, no lone surrogates (JSON can carry them, UTF-8 files
    cannot). TypeError if it is not a string."""
    if not isinstance(value, str):
        raise TypeError(f"expected a string, not {type(value).__name__}")
    if len(value) > limit:
        value = value[:limit] + " ..."
    return value.encode("utf-8", "replace").decode("utf-8")


def _foreign(value, limit: int = 500, lines: int = 3) -> str:
    """Text of the student's exception or warning, from the sandbox: checked
    to be a string, then stripped and shortened (wire.foreign_text), since
    the sandbox that should have done so runs the student's code."""
    return _text(wire.foreign_text(_text(value, 20 * limit), limit, lines), limit + 10)


def plain(value, max_items: int = 100_000, what: str = "your code"):
    """``value`` (what a student's function returned) as plain grader-side
    data: a Remote torch tensor becomes a numpy array (converted in the
    sandbox), any other Remote that can be iterated (a generator, a
    DataLoader, a map object, a class with ``__iter__``) a list of its items
    converted the same way (tuples stay tuples), and lists, tuples and dicts
    are converted item by item. At most ``max_items`` items come back from
    each Remote, counting nested ones; ``len()`` is never used.

    Iterating runs the student's code, in the sandbox under a call's time
    limit. Raises StudentError (kind "exception") for more items than
    ``max_items`` or a Remote that is neither; ``what`` is the subject of
    that sentence ("minibatches(X, y, 10, rng)")."""
    return _plain(value, [int(max_items)], int(max_items), what)


def _plain(value, budget: list, limit: int, what: str):
    # budget[0]: the items the Remotes met so far have left to the others
    if isinstance(value, Remote):
        return value._box._plain(value, budget, limit, what)
    if isinstance(value, list):
        return [_plain(v, budget, limit, what) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v, budget, limit, what) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v, budget, limit, what) for k, v in value.items()}
    return value


def _exit_reason(code) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else -code
        hint = {
            "SIGKILL": "killed: memory, CPU time or output limit",
            "SIGXCPU": "CPU time limit",
            "SIGXFSZ": "file size limit",
        }
        return f"signal {name}" + (f", {hint[name]}" if name in hint else "")
    if code == 137:
        return "killed: memory, CPU time or output limit"
    return f"exit status {code}"


class Remote:
    """A student object living in the sandbox. Attribute access and calls go
    through the channel; plain-data results come back as values, anything
    else as another Remote. ``last_warnings`` holds warnings the last call
    raised (for example numpy overflow)."""

    __slots__ = ("_box", "_handle", "last_warnings")

    def __init__(self, box: Sandbox, handle: wire.Handle):
        object.__setattr__(self, "_box", box)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "last_warnings", [])

    @property
    def type_name(self) -> str:
        return self._handle.type_name

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        box = object.__getattribute__(self, "_box")
        doing = f"reading {self._handle.type_name}.{name}"
        reply = box.request({"op": "getattr", "target": box._send(self), "name": name}, doing)
        return box._value(reply, doing)

    def __setattr__(self, name: str, value) -> None:
        if name == "last_warnings":
            object.__setattr__(self, name, value)
            return
        box = self._box
        box.request(
            {"op": "setattr", "target": box._send(self), "name": name, "value": box._send(value)},
            f"setting {self._handle.type_name}.{name}",
        )

    def __call__(self, *args, **kwargs):
        box = self._box
        doing = f"calling {self._handle.type_name}"
        reply = box.request(
            {
                "op": "call",
                "target": box._send(self),
                "args": box._send(list(args)),
                "kwargs": box._send(dict(kwargs)),
                "check_arguments": box._check_arguments,
            },
            doing,
        )
        notes = reply.get("warnings", [])
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise box._broken(doing, "malformed warnings")
        object.__setattr__(self, "last_warnings", [_foreign(n, 500, 1) for n in notes[:20]])
        if "changed" in reply:
            changed = reply["changed"]
            try:
                if not box._check_arguments or not isinstance(changed, dict):
                    raise TypeError("not asked for")
                call, argument = _text(changed["call"], 300), _text(changed["argument"], 200)
                detail = _text(changed.get("detail", ""), 200)
            except (TypeError, KeyError):
                raise box._broken(doing, "malformed report of changed arguments") from None
            raise StudentError(
                f"{call} changed {argument} in place"
                + (f" ({detail})" if detail else "")
                + "; the contract asks for a new array, leaving the caller's array unchanged",
                "exception",
            )
        return box._value(reply, doing)

    def __repr__(self) -> str:
        return f"<student {self._handle.type_name}>"
