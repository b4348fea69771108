r"""The loss curves record the MSE before each update, so they lag one step behind.

cell: gradient_descent
loses: test_gradient_descent
symptom: the last entry of train_losses is wrong.*MSE before each update
"""


def fit_gradient_descent(X, y, lr, steps, X_val=None, y_val=None):
    w = np.zeros(X.shape[1])
    b = 0.0
    train_losses, val_losses = [], []
    for step in range(steps):
        loss, dw, db = linear_loss_and_grad(w, b, X, y)
        train_losses.append(loss)
        if X_val is not None:
            val_losses.append(linear_loss_and_grad(w, b, X_val, y_val)[0])
        w = w - lr * dw
        b = b - lr * db
    return w, b, train_losses, val_losses
