r"""train_logistic measuring accuracy from probabilities (sigmoid > 0.5), curves as arrays.

cell: train_logistic
"""


def train_logistic(X, y, lam, lr, steps, X_val=None, y_val=None):
    w = np.zeros(X.shape[1])
    b = 0.0
    train_accuracies = np.zeros(steps)
    val_accuracies = np.zeros(steps if X_val is not None else 0)
    for step in range(steps):
        _, dw, db = logistic_loss_and_grad(w, b, X, y, lam)
        w = w - lr * dw
        b = b - lr * db
        train_accuracies[step] = np.mean((sigmoid(X @ w + b) > 0.5) == y)
        if X_val is not None:
            val_accuracies[step] = np.mean((sigmoid(X_val @ w + b) > 0.5) == y_val)
    return w, b, train_accuracies, val_accuracies
