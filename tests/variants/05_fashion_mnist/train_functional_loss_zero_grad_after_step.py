"""train with F.cross_entropy, zero_grad after each step, the losses summed as tensors and a defaultdict history.

cell: train
"""

from collections import defaultdict

import torch.nn.functional as F


def train(model, X_train, y_train, X_test, y_test, epochs, batch_size, lr, seed):
    """Train in place with Adam; returns the history of losses and accuracy per epoch."""
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = defaultdict(list)
    opt.zero_grad()
    for epoch in range(epochs):
        model.train()
        summed = torch.tensor(0.0)
        for xb, yb in minibatches(X_train, y_train, batch_size, rng):
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            summed += loss.detach() * yb.shape[0]
        model.eval()
        with torch.no_grad():
            logits = model(X_test)
            history["train_loss"].append(float(summed / len(X_train)))
            history["test_loss"].append(float(F.cross_entropy(logits, y_test)))
            history["test_accuracy"].append(float((logits.argmax(1) == y_test).double().mean()))
    return history
