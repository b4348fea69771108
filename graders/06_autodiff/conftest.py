"""Shared pieces of the 06_autodiff graders: torch (float64) runs the same
plain-data programs the notebook's ``evaluate_program`` runs, random programs
are drawn at grading time, and mismatches are described node by node."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from dlcourse.checks import fail

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)

UNARY = ("neg", "exp", "log", "tanh", "sigmoid", "relu")
BINARY = ("add", "sub", "mul", "truediv", "pow")
SYMBOL = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "pow": "**"}
RTOL, ATOL = 1e-6, 1e-8


def _torch_op(op, a, b=None):
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "truediv":
        return a / b
    if op == "pow":
        return a**b
    if op == "neg":
        return -a
    return getattr(torch, op)(a)


def torch_program(program, inputs) -> dict:
    """Values and gradients of every node, by torch.autograd in float64."""
    nodes = [torch.tensor(float(x), requires_grad=True) for x in inputs]
    for op, *args in program:
        out = _torch_op(op, *[nodes[a] if isinstance(a, int) else a for a in args])
        out.retain_grad()
        nodes.append(out)
    nodes[-1].backward()
    return {
        "values": [n.item() for n in nodes],
        "grads": [0.0 if n.grad is None else n.grad.item() for n in nodes],
    }


def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _float_op(op, a, b=None):
    """The forward value in plain floats (for drawing well-conditioned programs)."""
    funcs = {
        "add": lambda: a + b,
        "sub": lambda: a - b,
        "mul": lambda: a * b,
        "truediv": lambda: a / b,
        "pow": lambda: a**b,
        "neg": lambda: -a,
        "exp": lambda: math.exp(a),
        "log": lambda: math.log(a),
        "tanh": lambda: math.tanh(a),
        "sigmoid": lambda: _sigmoid(a),
        "relu": lambda: max(a, 0.0),
    }
    return funcs[op]()


def _allowed(op, a, b) -> bool:
    """Keep programs away from poles, overflow and complex powers."""
    if op == "truediv" and abs(b) < 0.3:
        return False
    if op == "log" and a < 0.1:
        return False
    if op == "exp" and a > 3.0:
        return False
    if op == "pow":
        if b == 0.5 and a < 0.1:
            return False
        if b == -1.0 and abs(a) < 0.3:
            return False
        if abs(a) > 6.0:
            return False
    if op == "mul" and abs(a * b) > 40.0:
        return False
    return True


def method_of(instruction) -> str:
    """The Value method an instruction exercises: ("sub", 1.0, 0) -> "__rsub__"."""
    op, *args = instruction
    if op in ("add", "sub", "mul", "truediv"):
        return f"__r{op}__" if not isinstance(args[0], int) else f"__{op}__"
    if op == "pow":
        return "__pow__"
    if op == "neg":
        return "__neg__"
    return op


def _arg(a) -> str:
    return f"x{a}" if isinstance(a, int) else f"{a:g}"


def describe_node(program, n_inputs, k) -> str:
    """'x4 = 1.5 - x2' for node k (k >= n_inputs)."""
    op, *args = program[k - n_inputs]
    if op in SYMBOL:
        return f"x{k} = {_arg(args[0])} {SYMBOL[op]} {_arg(args[1])}"
    if op == "neg":
        return f"x{k} = -{_arg(args[0])}"
    return f"x{k} = {op}({_arg(args[0])})"


def describe(program, inputs) -> str:
    """The whole program as one line: 'x0 = 0.5, x1 = -1.2; x2 = x0 * x1; ...'."""
    head = ", ".join(f"x{i} = {x:.4g}" for i, x in enumerate(inputs))
    n = len(inputs)
    body = "; ".join(describe_node(program, n, n + i) for i in range(len(program)))
    return f"{head}; {body}"


def random_program(rng, ops, n_inputs=3, n_steps=10):
    """A random, well-conditioned program over ``ops`` with reused nodes and
    Python numbers on either side; every node feeds the last one.
    Returns (program, inputs) with int node indices and float numbers."""
    inputs = [
        float(x) for x in rng.uniform(0.4, 2.0, size=n_inputs) * rng.choice([-1, 1], n_inputs)
    ]
    values = list(inputs)
    program = []
    used = set()
    attempts = 0
    while len(program) < n_steps and attempts < 1000:
        attempts += 1
        op = str(rng.choice(ops))
        n = len(values)
        i = int(rng.integers(max(0, n - 3), n)) if rng.random() < 0.6 else int(rng.integers(n))
        if op in UNARY:
            args = (i,)
        elif op == "pow":
            args = (i, float(rng.choice([2.0, 3.0, -1.0, 0.5])))
        else:
            j = i if rng.random() < 0.1 else int(rng.integers(n))
            c = float(np.round(rng.uniform(0.5, 3.0) * rng.choice([-1, 1]), 2))
            form = rng.choice(3, p=[0.6, 0.2, 0.2])
            args = (i, j) if form == 0 else (i, c) if form == 1 else (c, i)
        operands = [values[a] if isinstance(a, int) else a for a in args]
        if not _allowed(op, *operands, *([None] * (2 - len(operands)))):
            continue
        try:
            v = _float_op(op, *operands)
        except (OverflowError, ValueError, ZeroDivisionError):
            continue
        if not (isinstance(v, float) and math.isfinite(v) and abs(v) < 50.0):
            continue
        program.append((op, *args))
        values.append(v)
        used.update(a for a in args if isinstance(a, int))
    last = len(values) - 1
    for k in range(n_inputs, last):
        if k not in used:
            program.append(("add", last, k))
            last += 1
    return program, inputs


def compare_program(got, expected, program, inputs, who: str) -> None:
    """Fail with one sentence at the first wrong value (lowest node) or, when
    every value is right, at the wrong gradient closest to the output."""
    __tracebackhide__ = True
    n = len(inputs)
    if not isinstance(got, dict) or not {"values", "grads"} <= set(got):
        fail(f"evaluate_program returned {type(got).__name__}; the given helper returns a dict")
    values = np.asarray(got["values"], dtype=float)
    grads = np.asarray(got["grads"], dtype=float)
    if values.shape != (len(expected["values"]),) or grads.shape != values.shape:
        fail(f"evaluate_program returned {values.size} values for {len(expected['values'])} nodes")
    ev, eg = np.asarray(expected["values"]), np.asarray(expected["grads"])
    wired = got.get("wired") or [True] * values.size
    where = f"in the program {describe(program, inputs)}"
    for k in range(n, values.size):
        if not wired[k]:
            fail(
                f"{method_of(program[k - n])}: node {describe_node(program, n, k)} does not hold "
                f"its operands in _prev ({where}); each operation must make one new Value whose "
                "children are its operands"
            )
    for k in range(n, values.size):
        if not (np.isfinite(values[k]) and abs(values[k] - ev[k]) <= ATOL + RTOL * abs(ev[k])):
            fail(
                f"{method_of(program[k - n])}: the value of {describe_node(program, n, k)} is "
                f"{values[k]:.6g}, expected {ev[k]:.6g} (allowed error {ATOL + RTOL * abs(ev[k]):.1e}) {where}"
            )
    for k in range(values.size - 1, -1, -1):
        if not (np.isfinite(grads[k]) and abs(grads[k] - eg[k]) <= ATOL + RTOL * abs(eg[k])):
            users = [
                f"{describe_node(program, n, j)} ({method_of(program[j - n])})"
                for j in range(n, values.size)
                if k in [a for a in program[j - n][1:] if isinstance(a, int)]
            ]
            used_by = f", x{k} is used by {', '.join(users)}" if users else ""
            fail(
                f"{who}: the gradient of x{k} is {grads[k]:.6g}, expected {eg[k]:.6g} by "
                f"torch.autograd (allowed error {ATOL + RTOL * abs(eg[k]):.1e}) {where}{used_by}"
            )


def expect_derivative(got, expected, what: str, hint: str = "") -> None:
    """One derivative, with the message '<what> is +1, expected -1 (error ...)'."""
    __tracebackhide__ = True
    got = float(got)
    err = abs(got - expected)
    allowed = ATOL + RTOL * abs(expected)
    if not (math.isfinite(got) and err <= allowed):
        message = f"{what} is {got:+.6g}, expected {expected:+.6g} (error {err:.1e}, allowed {allowed:.1e})"
        fail(message + (f"; {hint}" if hint else ""))


@pytest.fixture
def autodiff():
    """The helpers above, for the test modules."""
    return SimpleNamespace(
        torch_program=torch_program,
        random_program=random_program,
        compare_program=compare_program,
        describe=describe,
        method_of=method_of,
        expect_derivative=expect_derivative,
    )
