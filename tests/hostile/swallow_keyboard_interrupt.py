"""A loop at top level of the softmax answer cell that catches and ignores KeyboardInterrupt, so the timeout's interrupt does not stop it (rest = reference).

expect: graded
total: 20
reason: time limit|endless loop
measured: through the batch (2026-11-26, Execute.timeout=60): graded 20/22. The cell ignores the interrupt and nbclient gives up waiting ("Timeout waiting for IOPub output"); SandboxedExecute re-runs the notebook without that cell, and the hidden graders' sandbox for test_softmax stops the loop at its own limit: test_softmax 0/2 "did not finish within the time limit while running the notebook's code", all else full; 201 s (one per-cell timeout, a second run, and the graders' 120 s limit).
before: with stock nbgrader's Execute, after 15 s nbgrader interrupts, the loop ignores it, nbclient raises CellTimeoutError "Timeout waiting for IOPub output" (nbgrader sets raise_on_iopub_timeout) and the notebook is dropped: could not be graded; the kernel was stopped, nothing left running; the batch went on (the case costs ~20 s).
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(reference, "softmax").source += (
        "\n\nimport time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
        "    except KeyboardInterrupt:\n        print('ignoring the interrupt')\n"
    )
    return {"02_layers.ipynb": reference}
