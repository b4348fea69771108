"""What the channel offers graders: plain() for tensors and iterables, the
in-place check of array arguments, warnings in the order raised, and
foreign error text cleaned up. One sandbox for the module (starting one with
torch costs seconds); the tests that end a sandbox start their own."""

import re
import time

import numpy as np
import pytest

from dlcourse.sandbox import Cell, Sandbox, StudentError, plain
from dlcourse.sandbox.wire import foreign_text

STUDENT = '''
import io
import fractions
import numpy as np
import torch

def as_tensor(x):
    return torch.tensor(x, dtype=torch.float32, requires_grad=True) * 2

def as_bfloat16(x):
    return torch.tensor(x).to(torch.bfloat16)

class Batch(torch.Tensor):
    pass

def subclassed():
    return torch.arange(3).as_subclass(Batch)

def batches(X, y, size):
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    for start in range(0, len(X), size):
        rows = order[start:start + size]
        yield torch.as_tensor(X)[rows], torch.as_tensor(y)[rows]

def tensor_list(n):
    return [torch.full((2,), float(i)) for i in range(n)]

def loader(X, y):
    data = torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(y))
    return torch.utils.data.DataLoader(data, batch_size=4)

class Pairs:
    """Iterable, without __len__."""
    def __iter__(self):
        yield torch.zeros(2), 0
        yield torch.ones(2), 1

def nested():
    return map(lambda i: (torch.ones(i), iter(range(i))), range(3))

def endless():
    i = 0
    while True:
        yield i
        i += 1

class Opaque:
    pass

def opaque_inside():
    yield 1
    yield [2, Opaque()]

def softmax(z):
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z

def pure_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)

def relu(x):
    x[x < 0] = 0
    return x

def scale_all(arrays, factor):
    for a in arrays:
        a *= factor
    return arrays

def add_to(t, x):
    t += torch.from_numpy(x)
    return t

def overflowing(x):
    e = np.exp(x)
    return e / e

def fancy_error():
    raise RuntimeError(
        "\\x1b[1mshapes do not match\\x1b[0m: (2, 3) and (4,)\\n\\n"
        "You have two options: check the shapes, or read the docs."
    )

def torch_load_error():
    buffer = io.BytesIO()
    torch.save({"x": fractions.Fraction(1, 2)}, buffer)
    buffer.seek(0)
    torch.load(buffer)
'''


@pytest.fixture(scope="module")
def box():
    with Sandbox(call_timeout=20) as sandbox:
        sandbox.run([Cell("answer", STUDENT)])
        yield sandbox


def data():
    X = np.arange(30, dtype=np.float32).reshape(10, 3)
    return X, np.arange(10)


# plain() ----------------------------------------------------------------


def test_tensors_become_arrays(box):
    out = plain(box.get("as_tensor")([1.0, -2.0]))
    assert type(out) is np.ndarray and out.dtype == np.float32
    np.testing.assert_array_equal(out, [2.0, -4.0])
    # no bfloat16 in numpy: it arrives as float64
    out = plain(box.get("as_bfloat16")([0.5, 1.5]))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [0.5, 1.5])
    # a subclass of Tensor is recognised by isinstance, not by its name
    remote = box.get("subclassed")()
    assert remote.type_name == "Batch object"
    np.testing.assert_array_equal(plain(remote), [0, 1, 2])


def test_a_generator_of_tensor_pairs_becomes_a_list_of_tuples(box):
    X, y = data()
    result = plain(box.get("batches")(X, y, 4))
    assert isinstance(result, list) and [len(yb) for _, yb in result] == [4, 4, 2]
    for xb, yb in result:
        assert isinstance(xb, np.ndarray) and isinstance(yb, np.ndarray)
        np.testing.assert_array_equal(xb, X[yb])
    assert sorted(np.concatenate([yb for _, yb in result]).tolist()) == list(range(10))


def test_a_list_of_tensors_and_a_dataloader(box):
    result = plain(box.get("tensor_list")(3))
    assert [r.tolist() for r in result] == [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]
    X, y = data()
    batches = plain(box.get("loader")(X, y))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    np.testing.assert_array_equal(batches[2][0], X[8:])


def test_a_class_with_iter_and_nested_remotes(box):
    pairs = plain(box.get("Pairs")())
    assert [(a.tolist(), b) for a, b in pairs] == [([0.0, 0.0], 0), ([1.0, 1.0], 1)]
    nested = plain(box.get("nested")())
    assert [(a.tolist(), b) for a, b in nested] == [([], []), ([1.0], [0]), ([1.0, 1.0], [0, 1])]
    # plain data holding Remotes is converted element by element
    mixed = plain({"pairs": box.get("Pairs")(), "n": 3, "t": (box.get("as_tensor")([1.0]),)})
    assert mixed["n"] == 3 and mixed["t"][0].tolist() == [2.0]
    assert [b for _, b in mixed["pairs"]] == [0, 1]


def test_an_endless_generator_is_cut_off(box):
    with pytest.raises(
        StudentError,
        match=r"^endless\(\) returned a generator object that yields more than 50 items$",
    ):
        plain(box.get("endless")(), max_items=50, what="endless()")
    # the limit counts the items of all Remotes in the value together
    with pytest.raises(StudentError, match="yields more than 5 items"):
        plain([box.get("Pairs")(), box.get("tensor_list")(4)], max_items=5)
    assert box.alive and plain(box.get("tensor_list")(1))[0].tolist() == [0.0, 0.0]


