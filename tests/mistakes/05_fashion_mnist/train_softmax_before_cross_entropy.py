r"""Softmax applied to the logits before CrossEntropyLoss (which applies its own).

cell: train
loses: test_train
symptom: it is the cross-entropy of the softmax of the logits; CrossEntropyLoss applies the softmax itself
"""


def train(model, X_train, y_train, X_test, y_test, epochs, batch_size, lr, seed):
    rng = np.random.default_rng(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    history = {"train_loss": [], "test_loss": [], "test_accuracy": []}
    for _ in range(epochs):
        model.train()
        total, count = 0.0, 0
        for xb, yb in minibatches(X_train, y_train, batch_size, rng):
            optimiser.zero_grad()
            loss = loss_fn(torch.softmax(model(xb), dim=1), yb)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(yb)
            count += len(yb)
        model.eval()
        with torch.no_grad():
            probs = torch.softmax(model(X_test), dim=1)
            history["train_loss"].append(total / count)
            history["test_loss"].append(loss_fn(probs, y_test).item())
            history["test_accuracy"].append((probs.argmax(dim=1) == y_test).float().mean().item())
    return history
