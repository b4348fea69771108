r"""Binary cross-entropy without clipping p: log(0) at confident predictions.

cell: losses_bce
loses: test_bce
symptom: binary_cross_entropy at p = 0 and p = 1 raised a warning
"""


def binary_cross_entropy(p, y, eps=1e-12):
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    loss = -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
    dp = (p - y) / (p * (1.0 - p)) / p.size
    return float(loss), dp
