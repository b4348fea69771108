r"""The loop never zeroes the gradients, so each backward adds to those of all earlier batches.

cell: train
loses: test_train
symptom: the gradients of 6 batches were added up; zero them before each batch's backward
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
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(yb)
            count += len(yb)
        model.eval()
        with torch.no_grad():
            logits = model(X_test)
            history["train_loss"].append(total / count)
            history["test_loss"].append(loss_fn(logits, y_test).item())
            history["test_accuracy"].append((logits.argmax(dim=1) == y_test).float().mean().item())
    return history
