r"""The first hidden layer has 200 units instead of 256.

cell: build_model
loses: test_architecture
symptom: linear layer 1 is Linear\(784, 200\)
"""


def build_model():
    return nn.Sequential(
        nn.Linear(784, 200), nn.ReLU(),
        nn.Linear(200, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )  # fmt: skip
