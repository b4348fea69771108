r"""A softmax layer at the end of the model (CrossEntropyLoss then applies a second one).

cell: build_model
loses: test_architecture
symptom: they are the softmax of the prescribed network.s logits: return the logits
"""


def build_model():
    return nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(),
        nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10), nn.Softmax(dim=1),
    )  # fmt: skip
