"""os.kill(os.getppid(), 9) at top level of the softmax answer cell: the kernel kills its parent (launcher, or nbgrader itself if unconfined; rest = reference).

expect: graded
total: full
measured: since the sandbox's PID namespace the kernel and the graders' worker are its init (getppid() is 0): kill(0, 9) reaches only the caller's own namespace, where init ignores it; nothing dies and the notebook earns 22/22. Before: the parent is the sandbox launcher (not nbgrader): it dies, nbclient sees the kernel dead (DeadKernelError) and SandboxedExecute runs the notebook again without that cell; only test_softmax loses its points (20/22); nbgrader and the rest of the batch are unaffected; no orphaned kernel found afterwards.
note: the dead kernel's IPC folder under /run/dlcourse is removed only when the nbgrader process exits (atexit)
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(
        reference, "softmax"
    ).source += "\n\nimport os\nprint('parent pid', os.getppid())\nos.kill(os.getppid(), 9)\n"
    return {"02_layers.ipynb": reference}
