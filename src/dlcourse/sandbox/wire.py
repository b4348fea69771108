"""The plain-data format spoken between grader and sandboxed student code.

Only these values cross the channel: None, bool, int, float (NaN and
infinities included), str, numpy arrays and scalars of a fixed list of
dtypes, and lists, tuples and str-keyed dicts of them. Anything else the
student's side returns becomes an opaque handle (an integer the worker keeps
a table of), so the grader can call it again but never holds the object.

Frames are a 4-byte big-endian length followed by ASCII JSON and, when the
value holds arrays, a NUL byte and the arrays' bytes one after the other
(JSON text never holds a NUL byte: ``json.dumps`` escapes it). An array is
``{"__nd__": dtype, "shape": [...], "at": [offset, size]}`` in the JSON,
its bytes at ``offset`` in that tail. Decoding never imports or unpickles
anything: arrays are rebuilt with ``np.frombuffer`` from an allow-listed
dtype, and copied out of the frame.

The student's code can write anything to the reply pipe, so the grader's
side treats every frame as hostile: :func:`read_frame` refuses, before
``json.loads`` allocates anything, a frame that would expand into more
Python objects or deeper nesting than the limits below, and turns every way
JSON and :func:`decode` can fail into :class:`WireError`. The worker checks
its own replies against the same limits (:func:`pack_frame`), so an honest
sandbox never sends a frame the grader refuses: a value over the limits
comes back as an error the student can read instead.
"""

from __future__ import annotations

import json
import re
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

# A frame carries one value. The largest the course needs is the Fashion-MNIST
# training set as float32: 60000 x 784 x 4 bytes = 188 MB, which fits.
MAX_FRAME_BYTES = 256 * 1024 * 1024
# Of which JSON text (arrays travel as bytes after it). Its strings are what
# json.loads can make grow: ASCII text (json.dumps escapes everything else)
# with one escaped character outside the BMP becomes a string of 4 bytes a
# character, so 64 MiB of text builds at most 256 MiB. The largest honest
# text is a list of a million numbers: about 20 MiB.
MAX_TEXT_BYTES = 64 * 1024 * 1024
# Nesting of values (list in list, tuple in dict, ...), checked by encode and
# decode.
MAX_DEPTH = 32
# Nesting of the JSON text. A value level takes at most two JSON levels
# ({"__tuple__": [...]}, {"__dict__": {...}}, an array's {"shape": [...]}),
# and the message around the value one more: 2 * 32 + 3 = 67, so 72 leaves
# room. json.loads recurses in C once per level and raises RecursionError
# near sys.getrecursionlimit() (1000, minus the caller's own frames); 72 is
# far from that wherever the grader calls from.
MAX_JSON_DEPTH = 2 * MAX_DEPTH + 8
# Containers plus elements in one frame (counted as the `[`, `{` and `,`
# outside strings). What makes a frame expensive is not its bytes but the
# Python objects json.loads, decode and the grader's wrapping build from it:
# up to ~160 bytes each (a dict of a million keys, '[{"__dict__":{}},...]'),
# against 8 for a list of small ints. At a million, the worst frames measured
# (tracemalloc) peak at 160 MB and take 3 s to check and decode, where the
# 256 MB frame cap alone allowed 128 million elements (2.4 GB and minutes). A
# million is far beyond any list a grader reads back (predictions for all
# 70000 Fashion-MNIST images are 70000 elements); bulk numbers travel as
# arrays, one string each.
MAX_ITEMS = 1_000_000
# Digits of one integer literal. Python turns a literal into an int in time
# quadratic in its length (0.1 ms for 4300 digits, Python's own cap, so a frame
# of them took 12 s); at 100 digits it is 0.4 us. numpy's widest integers have
# 20 digits, and no count, shape, seed or label comes near 10**100.
MAX_INT_DIGITS = 100
_INT_BOUND = 10**MAX_INT_DIGITS


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


class Frame(dict):
    """A message read by :func:`read_frame`; ``raw`` holds the frame's array
    bytes (its tail after the NUL), to be given to :func:`decode`."""

    raw: bytes | memoryview = b""


