r"""The backward pass walks the layers in forward order, first to last.

cell: mlp
loses: test_mlp
symptom: raised ValueError: operands could not be broadcast|is wrong
"""


def _backward(self, dY):
    dZ = np.asarray(dY, dtype=float)
    last = len(self.Ws) - 1
    for k in range(len(self.Ws)):
        if k != last:
            dZ = dZ * self.act_grad(self.pre[k])
        self.dWs[k] = self.inputs[k].T @ dZ
        self.dbs[k] = dZ.sum(axis=0)
        dZ = dZ @ self.Ws[k].T
    return dZ


MLP.backward = _backward
