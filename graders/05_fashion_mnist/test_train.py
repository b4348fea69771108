"""Part 4: the student's training loop, run by the grader.

The grader trains a fresh model with the student's ``train`` on 10,000
training images for 3 epochs (fixed subset, fixed seeds, a time limit),
takes the weights it ends with and measures their test accuracy itself, so
copied weights or good-looking printed numbers earn nothing here.

The loop's rules are checked on short runs with ``lr = 0``, where Adam does
not move the weights, so every number the rule fixes is known exactly from
the initial weights, whatever order the batches come in:

- the training loss of an epoch, weighted by batch size, is the mean
  cross-entropy over all examples (an unweighted mean of batch losses is
  not, when the last batch is smaller);
- on identical examples every batch has the same gradient, so the gradients
  left after the loop are one batch's (or none, when zeroed after the step)
  and not a sum over batches (no ``zero_grad``);
- with a layer that makes one class certain and a dropout layer appended to
  the model, the training loss on examples of that class is about 0 in
  evaluation mode and far from it in training mode (dropout removes the
  certainty from about half of them), and test metrics vary from epoch to
  epoch in training mode only, so the history shows which mode each number
  was computed in. (The prescribed network computes the same in both modes,
  so the rule "train in training mode, evaluate in evaluation mode" is
  observable only on such a model; ``train`` takes any model.)
"""

import math
import time

import numpy as np
import pytest
import torch

from dlcourse.checks import expect_true, fail
from dlcourse.sandbox import plain

pytestmark = pytest.mark.graded("test_train")

SUBSET, EPOCHS, BATCH, LR, SEED = 10_000, 3, 64, 1e-3, 0
HISTORY_TEST = 2000  # test images the student's loop evaluates after each epoch
# Measured with one thread: the reference recipe on 10k images for 3 epochs
# reaches 82.5-83.5% test accuracy over seeds 0-4 (first 10k images), 81.8-83.9%
# over seeds 0-2 on this fixed subset, in 1.6-2.5 s. An untrained network scores
# about 10%; one trained with softmax before the loss 71-79% (seeds 0-2).
MIN_ACCURACY = 0.80
PROBE_TEST = 200  # test images of the lr = 0 runs
# Tolerance on a loss recomputed here (float32 sums in another order: about
# 1e-6). The plain mean of the batch losses of the weighting run differs from
# the weighted one by 7.4e-3 (measured, 101 examples in batches of 20, seed 0).
LOSS_TOL = 1e-4
# the modes check's layer: adds CERTAIN to the logit of CERTAIN_CLASS (the
# network's logits start within about 0.2 of 0, so the class wins by far)
CERTAIN, CERTAIN_CLASS = 20.0, 0


def _subset(fashion):
    rng = np.random.default_rng(2024)  # the fixed subset
    rows = np.sort(rng.choice(len(fashion["y_train"]), size=SUBSET, replace=False))
    return fashion["X_train"][rows], fashion["y_train"][rows]


def _run(student, fashion, initial, network_in_sandbox):
    X, y = _subset(fashion)
    Xt, yt = fashion["X_test"][:HISTORY_TEST], fashion["y_test"][:HISTORY_TEST]
    torch_ = student.torch
    model = network_in_sandbox(student, initial)
    before = student.model_state(model)
    args = [torch_.from_numpy(a) for a in (X, y, Xt, yt)]
    start = time.perf_counter()
    history = student.train(model, *args, EPOCHS, BATCH, LR, SEED)
    seconds = time.perf_counter() - start
    return {
        "history": history,
        "before": before,
        "state": student.model_state(model),
        "seconds": seconds,
    }


@pytest.fixture
def trained(student, fashion, once_per_grading, initial_tensors, network_in_sandbox):
    initial = initial_tensors(SEED)
    return once_per_grading("trained", lambda: _run(student, fashion, initial, network_in_sandbox))


