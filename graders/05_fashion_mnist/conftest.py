"""Shared pieces of the 05_fashion_mnist graders: the official data, prepared
as the notebook prescribes, and the grader's own copy of the prescribed
network, into which a student's weights are loaded by shape."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from dlcourse.checks import GradingFailure, fail
from dlcourse.data import load_fashion_mnist
from dlcourse.data.fashion_mnist import OFFICIAL, SPLITS
from dlcourse.reference_cache import cached_arrays
from dlcourse.sandbox import StudentError

# one thread: honest timings next to other work (DESIGN.md: two threads beside
# another CPU-heavy process ran 4.6x slower)
torch.set_num_threads(1)

GRADERS = Path(__file__).resolve().parent

# (name of the layer, shape) of every tensor of the prescribed network, in order
PRESCRIBED = [
    ("Linear(784, 256).weight", (256, 784)),
    ("Linear(784, 256).bias", (256,)),
    ("Linear(256, 128).weight", (128, 256)),
    ("Linear(256, 128).bias", (128,)),
    ("Linear(128, 64).weight", (64, 128)),
    ("Linear(128, 64).bias", (64,)),
    ("Linear(64, 10).weight", (10, 64)),
    ("Linear(64, 10).bias", (10,)),
]


@pytest.fixture
def sandbox_limits():
    # torch in the student's sandbox needs more address space than numpy, and
    # the training checks more than the default per-call time
    return {"memory_bytes": 8 * 1024**3, "cpu_seconds": 900, "call_timeout": 120.0}


@pytest.fixture(scope="session")
def fashion():
    """The official data (checksums verified by the loader), prepared as the
    notebook prescribes: X_train (60000, 784) and X_test (10000, 784) float32
    standardised with the training pixels' mean and std; int64 labels;
    test_images (10000, 28, 28) float32 in [0, 1]. Prepared once per machine
    and code version (1.7 s a grading otherwise): the loader accepts only
    the official content, which the key names."""
    data = {name: OFFICIAL[name] for pair in SPLITS.values() for name in pair}
    return cached_arrays(
        {"what": "fashion-mnist standardised", "data": data}, _prepared_fashion, GRADERS
    )


def _prepared_fashion() -> dict:
    train_images, train_labels = load_fashion_mnist("train")
    test_images, test_labels = load_fashion_mnist("test")
    mean, std = float(train_images.mean()), float(train_images.std())

    def prepare(images):
        return ((images.reshape(len(images), -1) - mean) / std).astype(np.float32)

    return {
        "X_train": prepare(train_images),
        "y_train": train_labels,
        "X_test": prepare(test_images),
        "y_test": test_labels,
        "test_images": test_images,
    }


def prescribed_network(state: dict, what: str) -> nn.Sequential:
    """The grader's own 784-256-128-64-10 ReLU network holding the tensors of
    ``state`` (name -> array or tensor). Tensors are matched by shape, which
    is unique per tensor here, so a custom module's names (fc1.weight, ...)
    work; anything missing or extra fails with a sentence naming it."""
    __tracebackhide__ = True
    by_shape = {}
    for name, value in state.items():
        try:
            if isinstance(value, torch.Tensor):  # any dtype (float16, bfloat16, ...)
                tensor = value.detach().to("cpu", torch.float32)
            else:
                tensor = torch.as_tensor(np.asarray(value, dtype=np.float32))
        except (TypeError, ValueError, RuntimeError):
            fail(f"{what} holds {str(name)[:80]!r}, which is not a tensor of numbers")
        by_shape.setdefault(tuple(tensor.shape), []).append((name, tensor))
    tensors, missing = [], []
    for layer, shape in PRESCRIBED:
        found = by_shape.pop(shape, [])
        if len(found) != 1:
            missing.append(f"{layer} {shape}")
            continue
        tensors.append(found[0][1])
    if missing:
        fail(
            f"{what} has no tensor for {', '.join(missing)}: the network is not the prescribed one"
        )
    if by_shape:
        extra = ", ".join(f"{n} {tuple(t.shape)}" for group in by_shape.values() for n, t in group)
        fail(f"{what} has tensors the prescribed network does not have: {extra}")
    net = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(),
        nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )  # fmt: skip
    with torch.no_grad():
        for param, tensor in zip(net.parameters(), tensors, strict=True):
            param.copy_(tensor)
    return net.eval()


def network_in_sandbox(code, tensors: list[np.ndarray]):
    """The prescribed network, built in the sandbox of ``code`` (``student``
    or ``reference_code``) from torch's own layers, holding ``tensors``
    (float32 arrays in PRESCRIBED's order): a model for the student's
    functions that the answer cell under test did not build (build_model is
    another cell's, which that cell's code could replace in its sandbox)."""
    torch_ = code.torch
    layers = []
    for i in range(0, len(PRESCRIBED), 2):
        (_, (out, inp)), (_, _) = PRESCRIBED[i], PRESCRIBED[i + 1]
        layer = torch_.nn.Linear(inp, out)
        layer.weight = torch_.nn.Parameter(torch_.from_numpy(np.ascontiguousarray(tensors[i])))
        layer.bias = torch_.nn.Parameter(torch_.from_numpy(np.ascontiguousarray(tensors[i + 1])))
        layers += [layer, torch_.nn.ReLU()] if i + 2 < len(PRESCRIBED) else [layer]
    return torch_.nn.Sequential(*layers)


@pytest.fixture(name="network_in_sandbox")
def network_in_sandbox_fixture():
    return network_in_sandbox


@pytest.fixture
def initial_tensors(reference_code, once_per_grading):
    """``initial_tensors(seed)``: the reference build_model's weights after
    ``torch.manual_seed(seed)``, float32 arrays in PRESCRIBED's order."""

    def draw(seed):
        def compute():
            reference_code.torch.manual_seed(seed)
            state = reference_code.model_state(reference_code.build_model())
            net = prescribed_network(state, "the reference's build_model()")
            return [p.detach().numpy().copy() for p in net.parameters()]

        return once_per_grading(f"initial tensors {seed}", compute)

    return draw


def evaluate(net: nn.Module, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``net`` on X (N, 784), y (N,)."""
    with torch.no_grad():
        logits = net(torch.from_numpy(X))
        loss = nn.functional.cross_entropy(logits, torch.from_numpy(y)).item()
        accuracy = (logits.argmax(dim=1).numpy() == y).mean()
    return float(loss), float(accuracy)


@pytest.fixture
def network_from():
    return prescribed_network


@pytest.fixture
def evaluate_network():
    return evaluate


_ONCE: dict = {}


@pytest.fixture
def once_per_grading(request):
    """``once_per_grading(name, compute)``: ``compute()``'s result, computed by
    the first test that asks and shared by the others of this grading (the
    student's training runs are too slow to repeat per check). A failure is
    raised again, with the same sentence, for every test that asks."""

    def get(name, compute):
        key = (id(request.config), name)
        if key not in _ONCE:
            try:
                _ONCE[key] = compute()
            except (StudentError, GradingFailure) as exc:
                _ONCE[key] = exc
        if isinstance(_ONCE[key], Exception):
            raise _ONCE[key]
        return _ONCE[key]

    return get
