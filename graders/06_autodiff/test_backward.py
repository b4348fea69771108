"""Part 3: backward() in topological order, on graphs of the given operations.

Only the given +, *, ** and relu (with numbers on either side) are used here,
so that these checks grade backward() alone."""

import pytest

from dlcourse.checks import as_array, expect_close, fail

pytestmark = pytest.mark.graded("test_backward")

GIVEN = ["add", "mul", "mul", "pow", "relu", "add"]


def test_seeds_the_output(student, rng):
    """backward() on a node sets its own grad to 1."""
    x = float(rng.uniform(-2, 2))
    leaf = student.Value(x)
    leaf.backward()
    expect_close(
        leaf.grad,
        1.0,
        f"Value({x:.3g}).grad after calling backward() on it",
        hint="backward() starts from grad = 1 at the node it is called on",
    )
    got = student.evaluate_program([("mul", 0, 1), ("add", 2, 0)], [x, 2.0])
    expect_close(got["grads"][-1], 1.0, "the grad of the output node after backward()")


def test_diamond(student, rng, autodiff):
    """A node reached along two paths gets one contribution per path (a = x ** 2, b = a * 2, c = a * 3, d = b * c)."""
    x = float(rng.uniform(0.5, 1.5))
    program = [("pow", 0, 2.0), ("mul", 1, 2.0), ("mul", 1, 3.0), ("mul", 2, 3)]
    got = student.evaluate_program(program, [x])
    autodiff.expect_derivative(
        got["grads"][0],
        24.0 * x**3,
        f"backward(): in the diamond a = x ** 2, b = a * 2, c = a * 3, d = b * c at x = {x:.4g}, dd/dx",
        hint="a node reached along two paths gets one contribution from each, and each node's "
        "_backward must run exactly once, after every node that uses it",
    )


def test_stacked_diamonds(student, rng, autodiff):
    """Ten diamonds in a row: every node is reached along many paths and must be processed once."""
    x = float(rng.uniform(0.6, 0.9))
    program = []
    node = 0
    for _ in range(10):
        program += [("mul", node, 0.5), ("add", node, 1.0), ("mul", node + 1, node + 2)]
        node += 3
    got = student.evaluate_program(program, [x])
    expected = autodiff.torch_program(program, [x])
    autodiff.compare_program(got, expected, program, [x], "backward()")


def test_long_chain_with_skips(student, rng, autodiff):
    """A chain of 150 nodes, each also using an input, is ordered correctly."""
    inputs = [float(v) for v in rng.uniform(0.5, 1.0, size=2)]
    program = []
    node = 1
    for k in range(150):
        op = (
            ("mul", node, 0.99)
            if k % 3 == 0
            else ("add", node, k % 2)
            if k % 3 == 1
            else ("relu", node)
        )
        program.append(op)
        node = 2 + k
    got = student.evaluate_program(program, inputs)
    expected = autodiff.torch_program(program, inputs)
    autodiff.compare_program(got, expected, program, inputs, "backward()")


def _grads(nodes, names):
    """The grads of remote nodes as floats (whatever the student stored there)."""
    got = []
    for node, name in zip(nodes, names, strict=True):
        grad = node.grad
        if not isinstance(grad, (int, float)):
            fail(f"{name}.grad is a {type(grad).__name__}; grad holds a number")
        got.append(float(grad))
    return as_array(got, "the grads")


def test_gradients_accumulate(student, rng, autodiff):
    """backward() never resets a grad: a second call, on the same output or on another one, adds to the grads."""
    x, w = (float(v) for v in rng.uniform(0.5, 2.0, size=2) * [1, -1])
    # node 2 = x * x (x reached twice), node 3 = x * w, node 4 = x * w + x (x reached twice)
    program = [("mul", 0, 0), ("mul", 0, 1), ("add", 3, 0)]
    nodes = [student.Value(x), student.Value(w)]
    for op, *args in program:
        nodes.append(student.apply_op(op, *[nodes[a] for a in args]))
    at = f"x = {x:.4g}, w = {w:.4g}"
    steps = [
        (2, "y = x * x; y.backward()"),
        (2, "y = x * x; y.backward(); y.backward()"),
        (4, "y = x * x; y.backward(); y.backward(); z = x * w + x; z.backward()"),
    ]
    calls = []
    for top, done in steps:
        nodes[top].backward()
        calls.append(top)
        expected = autodiff.contract_backward(program, [x, w], calls)
        got = _grads(nodes[:2], ["x", "w"])
        for name, g, e in zip("xw", got, expected[:2], strict=True):
            autodiff.expect_derivative(
                g,
                e,
                f"backward(): after {done}, at {at}, {name}.grad",
                hint="backward() sets the output's grad to 1 and adds into every other grad; it "
                "never resets one, so gradients of several backward() calls add up",
            )


@pytest.mark.parametrize("index", range(4), ids=lambda i: f"graph {i + 1}")
def test_random_programs(student, rng, autodiff, index):
    """Random graphs of the given operations with reused nodes, every gradient against torch.autograd."""
    program, inputs = autodiff.random_program(rng, GIVEN, n_inputs=3, n_steps=14)
    got = student.evaluate_program(program, inputs)
    autodiff.compare_program(
        got, autodiff.torch_program(program, inputs), program, inputs, "backward()"
    )
