r"""MLP.backward adds to dWs and dbs (+=, as PyTorch's .grad does) instead of replacing them.

cell: mlp
loses: test_mlp
symptom: \.dWs\[2\] is wrong.*replace dWs and dbs
"""


def _backward(self, dY):
    dZ = np.asarray(dY, dtype=float)
    last = len(self.Ws) - 1
    for k in reversed(range(len(self.Ws))):
        if k != last:
            dZ = dZ * self.act_grad(self.pre[k])
        self.dWs[k] += self.inputs[k].T @ dZ
        self.dbs[k] += dZ.sum(axis=0)
        dZ = dZ @ self.Ws[k].T
    return dZ


MLP.backward = _backward
