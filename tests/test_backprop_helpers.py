"""03_backprop's ban on torch in the sandbox: torch_in_use(), the helper its
graders call there, names every way the notebook reaches torch and leaves
the plotting library the setup cell imports unloaded (the sandbox loads it
on first use, about 0.5 s); torch's files are hidden from 03's sandboxes."""

from pathlib import Path

from course import source_notebook

from dlcourse.program import program_for
from dlcourse.sandbox import Cell, Sandbox
from dlcourse.submission import load_notebook

LOADED = (
    "import sys, types\n"
    "loaded = [type(sys.modules[m]) is types.ModuleType for m in ('matplotlib', 'matplotlib.pyplot')]"
)


def test_torch_in_use_finds_torch_and_leaves_pyplot_unloaded():
    reference = load_notebook(source_notebook("03_backprop"))
    with Sandbox(call_timeout=30) as box:
        box.run(program_for("test_mlp", reference, None))
        assert box.get("torch_in_use")() == []
        box.run([Cell("answer", LOADED)])
        assert box.get("loaded") == [False, False]
        # torch unblocked and reached as a module, a function and a class
        box.run(
            [
                Cell(
                    "answer",
                    "sys.modules.pop('torch', None)\nimport torch as th\n"
                    "from torch import relu as r\nfrom torch.nn import Linear\n",
                )
            ]
        )
        assert box.get("torch_in_use")() == ["Linear", "r", "sys.modules['torch']", "th"]


def test_hidden_modules_cannot_be_imported():
    # what 03's graders hide (sandbox_limits' hidden_modules): torch's files,
    # wherever installed, so that undoing the notebook's block
    # (sys.modules["torch"] = None) gains nothing
    from dlcourse.sandbox.hiding import module_paths

    paths = module_paths(["torch"])
    assert paths and all(Path(p).name.startswith("torch") for p in paths)
    code = "import sys\nsys.modules.pop('torch', None)\nimport torch\nusable = hasattr(torch, 'tensor')"
    usable = []
    for hidden in ([], paths):
        with Sandbox(call_timeout=60, hidden_paths=hidden) as box:
            box.run([Cell("answer", code)])
            usable.append(box.get("usable"))
    assert usable == [True, False]
