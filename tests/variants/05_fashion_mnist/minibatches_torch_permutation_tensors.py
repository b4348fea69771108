"""minibatches as a list comprehension over a torch permutation (seeded from rng), always returning tensors.

cell: minibatches
"""


def minibatches(X, y, batch_size, rng):
    """Shuffled minibatches as tensors, whether X and y are tensors or arrays."""
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    generator = torch.Generator().manual_seed(int(rng.integers(2**31)))
    perm = torch.randperm(len(X), generator=generator)
    return [(X[idx], y[idx]) for idx in perm.split(batch_size)]
