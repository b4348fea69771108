r"""The 64-unit hidden layer is missing: 784-256-128-10.

cell: build_model
loses: test_architecture
symptom: linear layer 3 is Linear\(128, 10\); the prescribed network has Linear\(128, 64\)
"""


def build_model():
    return nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )
