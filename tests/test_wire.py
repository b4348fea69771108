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
        np.arange(4, dtype=">f8"),  # big-endian: arrives as the same numbers
        np.array(3.5),  # 0-d stays 0-d
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    ],
)
def test_round_trip(value):
    back = _round_trip(value)
    if isinstance(value, np.ndarray):
        assert back.dtype.name == value.dtype.name and back.shape == value.shape
        np.testing.assert_array_equal(back, value)
    elif isinstance(value, np.generic):
        assert type(back) is type(value) and back == value
    else:
        assert back == value and type(back) is type(value)


def test_nan_survives():
    assert np.isnan(_round_trip(float("nan")))


def _read_back(frame: bytes) -> wire.Frame:
    """``frame`` (header included) read by read_frame, from a pipe fed by a
    thread (a pipe holds only 64 KiB)."""
    r, thread = _fed(frame)
    try:
        return wire.read_frame(r)
    finally:
        os.close(r)
        thread.join()


def _round_trip(value):
    """``value`` sent in a frame as the worker sends it, and decoded."""
    message = _read_back(wire.pack_frame({"ok": True, "value": wire.encode(value)}))
    return wire.decode(message["value"], raw=message.raw)


def _forged(payload: bytes) -> bytes:
    import struct

    return struct.pack(">I", len(payload)) + payload


def test_arrays_travel_as_raw_bytes_after_the_json():
    images = np.arange(12, dtype=np.float32).reshape(3, 4)
    frame = wire.pack_frame({"value": wire.encode([images, images[:, ::2], np.array([7])])})
    text, tail = frame[4:].split(b"\0", 1)
    assert json.loads(text)["value"][0] == {"__nd__": "float32", "shape": [3, 4], "at": [0, 48]}
    assert tail == images.tobytes() + images[:, ::2].tobytes() + np.array([7]).tobytes()
    message = _read_back(frame)
    a, b, c = wire.decode(message["value"], raw=message.raw)
    np.testing.assert_array_equal(b, images[:, ::2])
    assert a.flags.writeable and c.tolist() == [7]


def test_forged_array_places_give_independent_arrays_or_wire_errors():
    # arrays on the same bytes: each is its own copy, and together they copy
    # no more than the frame holds (a hundred arrays on one 2 MiB tail made
    # the grader build 200 MiB)
    text = b'{"v": [{"__nd__": "uint8", "shape": [2], "at": [0, 2]}, '
    text += b'{"__nd__": "uint8", "shape": [2], "at": [1, 2]}]}'
    message = _read_back(_forged(text + b"\0" + b"\x01\x02\x03\x04"))
    a, b = wire.decode(message["v"], raw=message.raw)
    a[1] = 9
    assert b.tolist() == [2, 3]
    again = b'{"v": [' + b", ".join([b'{"__nd__": "uint8", "shape": [4], "at": [0, 4]}'] * 2)
    message = _read_back(_forged(again + b"]}\0" + b"\x01\x02\x03\x04"))
    with pytest.raises(wire.WireError, match="more bytes than the frame holds"):
        wire.decode(message["v"], raw=message.raw)
    # a bool array's bytes other than 0 and 1 are True, stored as True
    text = b'{"v": {"__nd__": "bool", "shape": [3], "at": [0, 3]}}'
    message = _read_back(_forged(text + b"\0" + b"\x00\x02\xff"))
    flags = wire.decode(message["v"], raw=message.raw)
    assert flags.tolist() == [False, True, True] and (flags == np.array([0, 1, 1], bool)).all()
    assert flags.view(np.uint8).tolist() == [0, 1, 1]
    # an array without its frame's bytes, and a NUL inside the JSON text
    with pytest.raises(wire.WireError, match="outside the frame"):
        wire.decode(message["v"])
    with pytest.raises(wire.WireError, match="not JSON"):
        _read_back(_forged(b'{"v": \0 1}'))


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
        ({"__nd__": "object", "shape": [1], "at": [0, 8]}, "not allowed"),
        ({"__nd__": "float64", "shape": [2], "at": [0, 8]}, "does not match"),
        ({"__pickle__": "gASV"}, "unknown tagged value"),
        ({}, "unexpected"),
    ],
)
def test_malformed_or_dangerous_frames_are_rejected(frame, reason):
    with pytest.raises(wire.WireError, match=reason):
        wire.decode(frame, raw=bytes(8))


