r"""A training loop that runs forward and backward but never calls step.

cell: training
loses: test_training
symptom: after 300 epochs the model's cross-entropy is
"""


def train_classifier(X, y, hidden=16, lr=0.5, epochs=300, seed=0):
    rng = np.random.default_rng(seed)
    n_classes = int(np.max(y)) + 1
    model = [Linear(X.shape[1], hidden, rng), Tanh(), Linear(hidden, n_classes, rng)]
    losses = []
    for epoch in range(epochs):
        logits = predict(model, X)
        loss, grad = softmax_cross_entropy(logits, y)
        for layer in reversed(model):
            grad = layer.backward(grad)
        losses.append(loss)
    return model, losses
