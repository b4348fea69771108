r"""The learning rate applied twice: the gradients are scaled by lr and then step(lr) scales again.

cell: training
loses: test_training
symptom: the trained Ws\[\d\] of train_mlp
"""


def train_mlp(X, y, hidden=(32,), activation="tanh", lr=0.02, epochs=300, batch_size=16, seed=0):
    model = MLP([X.shape[1], *hidden, y.shape[1]], activation, np.random.default_rng(seed))
    shuffle = np.random.default_rng(seed + 1)
    losses = []
    for epoch in range(epochs):
        order = shuffle.permutation(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start : start + batch_size]
            loss, grad = mse_loss(model.forward(X[batch]), y[batch])
            model.backward(grad)
            model.dWs = [lr * d for d in model.dWs]
            model.dbs = [lr * d for d in model.dbs]
            model.step(lr)
        losses.append(mse_loss(model.forward(X), y)[0])
    return model, losses
