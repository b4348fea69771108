r"""Gradient descent returns after the first step.

cell: gradient_descent
loses: test_gradient_descent
symptom: gradient_descent\(grad, w0 of shape .*\) has shape \(2, \d\); expected
"""


def gradient_descent(grad, w0, lr, steps):
    w = np.array(w0, dtype=float)
    trajectory = [w]
    for t in range(steps):
        w = w - lr * grad(w)
        trajectory.append(w)
        return np.array(trajectory)
