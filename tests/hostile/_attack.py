"""Not a case: shared by the integrity cases (files starting with '_' are not
cases). ``blank_with(release, code, cell)`` is the blank release with
``code`` run at the start of answer cell ``cell`` (before its
NotImplementedError), so an attack that worked would show as points a blank
notebook cannot earn."""

import copy


def cell_of(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def blank_with(release, code, cell="activations"):
    nb = copy.deepcopy(release)
    target = cell_of(nb, cell)
    target.source = code.strip() + "\n\n" + target.source
    return nb


# a conftest.py hook that would pass every hidden check, written wherever an
# attack can reach (the graders' folder, the course)
PASS_EVERYTHING = """
import pytest
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"
"""

# module text that, imported by trusted code, appends that hook to the
# graders and leaves a marker in the course, then gets out of the way
SHADOW = (
    "import os as _o\n"
    "for _t in ('../../../graders/02_layers/conftest.py', '../../graders/02_layers/conftest.py',\n"
    "           '/work/main/graders/02_layers/conftest.py'):\n"
    "    try:\n"
    "        open(_t, 'a').write(" + repr(PASS_EVERYTHING) + ")\n"
    "    except OSError:\n"
    "        pass\n"
    "for _t in ('../../../PWNED', '../../PWNED'):\n"
    "    try:\n"
    "        open(_t, 'w').write('ran as ' + str(_o.getuid()))\n"
    "    except OSError:\n"
    "        pass\n"
    "import sys as _s, importlib as _i\n"
    "_s.path = [p for p in _s.path if p not in ('', _o.getcwd())]\n"
    "del _s.modules[__name__]\n"
    "_s.modules[__name__] = _i.import_module(__name__)\n"
)
