r"""Dropout layers after the hidden activations (the prescribed network has nothing else).

cell: build_model
loses: test_architecture
symptom: in training mode .* the model has a layer that acts only during training
"""


def build_model():
    return nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(64, 10),
    )  # fmt: skip
