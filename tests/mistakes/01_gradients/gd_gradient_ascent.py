r"""Gradient ascent: the update adds the gradient.

cell: gradient_descent
loses: test_gradient_descent
symptom: the last iterate of gradient_descent after 300 steps .* against the gradient
"""


def gradient_descent(grad, w0, lr, steps):
    w = np.array(w0, dtype=float)
    trajectory = [w]
    for t in range(steps):
        w = w + lr * grad(w)
        trajectory.append(w)
    return np.array(trajectory)
