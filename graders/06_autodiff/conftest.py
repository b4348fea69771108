"""Shared pieces of the 06_autodiff graders: torch (float64) runs the same
plain-data programs the notebook's ``evaluate_program`` runs, random programs
are drawn at grading time, and mismatches are described node by node."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from dlcourse.checks import as_array, fail

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


def _node_args(program, n_inputs, k) -> list[int]:
    """The node indices node k reads (empty for an input)."""
    if k < n_inputs:
        return []
    return [a for a in program[k - n_inputs][1:] if isinstance(a, int)]


def _with_values(program, n_inputs, k, values) -> str:
    """'x4 = x2 / x1 with x2 = 1.5, x1 = -0.5': node k and its operands' (right) values."""
    operands = dict.fromkeys(_node_args(program, n_inputs, k))
    given = ", ".join(f"x{a} = {values[a]:.6g}" for a in operands)
    return describe_node(program, n_inputs, k) + (f" with {given}" if given else "")


def compare_program(got, expected, program, inputs, who: str) -> None:
    """Fail with one short sentence at the first node that differs: the lowest
    node with a wrong value (its operands' values are right), or, when every
    value is right, the wrong gradient closest to the output (its users'
    gradients are right), naming the operation and its operands. The program
    itself is not printed: graphs have up to 150 nodes."""
    __tracebackhide__ = True
    n = len(inputs)
    size = len(expected["values"])
    if not isinstance(got, dict) or not {"values", "grads"} <= set(got):
        fail(f"evaluate_program returned {type(got).__name__}; the given helper returns a dict")
    values = as_array(got["values"], "the values evaluate_program returned")
    grads = as_array(got["grads"], "the gradients evaluate_program returned")
    if values.shape != (size,) or grads.shape != values.shape:
        fail(f"evaluate_program returned {values.size} values for {size} nodes")
    ev, eg = np.asarray(expected["values"]), np.asarray(expected["grads"])
    inputs_named = "input x0" if n == 1 else f"inputs x0 .. x{n - 1}"
    graph = f"(graph of {size} nodes, {inputs_named})"
    wired = got.get("wired")
    wired = wired if isinstance(wired, list) and len(wired) == size else [True] * size
    for k in range(n, size):
        if wired[k] is not True:
            fail(
                f"{method_of(program[k - n])}: node {describe_node(program, n, k)} does not hold "
                f"its operands in _prev {graph}; each operation must make one new Value whose "
                "children are its operands"
            )
    for k in range(n, size):
        allowed = ATOL + RTOL * abs(ev[k])
        if not (np.isfinite(values[k]) and abs(values[k] - ev[k]) <= allowed):
            fail(
                f"{method_of(program[k - n])}: {_with_values(program, n, k, ev)} gives "
                f"{values[k]:.6g}, expected {ev[k]:.6g} (allowed error {allowed:.1e}); every "
                f"earlier node is right {graph}"
            )
    for k in range(size - 1, -1, -1):
        allowed = ATOL + RTOL * abs(eg[k])
        if np.isfinite(grads[k]) and abs(grads[k] - eg[k]) <= allowed:
            continue
        wrong = f"{who}: the gradient of x{k} is {grads[k]:.6g}, expected {eg[k]:.6g} by torch.autograd (allowed error {allowed:.1e})"
        if k == size - 1:
            fail(f"{wrong}: x{k} is the output, where backpropagation starts {graph}")
        users = [j for j in range(n, size) if k in _node_args(program, n, j)]
        shown = "; ".join(_user(program, n, j, k, ev, eg) for j in users[:3])
        more = f" and {len(users) - 3} more" if len(users) > 3 else ""
        fail(
            f"{wrong}; every later node's gradient is right, so the error is in what x{k}'s "
            f"users pass down to it (x{k} = {ev[k]:.6g}): {shown}{more} {graph}"
        )


def _user(program, n_inputs, j, k, values, grads) -> str:
    """'x9 = x7 * x2 (__mul__, x2 = 0.5, grad 1.2)': node j, a user of node k, with
    its other operands' values and its own (right) gradient."""
    others = dict.fromkeys(a for a in _node_args(program, n_inputs, j) if a != k)
    known = "".join(f", x{a} = {values[a]:.6g}" for a in others)
    return (
        f"{describe_node(program, n_inputs, j)} ({method_of(program[j - n_inputs])}{known}, "
        f"grad {grads[j]:.6g})"
    )


def _partials(op, a, b, out) -> tuple[float, ...]:
    """d out / d operand, per operand, of one operation at (a, b)."""
    if op in ("add", "sub"):
        return (1.0, 1.0 if op == "add" else -1.0)
    if op == "mul":
        return (b, a)
    if op == "truediv":
        return (1.0 / b, -a / b**2)
    if op == "pow":
        return (b * a ** (b - 1),)
    unary = {
        "neg": -1.0,
        "exp": out,
        "log": 1.0 / a if a else math.inf,
        "tanh": 1.0 - out * out,
        "sigmoid": out * (1.0 - out),
        "relu": 1.0 if out > 0 else 0.0,
    }
    return (unary[op],)


def local_derivatives(program, inputs) -> tuple[list[float], list[list[tuple[int, float]]]]:
    """Forward values and, per node, [(operand node, d node / d operand)], in
    plain floats (a node using one operand twice lists it twice)."""
    values = [float(x) for x in inputs]
    local: list[list[tuple[int, float]]] = [[] for _ in inputs]
    for op, *args in program:
        a, b = (values[x] if isinstance(x, int) else x for x in (*args, 0.0)[:2])
        out = _float_op(op, a, b)
        partial = _partials(op, a, b, out)
        local.append([(x, d) for x, d in zip(args, partial, strict=False) if isinstance(x, int)])
        values.append(out)
    return values, local


def contract_backward(program, inputs, calls) -> list[float]:
    """Every node's grad after calling backward() on the nodes ``calls``, one
    after the other, on one graph, as the notebook's contract defines it:
    seed the node with grad = 1, then run each _backward of the nodes it
    depends on once, users first, adding into grads that are never reset."""
    _, local = local_derivatives(program, inputs)
    grads = [0.0] * len(local)
    for top in calls:
        reached = {top}
        for k in range(top, -1, -1):
            if k in reached:
                reached.update(x for x, _ in local[k])
        grads[top] = 1.0
        for k in range(top, -1, -1):  # program order is topological: users have larger indices
            if k in reached:
                for x, d in local[k]:
                    grads[x] += d * grads[k]
    return grads


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
        contract_backward=contract_backward,
        method_of=method_of,
        expect_derivative=expect_derivative,
    )
