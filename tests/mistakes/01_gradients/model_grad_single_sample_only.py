r"""model_grad_w indexes x[0], x[1], which only works for one sample.

cell: model
loses: test_model_grad
symptom: model_grad_w\(X\) for X of shape \(\d+, 2\) has shape \(4, 2\)
"""


def model_grad_w(x):
    x = np.asarray(x, dtype=float)
    return np.array([np.ones_like(x[0]), x[0], x[1], x[0] ** 2])