def test_frames_over_a_pipe_and_deadline():
    r, w = os.pipe()
    wire.write_frame(w, {"ok": True, "value": wire.encode(np.ones(3))})
    message = wire.read_frame(r)
    np.testing.assert_array_equal(wire.decode(message["value"], raw=message.raw), np.ones(3))
    import time

    with pytest.raises(wire.ChannelTimeout):
        wire.read_frame(r, deadline=time.monotonic() + 0.05)
    os.write(w, b"\x00\x00\x00\x03abc")
    with pytest.raises(wire.WireError, match="not JSON"):
        wire.read_frame(r)
    os.close(w)
    with pytest.raises(EOFError):
        wire.read_frame(r)


# hostile frames ---------------------------------------------------------
# The student's code can write any bytes to the reply pipe: the grader's
# read_frame must refuse what would expand, before json.loads builds it, and
# turn every other failure into a WireError (which the session reports as
# the student's broken channel, never as a grader error).


def _send_in_thread(payload: bytes):
    """A pipe whose other end receives one frame of ``payload`` from a
    thread (a pipe holds only 64 KiB). Returns (read fd, thread)."""
    return _fed(_forged(payload))


def _fed(frame: bytes):
    """A pipe whose other end receives the bytes ``frame`` from a thread.
    Returns (read fd, thread)."""
    import threading

    r, w = os.pipe()

    def feed():
        try:
            wire.send_frame(w, frame)
        except OSError:
            pass  # the reader closed its end
        finally:
            os.close(w)

    thread = threading.Thread(target=feed)
    thread.start()
    return r, thread


@pytest.mark.parametrize("tail", [b"", b"\0" + bytes(2**21), b"\0" + bytes(2**22)])
def test_a_frame_that_would_expand_is_refused_before_json_reads_it(monkeypatch, tail):
    import tracemalloc

    # a lower limit keeps the count (and tracemalloc, which slows every
    # allocation) quick; the real one is checked below
    monkeypatch.setattr(wire, "MAX_ITEMS", 10_000)
    # 2 MiB of "0,": a million list elements, 8 MiB of list alone; with array
    # bytes after it, smaller and larger than the JSON text
    payload = b'{"ok": true, "value": [' + b"0," * 2**20 + b"0]}" + tail
    parsed = []
    real_loads = json.loads
    monkeypatch.setattr(wire.json, "loads", lambda *a, **k: parsed.append(a) or real_loads(*a, **k))
    r, thread = _send_in_thread(payload)
    tracemalloc.start()
    try:
        with pytest.raises(wire.WireError, match="more than 10000 values"):
            wire.read_frame(r)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        os.close(r)
        thread.join()
    assert parsed == []
    # the frame itself, read once, and at most its smaller part once more
    assert peak < 1.55 * len(payload)


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b'{"v": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested more than 72"),
        (b'{"v": ' + b"[[]," * 600_000 + b"[]" + b"]" * 600_000 + b"}", "nested more than 72"),
        (b'{"v": [' + b"{}," * 1_000_000 + b"{}]}", "more than 1000000 values"),
        (b'{"v": ' + b"9" * 1_000_000 + b"}", "integer of 1000000 digits"),
        (b'{"v": [' + b",".join([b"9" * 4000] * 100) + b"]}", "integer of 4000 digits"),
        (b'{"v": "\xff"}', "not ASCII JSON"),
        (b'{"v": "unterminated [[[[' + b"," * 2_000_000 + b"}", "unterminated string"),
        (b'["a" "b" "c" "d"' + b"[" * 100, "strings without separators"),
        (b"[]" * 80 + b"]", "unbalanced brackets"),
        (b'{"v": NaN, "w": 1e999999}', None),
        (b"[1, 2]", "not an object"),
    ],
    ids=[
        "deep",
        "deep-inside-many",
        "many-containers",
        "huge-int",
        "long-ints",
        "not-utf8",
        "unterminated",
        "garbage",
        "unbalanced",
        "non-finite-is-fine",
        "list",
    ],
)
def test_hostile_frames_raise_wire_errors_only(payload, reason):
    r, thread = _send_in_thread(payload)
    try:
        if reason is None:
            message = wire.read_frame(r)
            assert np.isnan(message["v"]) and message["w"] == float("inf")
        else:
            with pytest.raises(wire.WireError, match=reason):
                wire.read_frame(r)
    finally:
        os.close(r)
        thread.join()


