"""How long a sandboxed kernel takes to end, and how often it hangs.

    python benchmarks/kernel_shutdown.py [--count 30] [--program ours|stock]

Runs a one-cell notebook ``--count`` times in a kernel started by
:class:`dlcourse.sandbox.kernel.SandboxedKernelManager` (as nbgrader's
execution does) and times each graceful shutdown: from the shutdown request
to the kernel's end. ``--program stock`` runs ipykernel's own launcher
instead of :mod:`dlcourse.kernel_app`. Prints the median and the number of
shutdowns that took over 2 s (a kernel that hung until jupyter_client killed
it). Side by side:

    farm-bench -n 3 --vs "python benchmarks/kernel_shutdown.py --program stock" \\
        -- python benchmarks/kernel_shutdown.py
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import nbformat
from nbclient import NotebookClient

from dlcourse.sandbox import kernel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--program", choices=["ours", "stock"], default="ours")
    args = parser.parse_args()
    if args.program == "stock":
        kernel.orderly_kernel_command = list
    seconds: list[float] = []
    finish = kernel.SandboxedKernelManager._async_finish_shutdown

    async def timed_finish(self, *a, **k):
        start = time.perf_counter()
        await finish(self, *a, **k)
        seconds.append(time.perf_counter() - start)

    kernel.SandboxedKernelManager._async_finish_shutdown = timed_finish
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('hi')")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for _ in range(args.count):
        with tempfile.TemporaryDirectory() as folder:
            NotebookClient(
                nb,
                kernel_manager_class=kernel.SandboxedKernelManager,
                kernel_name="python3",
                resources={"metadata": {"path": folder}},
            ).execute()
    hung = sum(s > 2 for s in seconds)
    print(
        f"{args.program}: median shutdown {statistics.median(seconds):.3f} s, "
        f"{hung} of {len(seconds)} over 2 s, {sum(seconds):.1f} s in all"
    )


if __name__ == "__main__":
    main()
