"""Part 2: exactly the prescribed network, checked by what the student's model
holds (its parameter shapes) and what it computes, never by class names: an
nn.Sequential and a custom nn.Module with torch.relu, F.relu or nn.ReLU are
the same network if they hold the same tensors and compute the same function."""

from collections import Counter

import numpy as np
import pytest
import torch

from dlcourse.checks import expect_true, fail
from dlcourse.sandbox import plain

pytestmark = pytest.mark.graded("test_architecture")

# (in_features, out_features) of the prescribed Linear layers, in order
LINEAR = [(784, 256), (256, 128), (128, 64), (64, 10)]
SHAPES = Counter(shape for i, o in LINEAR for shape in ((o, i), (o,)))


def _describe(layers) -> str:
    return ", ".join(f"Linear({i}, {o})" for i, o in layers)


def _state(student, model) -> dict:
    """build_model()'s state_dict as {name: numpy array}, checked to be one."""
    __tracebackhide__ = True
    state = student.model_state(model)
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, np.ndarray) for k, v in state.items()
    ):
        fail("build_model() should return a torch.nn.Module whose state_dict holds tensors")
    return state


def test_parameter_shapes(student):
    """The tensors of Linear(784, 256), Linear(256, 128), Linear(128, 64), Linear(64, 10); nothing else."""
    state = _state(student, student.build_model())
    shapes = Counter(tuple(v.shape) for v in state.values())
    if shapes == SHAPES:
        return
    # The student's Linear layers, read off the 2-D weights in the order the
    # module registered them (a (out, in) weight is a Linear(in, out)).
    layers = [(v.shape[1], v.shape[0]) for v in state.values() if v.ndim == 2]
    if layers != LINEAR:
        for k, (got, want) in enumerate(zip(layers, LINEAR, strict=False)):
            if got != want:
                fail(
                    f"build_model's linear layer {k + 1} is {_describe([got])}; the prescribed "
                    f"network has {_describe([want])} there (yours: {_describe(layers)}; "
                    f"prescribed: {_describe(LINEAR)})"
                )
        fail(
            f"build_model has {len(layers)} linear layers; the prescribed network has "
            f"{len(LINEAR)}: {_describe(LINEAR)} (yours: {_describe(layers)})"
        )
    missing, surplus = SHAPES - shapes, shapes - SHAPES
    extra = []
    for name, v in state.items():
        if surplus[tuple(v.shape)] > 0:
            surplus[tuple(v.shape)] -= 1
            extra.append(f"{name} {tuple(v.shape)}")
    if missing:
        fail(
            f"build_model's linear layers lack the biases of shapes "
            f"{', '.join(str(s) for s in missing.elements())}: use nn.Linear with its bias"
        )
    fail(
        f"build_model holds tensors the prescribed network does not have "
        f"({', '.join(extra)[:300]}): the network is the four Linear layers with ReLUs, "
        "nothing else"
    )


def _network(state, activation, last=None, skip=None) -> torch.nn.Module:
    """The prescribed layers holding ``state``'s tensors (matched by shape),
    with ``activation`` after every hidden layer except hidden layer ``skip``
    (1-based) and ``last`` after the output layer: the prescribed network and
    the variants its common mistakes compute."""
    by_shape = {tuple(v.shape): torch.as_tensor(v, dtype=torch.float32) for v in state.values()}
    layers = []
    for k, (i, o) in enumerate(LINEAR):
        linear = torch.nn.Linear(i, o)
        with torch.no_grad():
            linear.weight.copy_(by_shape[(o, i)])
            linear.bias.copy_(by_shape[(o,)])
        layers.append(linear)
        if k < len(LINEAR) - 1 and k + 1 != skip:
            layers.append(activation())
    if last is not None:
        layers.append(last)
    return torch.nn.Sequential(*layers).eval()


# What a model with the prescribed tensors may compute instead, and the
# sentence that says so; each is recognised only when its outputs match.
VARIANTS = [
    *(
        (
            {"activation": torch.nn.ReLU, "skip": k},
            f"they are those of the network without the ReLU after hidden layer {k}",
        )
        for k in (1, 2, 3)
    ),
    (
        {"activation": torch.nn.ReLU, "last": torch.nn.Softmax(dim=1)},
        "they are the softmax of the prescribed network's logits: return the logits "
        "(CrossEntropyLoss applies the softmax itself)",
    ),
    (
        {"activation": torch.nn.Sigmoid},
        "they are those of the network with sigmoid activations instead of ReLU",
    ),
    (
        {"activation": torch.nn.Tanh},
        "they are those of the network with tanh activations instead of ReLU",
    ),
]


def _outputs(value, what) -> np.ndarray:
    __tracebackhide__ = True
    try:
        out = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{what} is not an array of numbers")
    if out.shape != (64, 10):
        fail(f"{what} has shape {out.shape} for X of shape (64, 784); expected (64, 10)")
    return out


def _close(got, expected) -> bool:
    return bool(np.all(np.isfinite(got))) and float(np.abs(got - expected).max()) <= 1e-4 * (
        1 + float(np.abs(expected).max())
    )


def test_computes_the_prescribed_function(student, rng, network_from):
    """The model's outputs, in evaluation and in training mode, are those of the prescribed network with its weights."""
    student.torch.manual_seed(int(rng.integers(2**31)))
    model = student.build_model()
    state = _state(student, model)
    reference = network_from(state, "build_model()'s state_dict")
    X = rng.normal(size=(64, 784)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(X)).numpy().astype(np.float64)
    # the notebook's helper: the model in evaluation mode, without gradients
    got = _outputs(student.model_outputs(model, X), "build_model()(X)")
    if not _close(got, expected):
        error = float(np.nanmax(np.abs(got - expected))) if np.isfinite(got).any() else np.nan
        why = "the parameters have the prescribed shapes, so the difference is in forward: a "
        why += "ReLU after each hidden layer, none after the last, every layer used once, in order"
        for kwargs, sentence in VARIANTS:
            with torch.no_grad():
                variant = _network(state, **kwargs)(torch.from_numpy(X)).numpy()
            if _close(got, variant.astype(np.float64)):
                why = sentence
                break
        fail(
            f"build_model()'s outputs differ from the prescribed network's with the same "
            f"weights by up to {error:.3g}: {why}"
        )
    # The prescribed network computes the same in both modes; a layer that
    # acts only in training (dropout, batch normalisation) shows up here.
    model.train()
    tensor = student.torch.from_numpy(X)
    got = _outputs(plain(model(tensor), max_items=10, what="build_model()(X)"), "build_model()(X)")
    model.eval()
    expect_true(
        _close(got, expected),
        "in training mode (model.train()) build_model()'s outputs differ from those in "
        "evaluation mode: the model has a layer that acts only during training (dropout, "
        "batch normalisation); the prescribed network has none",
    )
