r"""The BCE gradient divides by len(p), the number of rows, instead of the number of entries.

cell: losses_bce
loses: test_bce
symptom: binary_cross_entropy gradient for shape \(\d+, \d+\) is wrong.*number of rows
"""


def binary_cross_entropy(p, y, eps=1e-12):
    p = np.clip(np.asarray(p, dtype=float), eps, 1.0 - eps)
    y = np.asarray(y, dtype=float)
    loss = -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
    return float(loss), (p - y) / (p * (1.0 - p)) / len(p)
