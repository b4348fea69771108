r"""Gradient of ||x_i - mu||^2 with respect to mu taken as +2 (x_i - mu).

cell: vector_calculus
loses: test_vector_calculus
symptom: sum_sq_dist_grad\(mu, X\) .* is wrong.*-2 \(x_i - mu\)
"""


def sum_sq_dist_grad(mu, X):
    return 2.0 * np.sum(X - mu, axis=0)
