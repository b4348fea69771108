r"""In-place update appended every step: all rows are the same array.

cell: gradient_descent
loses: test_gradient_descent
symptom: row 0 of the trajectory is wrong
"""


def gradient_descent(grad, w0, lr, steps):
    w = np.array(w0, dtype=float)
    trajectory = [w]
    for t in range(steps):
        w -= lr * grad(w)
        trajectory.append(w)
    return np.array(trajectory)
