r"""The training loop never zeroes the grads, so each step adds this step's gradient to all earlier ones.

cell: nn
loses: test_training
symptom: the first update was right and the second was not
"""


def train_mlp(X, y, hidden=(4,), lr=0.2, steps=60, seed=0):
    rng = np.random.default_rng(seed)
    model = MLP(X.shape[1], list(hidden) + [1], rng)
    losses = []
    for step in range(steps):
        loss = mse_loss(model, X, y)
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
        losses.append(loss.data)
    return model, losses