def test_an_oversized_header_is_refused_without_reading():
    import struct

    r, w = os.pipe()
    os.write(w, struct.pack(">I", wire.MAX_FRAME_BYTES + 1))
    with pytest.raises(wire.WireError, match="exceeds the limit"):
        wire.read_frame(r)
    os.close(r)
    os.close(w)


def test_the_largest_array_the_course_sends_fits():
    # the frame the worker sends for the Fashion-MNIST training set as float32
    images = np.zeros((60000, 784), dtype=np.float32)
    frame = wire.pack_frame({"ok": True, "value": wire.encode(images), "id": 1})
    assert len(frame) - 4 <= wire.MAX_FRAME_BYTES
    message = _read_back(frame)
    assert wire.decode(message["value"], raw=message.raw).shape == (60000, 784)


def test_strings_do_not_count_towards_the_limits():
    # commas and brackets inside strings are text, even past the fast path
    commas = "," * 2_000_000
    value = {"text": commas, "nested": [[[["[{" * 100]]]], "many": [commas[:10]] * 1000}
    payload = json.dumps({"ok": True, "value": wire.encode(value)}).encode()
    assert payload.count(b",") > wire.MAX_ITEMS and payload.count(b"[") > wire.MAX_JSON_DEPTH
    wire.check_size(payload)
    r, thread = _send_in_thread(payload)
    try:
        assert wire.decode(wire.read_frame(r)["value"]) == value
    finally:
        os.close(r)
        thread.join()


def test_big_arrays_among_many_containers_cross():
    # past the fast path (more brackets than MAX_JSON_DEPTH) with a large
    # base64 string and escaped text beside it
    images = np.arange(6000 * 784, dtype=np.float32).reshape(6000, 784)
    value = ([(i, f'"{i}"\n') for i in range(100)], images)
    pairs, back = _round_trip(value)
    assert pairs == value[0]
    np.testing.assert_array_equal(back, images)


