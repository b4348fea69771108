"""Code run in a sandboxed kernel, for tests of the kernel's confinement."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from dlcourse.sandbox.kernel import SandboxedKernelManager


@contextlib.contextmanager
def kernel_zygote_started():
    """A ready kernel zygote, the one this process forks its kernels from
    while the block runs (as the batch's fork server has one)."""
    from dlcourse.sandbox import kernel_zygote
    from dlcourse.sandbox.kernel import kernel_environment

    zygote = kernel_zygote.start_server_zygote(kernel_environment(os.environ))
    assert zygote.check_ready(60)
    try:
        yield zygote
    finally:
        kernel_zygote._server = None
        zygote.close()


async def outputs(
    workdir: Path, *codes: str, course_root: Path, stderr: list | None = None
) -> list[str]:
    """The stdout of each of ``codes`` (with its error's traceback, if it
    raised), run one after another in one kernel started in ``workdir`` for
    the course at ``course_root``; the kernel's stderr goes to ``stderr``
    when given, else with its stdout. Fails if the kernel leaves its socket
    folder behind."""
    km = SandboxedKernelManager(kernel_name="python3")
    km.course_root = str(course_root)
    await km.start_kernel(cwd=str(workdir))
    ipc_dir = km._ipc_dir
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        texts = []
        for code in codes:
            msg_id = kc.execute(code)
            text = []
            while True:
                msg = await kc.get_iopub_msg(timeout=60)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "stream":
                    if msg["content"]["name"] == "stderr" and stderr is not None:
                        stderr.append(msg["content"]["text"])
                    else:
                        text.append(msg["content"]["text"])
                if msg["msg_type"] == "error":
                    text.append("\n".join(msg["content"]["traceback"]))
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    break
            texts.append("".join(text))
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
    assert not os.path.exists(ipc_dir), "the kernel's socket folder was left behind"
    return texts
