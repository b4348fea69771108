r"""softmax as exp(z - logsumexp(z)), with the log-sum-exp from np.logaddexp.reduce.

cell: softmax
"""


def softmax(z):
    z = np.asarray(z, dtype=float)
    return np.exp(z - np.logaddexp.reduce(z, axis=-1, keepdims=True))
