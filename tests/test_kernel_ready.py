"""When a sandboxed kernel counts as ready: it answered kernel_info and its
IOPub channel is connected, seen by the "idle" status of that request or the
kernel's IOPub welcome, without jupyter_client's 0.2 s of IOPub silence."""

from __future__ import annotations

import asyncio
from queue import Empty

import pytest

from dlcourse.sandbox.kernel import SandboxedKernelClient


class Channel:
    """A kernel channel: for the n-th kernel_info request, ``script[n]``
    gives the messages that arrive (each a message, or a function of the
    request's id); Empty, after the timeout, once they are read."""

    def __init__(self, owner, script):
        self.owner, self.script, self.waited = owner, script, 0.0

    def pending(self) -> list:
        return self.script.setdefault(len(self.owner.asked) - 1, [])

    async def get_msg(self, timeout=None):
        pending = self.pending()
        if not pending:
            self.waited += timeout or 0.0
            raise Empty
        item = pending.pop(0)
        return item(self.owner.asked[-1]) if callable(item) else item


class FakeClient:
    """The parts of a kernel client the readiness check uses."""

    _until_ready = SandboxedKernelClient._until_ready
    _iopub_until_idle = SandboxedKernelClient._iopub_until_idle

    def __init__(self, shell: dict, iopub: dict, alive: bool = True):
        self.asked: list[str] = []
        self.shell_channel = Channel(self, shell)
        self.iopub_channel = Channel(self, iopub)
        self.alive, self.handled = alive, []

    def kernel_info(self):
        self.asked.append(f"request-{len(self.asked)}")
        return self.asked[-1]

    async def _async_is_alive(self):
        return self.alive

    def _handle_kernel_info_reply(self, msg):
        self.handled.append(msg)


def reply(request):
    return {"msg_type": "kernel_info_reply", "parent_header": {"msg_id": request}, "content": {}}


def status(state, of=None):
    def message(request):
        return {
            "msg_type": "status",
            "parent_header": {"msg_id": of or request},
            "content": {"execution_state": state},
        }

    return message


WELCOME = {"msg_type": "iopub_welcome", "parent_header": {}, "content": {}}


def test_ready_at_the_idle_status_of_its_request_without_waiting_for_silence():
    client = FakeClient({0: [reply]}, {0: [status("busy"), status("idle"), WELCOME]})
    asyncio.run(client._until_ready(10))
    assert len(client.handled) == 1 and client.asked == ["request-0"]
    assert client.iopub_channel.waited == 0.0
    # what came after the idle status is left for nbclient, which skips it
    assert client.iopub_channel.script[0] == [WELCOME]


def test_ready_at_the_welcome_when_the_statuses_came_before_the_subscription():
    client = FakeClient({0: [reply]}, {0: [WELCOME]})
    asyncio.run(client._until_ready(10))
    assert len(client.handled) == 1 and client.iopub_channel.waited == 0.0


def test_the_idle_status_of_another_request_does_not_count():
    client = FakeClient({0: [reply]}, {0: [status("idle", of="someone-else")]})
    asyncio.run(client._until_ready(10))
    # read on until IOPub fell silent, as jupyter_client does
    assert client.iopub_channel.waited > 0 and len(client.handled) == 1


def test_asked_again_while_iopub_stays_silent():
    # no IOPub message for the first request: not known to be connected
    client = FakeClient({0: [reply], 1: [reply]}, {0: [], 1: [status("idle")]})
    asyncio.run(client._until_ready(10))
    assert client.asked == ["request-0", "request-1"] and len(client.handled) == 1


def test_a_dead_kernel_and_a_silent_one_raise():
    with pytest.raises(RuntimeError, match="died"):
        asyncio.run(FakeClient({}, {}, alive=False)._until_ready(10))
    with pytest.raises(RuntimeError, match="didn't respond"):
        asyncio.run(FakeClient({}, {})._until_ready(0))
