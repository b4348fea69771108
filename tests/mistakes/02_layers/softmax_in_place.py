r"""softmax overwrites its argument: z -= max, np.exp(z, out=z), z /= sum, return z.

cell: softmax
loses: test_softmax
symptom: softmax\(z\) changed its argument z in place
"""


def softmax(z):
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z
