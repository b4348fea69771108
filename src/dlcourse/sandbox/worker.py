"""The sandboxed side of the channel: runs student code, answers calls.

Started by :class:`dlcourse.sandbox.session.Sandbox` as
``python -I -m dlcourse.sandbox.worker CONFIG_JSON`` with the request pipe on
stdin and the reply pipe on stdout. It moves both pipes to private
descriptors, points 0, 1 and 2 at /dev/null (so nothing the student prints
can block or corrupt the channel), confines itself, and then serves one
request at a time. Every reply is plain data (see :mod:`wire`).
"""

from __future__ import annotations

import json
import linecache
import os
import sys
import traceback


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
    import importlib.abc
    import importlib.machinery
    import importlib.util
    import types

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
    message = str(exc)
    if len(message) > 2000:
        message = message[:2000] + " ..."
    return {"type": type(exc).__name__, "message": message, "where": where}


def _label(obj) -> str:
    """How the grader's messages name an object: ``relu``, ``Linear``,
    ``Linear.forward`` or ``Linear object``."""
    import types

    if isinstance(obj, (types.FunctionType, types.MethodType, types.BuiltinFunctionType, type)):
        return str(getattr(obj, "__qualname__", type(obj).__name__))
    return f"{type(obj).__name__} object"


class Worker:
    def __init__(self, requests: int, replies: int):
        from dlcourse.sandbox import wire

        self.wire = wire
        self.requests = requests
        self.replies = replies
        self.namespace: dict = {"__name__": "__main__", "__builtins__": __builtins__}
        self.objects: dict[int, object] = {}
        self.next_id = 1

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
        return self.wire.decode(data, self.resolve)

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

        target = self.decode(request["target"])
        args = self.decode(request.get("args", []))
        kwargs = self.decode(request.get("kwargs", {"__dict__": {}}))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = target(*args, **kwargs)
        notes = sorted({f"{w.category.__name__}: {w.message}"[:500] for w in caught})
        return {"value": self.encode(result), "warnings": notes[:20]}

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
            try:
                if op is None:
                    raise ValueError(f"unknown operation {request.get('op')!r}")
                reply = {"ok": True, **op(request), "id": ident}
            except BaseException as exc:  # noqa: BLE001 - reported, never fatal
                reply = {"ok": False, "error": _describe(exc), "id": ident}
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


def main() -> None:
    requests, replies = _move_pipes()
    sys.stdout = sys.stderr = _Sink()
    from dlcourse.sandbox import wire

    try:
        config = json.loads(sys.argv[1])
        from dlcourse.sandbox import confine

        report = confine.enter(
            hidden_paths=config.get("hidden_paths", []),
            limits=config.get("limits"),
            allow_list=config.get("allow_list", True),
        )
        # imported after confinement: nothing of numpy's runs with privileges
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
