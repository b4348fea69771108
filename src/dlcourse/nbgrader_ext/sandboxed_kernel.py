"""Executing a student's notebook in a confined Jupyter kernel, in nbgrader.

``SandboxedExecute`` replaces nbgrader's ``Execute`` in the autograde
pipeline: the same execution, with the kernel started by
:class:`dlcourse.sandbox.kernel.SandboxedKernelManager` (see there for the
confinement). It also records where and when the notebook ran, so the
hidden graders can tell files the execution wrote (a saved weights file)
from files a student submitted beside the notebook.
"""

from __future__ import annotations

import os
import time

from nbgrader.preprocessors import Execute

from dlcourse.sandbox.kernel import KERNEL_LIMITS, SandboxedKernelManager

__all__ = ["KERNEL_LIMITS", "SandboxedExecute", "SandboxedKernelManager"]


class SandboxedExecute(Execute):
    """nbgrader's Execute, with the kernel started by SandboxedKernelManager."""

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        resources = resources if resources is not None else {}
        path = (resources.get("metadata") or {}).get("path") or os.getcwd()
        # files in the notebook's folder older than this were not written by
        # the execution (see dlcourse.execution)
        resources["dlcourse_execution"] = {"folder": os.path.abspath(path), "started": time.time()}
        return super().preprocess(nb, resources, km=km)
