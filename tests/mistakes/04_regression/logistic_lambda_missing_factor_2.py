r"""The penalty's gradient written as lam * w, missing the 2 from d/dw ||w||^2.

cell: logistic_gradient
loses: test_logistic_gradient
symptom: dw of logistic_loss_and_grad .* is wrong.*derivative of lam \* \|\|w\|\|\^2 is 2 lam w
"""


def logistic_loss_and_grad(w, b, X, y, lam):
    z = X @ w + b
    loss = np.mean(np.logaddexp(0.0, z) - y * z) + lam * np.dot(w, w)
    err = sigmoid(z) - y
    return float(loss), X.T @ err / len(y) + lam * w, float(err.mean())