def test_a_slow_endless_generator_meets_the_time_limit():
    with Sandbox(call_timeout=1.5) as sandbox:
        sandbox.run(
            [
                Cell(
                    "answer",
                    "import time\ndef slow():\n    while True:\n        time.sleep(0.2)\n        yield 1\n",
                )
            ]
        )
        start = time.monotonic()
        with pytest.raises(StudentError, match="time limit") as err:
            plain(sandbox.get("slow")())
        assert err.value.kind == "timeout" and time.monotonic() - start < 10


def test_what_cannot_be_iterated_is_named(box):
    with pytest.raises(StudentError) as err:
        plain(box.get("Opaque")())
    assert str(err.value) == (
        "your code returned an Opaque object, which is neither an array nor something "
        "the grader can iterate"
    )
    assert err.value.kind == "exception"
    with pytest.raises(
        StudentError,
        match=r"returned a generator object whose item \[1\]\[1\] is an Opaque object, which is neither",
    ):
        plain(box.get("opaque_inside")())
    with pytest.raises(StudentError, match="returned a function relu, which is neither"):
        plain(box.get("relu"))


# the in-place check -------------------------------------------------------


def test_an_in_place_softmax_is_caught(box):
    z = np.array([[1.0, 2.0, 3.0]])
    with pytest.raises(StudentError) as err:
        box.get("softmax")(z)
    assert err.value.kind == "exception"
    assert str(err.value).startswith("softmax(z) changed its argument z in place (")
    assert str(err.value).endswith(
        "; the contract asks for a new array, leaving the caller's array unchanged"
    )


def test_a_relu_zeroing_its_input_is_caught(box):
    x = np.array([1.0, -2.0, 3.0])
    with pytest.raises(
        StudentError,
        match=r"^relu\(x\) changed its argument x in place \(-2 became 0 at index \(1,\)\)",
    ):
        box.get("relu")(x)
    # passed by keyword
    with pytest.raises(StudentError, match=r"^relu\(x\) changed its argument x in place"):
        box.get("relu")(x=x)


def test_a_tiny_change_is_shown_with_the_digits_that_differ(box):
    x = np.array([0.0114220001])
    with pytest.raises(StudentError) as err:
        box.get("scale_all")([x], 1.0 + 1e-9)
    found = re.search(r"\((\S+) became (\S+) at index", str(err.value))
    assert found and found.group(1) != found.group(2), str(err.value)


def test_an_array_inside_a_list_argument_is_caught(box):
    arrays = [np.zeros(2), np.ones((2, 2))]
    with pytest.raises(
        StudentError,
        match=r"^scale_all\(arrays, factor\) changed its argument arrays \(the array at arrays\[1\]\) in place \(1 became 2 at index \(0, 0\)\)",
    ):
        box.get("scale_all")(arrays, 2.0)


def test_pure_functions_and_tensor_arguments_pass(box):
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, np.nan]])
    out = box.get("pure_softmax")(z)
    np.testing.assert_allclose(out[0], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    # the grader's arrays are the sandbox's copies: changing a tensor the
    # student holds (here by handle) is not a change of the caller's array
    t = box.get("torch").zeros(2)
    np.testing.assert_array_equal(plain(box.get("add_to")(t, np.ones(2))), [1.0, 1.0])


def test_calls_allowed_to_change_their_arguments(box):
    x = np.array([1.0, -2.0])
    with box.arguments_may_change():
        np.testing.assert_array_equal(box.get("relu")(x), [1.0, 0.0])
    with pytest.raises(StudentError, match="changed its argument x in place"):
        box.get("relu")(x)


# messages -----------------------------------------------------------------


def test_warnings_come_in_the_order_raised(box):
    f = box.get("overflowing")
    f(np.array([1000.0, 1.0]))
    assert f.last_warnings == [
        "RuntimeWarning: overflow encountered in exp",
        "RuntimeWarning: invalid value encountered in divide",
    ]


def test_foreign_error_text_is_stripped_and_shortened(box):
    with pytest.raises(StudentError) as err:
        box.get("fancy_error")()
    line = STUDENT.splitlines().index("    raise RuntimeError(") + 1
    assert str(err.value) == (
        "calling fancy_error raised RuntimeError: shapes do not match: (2, 3) and (4,)"
        f" (at cell answer, line {line}: raise RuntimeError()"
    )
    with pytest.raises(StudentError) as err:
        box.get("torch_load_error")()
    message = str(err.value)
    assert "\x1b" not in message and "[1m" not in message
    assert "Weights only load failed" in message and "Unsupported global" in message
    assert "(1)" not in message and "Check the documentation" not in message
    assert len(message) < 800


def test_foreign_text():
    assert foreign_text("\x1b[31mred\x1b[0m and \x1b]8;;http://x\x07link\x1b]8;;\x07") == (
        "red and link"
    )
    assert foreign_text("first line\n  second\n\nadvice paragraph") == "first line second"
    assert foreign_text("a\nb\nc\nd") == "a b c ..."
    assert foreign_text("options,\n\t(1) do this\n\t(2) do that\ncause") == "options, cause"
    long = "This went wrong. " * 40
    assert foreign_text(long) == ("This went wrong. " * 29).strip() + " ..."
    assert len(foreign_text("x" * 10_000)) <= 504


def test_as_array_names_the_students_type(box):
    from dlcourse.checks import GradingFailure, as_array

    with pytest.raises(
        GradingFailure, match=r"^out should be a numpy array of numbers, got generator object$"
    ):
        as_array(box.get("endless")(), "out")
