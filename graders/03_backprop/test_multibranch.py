"""Part 4: dL/dx of the multi-branch ReLU network."""

import numpy as np
import pytest
import torch

from dlcourse.checks import as_array, expect_close, expect_true
from dlcourse.gradcheck import gradcheck

graded = pytest.mark.graded


def _draw(rng):
    """Random parameters and x with at least one active and one inactive branch, no kinks."""
    d = int(rng.integers(3, 7))
    active = rng.permutation([True, False, bool(rng.integers(2))])
    while True:
        p = {f"w{i}": rng.normal(size=d) for i in (1, 2, 3)}
        p.update({f"b{i}": float(rng.normal()) for i in (1, 2, 3)})
        p.update(
            {"w4": float(rng.uniform(0.5, 2.0) * rng.choice([-1, 1])), "b": float(rng.normal())}
        )
        x = rng.normal(size=d)
        for i, on in zip((1, 2, 3), active, strict=True):
            if (p[f"w{i}"] @ x + p[f"b{i}"] > 0) != on:
                p[f"w{i}"], p[f"b{i}"] = -p[f"w{i}"], -p[f"b{i}"]
        z = np.array([p[f"w{i}"] @ x + p[f"b{i}"] for i in (1, 2, 3)])
        if np.abs(z).min() > 0.05:
            return p, x, float(rng.normal())


def oracle(x, y, p):
    xt = torch.tensor(x, requires_grad=True)
    total = sum(torch.relu(torch.tensor(p[f"w{i}"]) @ xt + p[f"b{i}"]) for i in (1, 2, 3))
    a4 = p["w4"] * total + p["b"]
    ((a4 - y) ** 2).backward()
    return a4.item(), xt.grad.numpy()


@graded("test_multibranch")
def test_forward(student, rng):
    """multibranch_forward gives a4 = w4 (a1 + a2 + a3) + b."""
    p, x, y = _draw(rng)
    a4, _ = oracle(x, y, p)
    expect_close(
        student.multibranch_forward(x, p), a4, f"multibranch_forward(x, p) for D = {x.size}"
    )


@graded("test_multibranch", weight=2)
@pytest.mark.parametrize("draw", [0, 1], ids=["first draw", "second draw"])
def test_grad_against_autograd(student, rng, draw):
    """multibranch_grad_x matches autograd's dL/dx, with several branches active."""
    p, x, y = _draw(rng)
    _, expected = oracle(x, y, p)
    expect_close(
        student.multibranch_grad_x(x, y, p),
        expected,
        f"multibranch_grad_x(x, y, p) for D = {x.size}",
        hint="x feeds all three branches: add the gradients of the active branches",
    )


@graded("test_multibranch")
def test_grad_against_own_forward(student, rng):
    """multibranch_grad_x agrees with finite differences of the student's own forward."""
    p, x, y = _draw(rng)
    forward = student.multibranch_forward
    dx = as_array(student.multibranch_grad_x(x, y, p), "multibranch_grad_x(x, y, p)")
    expect_true(
        dx.shape == x.shape, f"multibranch_grad_x returned shape {dx.shape}; expected {x.shape}"
    )
    report = gradcheck(
        lambda v: (float(forward(v, p)) - y) ** 2,
        x,
        dx,
        name="multibranch_grad_x against finite differences of your forward",
        rng=rng,
    )
    expect_true(report.ok, str(report))
