r"""The tanh derivative written with the input: 1 - z**2 instead of 1 - tanh(z)**2.

cell: activations
loses: test_activations
symptom: tanh_grad\(z\) is wrong at index
"""


def tanh_grad(z):
    return 1.0 - np.asarray(z, dtype=float) ** 2