class _Raw:
    """An array :func:`encode` leaves for :func:`pack_frame` to put in the
    frame's tail (C-contiguous, an allowed dtype)."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray):
        self.array = array


class Seed:
    """Asks the sandbox for ``np.random.default_rng(value)`` as an argument."""

    __slots__ = ("value",)

    def __init__(self, value: int):
        self.value = int(value)


def encode(obj, make_handle=None):
    """Turn ``obj`` into data :func:`pack_frame` can send (JSON's values, and
    arrays it puts in the frame's tail); unknown objects go to ``make_handle``.

    ``make_handle(obj) -> Handle`` exists only on the sandbox side; on the
    grader side an unknown object is an error. Raises WireError for values
    over the limits (too deep, too many elements, too long an integer).
    """
    return _encode(obj, make_handle, 0, [MAX_ITEMS])


def _encode(obj, make_handle, depth: int, budget: list):
    if depth > MAX_DEPTH:
        raise WireError(f"value nested too deeply (more than {MAX_DEPTH} levels)")
    # Counts what check_size will count, a little over (a comma or bracket
    # per value, two more per tagged object), so that a value over the limit
    # fails here, before the whole of it is encoded; pack_frame checks the
    # exact count.
    budget[0] -= 1
    if budget[0] < 0:
        raise WireError(
            f"value too large to send (more than {MAX_ITEMS} list, tuple and dict "
            "elements); return a numpy array instead"
        )
    # numpy scalars first: np.float64 is also a float
    if isinstance(obj, np.generic) and obj.dtype.name in ALLOWED_DTYPES:
        budget[0] -= 2
        return {"__scalar__": obj.dtype.name, "v": obj.item()}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        # int's own conversion: a subclass's __index__ or comparisons are the
        # student's code
        value = int.__index__(obj)
        if not -_INT_BOUND < value < _INT_BOUND:
            raise WireError(
                f"integer too large to send (more than {MAX_INT_DIGITS} digits); "
                "return it as a float or a string"
            )
        return value
    if isinstance(obj, float):
        return obj
    if isinstance(obj, np.ndarray) and obj.dtype.name in ALLOWED_DTYPES:
        # in this machine's byte order: the other side reads the bytes so
        # (a big-endian float64 is also named "float64")
        data = np.asarray(obj, dtype=obj.dtype.newbyteorder("="), order="C")
        budget[0] -= 3 + data.ndim
        return _Raw(data)
    if isinstance(obj, tuple):
        budget[0] -= 2
        return {"__tuple__": [_encode(x, make_handle, depth + 1, budget) for x in obj]}
    if isinstance(obj, list):
        return [_encode(x, make_handle, depth + 1, budget) for x in obj]
    if isinstance(obj, dict) and all(isinstance(k, str) for k in obj):
        budget[0] -= 2
        return {"__dict__": {k: _encode(v, make_handle, depth + 1, budget) for k, v in obj.items()}}
    if isinstance(obj, Handle):
        budget[0] -= 2
        return {"__handle__": obj.ident, "type": obj.type_name}
    if isinstance(obj, Seed):
        budget[0] -= 2
        return {"__seed__": obj.value}
    if make_handle is not None:
        return _encode(make_handle(obj), None, depth, budget)
    raise WireError(f"cannot send a value of type {type(obj).__name__}")


def decode(data, resolve_handle=None, raw=b""):
    """Inverse of :func:`encode`. ``resolve_handle(ident)`` maps handles back
    to objects on the sandbox side; on the grader side handles stay Handles.
    ``raw``: the array bytes of the frame ``data`` came in (``Frame.raw``).

    ``data`` is whatever the other side sent: anything that is not a value
    :func:`encode` could have produced raises WireError (only the exceptions
    of ``resolve_handle`` itself pass through)."""
    try:
        # the bytes its arrays may still copy: each byte of the frame once
        # (a forged frame naming the same bytes for many arrays is refused)
        return _decode(data, resolve_handle, memoryview(raw), [len(raw)], 0)
    except WireError:
        raise
    except MemoryError:
        raise WireError("value too large to rebuild") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        # numpy refusing a shape or a count: say which
        raise WireError(f"malformed value ({type(exc).__name__}: {exc})") from None


def _decode(data, resolve_handle, raw: memoryview, left: list, depth: int):
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [_decode(x, resolve_handle, raw, left, depth + 1) for x in data]
    if not isinstance(data, dict) or len(data) == 0:
        raise WireError(f"unexpected {type(data).__name__} in frame")
    if "__nd__" in data:
        dtype = data["__nd__"]
        if not isinstance(dtype, str) or dtype not in ALLOWED_DTYPES:
            raise WireError(f"dtype {dtype!r} is not allowed")
        shape = data["shape"]
        if (
            not isinstance(shape, list)
            or len(shape) > MAX_DEPTH
            or not all(type(s) is int and s >= 0 for s in shape)
        ):
            raise WireError("array shape is not a short list of sizes")
        at = data["at"]
        if not (isinstance(at, list) and len(at) == 2 and all(type(n) is int for n in at)):
            raise WireError("array place is not [offset, size]")
        offset, size = at
        if offset < 0 or size < 0 or offset + size > len(raw):
            raise WireError("array data lies outside the frame")
        # Python ints: a product of sizes cannot overflow, so a forged
        # [2**40, 2**40, 0] is not mistaken for a small array
        count = 1
        for length in shape:
            count *= length
        if size != count * np.dtype(dtype).itemsize:
            raise WireError("array data does not match its shape")
        left[0] -= size
        if left[0] < 0:
            raise WireError("arrays use more bytes than the frame holds")
        chunk = raw[offset : offset + size]
        if dtype == "bool":
            # any byte but 0 is True, stored as 1 (numpy keeps other bytes,
            # which compare unequal to True)
            return (np.frombuffer(chunk, dtype=np.uint8) != 0).reshape(shape)
        return np.frombuffer(chunk, dtype=dtype).reshape(shape).copy()
    if "__scalar__" in data:
        dtype = data["__scalar__"]
        if not isinstance(dtype, str) or dtype not in ALLOWED_DTYPES:
            raise WireError(f"dtype {dtype!r} is not allowed")
        value = data["v"]
        if not isinstance(value, (bool, int, float)):
            raise WireError("scalar value is not a number")
        return np.dtype(dtype).type(value)
    if "__tuple__" in data:
        items = data["__tuple__"]
        if not isinstance(items, list):
            raise WireError("tuple items are not a list")
        return tuple(_decode(x, resolve_handle, raw, left, depth + 1) for x in items)
    if "__dict__" in data:
        items = data["__dict__"]
        if not isinstance(items, dict):
            raise WireError("dict items are not an object")
        return {k: _decode(v, resolve_handle, raw, left, depth + 1) for k, v in items.items()}
    if "__handle__" in data:
        ident, type_name = data["__handle__"], data.get("type", "object")
        if type(ident) is not int or not isinstance(type_name, str):
            raise WireError("malformed handle")
        # the student's class name, shown in messages: short, and without
        # lone surrogates (which UTF-8 reports cannot hold)
        handle = Handle(ident, type_name[:200].encode("utf-8", "replace").decode("utf-8"))
        return resolve_handle(handle.ident) if resolve_handle else handle
    if "__seed__" in data:
        if type(data["__seed__"]) is not int:
            raise WireError("malformed seed")
        seed = Seed(data["__seed__"])
        return np.random.default_rng(seed.value) if resolve_handle else seed
    raise WireError("unknown tagged value in frame")


# The JSON tokens the size check counts: a short string (group 1, so the
# brackets and commas inside it are not counted), an opening bracket (2), a
# closing one (3), a comma (4), or the quote of a string longer than 256
# bytes (5), which check_size skips with bytes.find at memchr speed (a base64
# array is one string of up to 251 MB; the regex engine walks one at ~50 MB/s).
# Every repetition is possessive, so nothing backtracks: a failed short-string
# attempt costs at most 256 bytes, once per long string.
_TOKENS = re.compile(rb'("(?:[^"\\]|\\.){0,256}+")|([\[{])|([\]}])|(,)|(")', re.DOTALL)
# the rest of a long string after its opening quote, escapes and all
_STRING_REST = re.compile(rb'(?:[^"\\]++|\\.)*+"', re.DOTALL)


def check_size(payload: bytes) -> None:
    """Raise WireError unless the JSON text ``payload`` stays within
    MAX_ITEMS containers and elements and MAX_JSON_DEPTH levels.

    Runs before json.loads and allocates nothing in proportion to the frame.
    It follows JSON's own tokens (a quote outside a string opens one that
    ends at the next unescaped quote), so for every text json.loads accepts,
    or reads part of before failing, the counts here bound what it builds.
    """
    # fast path, at memchr speed: raw byte counts are upper bounds (they
    # include bytes inside strings), and an honest frame is a few containers
    # around base64 strings or a flat list of numbers
    opens = payload.count(b"[") + payload.count(b"{")
    if opens <= MAX_JSON_DEPTH and opens + payload.count(b",") <= MAX_ITEMS:
        return
    # exact count, stopping at the first limit crossed. At most ~4 loop turns
    # per item (a comma or an opening bracket, its closing bracket, a key and
    # a value string): about 2 s for the worst frame here, 0.2 s for a list
    # of a million numbers.
    items = depth = strings = 0
    position = 0
    while True:
        for token in _TOKENS.finditer(payload, position):
            kind = token.lastindex
            if kind == 4:
                items += 1
                if items > MAX_ITEMS:
                    raise WireError(f"frame holds more than {MAX_ITEMS} values")
            elif kind == 1:
                # a string is an element, a key or a value: each follows its
                # own comma or bracket, or is a key's value, or is the frame
                strings += 1
                if strings > 2 * items + 1:
                    raise WireError("frame is not JSON: strings without separators")
            elif kind == 2:
                depth += 1
                items += 1
                if depth > MAX_JSON_DEPTH:
                    raise WireError(f"frame nested more than {MAX_JSON_DEPTH} levels deep")
                if items > MAX_ITEMS:
                    raise WireError(f"frame holds more than {MAX_ITEMS} values")
            elif kind == 3:
                depth -= 1
                if depth < 0:
                    raise WireError("frame is not JSON: unbalanced brackets")
            else:
                break
        else:
            return
        # a long string: its end is the next quote, unless escapes intervene
        start = token.end()
        end = payload.find(b'"', start)
        if end >= 0 and payload.find(b"\\", start, end) >= 0:
            rest = _STRING_REST.match(payload, start)
            end = rest.end() - 1 if rest else -1
        if end < 0:
            # json.loads fails at this quote: nothing after it gets built
            raise WireError("frame is not JSON: unterminated string")
        strings += 1
        if strings > 2 * items + 1:
            raise WireError("frame is not JSON: strings without separators")
        position = end + 1


def _parse_int(text: str) -> int:
    # text is JSON's -?[0-9]+: its length bounds the conversion's time
    if len(text) > MAX_INT_DIGITS + 1:
        raise WireError(f"integer of {len(text)} digits in frame")
    return int(text)


def pack_frame(message: dict) -> bytes:
    """The bytes of one frame carrying ``message`` (values from
    :func:`encode`); WireError if the other side would refuse it (see
    :func:`read_frame`)."""
    chunks: list = []
    tail = [0]

    def place(obj):
        if not isinstance(obj, _Raw):
            raise TypeError(f"cannot send a value of type {type(obj).__name__}")
        array = obj.array
        chunks.append(array)
        at = [tail[0], array.nbytes]
        tail[0] += array.nbytes
        return {"__nd__": array.dtype.name, "shape": list(array.shape), "at": at}

    text = json.dumps(message, allow_nan=True, default=place).encode("utf-8")
    size = len(text) + (1 + tail[0] if chunks else 0)
    if size > MAX_FRAME_BYTES:
        raise WireError(
            f"value too large to send ({size // 2**20} MiB; the limit is "
            f"{MAX_FRAME_BYTES // 2**20} MiB)"
        )
    if len(text) > MAX_TEXT_BYTES:
        raise WireError(
            f"value too large to send ({len(text) // 2**20} MiB of numbers and text outside "
            f"arrays; the limit is {MAX_TEXT_BYTES // 2**20} MiB): return a numpy array instead"
        )
    check_size(text)
    if not chunks:
        return struct.pack(">I", size) + text
    # each array's bytes in place, without a copy before the join
    parts = (a.reshape(-1).view(np.uint8) for a in chunks)
    return b"".join([struct.pack(">I", size), text, b"\0", *parts])


def send_frame(fd: int, frame: bytes) -> None:
    """Write a frame from :func:`pack_frame` on a raw file descriptor."""
    import os

    view = memoryview(frame)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_frame(fd: int, message: dict) -> None:
    """Send one message on a raw file descriptor."""
    send_frame(fd, pack_frame(message))


class ChannelTimeout(TimeoutError):
    """The other side did not answer before the deadline."""


def _read_into(fd: int, buffer, deadline: float | None) -> None:
    import os
    import select
    import time

    view = memoryview(buffer)
    while view:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(remaining, 0))
            if not ready:
                raise ChannelTimeout("no answer before the deadline")
        got = os.readv(fd, [view[: 1 << 20]])
        if not got:
            raise EOFError("channel closed")
        view = view[got:]


def read_exact(fd: int, size: int, deadline: float | None = None) -> bytes:
    buffer = bytearray(size)
    _read_into(fd, buffer, deadline)
    return bytes(buffer)


def read_frame(fd: int, deadline: float | None = None) -> Frame:
    """Receive one message; raise WireError on anything malformed or over the
    limits and ChannelTimeout when ``deadline`` (a ``time.monotonic()``
    value) passes."""
    (size,) = struct.unpack(">I", read_exact(fd, 4, deadline))
    if size > MAX_FRAME_BYTES:
        raise WireError(f"frame of {size} bytes exceeds the limit")
    # read in place: joining chunks would hold the frame twice
    payload = bytearray(size)
    _read_into(fd, payload, deadline)
    # JSON text and arrays' bytes apart, copying the smaller of the two
    # only: at most 1.5 times the frame, whatever a forged one holds
    end = payload.find(b"\0")
    raw: bytes | memoryview = b""
    if 0 <= end <= size // 2:
        raw = memoryview(payload)[end + 1 :]
        payload = bytes(memoryview(payload)[:end])
    elif end >= 0:
        if end > MAX_TEXT_BYTES:
            raise WireError(f"frame holds more than {MAX_TEXT_BYTES} bytes of text")
        with memoryview(payload) as view:
            raw = bytes(view[end + 1 :])
        del payload[end:]
    if len(payload) > MAX_TEXT_BYTES:
        raise WireError(f"frame holds more than {MAX_TEXT_BYTES} bytes of text")
    # json.dumps writes ASCII only: other bytes could only widen the text
    if not payload.isascii():
        raise WireError("frame is not ASCII JSON")
    check_size(payload)
    text = payload.decode("ascii")
    del payload
    try:
        message = json.loads(text, parse_int=_parse_int)
    except WireError:
        raise
    # JSONDecodeError is a ValueError; RecursionError and MemoryError should
    # not happen within the limits above, but a frame is never worth a crash
    except (ValueError, RecursionError, MemoryError) as exc:
        raise WireError(f"frame is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise WireError("frame is not an object")
    frame = Frame(message)
    frame.raw = raw
    return frame


# Terminal escape sequences: CSI (colours, ``\x1b[1m``), OSC (titles, links,
# ended by BEL or ``\x1b\``) and the two-byte ones. torch colours parts of
# its messages with them.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
# any other control character but the line breaks that separate paragraphs
_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# where a sentence or a clause ends, for cutting a long message
_SENTENCE_END = re.compile(r"[.!?;:](?=\s)")
_OPTION = re.compile(r"\s*(?:\(\d{1,2}\)|\d{1,2}[.)])\s")


def foreign_text(text: str, limit: int = 500, lines: int = 3) -> str:
    """An exception's or a warning's text, as a student reads it in a
    grader's message: terminal escapes and control characters removed, only
    the first paragraph (libraries append advice after a blank line), without
    numbered lists of options (torch's "you have two options ... (1) ...
    (2) ..."), at most ``lines`` lines joined into one,
    and at most ``limit`` characters, cut at the end of a sentence where one
    ends in the second half. Used on both sides of the channel, wherever the
    text of student code's exceptions becomes a message."""
    if not isinstance(text, str):
        raise TypeError(f"expected a string, not {type(text).__name__}")
    # a bound before any regex work: the text can be megabytes
    text = _ANSI.sub("", text[: 20 * limit])
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    paragraph = re.split(r"\n[ \t]*\n", text.strip(), maxsplit=1)[0]
    # after the first line, numbered lines ("(1) Re-running ... will likely
    # succeed") are a library's list of options, not what went wrong
    kept = [
        line.strip()
        for number, line in enumerate(paragraph.split("\n"))
        if line.strip() and not (number and _OPTION.match(line))
    ]
    text = " ".join(kept[:lines])
    cut = len(kept) > lines
    if len(text) > limit:
        head = text[:limit]
        ends = [m.end() for m in _SENTENCE_END.finditer(head)]
        text = head[: ends[-1]] if ends and ends[-1] >= limit // 2 else head.rsplit(" ", 1)[0]
        cut = True
    # a clause that introduces what was cut away ("two options,") says nothing
    text = text.rstrip()
    if cut:
        text = text.rstrip(",;:") + " ..."
    return text


def pending_bytes(fd: int) -> int:
    """How many bytes wait unread in the pipe ``fd`` (0 if unknown)."""
    import fcntl
    import termios

    try:
        raw = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    except OSError:
        return 0
    return struct.unpack("i", raw)[0]
