r"""The activation's derivative evaluated at the layer's output act(Z) instead of at Z.

cell: mlp
loses: test_mlp
symptom: MLP\(\[3, 5, 4, 2\], 'tanh'\)\.dWs\[\d\] is wrong
"""


def _backward(self, dY):
    dZ = np.asarray(dY, dtype=float)
    last = len(self.Ws) - 1
    for k in reversed(range(len(self.Ws))):
        if k != last:
            dZ = dZ * self.act_grad(self.act(self.pre[k]))
        self.dWs[k] = self.inputs[k].T @ dZ
        self.dbs[k] = dZ.sum(axis=0)
        dZ = dZ @ self.Ws[k].T
    return dZ


MLP.backward = _backward
