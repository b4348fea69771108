"""os.kill(os.getppid(), 9) at top level of the softmax answer cell: the kernel kills its parent (launcher, or nbgrader itself if unconfined; rest = reference).

expect: ungradable
total: any
reason: could not autograde
measured: the parent is the sandbox launcher (not nbgrader): it dies, nbclient sees the kernel dead (DeadKernelError), notebook is "could not be graded"; nbgrader and the rest of the batch are unaffected; no orphaned kernel found afterwards.
known_problem: leaves its /run/dlcourse/k* IPC folder behind (confirmed in a run of os_exit + kill_parent_process alone: two new folders, one per notebook)
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(
        reference, "softmax"
    ).source += "\n\nimport os\nprint('parent pid', os.getppid())\nos.kill(os.getppid(), 9)\n"
    return {"02_layers.ipynb": reference}
