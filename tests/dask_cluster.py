"""A Dask cluster of real local processes: a scheduler on 127.0.0.1 and
``dask worker`` processes, each started in a folder of its own (standing in
for a machine), each a process group of its own. Used by
tests/test_dask_batch.py and benchmarks/dask_scaling.py."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

DASK = str(Path(sys.executable).parent / "dask")


def start(command: list[str], cwd: Path, log: Path, env: dict | None = None) -> subprocess.Popen:
    """``command`` in ``cwd``, its output appended to ``log``, in a session
    of its own (so that its whole group can be killed)."""
    out = open(log, "ab")  # noqa: SIM115 - kept open with the process
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_scheduler(folder: Path, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """A scheduler working in ``folder`` (its log and scheduler.json there);
    returns it and its address once it listens."""
    file = folder / "scheduler.json"
    proc = start(
        [DASK, "scheduler", "--port", "0", "--dashboard-address", ":0"]
        # Dask runs what it is sent: never beyond this machine
        + ["--host", "127.0.0.1", "--scheduler-file", str(file)],
        folder,
        folder / "scheduler.log",
        env,
    )
    # the scheduler creates the file, then writes it: an empty or half-written
    # file is read again (CI once read it empty: JSONDecodeError at char 0)
    deadline = time.monotonic() + 60
    while True:
        try:
            return proc, json.loads(file.read_text())["address"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"the dask scheduler ended with status {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("the dask scheduler did not start")
        time.sleep(0.1)


def start_worker(address: str, machine: Path, name: str, logs: Path, env: dict) -> subprocess.Popen:
    """A worker of one thread named ``name``, working in ``machine`` (its
    course folder), its log in ``logs``."""
    return start(
        [DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
        + ["--host", "127.0.0.1", "--name", name],
        machine,
        logs / f"{name}.log",
        env,
    )


def wait_for_workers(address: str, count: int) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(count, timeout=120)