@pytest.mark.parametrize(
    "frame, reason",
    [
        ({"__nd__": "float64", "shape": [-1], "at": [0, 0]}, "not a short list of sizes"),
        ({"__nd__": "float64", "shape": "12", "at": [0, 0]}, "not a short list of sizes"),
        ({"__nd__": "float64", "shape": [2**40, 2**40, 0], "at": [0, 0]}, "malformed value"),
        ({"__nd__": "float64", "shape": [2**62, 4], "at": [0, 8]}, "does not match"),
        ({"__nd__": ["float64"], "shape": [1], "at": [0, 8]}, "not allowed"),
        ({"__nd__": "float64", "shape": [1], "at": 5}, "not \\[offset, size\\]"),
        ({"__nd__": "float64", "shape": [1], "at": [True, 8]}, "not \\[offset, size\\]"),
        ({"__nd__": "float64", "shape": [1], "at": [0, 8, 0]}, "not \\[offset, size\\]"),
        ({"__nd__": "float64", "shape": [1], "at": [1, 8]}, "outside the frame"),
        ({"__nd__": "float64", "shape": [1], "at": [-1, 8]}, "outside the frame"),
        ({"__nd__": "float64", "shape": [1], "at": [0, -8]}, "outside the frame"),
        ({"__nd__": "float64", "shape": [1]}, "malformed value"),
        ({"__scalar__": "int8", "v": 10**30}, "malformed value"),
        ({"__scalar__": "float64", "v": "nan"}, "not a number"),
        ({"__tuple__": 5}, "not a list"),
        ({"__dict__": [1]}, "not an object"),
        ({"__handle__": "7"}, "malformed handle"),
        ({"__seed__": 1.5}, "malformed seed"),
    ],
)
def test_decode_raises_only_wire_errors(frame, reason):
    with pytest.raises(wire.WireError, match=reason):
        wire.decode(frame, raw=bytes(8))


def _nest(value, depth):
    for level in range(depth):
        value = (value,) if level % 2 else {"k": value}
    return value


@pytest.mark.parametrize(
    "value, reason",
    [
        ([0] * 10_001, "too large to send"),
        ([np.float32(1)] * 4_000, "too large to send"),
        # within encode's rough count, over the exact one with the message
        ([0] * 9_999, "more than 10000 values"),
        (10**100, "more than 100 digits"),
        ([[[]]], None),
        (-(10**100) + 1, None),
        # the deepest value encode allows, an array at the bottom
        (_nest(np.zeros(1), wire.MAX_DEPTH), None),
        ({"a": _nest(np.float32(1), wire.MAX_DEPTH - 1)}, None),
    ],
    ids=[
        "long-list",
        "many-scalars",
        "long-list-in-message",
        "long-int",
        "nested",
        "longest-int",
        "deepest",
        "deepest-in-dicts",
    ],
)
def test_values_over_the_limits_are_refused_when_sent(value, reason, monkeypatch):
    monkeypatch.setattr(wire, "MAX_ITEMS", 10_000)
    message = {"ok": True, "value": None, "id": 1}
    if reason is None:
        back = _read_back(wire.pack_frame({**message, "value": wire.encode(value)}))
        assert wire.decode(back["value"], raw=back.raw) == value
        return
    with pytest.raises(wire.WireError, match=reason):
        wire.pack_frame({**message, "value": wire.encode(value)})


def test_pending_bytes():
    r, w = os.pipe()
    assert wire.pending_bytes(r) == 0
    os.write(w, b"abc")
    assert wire.pending_bytes(r) == 3
    os.close(r)
    os.close(w)


def test_frame_text_is_bounded_and_ascii(monkeypatch):
    # what json.loads builds grows with the text, not with the arrays' bytes
    monkeypatch.setattr(wire, "MAX_TEXT_BYTES", 1000)
    with pytest.raises(wire.WireError, match="numbers and text outside arrays"):
        wire.pack_frame({"value": wire.encode(list(range(1000)))})
    images = np.zeros((100, 100))
    message = _read_back(wire.pack_frame({"value": wire.encode(images)}))
    assert wire.decode(message["value"], raw=message.raw).shape == (100, 100)
    long_text = b'{"v": "' + b"a" * 2000 + b'"}'
    for tail in (b"", b"\0" + bytes(10), b"\0" + bytes(5000)):
        with pytest.raises(wire.WireError, match="bytes of text"):
            _read_back(_forged(long_text + tail))
    # honest frames are ASCII (json.dumps escapes the rest), even for text
    # outside the BMP, which a student's message may hold
    assert _round_trip("émoji \U0001f600") == "émoji \U0001f600"
    with pytest.raises(wire.WireError, match="not ASCII JSON"):
        _read_back(_forged('{"v": "\U0001f600"}'.encode()))
