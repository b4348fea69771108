r"""Sigmoid instead of ReLU after every hidden layer.

cell: build_model
loses: test_architecture
symptom: they are those of the network with sigmoid activations instead of ReLU
"""


def build_model():
    return nn.Sequential(
        nn.Linear(784, 256), nn.Sigmoid(),
        nn.Linear(256, 128), nn.Sigmoid(),
        nn.Linear(128, 64), nn.Sigmoid(),
        nn.Linear(64, 10),
    )  # fmt: skip
