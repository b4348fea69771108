r"""mse_loss's gradient divides by the number of rows (right for (N, 1), wrong for K > 1 columns).

cell: training
loses: test_training
symptom: mse_loss gradient for shape \(\d+, \d+\) is wrong.*number of rows
"""


def mse_loss(pred, y):
    diff = np.asarray(pred, dtype=float) - np.asarray(y, dtype=float)
    return float(np.mean(diff**2)), 2.0 * diff / len(diff)
