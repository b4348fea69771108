r"""The accuracy curves threshold the logits x . w + b at 0.5 (a probability's threshold).

cell: train_logistic
loses: test_train_logistic
symptom: thresholds the logits x \. w \+ b at 0\.5
"""


def train_logistic(X, y, lam, lr, steps, X_val=None, y_val=None):
    w = np.zeros(X.shape[1])
    b = 0.0
    train_accuracies, val_accuracies = [], []
    for step in range(steps):
        _, dw, db = logistic_loss_and_grad(w, b, X, y, lam)
        w = w - lr * dw
        b = b - lr * db
        train_accuracies.append(float(np.mean((X @ w + b > 0.5) == y)))
        if X_val is not None:
            val_accuracies.append(float(np.mean((X_val @ w + b > 0.5) == y_val)))
    return w, b, train_accuracies, val_accuracies