def _history(history, epochs, what="train's history"):
    """The history as {key: [float] * epochs}, or a failure naming what is wrong."""
    __tracebackhide__ = True
    history = plain(history, max_items=100, what="train(...)")
    if not isinstance(history, dict):
        fail(f"train should return a dict of lists; got {type(history).__name__}")
    missing = {"train_loss", "test_loss", "test_accuracy"} - set(history)
    if missing:
        fail(f"{what} has no {', '.join(sorted(missing))}")
    out = {}
    for key in ("train_loss", "test_loss", "test_accuracy"):
        values = history[key]
        if not isinstance(values, list) or len(values) != epochs:
            fail(
                f"history['{key}'] should be a list with one value per epoch ({epochs}); "
                f"got {_short(values)}"
            )
        try:
            out[key] = [float(np.asarray(v, dtype=np.float64)) for v in values]
        except (TypeError, ValueError):
            fail(
                f"history['{key}'] should hold plain numbers (use loss.item()); got {_short(values)}"
            )
        if not all(math.isfinite(v) for v in out[key]):
            fail(f"history['{key}'] holds NaN or infinity: {out[key]}")
    return out


def _short(value) -> str:
    """A grader-side description of plain data (never the student's repr)."""
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return type(value).__name__


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        np.asarray(a[k]).shape == np.asarray(b[k]).shape and np.array_equal(a[k], b[k]) for k in a
    )


def _cross_entropy(net, X, y) -> tuple[float, float, float]:
    """(mean cross-entropy, accuracy, mean cross-entropy of the softmax of
    the logits) of ``net`` on X, y."""
    with torch.no_grad():
        logits = net(torch.from_numpy(X))
        labels = torch.from_numpy(y)
        loss = torch.nn.functional.cross_entropy(logits, labels).item()
        soft = torch.nn.functional.cross_entropy(torch.softmax(logits, dim=1), labels).item()
        accuracy = (logits.argmax(dim=1).numpy() == y).mean()
    return float(loss), float(accuracy), float(soft)


def _certain_bias() -> np.ndarray:
    """(10,) float32: CERTAIN at CERTAIN_CLASS, 0 elsewhere."""
    bias = np.zeros(10, dtype=np.float32)
    bias[CERTAIN_CLASS] = CERTAIN
    return bias


def _modes_model(torch_, network):
    """``network`` (built with the torch module ``torch_``: the student's
    sandbox's, or the grader's) followed by the modes check's layer and
    dropout (see test_training_and_evaluation_modes)."""
    certain = torch_.nn.Linear(10, 10)
    certain.weight = torch_.nn.Parameter(torch_.from_numpy(np.eye(10, dtype=np.float32)))
    certain.bias = torch_.nn.Parameter(torch_.from_numpy(_certain_bias()))
    return torch_.nn.Sequential(network, certain, torch_.nn.Dropout(0.5))


def _with_certain_class(net):
    """The grader's ``net`` followed by the modes check's layer (evaluation
    mode: no dropout)."""
    shift = torch.from_numpy(_certain_bias())
    return lambda x: net(x) + shift


# ---------------------------------------------------------------- the real run


def test_training_reaches_the_accuracy(trained, fashion, network_from, evaluate_network):
    """After train(...) on 10,000 images for 3 epochs, the model classifies 80% of the test set."""
    net = network_from(trained["state"], "the model after train(...)")
    _, accuracy = evaluate_network(net, fashion["X_test"], fashion["y_test"])
    if accuracy >= MIN_ACCURACY:
        return
    message = (
        f"after train(model, 10000 images, epochs={EPOCHS}, batch_size={BATCH}, lr={LR}) the "
        f"model classifies {accuracy:.1%} of the test images correctly; at least "
        f"{MIN_ACCURACY:.0%} is expected (the reference reaches about 83%)"
    )
    if _same_state(trained["before"], trained["state"]):
        message += (
            ": its weights are exactly the ones it started with, so train never updated them "
            "(an optimiser step after each backward, on the model's parameters)"
        )
    fail(message)


