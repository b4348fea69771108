"""Part 8: the online against minibatch comparison, measured."""

import math

import numpy as np
import pytest

from dlcourse.checks import expect_true, fail

pytestmark = pytest.mark.graded("test_online")

N, BATCH = 600, 100
# Reference (measured, one thread): 600 online updates take about 1.5 s and
# reach 60-70% test accuracy; 6 minibatch updates take about 0.05 s and stay
# near 30-45%.


@pytest.fixture
def comparison(student, fashion, once_per_grading):
    """The student's comparison, run once per grading (it trains twice)."""
    return once_per_grading("comparison", lambda: _comparison(student, fashion))


def _comparison(student, fashion):
    __tracebackhide__ = True
    torch = student.torch
    X, y = fashion["X_train"][:N], fashion["y_train"][:N]
    Xt, yt = fashion["X_test"][:1000], fashion["y_test"][:1000]
    args = [torch.from_numpy(a) for a in (X, y, Xt, yt)]
    result = student.compare_online_minibatch(*args, N, BATCH, 0)
    if not isinstance(result, dict) or set(result) != {"online", "minibatch"}:
        fail("compare_online_minibatch should return a dict with the keys 'online' and 'minibatch'")
    out = {}
    for name, entry in result.items():
        if not isinstance(entry, dict) or set(entry) != {"seconds", "updates", "test_accuracy"}:
            fail(f"result['{name}'] should be a dict with 'seconds', 'updates' and 'test_accuracy'")
        try:
            out[name] = {k: float(v) for k, v in entry.items()}
        except (TypeError, ValueError):
            fail(f"result['{name}'] should hold plain numbers")
    return out


def test_updates_and_times(comparison):
    """Counts the optimiser steps of each run and times them: online is slower."""
    result = comparison
    online, mini = result["online"], result["minibatch"]
    expect_true(
        online["updates"] == N and mini["updates"] == math.ceil(N / BATCH),
        f"with n={N}, batch_size={BATCH}: online training takes {N} optimiser steps and minibatch "
        f"training {math.ceil(N / BATCH)}; got {online['updates']:g} and {mini['updates']:g}",
    )
    expect_true(
        0 < mini["seconds"] < online["seconds"],
        f"'seconds' should be the measured wall time of each run; got {online['seconds']:.3g} s "
        f"online and {mini['seconds']:.3g} s minibatch (online, with {N} steps, is slower)",
    )


def test_accuracies(comparison):
    """Test accuracies are fractions, and many small steps beat a few averaged ones after one epoch."""
    result = comparison
    accs = [result[k]["test_accuracy"] for k in ("online", "minibatch")]
    expect_true(
        all(0.0 <= a <= 1.0 and np.isfinite(a) for a in accs),
        f"test accuracies should be fractions in [0, 1]; got {accs}",
    )
    expect_true(
        accs[0] > accs[1],
        f"after one epoch on {N} examples online training ({N} steps) should beat minibatch "
        f"training ({math.ceil(N / BATCH)} steps); got {accs[0]:.3f} against {accs[1]:.3f}: are "
        "both runs one epoch from the same initial weights, each on its own copy of the model?",
    )
