r"""The bias gradient not summed over the batch: db = dZ.

cell: mlp
loses: test_mlp
symptom: \.dbs\[2\] after a batch of \d+ has shape \(\d+, 2\); expected \(2,\)
"""


def _backward(self, dY):
    dZ = np.asarray(dY, dtype=float)
    last = len(self.Ws) - 1
    for k in reversed(range(len(self.Ws))):
        if k != last:
            dZ = dZ * self.act_grad(self.pre[k])
        self.dWs[k] = self.inputs[k].T @ dZ
        self.dbs[k] = dZ
        dZ = dZ @ self.Ws[k].T
    return dZ


MLP.backward = _backward
