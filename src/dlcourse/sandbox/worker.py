"""The sandboxed side of the channel: runs student code, answers calls.

Started by :class:`dlcourse.sandbox.session.Sandbox` as
``python -I -m dlcourse.sandbox.worker CONFIG_JSON`` with the request pipe on
stdin and the reply pipe on stdout. It moves both pipes to private
descriptors, points 0, 1 and 2 at /dev/null (so nothing the student prints
can block or corrupt the channel), confines itself, and then serves one
request at a time. Every reply is plain data (see :mod:`wire`).
"""

from __future__ import annotations

# importlib.abc (for the lazy imports below) pulls in importlib.resources,
# pathlib and urllib: imported here, a zygote has them before it forks
# (10 ms a sandbox, half its own start, when each child imported them)
import importlib.abc
import importlib.machinery
import importlib.util
import json
import linecache
import os
import sys
import traceback
import types


def _move_pipes() -> tuple[int, int]:
    requests, replies = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    return requests, replies


class _Sink:
    """Stands in for sys.stdout/sys.stderr: keeps nothing, never blocks."""

    encoding = "utf-8"

    def write(self, text):
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


# Plotting libraries are imported by most setup cells but never used by the
# functions a grader calls; loading them only on first use saves about 0.7 s
# per sandbox (matplotlib 0.15 s, pyplot 0.55 s measured here).
LAZY_MODULES = ("matplotlib", "matplotlib.pyplot", "seaborn")

# What the import machinery itself reads from a module that is already in
# sys.modules (``__spec__._initializing`` on every later import statement,
# ``__path__`` to find a submodule). importlib's LazyLoader loads the module
# on any attribute, so the setup cell that program_for runs again at the end
# loaded pyplot after all.
_IMPORT_MACHINERY_ATTRIBUTES = frozenset({"__spec__", "__path__", "__name__", "__loader__"})


def _install_lazy_imports(names=LAZY_MODULES) -> None:
    lazy_module = importlib.util._LazyModule

    class DeferredModule(lazy_module):
        """A lazily loaded module that answers the import machinery without
        loading, and hands out submodules already bound to it (``import
        matplotlib.pyplot as plt`` reads ``matplotlib.pyplot``)."""

        def __getattribute__(self, attr):
            own = object.__getattribute__(self, "__dict__")
            if attr in _IMPORT_MACHINERY_ATTRIBUTES and attr in own:
                return own[attr]
            if isinstance(own.get(attr), types.ModuleType):
                return own[attr]
            return lazy_module.__getattribute__(self, attr)

    class DeferredLoader(importlib.util.LazyLoader):
        def exec_module(self, module):
            super().exec_module(module)
            module.__class__ = DeferredModule

    class LazyFinder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name not in names:
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is None or spec.loader is None:
                return None
            spec.loader = DeferredLoader(spec.loader)
            return spec

    sys.meta_path.insert(0, LazyFinder())


def _describe(exc: BaseException) -> dict:
    """A student-facing account of an exception: type, message and the last
    line of student code it passed through."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        # reference cells are the grader's: never quoted to the student
        if frame.filename.startswith("<cell ") and "(reference)" not in frame.filename:
            where = f"{frame.filename[1:-1]}, line {frame.lineno}"
            if frame.line:
                where += f": {frame.line.strip()}"
    from dlcourse.sandbox.wire import foreign_text

    try:
        message = foreign_text(str(exc))
    except Exception:  # noqa: BLE001 - a student's __str__ may raise or return a non-string
        message = "(its message could not be read)"
    return {
        "type": _safe_name(type(exc).__name__),
        "message": message,
        "where": foreign_text(where, 500, 1),
    }


def _safe_name(name, limit: int = 100) -> str:
    """A name for a grader's message: a string, printable, short."""
    if not isinstance(name, str):
        return "?"
    name = str.__str__(name)[:limit]
    return "".join(c if c.isprintable() else "?" for c in name)


