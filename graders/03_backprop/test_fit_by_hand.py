"""Part 3: hand-chosen parameters of the 1-4-1 network fit two datasets exactly."""

import numpy as np
import pytest

from dlcourse.checks import expect_shape, expect_true, fail

pytestmark = pytest.mark.graded("test_fit_by_hand")


def _params(result, call):
    if not isinstance(result, dict):
        fail(f"{call} must return a params dict; got {type(result).__name__}")
    missing = [k for k in ("W_H", "b_H", "W_O", "b_O") if k not in result]
    if missing:
        fail(f"{call} must return the keys W_H, b_H, W_O, b_O; missing {', '.join(missing)}")
    params = {k: expect_shape(result[k], (4,), f"{call}['{k}']") for k in ("W_H", "b_H", "W_O")}
    params["b_O"] = float(expect_shape(result["b_O"], (), f"{call}['b_O']"))
    return params


# the datasets of the notebook's locked cell 'setup_datasets', rebuilt here:
# an answer cell could redefine DATA_A_X and the rest to fit anything
_B_X = np.linspace(-4.0, 4.0, 17)
DATASETS = {
    "a": (np.linspace(-3.0, 3.0, 13), np.abs(np.linspace(-3.0, 3.0, 13)) - 1.0),
    "b": (
        _B_X,
        np.select(
            [_B_X <= -2, _B_X <= 0, _B_X <= 1],
            [0.0 * _B_X, _B_X + 2.0, 2.0 - 2.0 * _B_X],
            0.5 * (_B_X - 1.0),
        ),
    ),
}


def f(x, p):
    """The 1-4-1 network, evaluated by the grader."""
    return np.maximum(x[:, None] * p["W_H"] + p["b_H"], 0.0) @ p["W_O"] + p["b_O"]


@pytest.mark.parametrize("name", ["a", "b"])
def test_exact_fit(student, name):
    """The returned parameters reproduce every point of the dataset to 1e-9."""
    call = f"fit_dataset_{name}()"
    params = _params(getattr(student, f"fit_dataset_{name}")(), call)
    xs, ys = DATASETS[name]
    err = np.abs(f(xs, params) - ys)
    worst = int(np.argmax(err))
    expect_true(
        err.max() < 1e-9,
        f"the network with {call} misses DATA_{name.upper()} by {err.max():.3g} at x = {xs[worst]:g} "
        f"(predicts {f(xs, params)[worst]:.4g}, data {ys[worst]:.4g}); the hidden unit "
        "relu(W_H x + b_H) bends at x = -b_H / W_H, and only bends can change the slope",
    )
