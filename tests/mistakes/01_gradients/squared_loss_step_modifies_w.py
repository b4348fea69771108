r"""The step updates the caller's w in place (w -= ...) instead of returning a new array.

cell: squared_loss
loses: test_squared_loss
symptom: changed its argument w in place
"""


def squared_loss_step(w, X, y, lr):
    w -= lr * squared_loss_grad(w, X, y)
    return w
