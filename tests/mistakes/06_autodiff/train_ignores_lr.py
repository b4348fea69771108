r"""The update uses the default step size 0.2 whatever lr it is given.

cell: nn
loses: test_training
symptom: with lr = 0 every step has the initial loss
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
            p.data -= 0.2 * p.grad
        losses.append(loss.data)
    return model, losses
