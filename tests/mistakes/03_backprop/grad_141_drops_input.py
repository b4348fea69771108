r"""A chain-rule factor dropped: dW_H forgets the factor x.

cell: net_141
loses: test_net_141
symptom: grad_141\(.*\)\['W_H'\] is wrong
"""


def grad_141(x, params):
    z = params["W_H"] * x + params["b_H"]
    d_z = params["W_O"] * relu_grad(z)
    return {"W_H": d_z, "b_H": d_z, "W_O": relu(z), "b_O": 1.0}
