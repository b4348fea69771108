r"""Training by gradient ascent: w += lr * dw.

cell: train_logistic
loses: test_train_logistic
symptom: after one step of train_logistic .* is wrong
"""


def train_logistic(X, y, lam, lr, steps, X_val=None, y_val=None):
    w = np.zeros(X.shape[1])
    b = 0.0
    train_accuracies, val_accuracies = [], []
    for step in range(steps):
        _, dw, db = logistic_loss_and_grad(w, b, X, y, lam)
        w = w + lr * dw
        b = b + lr * db
        train_accuracies.append(accuracy(predict_labels(X, w, b), y))
        if X_val is not None:
            val_accuracies.append(accuracy(predict_labels(X_val, w, b), y_val))
    return w, b, train_accuracies, val_accuracies
