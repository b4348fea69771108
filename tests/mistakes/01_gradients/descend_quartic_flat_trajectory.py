r"""descend_quartic returns the trajectory as a flat (steps + 1,) array, not (steps + 1, 1).

cell: descend_quartic
loses: test_quartic_descent
symptom: descend_quartic\(.*\) has shape \(\d+,\); expected \(\d+, 1\)
"""


def descend_quartic(w0, x1=1.0, lr=0.1, steps=200):
    traj = gradient_descent(lambda w: quartic_grad(w, x1), np.array([w0], dtype=float), lr, steps)
    return traj[:, 0]