def _type_name(obj) -> str:
    return _class_name(type(obj), "object")


def _class_name(cls, fallback: str) -> str:
    try:
        return _safe_name(cls.__name__)
    except Exception:  # noqa: BLE001 - a student's metaclass can do anything
        return fallback


class _Refused(Exception):
    """A value that plain() cannot turn into plain data; the message is the
    grader's sentence, without its subject ("returned a ...")."""


# numbered positions, as a message names an argument without a parameter name
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _grader_arrays(data, value, path: tuple, found: list) -> None:
    """Collect (path, array) for every array the grader sent in ``data``
    (a request's encoded arguments), ``value`` being its decoded form. Only
    arrays that crossed the wire are collected: objects the grader passed
    back by handle (tensors, the student's own arrays) are the student's."""
    if isinstance(data, list) and isinstance(value, list):
        for index, (d, v) in enumerate(zip(data, value, strict=True)):
            _grader_arrays(d, v, (*path, index), found)
    elif isinstance(data, dict):
        if "__nd__" in data:
            found.append((path, value))
        elif "__tuple__" in data and isinstance(value, tuple):
            for index, (d, v) in enumerate(zip(data["__tuple__"], value, strict=True)):
                _grader_arrays(d, v, (*path, index), found)
        elif "__dict__" in data and isinstance(value, dict):
            for key, d in data["__dict__"].items():
                if key in value:
                    _grader_arrays(d, value[key], (*path, key), found)


def _snapshot(arrays: list) -> list:
    import numpy as np

    return [(path, arr, np.array(arr, copy=True), arr.shape, arr.dtype) for path, arr in arrays]


def _difference(arr, copy, shape, dtype) -> str | None:
    """How an array differs from its snapshot, or None if it does not."""
    import numpy as np

    if arr.shape != shape:
        return f"its shape became {tuple(arr.shape)} (was {tuple(shape)})"
    if arr.dtype != dtype:
        return f"its dtype became {arr.dtype} (was {dtype})"
    nan = dtype.kind in "fc"
    if np.array_equal(arr, copy, equal_nan=nan):
        return None
    differs = arr != copy
    if nan:
        differs &= ~(np.isnan(arr) & np.isnan(copy))
    index = tuple(int(i) for i in np.argwhere(differs)[0]) if arr.ndim else ()
    where = f" at index {index}" if arr.ndim else ""
    return f"{_number(copy[index], arr[index])} became {_number(arr[index], copy[index])}{where}"


def _number(value, other=None) -> str:
    """``value`` for a message, with as many digits as it takes to tell it
    from ``other`` (two values that differ never print the same)."""
    value = value.item()
    if not isinstance(value, float):
        return repr(value)[:30]
    other = other.item() if other is not None else None
    for digits in (6, 10, 17):
        text = f"{value:.{digits}g}"
        if other is None or text != f"{other:.{digits}g}":
            return text
    return text


def _parameter_names(target, args: list, kwargs: dict) -> list[str] | None:
    """The parameter name each positional argument binds to, from the
    target's signature; None when it cannot be had (inspect runs the
    student's code: __signature__, __wrapped__, a metaclass)."""
    import inspect

    try:
        parameters = list(inspect.signature(target).parameters.values())
    except Exception:  # noqa: BLE001 - builtins without a signature, student code
        return None
    names = []
    for p in parameters:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(_safe_name(p.name, 40))
        elif p.kind == p.VAR_POSITIONAL:
            star = _safe_name(p.name, 40)
            names += [f"{star}[{k}]" for k in range(len(args) - len(names))]
            break
    return names[: len(args)] if len(names) >= len(args) else None


