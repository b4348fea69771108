"""A fork bomb at top level of the softmax answer cell: every process forks forever, ignoring failures (rest = reference).

expect: graded
total: 20
measured: the pids limit (128) starves the kernel's own ZeroMQ threads ("Resource temporarily unavailable (src/thread.cpp:241)"); after the timeout and interrupt nbclient raises CellTimeoutError "Timeout waiting for IOPub output". Stock nbgrader then dropped the notebook; SandboxedExecute runs it again without that cell (KernelStoppedAnswering error output), and the hidden graders give 0 to test_softmax only (its sandbox hits its own pids limit): 20/22. No forked process survived the run; the batch went on.
note: costs one per-cell timeout plus a second run of the notebook, so it runs in the corpus tool (measured through the batch on 2026-11-26: 20/22), not in CI
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(
        reference, "softmax"
    ).source += "\n\nimport os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    return {"02_layers.ipynb": reference}
