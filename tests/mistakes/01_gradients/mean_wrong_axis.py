r"""The mean taken over the features (axis 1) instead of the samples.

cell: vector_calculus
loses: test_vector_calculus
symptom: mean_minimiser\(X\) for X of shape \(\d+, \d\) has shape \(\d+,\); expected \(\d,\)
"""


def mean_minimiser(X):
    return np.asarray(X, dtype=float).mean(axis=1)