def test_history_has_one_value_per_epoch(trained):
    """The history holds train_loss, test_loss and test_accuracy per epoch; the training loss falls."""
    history = _history(trained["history"], EPOCHS)
    first, last = history["train_loss"][0], history["train_loss"][-1]
    expect_true(
        last < first,
        f"history['train_loss'] went from {first:.4f} to {last:.4f} over {EPOCHS} epochs; "
        "it should fall while the model trains",
    )


def test_history_describes_the_trained_model(trained, fashion, network_from):
    """The recorded test loss and accuracy are those of the model after the last epoch, on X_test."""
    history = _history(trained["history"], EPOCHS)
    net = network_from(trained["state"], "the model after train(...)")
    Xt, yt = fashion["X_test"][:HISTORY_TEST], fashion["y_test"][:HISTORY_TEST]
    loss, accuracy, soft = _cross_entropy(net, Xt, yt)
    got_loss, got_accuracy = history["test_loss"][-1], history["test_accuracy"][-1]
    loss_ok = abs(got_loss - loss) <= 1e-3 * max(1.0, loss)
    accuracy_ok = abs(got_accuracy - accuracy) <= 1e-3
    if loss_ok and accuracy_ok:
        return
    # Name a cause only when the recorded number is what that cause computes.
    X, y = _subset(fashion)
    train_loss, train_accuracy, _ = _cross_entropy(net, X, y)
    if not loss_ok:
        why = ""
        if abs(got_loss - soft) <= 1e-3 * max(1.0, soft):
            why = (
                ": it is the cross-entropy of the softmax of the logits; CrossEntropyLoss "
                "applies the softmax itself, give it the logits"
            )
        elif abs(got_loss - train_loss) <= 1e-3 * max(1.0, train_loss):
            why = ": it is the trained model's loss on the training images; use X_test, y_test"
        fail(
            f"history['test_loss'][-1] is {got_loss:.5f} but the trained model's mean "
            f"cross-entropy on the test images it was given is {loss:.5f}{why}"
        )
    why = ""
    if abs(got_accuracy - 100 * accuracy) <= 0.1:
        why = ": that is a percentage; record a fraction in [0, 1]"
    elif abs(got_accuracy - train_accuracy) <= 1e-3:
        why = ": it is the trained model's accuracy on the training images; use X_test, y_test"
    fail(
        f"history['test_accuracy'][-1] is {got_accuracy:.4f} but the trained model classifies "
        f"{accuracy:.4f} of the test images it was given correctly{why}"
    )


# ----------------------------------------------------- the rules, at lr = 0


def _probe(student, fashion, model, n, batch, epochs, rows=None, labels=None):
    """train(model, ...) with lr = 0 on n training rows (``rows``: indices
    into the fixed subset, default the first n; ``labels``: (n,) labels
    instead of theirs) and PROBE_TEST test rows.
    Returns (history, initial state, X, y, Xt, yt); fails if the weights moved."""
    __tracebackhide__ = True
    X, y = _subset(fashion)
    rows = np.arange(n) if rows is None else rows
    X, y = X[rows], y[rows]
    if labels is not None:
        y = np.asarray(labels, dtype=y.dtype)
    Xt, yt = fashion["X_test"][:PROBE_TEST], fashion["y_test"][:PROBE_TEST]
    before = student.model_state(model)
    args = [student.torch.from_numpy(np.ascontiguousarray(a)) for a in (X, y, Xt, yt)]
    history = student.train(model, *args, epochs, batch, 0.0, SEED)
    if not _same_state(before, student.model_state(model)):
        fail(
            "train(..., lr=0.0, ...) changed the model's weights; with lr = 0 Adam leaves them "
            "as they are: create the optimiser with the lr argument, "
            "torch.optim.Adam(model.parameters(), lr=lr)"
        )
    return _history(history, epochs), before, X, y, Xt, yt


