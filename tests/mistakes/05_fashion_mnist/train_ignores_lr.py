r"""The optimiser's learning rate is hard-coded instead of taken from the lr argument.

cell: train
loses: test_train
symptom: changed the model's weights; with lr = 0 Adam leaves them as they are: create the optimiser with the lr argument
"""


def train(model, X_train, y_train, X_test, y_test, epochs, batch_size, lr, seed):
    rng = np.random.default_rng(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    history = {"train_loss": [], "test_loss": [], "test_accuracy": []}
    for _ in range(epochs):
        model.train()
        total, count = 0.0, 0
        for xb, yb in minibatches(X_train, y_train, batch_size, rng):
            optimiser.zero_grad()
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
