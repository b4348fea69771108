r"""Xavier initialisation drawn from numpy's global generator, ignoring `rng`.

cell: linear_layer
loses: test_linear
symptom: gave different weights for the same generator seed
"""


def _init(self, d_in, d_out, rng):
    limit = np.sqrt(6.0 / (d_in + d_out))
    self.W = np.random.uniform(-limit, limit, size=(d_in, d_out))
    self.b = np.zeros(d_out)
    self.dW = np.zeros_like(self.W)
    self.db = np.zeros_like(self.b)
    self.X = None


Linear.__init__ = _init