def _changed_arguments(target, args, kwargs, snapshots) -> dict | None:
    """The first argument array the call changed, described for the grader's
    message: {"call": "softmax(z)", "argument": "its argument z",
    "detail": "1.0 became 0.5 at index (0,)"}; None if none changed."""
    for path, arr, copy, shape, dtype in snapshots:
        detail = _difference(arr, copy, shape, dtype)
        if detail is None:
            continue
        names = _parameter_names(target, args, kwargs)
        shown = names if names is not None else ["..."] if args else []
        shown = [*shown, *(_safe_name(k, 40) for k in kwargs)]
        call = f"{_call_name(target)}({', '.join(shown[:8])}{', ...' if len(shown) > 8 else ''})"
        top, inner = path[0], path[1:]
        if isinstance(top, str):
            name = _safe_name(top, 40)
            argument = f"its argument {name}"
        elif names is not None:
            name = names[top]
            argument = f"its argument {name}"
        else:
            name = "argument"
            argument = f"its {_ORDINALS[top] if top < len(_ORDINALS) else f'argument {top + 1}'}"
            argument += " argument" if top < len(_ORDINALS) else ""
        if inner:
            keys = "".join(f"[{k!r:.40}]" for k in inner)
            argument += f" (the array at {name}{keys})"
        return {"call": call, "argument": argument, "detail": detail}
    return None


def _call_name(target) -> str:
    """``softmax``, ``Linear.forward``, ``Linear`` (a class), ``Model`` (an
    instance called)."""
    label = _label(target)
    return _safe_name(label[: -len(" object")] if label.endswith(" object") else label)


def _label(obj) -> str:
    """How the grader's messages name an object: ``relu``, ``Linear``,
    ``Linear.forward`` or ``Linear object``."""
    import types

    if isinstance(obj, (types.FunctionType, types.MethodType, types.BuiltinFunctionType, type)):
        return _safe_name(getattr(obj, "__qualname__", None) or _type_name(obj))
    return f"{_type_name(obj)} object"


def _message_of(warning) -> str:
    try:
        text = str(warning.message)
    except Exception:  # noqa: BLE001 - a student's warning message object
        return "(its message could not be read)"
    return text if isinstance(text, str) else "(its message could not be read)"


def _to_array(tensor, allowed):
    """A torch tensor as a numpy array of a dtype the wire carries; runs in
    the sandbox, so a student's subclass (detach, numpy, __array__) runs
    here too."""
    import numpy as np

    torch = sys.modules["torch"]
    tensor = tensor.detach().cpu()
    if tensor.dtype in (torch.bfloat16,) or tensor.is_complex():
        tensor = tensor.real.to(torch.float64) if tensor.is_complex() else tensor.to(torch.float64)
    arr = tensor.numpy()
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"its numpy() returned a {_type_name(arr)}, not an array")
    if arr.dtype.name not in allowed:
        arr = arr.astype(np.float64 if arr.dtype.kind in "fc" else np.int64)
    return np.array(arr, copy=True) if type(arr) is not np.ndarray else arr


def _a(label: str) -> str:
    """``label`` with its indefinite article: "an Opaque object"."""
    return f"{'an' if label[:1].lower() in 'aeiou' else 'a'} {label}"


def _plain(value, budget: list, limit: int, outer: str, where: str, depth: int):
    """See Worker.op_plain. ``outer`` names the whole value (``generator
    object``), ``where`` the item being converted within it (``[2][0]``);
    ``budget`` counts down the items left, over all levels."""
    import numpy as np

    from dlcourse.sandbox import wire

    if depth > wire.MAX_DEPTH:
        raise _Refused(f"returned {_a(outer)} that nests items more than {wire.MAX_DEPTH} deep")
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return _to_array(value, wire.ALLOWED_DTYPES)
    if isinstance(value, np.ndarray) and value.dtype.name in wire.ALLOWED_DTYPES:
        return value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic) and value.dtype.name in wire.ALLOWED_DTYPES:
        return value
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {
            k: _plain(v, budget, limit, outer, f"{where}[{k!r:.40}]", depth + 1)
            for k, v in dict.items(value)
        }
    kind = type(value)
    if not (hasattr(kind, "__iter__") or hasattr(kind, "__getitem__")):
        label = _label(value)
        if not label.endswith(" object"):
            # a function or class itself: "function gen", "class Net"
            label = f"{'class' if isinstance(value, type) else _type_name(value)} {label}"
        what = f"{_a(outer)} whose item {where} is {_a(label)}" if where else _a(label)
        raise _Refused(
            f"returned {what}, which is neither an array nor something the grader can iterate"
        )
    items = []
    # iterating runs the student's code (a generator, __iter__, a DataLoader):
    # here, under the call's time limit, and never past the item budget
    for item in iter(value):
        budget[0] -= 1
        if budget[0] < 0:
            raise _Refused(f"returned {_a(outer)} that yields more than {limit} items")
        items.append(_plain(item, budget, limit, outer, f"{where}[{len(items)}]", depth + 1))
    return tuple(items) if isinstance(value, tuple) else items


