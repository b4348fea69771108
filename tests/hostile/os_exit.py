"""os._exit(0) at top level of the softmax answer cell, after the definitions (the kernel process ends; rest = reference).

expect: ungradable
total: any
reason: could not autograde
measured: the kernel exits, nbclient raises DeadKernelError, nbgrader removes autograded/os_exit and the notebook is "could not be graded"; batch continues.
known_problem: the kernel IPC folder /run/dlcourse/k* is not removed when nbgrader abandons a notebook whose kernel died or timed out (confirmed: a run of os_exit + kill_parent_process alone left two new folders holding report.json; SandboxedKernelManager._async_cleanup_resources is never reached)
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(reference, "softmax").source += "\n\nimport os\nos._exit(0)\n"
    return {"02_layers.ipynb": reference}
