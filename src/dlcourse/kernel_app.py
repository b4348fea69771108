"""The sandboxed kernel's program: ipykernel's, with an orderly shutdown.

    python -m dlcourse.kernel_app -f CONNECTION_FILE

(what :class:`dlcourse.sandbox.kernel.SandboxedKernelManager` runs in place of
``python -m ipykernel_launcher``, for a kernel of its own interpreter).

When ipykernel 7 shuts down, its control thread answers the shutdown request,
stops the main loop and then flushes the output streams through the IOPub
thread. The main thread, its loop stopped, leaves Python, whose exit
handlers stop the IOPub thread first (registered last) and then join the
control thread (``IPKernelApp.close``). A flush caught between the two waits
for a thread that is gone, its full ``flush_timeout`` (10 s), and the exit
with it. jupyter_client sends SIGTERM after 2.5 s, which a sandboxed kernel,
the first process of its PID namespace, never receives (it has no handler
for it), and kills it after 5 s: 5 s lost, and whatever the student's code
had not yet flushed to its files. That happened to 7 shutdowns of 40 here
(``benchmarks/kernel_shutdown.py --program stock``; none of 40 since).
Ending the control thread as soon as the main loop returns, before any exit
handler, lets the flush finish first.

The kernel's own objects (IPython's, ipykernel's, zmq's: most of the heap
when the notebook starts) are also moved out of the garbage collector's
sight before the first cell (``gc.freeze``), with the collector off while
they are made. Nearly all of them live as long as the kernel (the little
cyclic garbage of its start, about a thousand objects, is kept too), and
every full collection walked them again: during the student's imports, and
at Python's exit (whose collections then took 0.1-0.2 s of a kernel's end).
The student's objects are collected as in any kernel; ``gc.get_objects`` and
``gc.get_referrers`` no longer list the kernel's own. ``DLCOURSE_KERNEL_FREEZE=0``
leaves the collector as Python has it (``benchmarks/course_speed.py`` runs its
plain kernels so). Measured here on a notebook importing numpy and
matplotlib: start 0.32 to 0.24 s, that cell 0.76 to 0.58 s, the end 0.30 to
0.09 s.

Its end does the same for what the notebook made (:func:`collect_and_freeze`):
after every other exit handler, one full collection, and then everything
left is frozen, so that Python's finalization walks none of it. The
notebook's own namespace has been emptied by then (IPython's exit handler),
so its cyclic garbage, with its finalizers, is collected as before, while
every module is still whole. What the collector then no longer sees is what
lives until the process ends anyway: modules' objects, torch's and numpy's
above all, which Python's finalization walked object by object in several
collections (about 0.5 s of the end of a kernel that imported torch; a
finalizer of an object in a reference cycle that is still held by a module
at exit, which Python does not promise to run, no longer runs).

It starts without ipykernel's debugger (see :func:`main`): a graded
notebook is run by nbclient, which never asks for it.

The program is started with ``python -P`` (see
:func:`dlcourse.sandbox.kernel.orderly_kernel_command`): without it the
notebook's folder, which the student fills, comes first on ``sys.path`` while
Python looks for this very module, and a ``dlcourse/`` package handed in
beside the notebook would run in its place before the kernel answers (and
before :meth:`SandboxedKernelManager.seal` closes the kernel's socket folder).
The folder is put on ``sys.path`` once the kernel is set up, where IPython
puts it, for the student's own imports.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from pathlib import Path

# how long to wait for the control thread to finish the message it is
# handling (then Python's exit goes on as ipykernel's would)
CONTROL_JOIN_SECONDS = 5.0


def end_control_thread(app) -> None:
    """Stop the control thread of ``app`` (an IPKernelApp whose main loop has
    returned) and wait for it."""
    control = getattr(app, "control_thread", None)
    if control is not None and control.is_alive():
        control.stop()
        control.join(CONTROL_JOIN_SECONDS)


def add_working_folder() -> None:
    """Put ``''`` (the working folder) on ``sys.path`` where IPython does,
    before the first site-packages, unless it is there: IPython leaves it out
    under ``python -P``."""
    if "" in sys.path:
        return
    packages = (
        i for i, path in enumerate(sys.path)
        if os.path.basename(path) in {"site-packages", "dist-packages"}
    )  # fmt: skip
    sys.path.insert(next(packages, 0), "")


def collect_and_freeze() -> None:
    """Collect the garbage there is, then freeze every object left."""
    gc.collect()
    gc.freeze()


def main() -> None:
    freeze = os.environ.get("DLCOURSE_KERNEL_FREEZE", "1") != "0"
    if freeze:
        gc.disable()
        # exit handlers run last-registered first: this one after all others
        atexit.register(collect_and_freeze)
    # as ipykernel_launcher does: the notebook's folder leaves sys.path while
    # ipykernel loads (the kernel puts it back for the student's imports)
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]
    # Without the debugger, which only a front end's debug panel talks to:
    # ipykernel imports debugpy (about 0.05 s) at the start of every kernel.
    # debugpy stays importable for the student's own code once the kernel is
    # set up. DLCOURSE_KERNEL_DEBUGGER=1 keeps it, as a student's Jupyter has it.
    debugger = os.environ.get("DLCOURSE_KERNEL_DEBUGGER", "0") == "1"
    if not debugger and "debugpy" not in sys.modules:
        sys.modules["debugpy"] = None  # import debugpy: ImportError
    from ipykernel.kernelapp import IPKernelApp

    # launch_instance, with the control thread ended between start and exit
    app = IPKernelApp.instance()
    app.initialize()
    if "debugpy" in sys.modules and sys.modules["debugpy"] is None:
        del sys.modules["debugpy"]
    add_working_folder()
    if freeze:
        # no student code has run yet: what is frozen is the kernel's own
        gc.freeze()
        gc.enable()
    try:
        app.start()
    finally:
        end_control_thread(app)


if __name__ == "__main__":
    main()
