r"""A training loop that runs the backward pass through the layers in forward order.

cell: training
loses: test_training
symptom: calling train_classifier raised ValueError
"""


def train_classifier(X, y, hidden=16, lr=0.5, epochs=300, seed=0):
    rng = np.random.default_rng(seed)
    n_classes = int(np.max(y)) + 1
    model = [Linear(X.shape[1], hidden, rng), Tanh(), Linear(hidden, n_classes, rng)]
    losses = []
    for epoch in range(epochs):
        logits = predict(model, X)
        loss, grad = softmax_cross_entropy(logits, y)
        for layer in model:
            grad = layer.backward(grad)
        for layer in model:
            layer.step(lr)
        losses.append(loss)
    return model, losses
