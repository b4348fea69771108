r"""A custom module with the right layers whose forward forgets the last ReLU.

cell: build_model
loses: test_architecture
symptom: outputs differ from the prescribed network's .*without the ReLU after hidden layer 3
"""


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, 256), nn.Linear(256, 128)
        self.fc3, self.fc4 = nn.Linear(128, 64), nn.Linear(64, 10)
        self.act1, self.act2, self.act3 = nn.ReLU(), nn.ReLU(), nn.ReLU()

    def forward(self, x):
        x = self.act1(self.fc1(x))
        x = self.act2(self.fc2(x))
        return self.fc4(self.fc3(x))


def build_model():
    return MLP()
