r"""Softmax normalised over the first axis (the batch) instead of the last.

cell: softmax
loses: test_softmax
symptom: softmax\(z\) for z of shape .* is wrong at index
"""


def softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)
