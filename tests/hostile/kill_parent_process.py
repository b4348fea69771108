"""os.kill(os.getppid(), 9) at top level of the softmax answer cell: the kernel kills its parent (launcher, or nbgrader itself if unconfined; rest = reference).

expect: graded
total: 20
measured: the parent is the sandbox launcher (not nbgrader): it dies, nbclient sees the kernel dead (DeadKernelError) and SandboxedExecute runs the notebook again without that cell; only test_softmax loses its points (20/22); nbgrader and the rest of the batch are unaffected; no orphaned kernel found afterwards.
note: the dead kernel's IPC folder under /run/dlcourse is removed only when the nbgrader process exits (atexit)
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(
        reference, "softmax"
    ).source += "\n\nimport os\nprint('parent pid', os.getppid())\nos.kill(os.getppid(), 9)\n"
    return {"02_layers.ipynb": reference}