class Worker:
    def __init__(self, requests: int, replies: int):
        from dlcourse.sandbox import wire

        self.wire = wire
        self.requests = requests
        self.replies = replies
        self.namespace: dict = {"__name__": "__main__", "__builtins__": __builtins__}
        self.objects: dict[int, object] = {}
        self.next_id = 1
        self.raw = b""  # the array bytes of the request being answered

    # handles -----------------------------------------------------------
    def make_handle(self, obj):
        ident = self.next_id
        self.next_id += 1
        self.objects[ident] = obj
        return self.wire.Handle(ident, _label(obj))

    def resolve(self, ident: int):
        try:
            return self.objects[ident]
        except KeyError:
            raise LookupError(f"object #{ident} was released") from None

    def encode(self, value):
        return self.wire.encode(value, self.make_handle)

    def decode(self, data):
        return self.wire.decode(data, self.resolve, self.raw)

    # operations --------------------------------------------------------
    def op_exec(self, request):
        errors = []
        for cell in request["cells"]:
            code = cell["code"]
            label = cell["label"]
            filename = f"<cell {label}>"
            if "(reference)" not in label:
                # lets tracebacks quote the student's own line
                linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
            try:
                compiled = compile(code, filename, "exec")
                exec(compiled, self.namespace)
            except BaseException as exc:  # noqa: BLE001 - student code may raise anything
                errors.append({"cell": label, **_describe(exc)})
                if cell.get("fatal", True):
                    break
        return {"errors": errors}

    def op_get(self, request):
        name = request["name"]
        if name not in self.namespace:
            raise NameError(f"name '{name}' is not defined")
        return {"value": self.encode(self.namespace[name])}

    def op_getattr(self, request):
        target = self.decode(request["target"])
        return {"value": self.encode(getattr(target, request["name"]))}

    def op_setattr(self, request):
        target = self.decode(request["target"])
        setattr(target, request["name"], self.decode(request["value"]))
        return {}

    def op_call(self, request):
        import warnings

        from dlcourse.sandbox.wire import foreign_text

        target = self.decode(request["target"])
        args = self.decode(request.get("args", []))
        kwargs = self.decode(request.get("kwargs", {"__dict__": {}}))
        snapshots = []
        if request.get("check_arguments", True):
            # the grader's arrays, copied before the student's code sees them:
            # a contract that returns a new array must leave these unchanged
            # (arrays cross the channel by value, so the grader cannot see it)
            arrays = []
            _grader_arrays(request.get("args", []), args, (), arrays)
            _grader_arrays(request.get("kwargs", {}), kwargs, (), arrays)
            snapshots = _snapshot(arrays)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = target(*args, **kwargs)
        # in the order raised: the first is usually the cause ("overflow in
        # exp" before the "invalid value in divide" it leads to)
        notes = []
        for w in caught:
            note = foreign_text(f"{_class_name(w.category, 'Warning')}: {_message_of(w)}", 500, 1)
            if note not in notes:
                notes.append(note)
                if len(notes) == 20:
                    break
        changed = _changed_arguments(target, args, kwargs, snapshots) if snapshots else None
        if changed is not None:
            return {"value": None, "warnings": notes, "changed": changed}
        return {"value": self.encode(result), "warnings": notes}

    def op_plain(self, request):
        """The value with every tensor turned into an array and every other
        iterable into a list of its items (tuples stay tuples), at most
        ``max_items`` items in all; ``{"refused": sentence}`` for a value
        that is neither."""
        value = self.decode(request["value"])
        allowed = int(request["max_items"])
        budget = [allowed]
        try:
            # "limit": the grader's max_items, which the message names
            plain = _plain(value, budget, int(request["limit"]), _label(value), "", 0)
        except _Refused as exc:
            return {"refused": str(exc)}
        # plain data only: anything left over is an error, never a handle
        return {"value": self.wire.encode(plain), "items": allowed - budget[0]}

    def op_put_file(self, request):
        import base64

        name = os.path.basename(request["name"])
        with open(name, "wb") as fh:
            fh.write(base64.b64decode(request["b64"]))
        return {}

    def op_release(self, request):
        for ident in request["handles"]:
            self.objects.pop(int(ident), None)
        return {}

    def serve(self) -> None:
        """Answer requests until the grader closes the request pipe. Every
        reply echoes the request's ``id``, so the grader can tell a reply
        from a frame the student's code wrote to the reply pipe."""
        wire = self.wire
        while True:
            try:
                request = wire.read_frame(self.requests)
            except EOFError:
                return
            except wire.WireError:
                # only the student's code can write to the request pipe
                # (reopening it through /proc/self/fd); nothing after that
                # can be trusted to line up, and the grader sees us exit
                return
            ident = request.get("id")
            op = getattr(self, f"op_{request.get('op')}", None)
            self.raw = request.raw
            try:
                if op is None:
                    raise ValueError(f"unknown operation {request.get('op')!r}")
                reply = {"ok": True, **op(request), "id": ident}
            except BaseException as exc:  # noqa: BLE001 - reported, never fatal
                reply = {"ok": False, "error": _describe(exc), "id": ident}
            finally:
                self.raw = b""
            try:
                # checked against the limits the grader reads with, so that a
                # result over them is this error rather than a frame the
                # grader refuses as a broken channel
                frame = wire.pack_frame(reply)
            except Exception as exc:  # noqa: BLE001 - reported, never fatal
                error = {
                    "type": type(exc).__name__,
                    "message": f"the result cannot be sent to the grader: {exc}",
                    "where": "",
                }
                frame = wire.pack_frame({"ok": False, "error": error, "id": ident})
            wire.send_frame(self.replies, frame)


