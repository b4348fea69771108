r"""The MLP with einsum products, a cache of (input, pre-activation) pairs, fresh gradient lists.

cell: mlp
"""


class MLP:
    def __init__(self, sizes, activation, rng):
        self.sizes = list(sizes)
        self.act, self.act_grad = ACTIVATIONS[activation]
        pairs = list(zip(self.sizes[:-1], self.sizes[1:]))
        self.Ws = [rng.normal(0.0, np.sqrt(1.0 / a), size=(a, b)) for a, b in pairs]
        self.bs = [rng.uniform(-1.0, 1.0, size=b) for _, b in pairs[:-1]] + [np.zeros(pairs[-1][1])]
        self.dWs = [np.zeros_like(W) for W in self.Ws]
        self.dbs = [np.zeros_like(b) for b in self.bs]
        self.cache = []

    def forward(self, X):
        A = np.asarray(X, dtype=float)
        self.cache = []
        for i, (W, b) in enumerate(zip(self.Ws, self.bs)):
            Z = np.einsum("nd,de->ne", A, W) + b
            self.cache.append((A, Z))
            A = self.act(Z) if i < len(self.Ws) - 1 else Z
        return A

    def backward(self, dY):
        dZ = np.asarray(dY, dtype=float)
        dWs, dbs = [None] * len(self.Ws), [None] * len(self.Ws)
        for i in range(len(self.Ws) - 1, -1, -1):
            A, Z = self.cache[i]
            if i < len(self.Ws) - 1:
                dZ = dZ * self.act_grad(Z)
            dWs[i] = np.einsum("nd,ne->de", A, dZ)
            dbs[i] = np.einsum("ne->e", dZ)
            dZ = np.einsum("ne,de->nd", dZ, self.Ws[i])
        self.dWs, self.dbs = dWs, dbs
        return dZ

    def step(self, lr):
        self.Ws = [W - lr * dW for W, dW in zip(self.Ws, self.dWs)]
        self.bs = [b - lr * db for b, db in zip(self.bs, self.dbs)]
