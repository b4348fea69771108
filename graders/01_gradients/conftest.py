"""Shared settings of the 01_gradients graders: torch is the float64 oracle."""

import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
