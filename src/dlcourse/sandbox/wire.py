"""The plain-data format spoken between grader and sandboxed student code.

Only these values cross the channel: None, bool, int, float (NaN and
infinities included), str, numpy arrays and scalars of a fixed list of
dtypes, and lists, tuples and str-keyed dicts of them. Anything else the
student's side returns becomes an opaque handle (an integer the worker keeps
a table of), so the grader can call it again but never holds the object.

Frames are a 4-byte big-endian length followed by UTF-8 JSON. Decoding never
imports or unpickles anything: arrays are rebuilt with ``np.frombuffer`` from
an allow-listed dtype.
"""

from __future__ import annotations

import base64
import json
import struct

import numpy as np

# dtypes that can be rebuilt from raw bytes without running any code
ALLOWED_DTYPES = frozenset(
    {
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
    }
)

MAX_FRAME_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 32


class WireError(ValueError):
    """A frame that is not well-formed plain data."""


class Handle:
    """An opaque reference to an object living in the sandbox.

    ``ident`` is the worker's table key; ``type_name`` is the student's class
    name, for messages only.
    """

    __slots__ = ("ident", "type_name")

    def __init__(self, ident: int, type_name: str):
        self.ident = ident
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<sandbox {self.type_name} #{self.ident}>"


class Seed:
    """Asks the sandbox for ``np.random.default_rng(value)`` as an argument."""

    __slots__ = ("value",)

    def __init__(self, value: int):
        self.value = int(value)


def encode(obj, make_handle=None, _depth: int = 0):
    """Turn ``obj`` into JSON-able data; unknown objects go to ``make_handle``.

    ``make_handle(obj) -> Handle`` exists only on the sandbox side; on the
    grader side an unknown object is an error.
    """
    if _depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    # numpy scalars first: np.float64 is also a float
    if isinstance(obj, np.generic) and obj.dtype.name in ALLOWED_DTYPES:
        return {"__scalar__": obj.dtype.name, "v": obj.item()}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, np.ndarray) and obj.dtype.name in ALLOWED_DTYPES:
        data = np.ascontiguousarray(obj)
        return {
            "__nd__": data.dtype.name,
            "shape": list(data.shape),
            "b64": base64.b64encode(data.tobytes()).decode("ascii"),
        }
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(x, make_handle, _depth + 1) for x in obj]}
    if isinstance(obj, list):
        return [encode(x, make_handle, _depth + 1) for x in obj]
    if isinstance(obj, dict) and all(isinstance(k, str) for k in obj):
        return {"__dict__": {k: encode(v, make_handle, _depth + 1) for k, v in obj.items()}}
    if isinstance(obj, Handle):
        return {"__handle__": obj.ident, "type": obj.type_name}
    if isinstance(obj, Seed):
        return {"__seed__": obj.value}
    if make_handle is not None:
        return encode(make_handle(obj), None, _depth)
    raise WireError(f"cannot send a value of type {type(obj).__name__}")


def decode(data, resolve_handle=None, _depth: int = 0):
    """Inverse of :func:`encode`. ``resolve_handle(ident)`` maps handles back
    to objects on the sandbox side; on the grader side handles stay Handles."""
    if _depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(x, resolve_handle, _depth + 1) for x in data]
    if not isinstance(data, dict) or len(data) == 0:
        raise WireError(f"unexpected {type(data).__name__} in frame")
    if "__nd__" in data:
        dtype = data["__nd__"]
        if dtype not in ALLOWED_DTYPES:
            raise WireError(f"dtype {dtype!r} is not allowed")
        shape = tuple(int(s) for s in data["shape"])
        raw = base64.b64decode(data["b64"], validate=True)
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if len(raw) != count * np.dtype(dtype).itemsize:
            raise WireError("array data does not match its shape")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if "__scalar__" in data:
        dtype = data["__scalar__"]
        if dtype not in ALLOWED_DTYPES:
            raise WireError(f"dtype {dtype!r} is not allowed")
        return np.dtype(dtype).type(data["v"])
    if "__tuple__" in data:
        return tuple(decode(x, resolve_handle, _depth + 1) for x in data["__tuple__"])
    if "__dict__" in data:
        return {str(k): decode(v, resolve_handle, _depth + 1) for k, v in data["__dict__"].items()}
    if "__handle__" in data:
        handle = Handle(int(data["__handle__"]), str(data.get("type", "object")))
        return resolve_handle(handle.ident) if resolve_handle else handle
    if "__seed__" in data:
        seed = Seed(int(data["__seed__"]))
        return np.random.default_rng(seed.value) if resolve_handle else seed
    raise WireError("unknown tagged value in frame")


def write_frame(fd: int, message: dict) -> None:
    """Send one message on a raw file descriptor."""
    import os

    payload = json.dumps(message, allow_nan=True).encode("utf-8")
    frame = struct.pack(">I", len(payload)) + payload
    view = memoryview(frame)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class ChannelTimeout(TimeoutError):
    """The other side did not answer before the deadline."""


def read_exact(fd: int, size: int, deadline: float | None = None) -> bytes:
    import os
    import select
    import time

    chunks = []
    while size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(remaining, 0))
            if not ready:
                raise ChannelTimeout("no answer before the deadline")
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("channel closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, deadline: float | None = None) -> dict:
    """Receive one message; raise WireError on anything malformed and
    ChannelTimeout when ``deadline`` (a ``time.monotonic()`` value) passes."""
    (size,) = struct.unpack(">I", read_exact(fd, 4, deadline))
    if size > MAX_FRAME_BYTES:
        raise WireError(f"frame of {size} bytes exceeds the limit")
    try:
        message = json.loads(read_exact(fd, size, deadline).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"frame is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise WireError("frame is not an object")
    return message
