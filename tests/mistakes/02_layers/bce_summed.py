r"""Binary cross-entropy summed over the batch instead of averaged.

cell: losses_bce
loses: test_bce
symptom: binary_cross_entropy changed from .* when the batch was repeated
"""


def binary_cross_entropy(p, y, eps=1e-12):
    p = np.clip(np.asarray(p, dtype=float), eps, 1.0 - eps)
    y = np.asarray(y, dtype=float)
    loss = -np.sum(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
    dp = (p - y) / (p * (1.0 - p))
    return float(loss), dp