def main(config: dict | None = None) -> None:
    """Serve one sandbox: ``config`` as the grader sent it (``sys.argv[1]``,
    JSON, when started as a program; a dict from :mod:`zygote`)."""
    requests, replies = _move_pipes()
    sys.stdout = sys.stderr = _Sink()
    from dlcourse.sandbox import wire

    try:
        from dlcourse.sandbox import confine

        if config is None:
            config = json.loads(sys.argv[1])
            # started as a program, in a session of its own: killed when the
            # grader that started it ends, or the student's code would run on
            # (a grader killed at its timeout, say) into other gradings
            confine.die_with_parent()
            if config.get("parent") not in (None, os.getppid()):
                os._exit(70)  # the grader ended before the line above

        report = confine.enter(
            hidden_paths=config.get("hidden_paths", []),
            limits=config.get("limits"),
            allow_list=config.get("allow_list", True),
        )
        # started as a program, numpy is imported after confinement; a
        # zygote's child has it already (imported by the zygote, as root,
        # before any student code existed, like the grader imports it)
        import numpy  # noqa: F401

        _install_lazy_imports()
    except BaseException as exc:  # noqa: BLE001 - reported to the grader, then exit
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        wire.write_frame(replies, {"ready": False, "error": detail})
        os._exit(70)
    wire.write_frame(replies, {"ready": True, **report, "pid": os.getpid()})
    Worker(requests, replies).serve()


if __name__ == "__main__":
    main()
