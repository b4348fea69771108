"""Starting sandboxes the way the graders do: one per graded cell.

    python benchmarks/sandbox_start.py [--count 20] [--mode zygote|exec] [--torch]

Starts ``--count`` sandboxes one after the other, each running a cell that
imports numpy (and torch, with ``--torch``) and answering one call, either
forked from a zygote (what the graders do; the zygote's own start is
included) or each started anew. Prints the mean seconds per sandbox. Time the
two modes side by side with farm-bench:

    farm-bench -n 5 --vs "python benchmarks/sandbox_start.py --mode exec --torch" \\
        -- python benchmarks/sandbox_start.py --mode zygote --torch
"""

from __future__ import annotations

import argparse
import time

from dlcourse.sandbox import Cell, Sandbox
from dlcourse.sandbox.session import worker_environment
from dlcourse.sandbox.zygote import Zygote


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--mode", choices=["zygote", "exec"], default="zygote")
    parser.add_argument("--torch", action="store_true")
    args = parser.parse_args()
    code = "import numpy as np\n" + ("import torch\n" if args.torch else "") + "x = 1"
    start = time.perf_counter()
    zygote = None
    if args.mode == "zygote":
        zygote = Zygote(worker_environment(), preload=["torch"] if args.torch else [])
        zygote.start()
    try:
        for _ in range(args.count):
            with Sandbox(zygote=zygote) as box:
                box.run([Cell("answer", code)])
                assert box.get("x") == 1
    finally:
        if zygote is not None:
            zygote.close()
    seconds = (time.perf_counter() - start) / args.count
    print(f"{args.mode}{' with torch' if args.torch else ''}: {seconds:.3f} s per sandbox")


if __name__ == "__main__":
    main()
