r"""The update climbs the gradient: W += lr * dW.

cell: mlp
loses: test_mlp
symptom: Ws\[0\] after step\(.*\) is wrong
"""


def _step(self, lr):
    for k in range(len(self.Ws)):
        self.Ws[k] = self.Ws[k] + lr * self.dWs[k]
        self.bs[k] = self.bs[k] + lr * self.dbs[k]


MLP.step = _step
