"""Shared settings of the 04_regression graders: torch is the float64 oracle, and the
data sets are loaded here, in the grader's process, so that the sandboxes never import
scikit-learn (a slow import that could hit the sandbox's per-call time limit)."""

from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
import torch

from dlcourse.reference_cache import cached_arrays

GRADERS = Path(__file__).resolve().parent

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


@cache
def _raw(name: str):
    """X, y of scikit-learn's data set ``name``, kept between gradings
    (dlcourse.reference_cache): scikit-learn's import alone took 1.0-1.2 s of
    every 04 grading."""
    parts = {"what": f"{name} data set", "scikit-learn": version("scikit-learn")}
    kept = cached_arrays(parts, lambda: _loaded(name), GRADERS)
    return kept["X"], kept["y"]


def _loaded(name: str) -> dict:
    from sklearn import datasets

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return {"X": X, "y": y.astype(float)}


def split(name: str, seed: int):
    """The same split and standardisation as the notebook's locked loaders
    `load_diabetes_split(seed)` / `load_breast_cancer_split(seed)`:
    -> X_train, X_val, y_train, y_val."""
    X, y = _raw(name)
    order = np.random.default_rng(seed).permutation(len(y))
    n_train = int(round(2 * len(y) / 3))
    train, val = order[:n_train], order[n_train:]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    return (X[train] - mean) / std, (X[val] - mean) / std, y[train], y[val]


@pytest.fixture
def data_split():
    """data_split("diabetes" | "breast_cancer", seed) -> X_train, X_val, y_train, y_val."""
    return split
