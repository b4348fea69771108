r"""zero_grad() is called between backward() and the update, so every update is by a zero gradient.

cell: nn
loses: test_training
symptom: losses\[1\] is .*the first update already differs from p.data -= lr \* p.grad
"""


def train_mlp(X, y, hidden=(4,), lr=0.2, steps=60, seed=0):
    rng = np.random.default_rng(seed)
    model = MLP(X.shape[1], list(hidden) + [1], rng)
    losses = []
    for step in range(steps):
        loss = mse_loss(model, X, y)
        loss.backward()
        model.zero_grad()
        for p in model.parameters():
            p.data -= lr * p.grad
        losses.append(loss.data)
    return model, losses
