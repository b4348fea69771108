"""A fork bomb at top level of the softmax answer cell: every process forks forever, ignoring failures (rest = reference).

expect: ungradable
total: any
reason: could not autograde
measured: the pids limit (128) starves the kernel's own ZeroMQ threads ("Resource temporarily unavailable (src/thread.cpp:241)"); after the timeout and interrupt nbclient raises CellTimeoutError "Timeout waiting for IOPub output", nbgrader drops the notebook: could not be graded. No forked process survived the run; the batch went on.
note: the whole notebook goes to manual review instead of losing only test_softmax (acceptable); its kernel IPC folder under /run/dlcourse was probably left behind too (see os_exit).
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(
        reference, "softmax"
    ).source += "\n\nimport os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    return {"02_layers.ipynb": reference}
