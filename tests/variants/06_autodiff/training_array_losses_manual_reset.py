r"""mse_loss with the built-in sum; train_mlp resets the grads by hand and returns the losses as a numpy array.

cell: nn
"""


class Module:
    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self):
        return []


class Neuron(Module):
    """tanh(w . x + b), or w . x + b when nonlin is False. x: list of nin numbers/Values -> Value."""

    def __init__(self, nin, rng, nonlin=True):
        self.w = [Value(float(v)) for v in rng.uniform(-1.0, 1.0, size=nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = self.b
        for wi, xi in zip(self.w, x, strict=False):
            act = act + wi * xi
        return act.tanh() if self.nonlin else act

    def parameters(self):
        """The weights followed by the bias: a list of nin + 1 Values."""
        return self.w + [self.b]


class Layer(Module):
    """nout neurons on the same input. x: list of nin numbers/Values -> list of nout Values."""

    def __init__(self, nin, nout, rng, nonlin=True):
        self.neurons = [Neuron(nin, rng, nonlin) for _ in range(nout)]

    def __call__(self, x):
        return [neuron(x) for neuron in self.neurons]

    def parameters(self):
        """The parameters of every neuron, neuron by neuron."""
        return [p for neuron in self.neurons for p in neuron.parameters()]


class MLP(Module):
    """MLP(nin, [h1, ..., k], rng): tanh hidden layers, linear output layer.
    x: list of nin numbers/Values -> list of k Values."""

    def __init__(self, nin, nouts, rng):
        sizes = [nin] + list(nouts)
        self.layers = [
            Layer(sizes[i], sizes[i + 1], rng, nonlin=i < len(nouts) - 1) for i in range(len(nouts))
        ]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        """The parameters of every layer, layer by layer."""
        return [p for layer in self.layers for p in layer.parameters()]


def mse_loss(model, X, y):
    """Mean over the N points of (model(x)[0] - y)**2, with the built-in sum and a division."""
    return sum((model(list(row))[0] - target) ** 2 for row, target in zip(X, y, strict=True)) / len(
        y
    )


def train_mlp(X, y, hidden=(4,), lr=0.2, steps=60, seed=0):
    """Gradient descent; the grads are reset by hand and the losses returned as a numpy array."""
    rng = np.random.default_rng(seed)
    model = MLP(X.shape[1], list(hidden) + [1], rng)
    params = model.parameters()
    losses = np.zeros(steps)
    for step in range(steps):
        loss = mse_loss(model, X, y)
        losses[step] = loss.data
        for p in params:
            p.grad = 0.0
        loss.backward()
        for p in params:
            p.data = p.data - lr * p.grad
    return model, losses
