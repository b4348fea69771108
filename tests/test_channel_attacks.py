"""Student code attacking the grader<->sandbox channel from inside.

The student's code runs in the worker and can write to the reply pipe (it
finds the descriptor in /proc/self/fd). Whatever it writes must end that
sandbox with a StudentError of kind "channel", bounded in the grader's memory
and time, never a grader error or a session whose replies are one behind; an
honest call in the restarted sandbox works again.
"""

import json
import tracemalloc

import pytest

from dlcourse.sandbox import Cell, Sandbox, StudentError, wire

# Helpers the attacks share, defined in the student's namespace.
ATTACKS = r'''
import fcntl, json, os, struct, sys

def reply_fd():
    """The write end of the reply pipe, as an attacker finds it."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            mode = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
        except OSError:
            continue
        if target.startswith("pipe:") and mode == os.O_WRONLY:
            return fd
    raise RuntimeError("no reply pipe")

def request_id():
    """The id of the request being served, read off the worker's stack."""
    frame = sys._getframe()
    while frame is not None:
        request = frame.f_locals.get("request")
        if isinstance(request, dict) and "id" in request:
            return request["id"]
        frame = frame.f_back
    raise RuntimeError("no request")

def frame(payload):
    return struct.pack(">I", len(payload)) + payload

def reply(**fields):
    return json.dumps({"ok": True, "id": request_id(), **fields}).encode()

def forge(*payloads, linger=False):
    """Write frames to the reply pipe, in one write, then return normally
    or, with ``linger``, never (so that only the forged frames arrive)."""
    payloads = [p.encode("latin-1") if isinstance(p, str) else p for p in payloads]
    os.write(reply_fd(), b"".join(frame(p) for p in payloads))
    if linger:
        import time
        time.sleep(60)
    return "honest value"

v = 3
'''


@pytest.fixture(scope="module")
def box():
    """One sandbox for the module: each attack closes it, and the next
    run() starts a fresh one."""
    with Sandbox(call_timeout=10) as sandbox:
        yield sandbox


def attack(box):
    """The student's helpers, in a running sandbox."""
    box.run([Cell("answer", ATTACKS)])
    return box.get("forge")


def assert_channel_broken(box, err, reason=""):
    assert err.value.kind == "channel", err.value
    assert "your code broke the grader's channel" in str(err.value)
    assert reason in str(err.value)
    assert not box.alive
    # honest calls work in the restarted sandbox
    box.run([Cell("answer", ATTACKS)])
    assert box.get("v") == 3


def test_an_extra_forged_frame_ends_the_sandbox(box):
    forge = attack(box)
    with pytest.raises(StudentError) as err:
        # the forged frame arrives first; without ids it would be taken as
        # the answer, and the real answer as the answer to the next request
        forge(json.dumps({"ok": True, "value": 42}))
    assert_channel_broken(box, err, "an answer to a different request arrived")


def test_a_forged_answer_followed_by_more_ends_the_sandbox(box):
    box.run([Cell("answer", ATTACKS)])
    box.run([Cell("attack", "def f():\n    return forge(reply(value=42), reply(value=43))")])
    with pytest.raises(StudentError) as err:
        box.get("f")()
    assert_channel_broken(box, err, "more was written after the answer")


def test_a_forged_answer_with_the_right_id_is_caught_by_the_next_request(box):
    box.run([Cell("answer", ATTACKS)])
    box.run([Cell("attack", "def f():\n    return forge(reply(value=42))")])
    with pytest.raises(StudentError) as err:
        # the grader may read the forged answer before the worker's own
        # arrives; the worker's own is then an answer to a stale request
        box.get("f")()
        box.get("v")
    assert_channel_broken(box, err)


