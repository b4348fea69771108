"""build_model as a custom nn.Module with layers fc1 ... out and torch.relu in forward.

cell: build_model
"""


class FashionMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 64)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        x = torch.relu(self.fc3(x))
        return self.out(x)


def build_model():
    """The prescribed MLP as a custom module."""
    return FashionMLP()
