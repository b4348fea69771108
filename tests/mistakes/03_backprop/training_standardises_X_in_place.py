r"""train_mlp standardises the caller's X in place (X -= mean; X /= std) before training.

cell: training
loses: test_training
symptom: train_mlp\(.*\) changed its argument X in place
"""


def train_mlp(X, y, hidden=(32,), activation="tanh", lr=0.02, epochs=300, batch_size=16, seed=0):
    X -= X.mean(axis=0)
    X /= X.std(axis=0)
    model = MLP([X.shape[1], *hidden, y.shape[1]], activation, np.random.default_rng(seed))
    shuffle = np.random.default_rng(seed + 1)
    losses = []
    for epoch in range(epochs):
        order = shuffle.permutation(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start : start + batch_size]
            loss, grad = mse_loss(model.forward(X[batch]), y[batch])
            model.backward(grad)
            model.step(lr)
        losses.append(mse_loss(model.forward(X), y)[0])
    return model, losses