@pytest.mark.parametrize(
    "payload, reason",
    [
        # an expanding frame: test_an_expanding_frame_is_refused_in_bounded_memory
        (b'{"ok": true, "value": ' + b"[" * 10**5 + b"]" * 10**5 + b"}", "nested more than"),
        (b'{"ok": true, "value": ' + b"9" * 10**6 + b"}", "integer of 1000000 digits"),
        (b'{"ok": true, "value": "\xff"}', "not ASCII JSON"),
        (b'{"ok": true, "value": ', "not JSON"),
        (b"[1, 2]", "not an object"),
        (
            b'{"ok": true, "id": 0, "value": {"__nd__": "float64", "shape": [-1], "b64": ""}}',
            "garbled value",
        ),
        (b'{"ok": true, "id": 0, "value": {"__pickle__": "gASV"}}', "garbled value"),
        (b'{"ok": true, "id": 0}', "an answer without a value"),
        (b'{"ok": false, "id": 0, "error": ["x"]}', "malformed answer"),
        (b'{"ok": false, "id": 0, "error": {"type": 1}}', "malformed error report"),
        (b'{"ok": "yes", "id": 0, "value": 1}', "malformed answer"),
        (b'{"ok": true, "id": 0, "value": 1, "warnings": "x"}', "malformed warnings"),
    ],
    ids=[
        "deep",
        "huge-int",
        "not-utf8",
        "truncated",
        "list",
        "bad-array",
        "unknown-tag",
        "no-value",
        "error-not-object",
        "error-type-not-string",
        "ok-not-bool",
        "warnings-not-list",
    ],
)
def test_malformed_frames_end_the_sandbox(box, payload, reason):
    attack(box)
    # the right id where the frame has one, so the checks after it are
    # reached, and no honest answer after it
    code = (
        "def f(payload):\n"
        "    payload = payload.encode('latin-1')\n"
        "    payload = payload.replace(b'\"id\": 0', b'\"id\": %d' % request_id())\n"
        "    return forge(payload, linger=True)"
    )
    box.run([Cell("attack", code)])
    with pytest.raises(StudentError) as err:
        box.get("f")(payload.decode("latin-1"))
    assert_channel_broken(box, err, reason)


def test_an_oversized_header_ends_the_sandbox(box):
    attack(box)
    box.run([Cell("attack", "def f():\n    os.write(reply_fd(), struct.pack('>I', 2**31))")])
    with pytest.raises(StudentError) as err:
        box.get("f")()
    assert_channel_broken(box, err, "exceeds the limit")


def test_an_expanding_frame_is_refused_in_bounded_memory(box, monkeypatch):
    # a lower limit keeps the count quick under tracemalloc (which slows
    # every allocation); test_wire checks the real one
    monkeypatch.setattr(wire, "MAX_ITEMS", 10_000)
    real_loads = json.loads
    parsed = []

    def spy(text, **kwargs):
        parsed.append(len(text))
        return real_loads(text, **kwargs)

    monkeypatch.setattr(wire.json, "loads", spy)
    attack(box)
    # 16 MiB: eight million list elements, 64 MiB of list alone
    box.run(
        [
            Cell(
                "attack",
                "def f():\n    return forge(b'{\"ok\": true, \"value\": [' + b'0,' * 2**23 + b'0]}')",
            )
        ]
    )
    f = box.get("f")
    tracemalloc.start()
    try:
        with pytest.raises(StudentError) as err:
            f()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert max(parsed) < 2**20  # only the honest frames were parsed
    assert peak < 1.5 * 2**24  # the frame, read once
    assert_channel_broken(box, err, "more than 10000 values")


def test_values_over_the_limits_are_refused_by_the_sandbox_itself(box):
    """An honest worker never sends what the grader would refuse: values
    over the limits come back as the student's error, and the sandbox lives."""
    box.run(
        [
            Cell(
                "answer",
                "def many():\n    return [0] * 2_000_000\n"
                "def huge():\n    return 10 ** (10**6)\n"
                "def digits():\n    return '9' * 10**6\n"
                "def commas():\n    return ',[{' * 10**6\n"
                "def numbers():\n    return list(range(100_000))\n",
            )
        ]
    )
    with pytest.raises(StudentError, match="too large to send") as err:
        box.get("many")()
    assert err.value.kind == "exception"
    with pytest.raises(StudentError, match="integer too large to send") as err:
        box.get("huge")()
    assert err.value.kind == "exception"
    assert box.alive
    # strings are not counted as what they spell
    assert box.get("digits")() == "9" * 10**6
    assert box.get("commas")() == ",[{" * 10**6
    assert box.get("numbers")() == list(range(100_000))
