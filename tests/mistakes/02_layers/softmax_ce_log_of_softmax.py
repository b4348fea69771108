r"""Softmax cross-entropy as -log(softmax(z)[y]): log(0) for logits far apart.

cell: losses_softmax_ce
loses: test_softmax_ce
symptom: softmax_cross_entropy at logits of \+-1000 raised a warning
"""


def softmax_cross_entropy(logits, y):
    z = np.asarray(logits, dtype=float)
    n = z.shape[0]
    probs = softmax(z)
    loss = -np.log(probs[np.arange(n), y]).mean()
    dlogits = probs.copy()
    dlogits[np.arange(n), y] -= 1.0
    return float(loss), dlogits / n
