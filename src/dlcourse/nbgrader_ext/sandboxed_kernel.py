"""Executing a student's notebook in a confined Jupyter kernel, in nbgrader.

``SandboxedExecute`` replaces nbgrader's ``Execute`` in the autograde
pipeline: the same execution, with the kernel started by
:class:`dlcourse.sandbox.kernel.SandboxedKernelManager` (see there for the
confinement).
"""

from __future__ import annotations

from nbgrader.preprocessors import Execute

from dlcourse.sandbox.kernel import KERNEL_LIMITS, SandboxedKernelManager

__all__ = ["KERNEL_LIMITS", "SandboxedExecute", "SandboxedKernelManager"]


class SandboxedExecute(Execute):
    """nbgrader's Execute, with the kernel started by SandboxedKernelManager."""

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(*args, **kwargs)
