r"""np.sum without axis=0 sums the coordinates too: one number instead of a (D,) gradient.

cell: vector_calculus
loses: test_vector_calculus
symptom: sum_sq_dist_grad\(mu, X\) for X of shape \(\d+, \d\) has shape \(\); expected \(\d,\)
"""


def sum_sq_dist_grad(mu, X):
    return 2.0 * np.sum(np.asarray(mu, dtype=float) - np.asarray(X, dtype=float))
