"""Part 7: the two figures, as data (what the student's plotting functions
draw) and as images (that the notebook shows them)."""

import numpy as np
import pytest

from dlcourse.checks import expect_true, fail

pytestmark = pytest.mark.graded("test_plots")

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]  # fmt: skip


def _summary(student, fig, what):
    __tracebackhide__ = True
    if "Figure" not in str(getattr(fig, "type_name", "")):
        fail(
            f"{what} should return the matplotlib Figure it drew; got "
            f"{getattr(fig, 'type_name', type(fig).__name__)}"
        )
    return student.figure_summary(fig)


def _matches(line_y, values):
    return len(line_y) == len(values) and np.allclose(line_y, values, rtol=1e-6, atol=1e-9)


def test_loss_curves(student, rng):
    """plot_loss_curves draws the training and test loss per epoch, labelled, with a legend."""
    train = np.round(np.sort(rng.uniform(0.3, 1.5, size=6))[::-1], 4).tolist()
    test = np.round(np.sort(rng.uniform(0.4, 1.6, size=6))[::-1], 4).tolist()
    history = {"train_loss": train, "test_loss": test, "test_accuracy": [0.5] * 6}
    axes = _summary(student, student.plot_loss_curves(history), "plot_loss_curves")
    for ax in axes:
        lines = ax["lines"]
        has_train = [ln for ln in lines if _matches(ln["y"], train)]
        has_test = [ln for ln in lines if _matches(ln["y"], test)]
        if has_train and has_test:
            break
    else:
        fail(
            "plot_loss_curves should draw history['train_loss'] and history['test_loss'] as two "
            "curves on one axes; no axes shows both"
        )
    labels = [ln["label"] for ln in has_train + has_test]
    expect_true(
        ax["legend"] and not any(label.startswith("_") for label in labels),
        "the loss curves need labels and a legend naming them (label=..., ax.legend())",
    )
    expect_true(
        bool(ax["xlabel"]) and bool(ax["ylabel"]), "the loss figure needs axis labels (epoch, loss)"
    )


def test_probability_bars(student, rng):
    """plot_probabilities draws one bar chart of the 10 class probabilities per image."""
    images = rng.uniform(size=(3, 28, 28)).astype(np.float32)
    probs = rng.dirichlet(np.ones(10), size=3)
    axes = _summary(
        student, student.plot_probabilities(images, probs, CLASS_NAMES), "plot_probabilities"
    )
    charts = [np.asarray(bars) for ax in axes for bars in ax["bars"] if len(bars) == 10]
    for k in range(3):
        if not any(np.allclose(bars, probs[k], atol=1e-6) for bars in charts):
            fail(
                f"plot_probabilities: no bar chart shows the 10 probabilities of image {k + 1} "
                f"in class order ({len(charts)} charts of 10 bars found)"
            )
    expect_true(
        sum(ax["images"] for ax in axes) >= 3,
        "plot_probabilities should also show the 3 images (imshow) beside their bar charts",
    )


def test_figures_shown_in_the_notebook(executed_notebook):
    """The notebook shows the loss curves and the probability charts when it runs."""
    for grade_id, what in (
        ("show_loss_curves", "loss curves"),
        ("show_predictions", "probability charts"),
    ):
        if executed_notebook.images_in(grade_id) < 1:
            error = executed_notebook.error_in(grade_id)
            why = f": the cell '{grade_id}' stopped with {error}" if error else ""
            fail(f"the notebook showed no figure of the {what} when it ran{why}")
