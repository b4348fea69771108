"""The channel's data format: plain data round-trips, nothing else gets in."""

import json
import os

import numpy as np
import pytest

from dlcourse.sandbox import wire


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        -2.5,
        float("inf"),
        "text é",
        [1, [2.0, "x"]],
        (1, (2, 3)),
        {"a": [1, 2], "b": {"c": None}},
        np.arange(12, dtype=np.int64).reshape(3, 4),
        np.linspace(0, 1, 5, dtype=np.float32),
        np.array([True, False]),
        np.float64(2.5),
        np.zeros((0, 3)),
    ],
)
def test_round_trip(value):
    back = wire.decode(json.loads(json.dumps(wire.encode(value))))
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape
        np.testing.assert_array_equal(back, value)
    elif isinstance(value, np.generic):
        assert type(back) is type(value) and back == value
    else:
        assert back == value and type(back) is type(value)


def test_nan_survives():
    assert np.isnan(wire.decode(json.loads(json.dumps(wire.encode(float("nan"))))))


def test_unknown_objects_become_handles_only_on_the_sandbox_side():
    class Thing:
        pass

    with pytest.raises(wire.WireError, match="cannot send a value of type Thing"):
        wire.encode(Thing())
    handle = wire.encode(Thing(), make_handle=lambda obj: wire.Handle(7, "Thing object"))
    assert isinstance(wire.decode(handle), wire.Handle)


@pytest.mark.parametrize(
    "frame, reason",
    [
        ({"__nd__": "object", "shape": [1], "b64": ""}, "not allowed"),
        ({"__nd__": "float64", "shape": [2], "b64": "AAAA"}, "does not match"),
        ({"__pickle__": "gASV"}, "unknown tagged value"),
        ({}, "unexpected"),
    ],
)
def test_malformed_or_dangerous_frames_are_rejected(frame, reason):
    with pytest.raises(wire.WireError, match=reason):
        wire.decode(frame)


def test_frames_over_a_pipe_and_deadline():
    r, w = os.pipe()
    wire.write_frame(w, {"ok": True, "value": wire.encode(np.ones(3))})
    message = wire.read_frame(r)
    np.testing.assert_array_equal(wire.decode(message["value"]), np.ones(3))
    import time

    with pytest.raises(wire.ChannelTimeout):
        wire.read_frame(r, deadline=time.monotonic() + 0.05)
    os.write(w, b"\x00\x00\x00\x03abc")
    with pytest.raises(wire.WireError, match="not JSON"):
        wire.read_frame(r)
    os.close(w)
    with pytest.raises(EOFError):
        wire.read_frame(r)
