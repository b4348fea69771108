r"""Part 4 with explicit Python loops, returning lists.

cell: vector_calculus
"""


def sq_norm_grad(x):
    return [2.0 * float(v) for v in x]


def sum_sq_dist(mu, X):
    total = 0.0
    for row in X:
        for j in range(len(mu)):
            total += (float(row[j]) - float(mu[j])) ** 2
    return total


def sum_sq_dist_grad(mu, X):
    grad = [0.0] * len(mu)
    for row in X:
        for j in range(len(mu)):
            grad[j] += 2.0 * (float(mu[j]) - float(row[j]))
    return grad


def mean_minimiser(X):
    n = len(X)
    return [sum(float(row[j]) for row in X) / n for j in range(len(X[0]))]
