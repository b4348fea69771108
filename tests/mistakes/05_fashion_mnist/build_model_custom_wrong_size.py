r"""A custom module (torch.relu in forward) whose second hidden layer has 100 units instead of 128.

cell: build_model
loses: test_architecture
symptom: linear layer 2 is Linear\(256, 100\); the prescribed network has Linear\(256, 128\)
"""


class WideNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 100)
        self.fc3 = nn.Linear(100, 64)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        x = torch.relu(self.fc3(x))
        return self.out(x)


def build_model():
    return WideNet()