def test_training_loss_weighted_by_batch_size(
    student, fashion, network_from, initial_tensors, network_in_sandbox
):
    """history['train_loss'] averages the batch losses weighted by batch size (the last batch is smaller)."""
    n, batch = 101, 20  # five batches of 20 and one of a single example
    model = network_in_sandbox(student, initial_tensors(SEED))
    history, before, X, y, _, _ = _probe(student, fashion, model, n, batch, 1)
    net = network_from(before, "the model given to train")
    with torch.no_grad():
        logits, labels = net(torch.from_numpy(X)), torch.from_numpy(y)
        per_example = torch.nn.functional.cross_entropy(logits, labels, reduction="none").numpy()
        soft = torch.nn.functional.cross_entropy(torch.softmax(logits, dim=1), labels).item()
    expected = float(per_example.mean())
    got = history["train_loss"][0]
    if abs(got - expected) <= LOSS_TOL:
        return
    # the plain mean of the batch losses, in the reference minibatches' order
    order = np.random.default_rng(SEED).permutation(n)
    plain_mean = float(
        np.mean([per_example[order[i : i + batch]].mean() for i in range(0, n, batch)])
    )
    why = ""
    if abs(got - plain_mean) <= LOSS_TOL:
        why = (
            f": it is the plain mean of the {len(range(0, n, batch))} batch losses; weight each "
            "by its batch size (total += loss.item() * len(yb), divided by the number of examples)"
        )
    elif abs(got - soft) <= LOSS_TOL:
        why = (
            ": it is the cross-entropy of the softmax of the logits; CrossEntropyLoss applies "
            "the softmax itself, give it the logits"
        )
    fail(
        f"with lr=0 (the weights do not move) on {n} examples in batches of {batch}, "
        f"history['train_loss'] is {got:.5f}; the batch losses weighted by batch size average "
        f"to the mean cross-entropy over all {n} examples, {expected:.5f}{why}"
    )


def _gradients(student, model) -> list:
    """The .grad of each Linear's weight and bias of the reference model (an
    nn.Sequential: Linear layers at 0, 2, 4, 6), as arrays or None."""
    grads = []
    for index in ("0", "2", "4", "6"):
        layer = getattr(model, index)
        for name in ("weight", "bias"):
            grads.append(plain(getattr(layer, name).grad, max_items=10, what="a gradient"))
    return grads


def test_gradients_zeroed_for_each_batch(
    student, fashion, network_from, initial_tensors, network_in_sandbox
):
    """Each batch's backward starts from zero gradients (optimiser.zero_grad())."""
    n, batch, epochs = 40, 20, 3  # 6 batches of one example repeated: all alike
    model = network_in_sandbox(student, initial_tensors(SEED))
    _, before, X, y, _, _ = _probe(student, fashion, model, n, batch, epochs, np.zeros(n, int))
    net = network_from(before, "the model given to train")
    torch.nn.functional.cross_entropy(
        net(torch.from_numpy(X[:1])), torch.from_numpy(y[:1])
    ).backward()
    one = np.concatenate([p.grad.numpy().ravel() for p in net.parameters()]).astype(np.float64)
    got = []
    for g, p in zip(_gradients(student, model), net.parameters(), strict=True):
        if g is None:  # zeroed with set_to_none after the last step
            g = np.zeros(tuple(p.shape))
        try:
            g = np.asarray(g, dtype=np.float64)
        except (TypeError, ValueError):
            fail("the parameters' .grad after train(...) are not tensors of numbers")
        if g.shape != tuple(p.shape):
            fail(f"a .grad after train(...) has shape {g.shape}; its parameter {tuple(p.shape)}")
        got.append(g.ravel())
    got = np.concatenate(got)
    norm = float(np.linalg.norm(one))
    if not np.any(got) or float(np.linalg.norm(got - one)) <= 1e-3 * norm:
        return  # zeroed after the last step, or one batch's gradient
    factor = float(got @ one) / norm**2
    along = float(np.linalg.norm(got - factor * one)) <= 1e-3 * norm
    total = epochs * n // batch
    if along and abs(factor - round(factor)) < 1e-2 and 2 <= round(factor) <= total:
        fail(
            f"with lr=0, after {total} batches that all have the same gradient, the parameters' "
            f".grad is {round(factor)} times one batch's gradient: the gradients of "
            f"{round(factor)} batches were added up; zero them before each batch's backward "
            "(optimiser.zero_grad())"
        )
    detail = f"{factor:.3g} times" if along else "not a multiple of"
    fail(
        f"with lr=0, after {total} batches that all have the same gradient, the parameters' .grad "
        f"is {detail} the gradient of one batch's mean cross-entropy of the logits; it should be "
        "that gradient (or none, when zeroed after the last step)"
    )


