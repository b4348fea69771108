r"""Xavier limit computed from the fan-in only: a = sqrt(6 / d_in).

cell: linear_layer
loses: test_linear
symptom: Linear\(200, 100\)\.W has \|W\| up to .*; Xavier-uniform keeps it within
"""


def _init(self, d_in, d_out, rng):
    limit = np.sqrt(6.0 / d_in)
    self.W = rng.uniform(-limit, limit, size=(d_in, d_out))
    self.b = np.zeros(d_out)
    self.dW = np.zeros_like(self.W)
    self.db = np.zeros_like(self.b)
    self.X = None


Linear.__init__ = _init
