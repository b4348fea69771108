"""Finite-difference gradient checking."""

import numpy as np

from dlcourse.gradcheck import gradcheck, numeric_gradient, relative_error, sample_indices


def test_correct_gradient_passes():
    x = np.random.default_rng(0).normal(size=(3, 4))
    report = gradcheck(lambda v: (np.sin(v) * v).sum(), x, np.cos(x) * x + np.sin(x))
    assert report.ok and report.max_rel_error < 1e-7
    assert report.checked == 12 and report.size == 12


def test_wrong_gradient_names_the_worst_coordinate():
    x = np.arange(6, dtype=float).reshape(2, 3) + 1
    analytic = 2 * x
    analytic[1, 2] = 0.0  # one wrong coordinate
    report = gradcheck(lambda v: (v**2).sum(), x, analytic, name="dX")
    assert not report.ok
    assert report.worst_index == (1, 2)
    assert report.analytic == 0.0 and abs(report.numeric - 12.0) < 1e-5
    text = str(report)
    assert "dX: MISMATCH" in text and "(1, 2)" in text and "tolerance 1e-05" in text


def test_zero_gradients_use_the_floor():
    # true gradient 0 everywhere: relative error must not blow up
    x = np.ones(4)
    report = gradcheck(lambda v: 3.0, x, np.zeros(4))
    assert report.ok and report.max_rel_error == 0.0


def test_nan_gradient_fails():
    x = np.ones(2)
    report = gradcheck(lambda v: v.sum(), x, np.array([1.0, np.nan]))
    assert not report.ok and report.worst_index == (1,)


def test_large_tensors_are_sampled():
    rng = np.random.default_rng(1)
    idx = sample_indices((100, 100), 20, rng)
    assert len(idx) == 20 and len(set(idx)) == 20
    assert all(0 <= i < 100 and 0 <= j < 100 for i, j in idx)
    calls = []
    x = rng.normal(size=(100, 100))
    report = gradcheck(lambda v: calls.append(1) or float((v**2).sum()), x, 2 * x, max_coords=10)
    assert report.ok and report.checked == 10 and len(calls) == 20


def test_numeric_gradient_does_not_modify_input():
    x = np.array([1.0, 2.0])
    before = x.copy()
    grads = numeric_gradient(lambda v: float((v**3).sum()), x)
    np.testing.assert_array_equal(x, before)
    assert abs(grads[(1,)] - 12.0) < 1e-5


def test_relative_error_formula():
    assert relative_error(1.0, 3.0) == 0.5
    assert relative_error(0.0, 1e-10, floor=1e-8) == 1e-10 / 1e-8
