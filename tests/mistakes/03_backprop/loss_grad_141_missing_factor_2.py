r"""The squared loss's gradient without the factor 2: (f - y) times the gradient of f.

cell: loss_grad_141
loses: test_loss_grad_141
symptom: loss_grad_141\(.*\)\['\w+'\] is wrong.*dL/df = 2 \(f\(x\) - y\)
"""


def loss_grad_141(x, y, params):
    scale = forward_141(x, params) - y
    return {key: scale * value for key, value in grad_141(x, params).items()}
