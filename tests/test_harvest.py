"""Copying back what student code left in its folder: regular files only,
never following a link, never blocking on a FIFO, within the caps."""

import os
import threading

import pytest

from dlcourse.sandbox.harvest import harvest


@pytest.fixture
def outside(tmp_path):
    secret = tmp_path / "outside" / "gradebook.db"
    secret.parent.mkdir()
    secret.write_text("GRADES OF EVERY STUDENT")
    return secret


def _left(tmp_path, outside):
    left = tmp_path / "left"
    (left / "sub").mkdir(parents=True)
    (left / "model.pt").write_bytes(b"weights")
    (left / "sub" / "plot.png").write_bytes(b"png")
    os.symlink(outside, left / "gradebook.db")
    os.symlink(outside.parent, left / "course")
    os.mkfifo(left / "blocker")
    os.link(left / "model.pt", left / "model_again.pt")
    (left / "name\nwith\x1bcontrol").write_text("x")
    return left


def test_only_regular_files_come_back(tmp_path, outside):
    left = _left(tmp_path, outside)
    kept = tmp_path / "kept"
    kept.mkdir()
    done = threading.Event()
    result = []
    # a FIFO opened by mistake would block for ever: run with a deadline
    worker = threading.Thread(target=lambda: (result.append(harvest(left, kept)), done.set()))
    worker.start()
    assert done.wait(10), "harvest blocked (on the FIFO?)"
    found = sorted(str(p.relative_to(kept)) for p in kept.rglob("*"))
    assert found == ["sub", "sub/plot.png"]  # model.pt has two links now
    assert not any(p.is_symlink() for p in kept.rglob("*"))
    dropped = " | ".join(result[0].dropped)
    for words in ("gradebook.db was not kept: it is a symbolic link", "course was not kept",
                  "blocker was not kept: it is a FIFO", "hard link", "not printable"):  # fmt: skip
        assert words in dropped, (words, dropped)
    assert outside.read_text() == "GRADES OF EVERY STUDENT"


def test_a_link_in_the_target_is_replaced_not_followed(tmp_path, outside):
    left = tmp_path / "left"
    left.mkdir()
    (left / "02_layers.ipynb").write_text("student's notebook")
    kept = tmp_path / "kept"
    kept.mkdir()
    os.symlink(outside, kept / "02_layers.ipynb")
    harvest(left, kept)
    assert outside.read_text() == "GRADES OF EVERY STUDENT"
    assert (kept / "02_layers.ipynb").read_text() == "student's notebook"
    assert not (kept / "02_layers.ipynb").is_symlink()


def test_sizes_and_counts_are_capped(tmp_path):
    left = tmp_path / "left"
    left.mkdir()
    (left / "big.bin").write_bytes(b"\0" * 3000)
    for i in range(5):
        (left / f"f{i}.txt").write_bytes(b"x" * 400)
    kept = tmp_path / "kept"
    kept.mkdir()
    result = harvest(left, kept, max_file_bytes=1000, max_total_bytes=1000)
    assert not (kept / "big.bin").exists()
    assert sum(p.stat().st_size for p in kept.iterdir()) <= 1000
    assert len(list(kept.iterdir())) == 2
    assert any("big.bin" in d and "not kept" in d for d in result.dropped)
    assert any("together exceed" in d for d in result.dropped)
    kept2 = tmp_path / "kept2"
    kept2.mkdir()
    result = harvest(left, kept2, max_entries=3)
    assert len(list(kept2.iterdir())) <= 3
    assert any("more than 3 files" in d for d in result.dropped)


def test_deep_trees_stop_at_the_depth_limit(tmp_path):
    left = tmp_path / "left"
    deep = left.joinpath(*["d"] * 12)
    deep.mkdir(parents=True)
    (deep / "f.txt").write_text("x")
    kept = tmp_path / "kept"
    kept.mkdir()
    result = harvest(left, kept, max_depth=4)
    assert not list(kept.rglob("f.txt"))
    assert any("nest too deeply" in d for d in result.dropped)


def test_skipped_names_and_a_source_that_is_a_link(tmp_path, outside):
    left = tmp_path / "left"
    left.mkdir()
    (left / "02_layers.ipynb").write_text("nb")
    (left / "data.csv").write_text("1,2")
    kept = tmp_path / "kept"
    kept.mkdir()
    harvest(left, kept, skip=("02_layers.ipynb",))
    assert sorted(p.name for p in kept.iterdir()) == ["data.csv"]
    link = tmp_path / "link"
    os.symlink(outside.parent, link)
    result = harvest(link, tmp_path / "kept")
    assert result.copied == [] and result.dropped
