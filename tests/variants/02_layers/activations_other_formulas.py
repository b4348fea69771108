r"""Activations by other valid formulas: sigmoid through tanh, relu as z * (z > 0), heaviside.

cell: activations
"""


def identity(z):
    return np.asarray(z, dtype=float) + 0.0


def identity_grad(z):
    return np.ones(np.shape(z))


def relu(z):
    z = np.asarray(z, dtype=float)
    return z * (z > 0)


def relu_grad(z):
    return np.heaviside(np.asarray(z, dtype=float), 0.0)


def sigmoid(z):
    # 1 / (1 + e^-z) = (1 + tanh(z / 2)) / 2: no exponential, so nothing overflows
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def sigmoid_grad(z):
    t = np.tanh(0.5 * np.asarray(z, dtype=float))
    return 0.25 * (1.0 - t**2)


def tanh(z):
    return np.tanh(z)


def tanh_grad(z):
    return 1.0 / np.cosh(np.asarray(z, dtype=float)) ** 2
