"""03_backprop's torch_in_use(), the helper its graders call in the sandbox:
it names every way the notebook reaches torch, and leaves the plotting
library the setup cell imports unloaded (the sandbox loads it on first use,
about 0.5 s)."""

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
