"""os._exit(0) at top level of the softmax answer cell, after the definitions (the kernel process ends; rest = reference).

expect: graded
total: 20
measured: the kernel exits and nbclient raises DeadKernelError; SandboxedExecute runs the notebook again without that cell, which gets a KernelDied error output; the hidden graders then give 0 to test_softmax only (its own sandbox dies the same way) and full marks elsewhere: 20/22. Stock nbgrader gave up on the whole notebook.
note: the dead kernel's IPC folder under /run/dlcourse is removed only when the nbgrader process exits (atexit), since nbclient never cleans up a dead kernel's manager
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(reference, "softmax").source += "\n\nimport os\nos._exit(0)\n"
    return {"02_layers.ipynb": reference}
