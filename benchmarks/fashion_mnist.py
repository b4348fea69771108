"""Assignment 05 in figures: how fast the reference trains, against the
machine's floor, and what grading one submission costs.

    python benchmarks/fashion_mnist.py [--threads 1] [--max-epochs 15] [--skip-grader]

Prints, for the reference solution of source/05_fashion_mnist (its own
prepare/build_model/train, run here as the notebook runs them):

- seconds per epoch on the 60,000 training images;
- the FLOP lower bound for one epoch: 6 x parameters x samples (forward 2,
  backward 4 multiply-adds per weight and sample) divided by the float32
  matmul throughput measured here with the same thread count;
- the wall time (training and per-epoch evaluation) until the test accuracy
  first reaches 88%, in seconds and in epochs;
- the grader's wall time for one submission (``pytest graders/05_fashion_mnist``
  on the reference, without the run cache: the notebook is run once inside);
- the ratios between them.

A benchmark, not a test: figures on a shared machine vary; run it when the
machine is quiet.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
A = "05_fashion_mnist"


def reference_namespace() -> dict:
    """The source notebook's setup and answer cells (the instructor's code),
    minus the final run: the functions the notebook defines."""
    from dlcourse.submission import is_display, strip_solution_markers

    nb = nbformat.read(str(ROOT / "source" / A / f"{A}.ipynb"), as_version=4)
    namespace: dict = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        role = cell.metadata.get("dlcourse", {}).get("role")
        if cell.cell_type != "code" or meta.get("grade") or is_display(cell) or role == "run":
            continue
        exec(
            compile(strip_solution_markers(cell.source), f"<{meta.get('grade_id')}>", "exec"),
            namespace,
        )
    return namespace


def matmul_gflops(threads: int, size: int = 2048, repeats: int = 10) -> float:
    """Measured float32 matrix-product throughput (best of ``repeats``)."""
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def grader_seconds() -> float:
    env = {k: v for k, v in os.environ.items() if k != "DLCOURSE_EXECUTION_CACHE"}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "graders" / A), "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stdout[-2000:])
        raise SystemExit("the graders did not give the reference full marks")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (the notebook uses 1)"
    )
    parser.add_argument("--max-epochs", type=int, default=15)
    parser.add_argument("--target", type=float, default=0.88)
    parser.add_argument("--skip-grader", action="store_true")
    args = parser.parse_args()

    ns = reference_namespace()
    torch.set_num_threads(args.threads)  # after the setup cell, which sets 1
    start = time.perf_counter()
    train_images, train_labels = ns["load_fashion_mnist"]("train")
    test_images, test_labels = ns["load_fashion_mnist"]("test")
    X_train, X_test = ns["prepare"](train_images, test_images)
    y_train, y_test = torch.from_numpy(train_labels), torch.from_numpy(test_labels)
    load_seconds = time.perf_counter() - start

    torch.manual_seed(ns["SEED"])
    model = ns["build_model"]()
    params = sum(p.numel() for p in model.parameters())
    # the reference loop asks for each epoch's minibatches once, at the
    # epoch's start: timing those calls times the epochs without changing
    # the recipe (one optimiser for the whole run)
    marks: list[float] = []
    minibatches = ns["minibatches"]

    def timed_minibatches(*a, **kw):
        marks.append(time.perf_counter())
        return minibatches(*a, **kw)

    ns["minibatches"] = timed_minibatches
    history = ns["train"](
        model,
        X_train,
        y_train,
        X_test,
        y_test,
        args.max_epochs,
        ns["BATCH_SIZE"],
        ns["LR"],
        ns["SEED"],
    )
    marks.append(time.perf_counter())
    epoch_seconds = np.diff(marks)  # each epoch with its evaluation of the test set
    reached = None
    for epoch, (seconds, accuracy) in enumerate(
        zip(epoch_seconds, history["test_accuracy"], strict=True), 1
    ):
        print(f"epoch {epoch:2d}: {seconds:5.2f} s, test accuracy {accuracy:.4f}")
        if reached is None and accuracy >= args.target:
            reached = (epoch, marks[epoch] - marks[0])

    gflops = matmul_gflops(args.threads)
    flops_per_epoch = 6 * params * len(X_train)
    floor = flops_per_epoch / (gflops * 1e9)
    per_epoch = float(np.median(epoch_seconds))
    print()
    print(f"threads                     {args.threads}")
    print(f"data load + prepare         {load_seconds:.2f} s")
    print(f"parameters                  {params}")
    print(f"matmul throughput           {gflops:.1f} GFLOP/s (float32, 2048 x 2048)")
    print(f"FLOPs per epoch             {flops_per_epoch / 1e9:.1f} GFLOP (6 x params x 60000)")
    print(f"FLOP floor per epoch        {floor:.3f} s")
    print(f"seconds per epoch (median)  {per_epoch:.3f} s  = {per_epoch / floor:.2f} x the floor")
    if reached:
        epochs, seconds = reached
        print(
            f"time to {args.target:.0%} test accuracy   {seconds:.1f} s in {epochs} epochs "
            f"= {seconds / floor:.1f} x the one-epoch floor"
        )
    else:
        print(f"time to {args.target:.0%} test accuracy   not reached in {args.max_epochs} epochs")
    if not args.skip_grader:
        grading = grader_seconds()
        print(
            f"grader per submission       {grading:.1f} s  = {grading / per_epoch:.1f} x one epoch, "
            f"{grading / floor:.0f} x the floor"
        )


if __name__ == "__main__":
    main()
