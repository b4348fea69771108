"""Part 1: negation, subtraction and division, each operation on its own.

Each check runs the notebook's evaluate_program with use_backward=False, so
only the operation's own _backward is used (not the student's backward())."""

import numpy as np
import pytest

from dlcourse.checks import expect_close, expect_true

pytestmark = pytest.mark.graded("test_arithmetic")

# method, program maker (c: a Python number), expression shown to the student, n inputs
CASES = {
    "neg": ("__neg__", lambda c: [("neg", 0)], "-v", 1),
    "sub": ("__sub__", lambda c: [("sub", 0, 1)], "v - w", 2),
    "sub_number": ("__sub__", lambda c: [("sub", 0, c)], "v - {c:g}", 1),
    "rsub": ("__rsub__", lambda c: [("sub", c, 0)], "{c:g} - v", 1),
    "truediv": ("__truediv__", lambda c: [("truediv", 0, 1)], "v / w", 2),
    "truediv_number": ("__truediv__", lambda c: [("truediv", 0, c)], "v / {c:g}", 1),
    "rtruediv": ("__rtruediv__", lambda c: [("truediv", c, 0)], "{c:g} / v", 1),
}

# an operand used twice: by the same node, or by the node and the one after it
REUSE = {
    "neg": ("__neg__", lambda c: [("neg", 0), ("mul", 1, 0)], "(-v) * v"),
    "sub_same": ("__sub__", lambda c: [("sub", 0, 0)], "v - v"),
    "sub_later": ("__sub__", lambda c: [("sub", 0, c), ("mul", 1, 0)], "(v - {c:g}) * v"),
    "rsub": ("__rsub__", lambda c: [("sub", c, 0), ("mul", 1, 0)], "({c:g} - v) * v"),
    "truediv_same": ("__truediv__", lambda c: [("truediv", 0, 0)], "v / v"),
    "truediv_later": (
        "__truediv__",
        lambda c: [("truediv", 0, c), ("mul", 1, 0)],
        "(v / {c:g}) * v",
    ),
    "rtruediv": ("__rtruediv__", lambda c: [("truediv", c, 0), ("mul", 1, 0)], "({c:g} / v) * v"),
}


# Signs of (v, w) and of the number, per repetition of a check: every seed
# sees positive and negative operands on both sides.
SIGNS = [((1, 1), -1), ((-1, 1), 1), ((1, -1), -1)]


def _inputs(rng, n, repetition=None):
    """Numbers in +-[0.4, 2.5]: away from 0, where division is well conditioned."""
    signs = rng.choice([-1, 1], size=2) if repetition is None else SIGNS[repetition][0]
    return [float(x * s) for x, s in zip(rng.uniform(0.4, 2.5, size=n), signs[:n], strict=True)]


def _constant(rng, repetition=None):
    sign = rng.choice([-1, 1]) if repetition is None else SIGNS[repetition][1]
    return float(np.round(rng.uniform(0.5, 3.0) * sign, 2))


def _wired(result, method, expr):
    wired = result.get("wired", []) if isinstance(result, dict) else []
    expect_true(
        all(wired),
        f"{method}: the result of {expr} does not hold its operands in _prev, so no gradient "
        "can reach them; make one new Value whose children are the operands (not a Value of the "
        "number alone, and not built from other operations)",
    )


@pytest.mark.parametrize("case", list(CASES))
def test_operation(student, rng, autodiff, case):
    """Each operation's value and local derivatives, with Values and Python numbers on either side."""
    method, make, expr, n = CASES[case]
    evaluate = student.evaluate_program
    for repetition in range(len(SIGNS)):
        c = _constant(rng, repetition)
        program, inputs = make(c), _inputs(rng, n, repetition)
        got = evaluate(program, inputs, use_backward=False)
        expected = autodiff.torch_program(program, inputs)
        text = expr.format(c=c)
        _wired(got, method, text)
        expect_close(
            got["values"][-1],
            expected["values"][-1],
            f"{method}: the value of {text} at {_at(inputs)}",
        )
        for k in range(n):
            name = "vw"[k]
            autodiff.expect_derivative(
                got["grads"][k],
                expected["grads"][k],
                f"{method}: d({text})/d{name} at {_at(inputs)}",
            )


def _at(inputs):
    return ", ".join(f"{name} = {x:.4g}" for name, x in zip("vw", inputs, strict=False))


@pytest.mark.parametrize("case", list(REUSE))
def test_reused_operand(student, rng, autodiff, case):
    """An operand used twice collects the gradient of both uses (accumulated, not overwritten)."""
    method, make, expr = REUSE[case]
    c = _constant(rng)
    program, inputs = make(c), _inputs(rng, 1)
    got = student.evaluate_program(program, inputs, use_backward=False)
    expected = autodiff.torch_program(program, inputs)
    text = expr.format(c=c)
    _wired(got, method, text)
    autodiff.expect_derivative(
        got["grads"][0],
        expected["grads"][0],
        f"{method}: d({text})/dv at v = {inputs[0]:.4g}",
        hint="an operand used more than once must collect a gradient from every use (accumulate into .grad)",
    )


@pytest.mark.parametrize("index", range(3), ids=lambda i: f"graph {i + 1}")
def test_random_programs(student, rng, autodiff, index):
    """Random graphs of +, -, *, /, ** and negation, with reused nodes and numbers on either side, against torch.autograd."""
    program, inputs = autodiff.random_program(
        rng,
        ["sub", "sub", "truediv", "truediv", "neg", "add", "mul", "pow"],
        n_inputs=3,
        n_steps=10,
    )
    got = student.evaluate_program(program, inputs, use_backward=False)
    autodiff.compare_program(
        got, autodiff.torch_program(program, inputs), program, inputs, "arithmetic"
    )
