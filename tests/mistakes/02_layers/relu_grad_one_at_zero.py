r"""The ReLU derivative taken as 1 at z = 0 (z >= 0 instead of z > 0).

cell: activations
loses: test_activations
symptom: relu_grad\(0\) must be 0
"""


def relu_grad(z):
    return (np.asarray(z) >= 0).astype(float)
