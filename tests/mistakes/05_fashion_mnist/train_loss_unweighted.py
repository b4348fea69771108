r"""The training loss is the plain mean of the batch losses, not weighted by batch size.

cell: train
loses: test_train
symptom: it is the plain mean of the 6 batch losses; weight each by its batch size
"""


def train(model, X_train, y_train, X_test, y_test, epochs, batch_size, lr, seed):
    rng = np.random.default_rng(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    history = {"train_loss": [], "test_loss": [], "test_accuracy": []}
    for _ in range(epochs):
        model.train()
        losses = []
        for xb, yb in minibatches(X_train, y_train, batch_size, rng):
            optimiser.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            logits = model(X_test)
            history["train_loss"].append(sum(losses) / len(losses))
            history["test_loss"].append(loss_fn(logits, y_test).item())
            history["test_accuracy"].append((logits.argmax(dim=1) == y_test).float().mean().item())
    return history
