r"""A softmax layer at the end of the model (CrossEntropyLoss then applies a second one).

cell: build_model
loses: test_architecture
symptom: build_model has 8 layers; the prescribed network has 7
"""


def build_model():
    return nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(),
        nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10), nn.Softmax(dim=1),
    )  # fmt: skip
