r"""The loss figure shows only the training loss.

cell: plots
loses: test_plots
symptom: no axes shows both
"""


def plot_loss_curves(history):
    fig, ax = plt.subplots()
    ax.plot(range(1, len(history["train_loss"]) + 1), history["train_loss"], label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return fig
