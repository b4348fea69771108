"""A submission folder holding links, FIFOs, hard links or too much is refused
with a sentence before nbgrader copies anything of it."""

import os

import pytest

from dlcourse.nbgrader_ext.submitted_files import UnsafeSubmission, check_submission


def _course(tmp_path):
    root = tmp_path / "course"
    folder = root / "submitted" / "alice" / "02_layers"
    folder.mkdir(parents=True)
    (folder / "02_layers.ipynb").write_text("{}")
    (root / "graders" / "02_layers").mkdir(parents=True)
    (root / "graders" / "02_layers" / "conftest.py").write_text("# hidden")
    return root, folder


def test_a_plain_submission_passes(tmp_path):
    root, folder = _course(tmp_path)
    (folder / "data").mkdir()
    (folder / "data" / "x.csv").write_text("1")
    check_submission(str(folder), str(root))


@pytest.mark.parametrize(
    "plant, words",
    [
        (lambda f, r: os.symlink(r / "graders" / "02_layers" / "conftest.py", f / "c.py"),
         "c.py is a symbolic link"),
        (lambda f, r: (f / "02_layers.ipynb").unlink()
         or os.symlink(r / "source.ipynb", f / "02_layers.ipynb"),
         "02_layers.ipynb is a symbolic link"),
        (lambda f, r: os.symlink(r / "graders", f / "g"), "g is a symbolic link"),
        (lambda f, r: os.mkfifo(f / "pipe"), "pipe is a FIFO"),
        (lambda f, r: os.link(r / "graders" / "02_layers" / "conftest.py", f / "h.py"),
         "h.py is a hard link"),
    ],
)  # fmt: skip
def test_links_and_special_files_are_refused(tmp_path, plant, words):
    root, folder = _course(tmp_path)
    plant(folder, root)
    with pytest.raises(UnsafeSubmission, match=words):
        check_submission(str(folder), str(root))


def test_a_student_folder_that_is_a_link_is_refused(tmp_path):
    root, folder = _course(tmp_path)
    elsewhere = tmp_path / "elsewhere" / "02_layers"
    elsewhere.mkdir(parents=True)
    os.symlink(tmp_path / "elsewhere", root / "submitted" / "mallory")
    with pytest.raises(UnsafeSubmission, match="submitted/mallory is a symbolic link"):
        check_submission(str(root / "submitted" / "mallory" / "02_layers"), str(root))


def test_sizes_and_counts_are_capped(tmp_path, monkeypatch):
    from dlcourse.nbgrader_ext import submitted_files

    root, folder = _course(tmp_path)
    monkeypatch.setattr(submitted_files, "MAX_FILE_BYTES", 100)
    (folder / "big.bin").write_bytes(b"x" * 101)
    with pytest.raises(UnsafeSubmission, match="big.bin is larger than"):
        check_submission(str(folder), str(root))
    (folder / "big.bin").unlink()
    monkeypatch.setattr(submitted_files, "MAX_ENTRIES", 3)
    for i in range(4):
        (folder / f"f{i}").write_text("x")
    with pytest.raises(UnsafeSubmission, match="more than 3 files"):
        check_submission(str(folder), str(root))
