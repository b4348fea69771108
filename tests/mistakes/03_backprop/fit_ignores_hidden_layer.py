r"""A "fit" that ignores the hidden layer: zero output weights and the mean as the bias.

cell: fit_by_hand
loses: test_fit_by_hand
symptom: the network with fit_dataset_b\(\) misses DATA_B by
"""


def fit_dataset_b():
    return {
        "W_H": np.ones(4),
        "b_H": np.zeros(4),
        "W_O": np.zeros(4),
        "b_O": float(np.mean(DATA_B_Y)),
    }