def test_training_and_evaluation_modes(
    student, fashion, network_from, initial_tensors, network_in_sandbox
):
    """Batches go through the model in training mode, the test metrics in evaluation mode."""
    n, batch, epochs = 64, 32, 2
    torch_ = student.torch
    # After the network, a layer that adds CERTAIN to the logit of class
    # CERTAIN_CLASS, then dropout, active in training mode only. The training
    # examples are all labelled CERTAIN_CLASS: in evaluation mode every one
    # of them is classified with certainty (loss below 1e-7); in training
    # mode dropout zeroes that logit for about half of them (loss about
    # ln 10 each), so an epoch's training loss is near 0 only when no example
    # lost it (2**-64 per epoch). Dropout on the network's own logits alone
    # changed the loss by about 1e-4 at the start of training, and about one
    # epoch in 50 fell within the check's tolerance (a correct train failed).
    model = _modes_model(torch_, network_in_sandbox(student, initial_tensors(SEED)))
    model.eval()  # train must switch to training mode itself, every epoch
    history, before, X, y, Xt, yt = _probe(
        student, fashion, model, n, batch, epochs, labels=np.full(n, CERTAIN_CLASS)
    )
    net = _with_certain_class(
        network_from(
            {k: v for k, v in before.items() if k.startswith("0.")}, "the model given to train"
        )
    )
    eval_train, _, _ = _cross_entropy(net, X, y)
    eval_test, eval_accuracy, _ = _cross_entropy(net, Xt, yt)
    for k, got in enumerate(history["train_loss"]):
        if abs(got - eval_train) <= 1e-5 * max(1.0, eval_train):
            fail(
                f"with a layer that makes class {CERTAIN_CLASS} certain and a dropout layer "
                f"appended to the model and lr=0, history['train_loss'][{k}] is exactly the "
                f"model's loss in evaluation mode, {eval_train:.5f} (in training mode dropout "
                f"makes it differ): epoch {k + 1}'s batches went through the model "
                "in evaluation mode; call model.train() at the start of every epoch"
            )
    losses, accuracies = history["test_loss"], history["test_accuracy"]
    if all(abs(v - eval_test) <= LOSS_TOL for v in losses) and all(
        abs(v - eval_accuracy) <= 1e-3 for v in accuracies
    ):
        return
    # Weights that do not move give the same numbers every epoch in evaluation
    # mode; numbers that vary were computed with dropout active. (Constant but
    # other numbers are another mistake, which the test above reports.)
    varies = max(losses) - min(losses) > LOSS_TOL or max(accuracies) - min(accuracies) > 1e-3
    expect_true(
        not varies,
        f"with a layer that makes class {CERTAIN_CLASS} certain and a dropout layer appended "
        "to the model and lr=0 (the weights do not move), "
        f"history['test_loss'] is {[round(v, 4) for v in losses]} and history['test_accuracy'] "
        f"{[round(v, 4) for v in accuracies]}, where evaluation mode gives {eval_test:.4f} and "
        f"{eval_accuracy:.4f} every epoch: the test metrics were computed in training mode; "
        "call model.eval() before evaluating",
    )
