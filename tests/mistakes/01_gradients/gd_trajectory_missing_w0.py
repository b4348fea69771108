r"""The trajectory holds only the iterates after w0.

cell: gradient_descent
loses: test_gradient_descent
symptom: row 0 of the trajectory is wrong.*starts with w0
"""


def gradient_descent(grad, w0, lr, steps):
    w = np.array(w0, dtype=float)
    trajectory = []
    for t in range(steps):
        w = w - lr * grad(w)
        trajectory.append(w)
    return np.array(trajectory)
