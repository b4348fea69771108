"""Shared settings of the 03_backprop graders: torch is the float64 oracle, and
every backward pass must be the student's own (no torch on the student's side)."""

import pytest
import torch

from dlcourse.checks import expect_true

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


@pytest.fixture
def sandbox_limits():
    # torch's files are out of the sandbox's sight: the notebook's own block
    # (sys.modules["torch"] = None) is undone by one line, and a check of the
    # notebook's names by one more (a reference kept out of them)
    return {"hidden_modules": ["torch"]}


@pytest.fixture
def expect_manual(student):
    """expect_manual() fails when the student's notebook reaches torch."""

    def check():
        found = student.torch_in_use()
        expect_true(
            found == [],
            f"your notebook uses torch ({', '.join(map(str, found))}); this assignment's "
            "gradients must be written by hand with numpy",
        )

    return check
