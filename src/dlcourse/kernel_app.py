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
(``benchmarks/kernel_shutdown.py --program stock``; none of 40 since). Ending the control thread as
soon as the main loop returns, before any exit handler, lets the flush
finish first.
"""

from __future__ import annotations

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


def main() -> None:
    # as ipykernel_launcher does: the notebook's folder leaves sys.path while
    # ipykernel loads (the kernel puts it back for the student's imports)
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]
    from ipykernel.kernelapp import IPKernelApp

    # launch_instance, with the control thread ended between start and exit
    app = IPKernelApp.instance()
    app.initialize()
    try:
        app.start()
    finally:
        end_control_thread(app)


if __name__ == "__main__":
    main()
