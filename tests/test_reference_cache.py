"""The graders' values kept between gradings (dlcourse.reference_cache): kept
once, read back exactly, recomputed when anything they depend on changes,
and never read from anything but a folder and files of the grading user's."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from dlcourse import reference_cache
from dlcourse.reference_cache import cached_arrays, cached_json


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(reference_cache.ENV, str(folder))
    return folder


@pytest.fixture
def graders(tmp_path):
    folder = tmp_path / "graders" / "09_x"
    folder.mkdir(parents=True)
    (folder / "test_x.py").write_text("def test_x(): pass\n")
    return folder


class Counting:
    """A computation that counts its calls."""

    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


def test_a_value_is_computed_once_and_read_back_equal(cache, graders):
    compute = Counting({"online": 0.5625, "counts": [1, 2], "nested": {"a": None}})
    parts = {"what": "expected accuracies", "n": 600}
    first = cached_json(parts, compute, graders)
    second = cached_json(parts, compute, graders)
    assert compute.calls == 1
    assert first == second == compute.value
    # tuples come back as lists both times: a hit and a miss return the same
    assert cached_json({"what": "pair"}, lambda: (1, 2), graders) == [1, 2]
    assert cached_json({"what": "pair"}, lambda: (3, 4), graders) == [1, 2]


def test_arrays_come_back_exactly_and_new_each_time(cache, graders):
    rng = np.random.default_rng(0)
    made = {
        "X": rng.standard_normal((50, 7)).astype(np.float32),
        "y": rng.integers(0, 10, 50),
        "half": rng.standard_normal(3).astype(np.float16),
    }
    compute = Counting(made)
    cached_arrays({"what": "data"}, compute, graders)
    kept = cached_arrays({"what": "data"}, compute, graders)
    assert compute.calls == 1
    assert set(kept) == set(made)
    for name, array in made.items():
        assert kept[name].dtype == array.dtype and np.array_equal(kept[name], array)
    kept["X"][:] = 0  # the caller's to change: the next read is the kept one
    again = cached_arrays({"what": "data"}, compute, graders)
    assert np.array_equal(again["X"], made["X"]) and compute.calls == 1
    with pytest.raises(ValueError, match="letters, digits"):
        cached_arrays({"what": "bad names"}, lambda: {"../x": np.zeros(1)}, graders)


def test_a_change_to_what_it_depends_on_computes_it_again_and_replaces_the_old(
    cache, graders, monkeypatch, tmp_path
):
    compute = Counting([1.0])
    cached_json({"what": "v", "seed": 0}, compute, graders)
    cached_json({"what": "v", "seed": 1}, compute, graders)  # other parts: kept apart
    assert compute.calls == 2 and len(list(cache.glob("v-*"))) == 2
    # the graders' code (any .py file of their folder)
    (graders / "conftest.py").write_text("X = 1\n")
    reference_cache._code_digest.cache_clear()
    cached_json({"what": "v", "seed": 1}, compute, graders)
    assert compute.calls == 3
    # the entry it replaces (same parts, older key) is gone; the other stays
    assert len(list(cache.glob("v-*"))) == 2
    cached_json({"what": "v", "seed": 0}, compute, graders)
    cached_json({"what": "v", "seed": 1}, compute, graders)
    assert compute.calls == 4
    # names that read alike are other computations
    for what in ("v w", "v-w", "V W"):
        cached_json({"what": what}, Counting(what), graders)
    assert [cached_json({"what": w}, Counting(None), graders) for w in ("v w", "v-w", "V W")] == [
        "v w",
        "v-w",
        "V W",
    ]
    # the library's own code, the versions and the CPU are in every key
    before = reference_cache.key({"what": "v"}, graders)
    library = tmp_path / "library"
    library.mkdir()
    (library / "a.py").write_text("A = 1\n")
    monkeypatch.setattr(reference_cache, "_LIBRARY", library)
    assert reference_cache.key({"what": "v"}, graders) != before
    moved = reference_cache.key({"what": "v"}, graders)
    monkeypatch.setattr(np, "__version__", "0.0")
    assert reference_cache.key({"what": "v"}, graders) != moved
    monkeypatch.setattr(reference_cache, "_cpu", lambda: "another CPU")
    assert reference_cache.key({"what": "v"}, graders) not in (before, moved)


def test_a_failed_computation_is_not_kept(cache, graders):
    def failing():
        raise RuntimeError("the reference could not run")

    with pytest.raises(RuntimeError):
        cached_json({"what": "v"}, failing, graders)
    compute = Counting(3)
    assert cached_json({"what": "v"}, compute, graders) == 3 and compute.calls == 1


def test_a_damaged_entry_is_computed_again_and_replaced(cache, graders):
    compute = Counting({"a": 1})
    cached_json({"what": "v"}, compute, graders)
    (entry,) = cache.glob("v-*.json")
    entry.write_bytes(b"{not json")
    assert cached_json({"what": "v"}, compute, graders) == {"a": 1} and compute.calls == 2
    assert cached_json({"what": "v"}, compute, graders) == {"a": 1} and compute.calls == 2

    made = {"a": np.arange(5.0), "b": np.ones((2, 3), dtype=np.int32)}
    arrays = Counting(made)
    cached_arrays({"what": "w"}, arrays, graders)
    (folder,) = cache.glob("w-*")

    def damage(how):
        if how == "garbage":
            (folder / "a.npy").write_bytes(b"\x93NUMPY garbage")
        elif how == "zeros of the same size":  # a write the machine lost
            size = (folder / "a.npy").stat().st_size
            header = (folder / "a.npy").read_bytes()[:128]
            (folder / "a.npy").write_bytes(header + bytes(size - 128))
        elif how == "a file missing":  # a half-removed entry
            (folder / "b.npy").unlink()
        elif how == "a file too many":
            np.save(folder / "c.npy", np.zeros(1))
        elif how == "no manifest":
            (folder / reference_cache.MANIFEST).unlink()
        elif how == "a header of a huge array":
            np.save(folder / "a.npy", np.zeros(1))
            data = (folder / "a.npy").read_bytes().replace(b"(1,)", b"(10**15,)"[:4])
            (folder / "a.npy").write_bytes(data)

    hows = ["garbage", "zeros of the same size", "a file missing", "a file too many"]
    hows += ["no manifest", "a header of a huge array"]
    for calls, how in enumerate(hows, start=2):
        damage(how)
        kept = cached_arrays({"what": "w"}, arrays, graders)
        assert arrays.calls == calls, how
        assert set(kept) == {"a", "b"} and np.array_equal(kept["b"], made["b"]), how
        # and repaired: the next read is the kept entry's
        (folder,) = cache.glob("w-*")
        cached_arrays({"what": "w"}, arrays, graders)
        assert arrays.calls == calls, how


def test_a_miss_and_a_hit_return_the_same_kind_of_arrays(cache, graders):
    import torch

    made = {"t": torch.arange(4.0), "l": [1, 2, 3], "r": np.arange(3)}
    made["r"].flags.writeable = False
    miss = cached_arrays({"what": "w"}, lambda: made, graders)
    hit = cached_arrays({"what": "w"}, lambda: made, graders)
    for got in (miss, hit):
        assert all(type(a) is np.ndarray and a.flags.writeable for a in got.values())
        assert got["t"].dtype == np.float32 and got["l"].tolist() == [1, 2, 3]
    assert miss["r"] is not made["r"]


def test_what_the_cache_cannot_use_fails_nothing(cache, graders, tmp_path):
    # a FIFO where an entry would be: not opened for reading (no hang)
    name = reference_cache.entry_name({"what": "v"}, graders, ".json")
    cache.mkdir()
    os.mkfifo(cache / name)
    assert cached_json({"what": "v"}, Counting(5), graders) == 5
    # a link left in the graders' folder (an editor's lock file)
    (graders / ".#test_x.py").symlink_to(tmp_path / "nowhere")
    reference_cache._code_digest.cache_clear()
    assert cached_json({"what": "w"}, Counting(6), graders) == 6
    # a writer's leftovers are removed once old
    leftover = cache / ".writing-old"
    leftover.mkdir()
    os.utime(leftover, (0, 0))
    recent = cache / ".writing-recent"
    recent.mkdir()
    cached_json({"what": "x"}, Counting(7), graders)
    assert not leftover.exists() and recent.exists()


def test_without_root_nothing_is_kept(cache, graders, monkeypatch):
    # without root the student's code runs as the grading user and could
    # write the folder: it is not used
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert reference_cache.folder() is None
    compute = Counting(1)
    cached_json({"what": "v"}, compute, graders)
    cached_json({"what": "v"}, compute, graders)
    assert compute.calls == 2 and not cache.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make files of another user")
def test_nothing_is_read_through_links_or_from_files_of_another_user(cache, graders, tmp_path):
    compute = Counting("computed")
    assert cached_json({"what": "v"}, compute, graders) == "computed"
    (entry,) = cache.glob("v-*.json")
    planted = tmp_path / "planted.json"
    planted.write_text('{"value": "planted"}')
    # a link in place of the entry is not followed
    entry.unlink()
    entry.symlink_to(planted)
    assert cached_json({"what": "v"}, compute, graders) == "computed"
    # (the recomputed value replaced the link)
    assert not entry.is_symlink()
    # an entry owned by someone else is not read
    entry.write_text('{"value": "planted"}')
    os.chown(entry, 65534, 65534)
    assert cached_json({"what": "v"}, compute, graders) == "computed"
    # nor an array entry folder or file of another user's
    arrays = Counting({"a": np.arange(3)})
    cached_arrays({"what": "w"}, arrays, graders)
    (folder,) = cache.glob("w-*")
    np.save(folder / "a.npy", np.full(3, 7))
    os.chown(folder / "a.npy", 65534, 65534)
    assert np.array_equal(cached_arrays({"what": "w"}, arrays, graders)["a"], np.arange(3))
    assert arrays.calls == 2
    assert compute.calls == 3


@pytest.mark.parametrize("how", ["writable by others", "a link", "someone else's"])
def test_a_folder_others_could_write_is_not_used(how, tmp_path, monkeypatch, graders):
    if how == "someone else's" and os.geteuid() != 0:
        pytest.skip("needs root to make a folder of another user")
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    folder = tmp_path / "cache"
    if how == "writable by others":
        folder.mkdir()
        folder.chmod(0o777)
    elif how == "a link":
        folder.symlink_to(real)
    else:
        folder.mkdir(mode=0o700)
        os.chown(folder, 65534, 65534)
    monkeypatch.setenv(reference_cache.ENV, str(folder))
    compute = Counting(1)
    for _ in range(2):
        assert cached_json({"what": "v"}, compute, graders) == 1
    assert compute.calls == 2
    assert not any(real.iterdir())
    if how != "a link":
        assert not any(folder.iterdir())


def test_turned_off_or_unwritable_it_only_computes(tmp_path, monkeypatch, graders):
    monkeypatch.setenv(reference_cache.ENV, "0")
    compute = Counting(1)
    cached_json({"what": "v"}, compute, graders)
    cached_json({"what": "v"}, compute, graders)
    assert compute.calls == 2
    # a folder that cannot be made: computed, nothing fails
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(reference_cache.ENV, str(blocker / "cache"))
    assert cached_arrays({"what": "w"}, lambda: {"a": np.zeros(2)}, graders)["a"].shape == (2,)


def test_the_default_folder_is_the_user_s_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(reference_cache.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert reference_cache.folder() == tmp_path / "dlcourse" / "reference"
    shutil.rmtree(tmp_path, ignore_errors=True)
