r"""The losses are the loss Values themselves, not their data.

cell: nn
loses: test_training
symptom: must be numbers \(loss.data, not the Value\)
"""


def train_mlp(X, y, hidden=(4,), lr=0.2, steps=60, seed=0):
    rng = np.random.default_rng(seed)
    model = MLP(X.shape[1], list(hidden) + [1], rng)
    losses = []
    for step in range(steps):
        loss = mse_loss(model, X, y)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
        losses.append(loss)
    return model, losses
