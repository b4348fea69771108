"""Part 2: exp, log, tanh and sigmoid, each on its own, at ordinary and extreme inputs.

Each check runs the notebook's evaluate_program with use_backward=False, so
only the function's own _backward is used (not the student's backward())."""

import math

import pytest

from dlcourse.checks import expect_close, expect_true

pytestmark = pytest.mark.graded("test_functions")

DOMAIN = {"exp": (-3.0, 3.0), "log": (0.05, 5.0), "tanh": (-3.0, 3.0), "sigmoid": (-5.0, 5.0)}
# One point from each interval, so every seed checks both signs (and log below and above 1).
STRATA = {
    "exp": [(-3.0, -0.5), (-0.5, 0.5), (0.5, 3.0)],
    "log": [(0.05, 0.9), (0.9, 1.5), (1.5, 5.0)],
    "tanh": [(-3.0, -0.5), (-0.5, 0.5), (0.5, 3.0)],
    "sigmoid": [(-5.0, -0.5), (-0.5, 0.5), (0.5, 5.0)],
}
HINT = {
    "exp": "the derivative of e^x is e^x",
    "log": "the derivative of log x is 1/x",
    "tanh": "the derivative of tanh x is 1 - tanh(x)^2",
    "sigmoid": "the derivative of sigmoid(x) is s (1 - s) with s = sigmoid(x)",
}


def _run(student, op, x, tail=()):
    got = student.evaluate_program([(op, 0), *tail], [float(x)], use_backward=False)
    expect_true(
        isinstance(got, dict) and all(got.get("wired", [])),
        f"{op}: the result of {op}(v) does not hold v in _prev, so no gradient can reach v; "
        "make one new Value whose child is v",
    )
    return got


@pytest.mark.parametrize("op", list(DOMAIN))
def test_function(student, rng, autodiff, op):
    """The function's value and derivative at random points of its domain."""
    for lo, hi in STRATA[op]:
        x = float(rng.uniform(lo, hi))
        got = _run(student, op, x)
        expected = autodiff.torch_program([(op, 0)], [x])
        expect_close(got["values"][-1], expected["values"][-1], f"{op}(v) at v = {x:.4g}")
        autodiff.expect_derivative(
            got["grads"][0], expected["grads"][0], f"{op}: d {op}(v)/dv at v = {x:.4g}", HINT[op]
        )


@pytest.mark.parametrize("op", list(DOMAIN))
def test_reused_operand(student, rng, autodiff, op):
    """In f(v) * v, v collects the gradient of both uses."""
    x = float(rng.uniform(*DOMAIN[op]))
    program = [(op, 0), ("mul", 1, 0)]
    got = _run(student, op, x, tail=[("mul", 1, 0)])
    expected = autodiff.torch_program(program, [x])
    autodiff.expect_derivative(
        got["grads"][0],
        expected["grads"][0],
        f"{op}: d({op}(v) * v)/dv at v = {x:.4g}",
        "an operand used more than once must collect a gradient from every use (accumulate into .grad)",
    )


@pytest.mark.parametrize("op", ["tanh", "sigmoid"])
def test_large_inputs(student, autodiff, op):
    """tanh and sigmoid stay finite at |x| up to 1000, and their derivatives vanish there."""
    for x in (30.0, -30.0, 400.0, -400.0, 1000.0, -1000.0):
        got = _run(student, op, x)
        expected = autodiff.torch_program([(op, 0)], [x])
        expect_close(
            got["values"][-1],
            expected["values"][-1],
            f"{op}(v) at v = {x:g}",
            rtol=1e-9,
            atol=1e-12,
            hint="only ever exponentiate numbers <= 0" if op == "sigmoid" else "",
        )
        autodiff.expect_derivative(
            got["grads"][0], expected["grads"][0], f"{op}: d {op}(v)/dv at v = {x:g}", HINT[op]
        )


def test_log_of_small_numbers(student, autodiff):
    """log and its derivative at tiny positive numbers (down to 1e-300)."""
    for x in (1e-3, 1e-8, 1e-100, 1e-300):
        got = _run(student, "log", x)
        expect_close(got["values"][-1], math.log(x), f"log(v) at v = {x:g}", rtol=1e-9)
        autodiff.expect_derivative(
            got["grads"][0], 1.0 / x, f"log: d log(v)/dv at v = {x:g}", HINT["log"]
        )


@pytest.mark.parametrize("index", range(3), ids=lambda i: f"graph {i + 1}")
def test_random_programs(student, rng, autodiff, index):
    """Random graphs of exp, log, tanh, sigmoid with +, *, ** and relu, with reused nodes, against torch.autograd."""
    ops = ["exp", "log", "tanh", "sigmoid"] * 2 + ["add", "mul", "pow", "relu"]
    program, inputs = autodiff.random_program(rng, ops, n_inputs=3, n_steps=10)
    got = student.evaluate_program(program, inputs, use_backward=False)
    autodiff.compare_program(
        got, autodiff.torch_program(program, inputs), program, inputs, "functions"
    )


def test_sigmoid_is_symmetric(student, rng):
    """sigmoid(-x) = 1 - sigmoid(x) to float precision."""
    x = float(rng.uniform(0.5, 20.0))
    a = _run(student, "sigmoid", x)["values"][-1]
    b = _run(student, "sigmoid", -x)["values"][-1]
    expect_close(a + b, 1.0, f"sigmoid({x:.4g}) + sigmoid({-x:.4g})", rtol=0, atol=1e-12)
