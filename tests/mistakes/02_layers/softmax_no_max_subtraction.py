r"""Softmax without subtracting the row maximum: exp overflows at large logits.

cell: softmax
loses: test_softmax
symptom: softmax of logits around .* raised a warning
"""


def softmax(z):
    e = np.exp(np.asarray(z, dtype=float))
    return e / e.sum(axis=-1, keepdims=True)
