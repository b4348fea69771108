"""Shared settings of the 04_regression graders: torch is the float64 oracle, and the
data sets are loaded here, in the grader's process, so that the sandboxes never import
scikit-learn (a slow import that could hit the sandbox's per-call time limit)."""

from functools import cache

import numpy as np
import pytest
import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


@cache
def _raw(name: str):
    from sklearn import datasets

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return X, y.astype(float)


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
