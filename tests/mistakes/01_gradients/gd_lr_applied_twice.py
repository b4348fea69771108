r"""The learning rate applied twice: w - lr * lr * grad(w).

cell: gradient_descent
loses: test_gradient_descent
symptom: the trajectory of gradient_descent\(.*\) is wrong
"""


def gradient_descent(grad, w0, lr, steps):
    w = np.array(w0, dtype=float)
    trajectory = [w]
    for t in range(steps):
        step = lr * grad(w)
        w = w - lr * step
        trajectory.append(w)
    return np.array(trajectory)
