r"""The accuracies are recorded before each update, so the curves lag one step behind.

cell: train_logistic
loses: test_train_logistic
symptom: (the last entry of (train|val)_accuracies|train_accuracies after one step) is wrong
"""


def train_logistic(X, y, lam, lr, steps, X_val=None, y_val=None):
    w = np.zeros(X.shape[1])
    b = 0.0
    train_accuracies, val_accuracies = [], []
    for step in range(steps):
        train_accuracies.append(accuracy(predict_labels(X, w, b), y))
        if X_val is not None:
            val_accuracies.append(accuracy(predict_labels(X_val, w, b), y_val))
        _, dw, db = logistic_loss_and_grad(w, b, X, y, lam)
        w = w - lr * dw
        b = b - lr * db
    return w, b, train_accuracies, val_accuracies
