r"""Softmax cross-entropy whose gradient is not divided by the batch size N.

cell: losses_softmax_ce
loses: test_softmax_ce
symptom: softmax_cross_entropy gradient for logits of shape .* is wrong at index
"""


def softmax_cross_entropy(logits, y):
    z = np.asarray(logits, dtype=float)
    n = z.shape[0]
    shifted = z - z.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    dlogits = np.exp(log_probs)
    dlogits[np.arange(n), y] -= 1.0
    return float(loss), dlogits
