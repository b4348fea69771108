"""The list of paths a sandbox hides is worked out once per grading and
again whenever what it was read from may have changed: a file that appears
in the course between two sandboxes is hidden from the second."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dlcourse.sandbox import hiding

HOUR_AGO = time.time() - 3600


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course whose only needed path is env/lib (as a Python environment
    inside the course folder would be), no users' folders, every folder
    last changed an hour ago; counts the folders listed."""
    root = tmp_path / "course"
    (root / "graders").mkdir(parents=True)
    (root / "gradebook.db").write_text("grades")
    (root / "env" / "lib").mkdir(parents=True)
    (root / "env" / "bin").mkdir()
    for folder in (root / "env", root):
        os.utime(folder, (HOUR_AGO, HOUR_AGO))
    monkeypatch.setattr(hiding, "_needed", lambda: [root / "env" / "lib"])
    monkeypatch.setattr(hiding, "USER_FOLDERS", ())
    monkeypatch.setattr(hiding, "_lists", {})
    listed = []
    iterdir = Path.iterdir

    def counted(self):
        listed.append(self)
        return iterdir(self)

    monkeypatch.setattr(Path, "iterdir", counted)
    return root, listed


def test_an_unchanged_course_is_not_listed_again(course):
    root, listed = course
    first = hiding.paths_to_hide(root)
    assert sorted(first) == sorted(str(root / p) for p in ("graders", "gradebook.db", "env/bin"))
    assert listed
    first.append("changed by the caller")
    listed.clear()
    assert sorted(hiding.paths_to_hide(root)) == sorted(first[:-1])
    assert listed == []


@pytest.mark.parametrize("where", [".", "env"], ids=["in the course", "beside a needed path"])
def test_an_entry_added_after_the_list_was_made_is_hidden(course, where):
    root, _ = course
    assert str(root / where / "answers.txt") not in hiding.paths_to_hide(root)
    (root / where / "answers.txt").write_text("copied solutions")
    assert str(root / where / "answers.txt") in hiding.paths_to_hide(root)


def test_a_folder_changed_just_now_is_listed_again(course, monkeypatch):
    root, listed = course
    # "just now" stretched to a minute, so that a slow machine cannot pass it
    monkeypatch.setattr(hiding, "RECENT_NS", 60 * 10**9)
    os.utime(root, None)  # now: the clock may not tick before its next change
    hiding.paths_to_hide(root)
    listed.clear()
    hiding.paths_to_hide(root)
    assert root in listed


def test_a_users_folder_that_appears_is_hidden(course, tmp_path, monkeypatch):
    root, _ = course
    users = tmp_path / "srv"
    monkeypatch.setattr(hiding, "USER_FOLDERS", (str(users),))
    assert str(users) not in hiding.paths_to_hide(root)
    users.mkdir()
    assert str(users) in hiding.paths_to_hide(root)
