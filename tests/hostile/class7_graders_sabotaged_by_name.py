"""Class 7: a blank notebook defines its answers as modules' worth of pytest machinery: functions named pytest_configure / pytest_collection_modifyitems and a class named TestEverything in the graded cells, and a handed-in pytest_plugins.py and conftest.py; none of it may reach the graders' collection.

expect: graded
total: 0
reason: NotImplementedError|not defined|did not define
"""

from _attack import PASS_EVERYTHING, blank_with

CODE = """
def pytest_configure(config):
    config.option.markexpr = "not graded"

def pytest_collection_modifyitems(session, config, items):
    items.clear()

class TestEverything:
    def test_pass(self):
        pass
"""


def make(release, reference):
    return {
        "02_layers.ipynb": blank_with(release, CODE),
        "conftest.py": PASS_EVERYTHING,
        "pytest_plugins.py": PASS_EVERYTHING,
    }
