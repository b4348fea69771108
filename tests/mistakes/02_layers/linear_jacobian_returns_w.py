r"""The affine map's Jacobian returned as W, shape (D_in, D_out), not transposed.

cell: jacobians
loses: test_jacobians
symptom: linear_jacobian\(W\) for W of shape .* has shape
"""


def linear_jacobian(W):
    return np.array(W, dtype=float)
