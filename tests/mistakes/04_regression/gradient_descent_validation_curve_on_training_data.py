r"""The validation curve is measured on the training data.

cell: gradient_descent
loses: test_gradient_descent
symptom: the last entry of val_losses is wrong
"""


def fit_gradient_descent(X, y, lr, steps, X_val=None, y_val=None):
    w = np.zeros(X.shape[1])
    b = 0.0
    train_losses, val_losses = [], []
    for step in range(steps):
        _, dw, db = linear_loss_and_grad(w, b, X, y)
        w = w - lr * dw
        b = b - lr * db
        train_losses.append(linear_loss_and_grad(w, b, X, y)[0])
        if X_val is not None:
            val_losses.append(linear_loss_and_grad(w, b, X, y)[0])
    return w, b, train_losses, val_losses
