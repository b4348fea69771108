r"""Cross-entropy picks log_probs[:, y] (every row at every label) instead of each row's own label.

cell: losses_softmax_ce
loses: test_softmax_ce
symptom: softmax_cross_entropy value for logits of shape .* is wrong.*log_probs\[np\.arange\(N\), y\]
"""


def softmax_cross_entropy(logits, y):
    z = np.asarray(logits, dtype=float)
    y = np.asarray(y)
    shifted = z - z.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = z.shape[0]
    loss = -log_probs[:, y].mean()
    grad = np.exp(log_probs)
    grad[np.arange(n), y] -= 1.0
    return float(loss), grad / n
