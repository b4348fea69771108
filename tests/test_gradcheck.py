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


def test_a_tiny_entry_is_judged_against_the_gradient_s_scale():
    # f(v) = sum(v**2 / 2) + 1e4 * v[0]: the value is large, so central
    # differences carry ~1e-16 * 1e4 / 1e-6 = 1e-6 of absolute noise, which on
    # the entry of 3e-7 alone is a relative error near 1; the exact gradient
    # is right and must pass
    x = np.array([0.5, 3e-7, -0.8])

    def f(v):
        return float((v**2).sum() / 2 + 1e4 * v[0] + 1e4)

    exact = x.copy()
    exact[0] += 1e4
    assert gradcheck(f, x, exact, relative_floor=0.0).ok is False  # the old floor alone
    assert gradcheck(f, x, exact).ok
    # a real mistake on the tiny entry is still far above that floor
    wrong = exact.copy()
    wrong[1] = 0.5
    assert not gradcheck(f, x, wrong).ok


def test_the_floor_s_scale_never_comes_from_the_checked_gradient():
    # a huge value in a coordinate the sample skips must not loosen the check
    x = np.random.default_rng(1).normal(size=200)
    wrong = 2 * x + 1e-3  # wrong everywhere, by a little
    checked = gradcheck(lambda v: (v**2).sum(), x, wrong, max_coords=20)
    skipped = set(range(200)) - {i for (i,) in sample_indices((200,), 20, np.random.default_rng(0))}
    wrong[min(skipped)] = 1e12
    planted = gradcheck(lambda v: (v**2).sum(), x, wrong, max_coords=20)
    assert not checked.ok and not planted.ok
    assert planted.max_rel_error == checked.max_rel_error
