r"""The feature x1^2 forgotten in the model's gradient.

cell: model
loses: test_model_grad
symptom: model_grad_w\(.*\) has shape \((\d+, )?3\); expected
"""


def model_grad_w(x):
    x = np.asarray(x, dtype=float)
    x1, x2 = x[..., 0], x[..., 1]
    return np.stack([np.ones_like(x1), x1, x2], axis=-1)
