"""os.kill(os.getpid(), 9) at top level of the softmax answer cell: the kernel kills itself (rest = reference).

expect: graded
total: full
measured: through the batch (2026-11-26): 22/22 in 9.9 s. No effect: the kernel survives (apparently PID 1 of its own PID namespace, where SIGKILL to itself is ignored); the cell returns at once, no timeout and the hidden graders give 22/22.
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(reference, "softmax").source += "\n\nimport os\nos.kill(os.getpid(), 9)\n"
    return {"02_layers.ipynb": reference}
