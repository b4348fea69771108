r"""The gradient of ||x||^2 taken to be x.

cell: vector_calculus
loses: test_vector_calculus
symptom: sq_norm_grad\(x\) for x of shape .* is wrong
"""


def sq_norm_grad(x):
    return np.asarray(x, dtype=float)
