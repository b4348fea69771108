r"""The softmax Jacobian without its diagonal term: -outer(s, s).

cell: jacobians
loses: test_jacobians
symptom: softmax_jacobian\(z\) for z of shape .* is wrong at index
"""


def softmax_jacobian(z):
    s = softmax(np.asarray(z, dtype=float))
    return -np.outer(s, s)
