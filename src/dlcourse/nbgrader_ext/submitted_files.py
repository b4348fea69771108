"""What a submission folder may hold before nbgrader copies anything of it.

``nbgrader autograde`` copies every file of ``submitted/<student>/<a>/`` into
``autograded/`` with ``shutil.copy``, which follows symbolic links (a link to
``graders/`` hands a hidden grader to the student's kernel and feedback) and
blocks on a FIFO; it reads the notebook the same way (a link to the
instructor's notebook would be graded as the student's). So before nbgrader's
``init_assignment`` copies anything, :func:`check_submission` walks the folder
with ``lstat`` and refuses the whole submission, with a sentence, when it
holds anything but folders and regular files with one link, or more than the
caps allow. The student's files are left as they are; the submission is
reported as not gradable (the batch turns the sentence into its reason).

Installed from ``nbgrader_config.py`` by :func:`install`, which wraps
``Autograde.init_assignment`` (nbgrader's ``pre_convert_hook`` cannot stop a
submission: nbgrader logs and ignores the hook's exceptions).
"""

from __future__ import annotations

import os
import stat

from dlcourse.sandbox.harvest import kind_of, shown

MAX_FILE_BYTES = 50 * 1024**2
MAX_TOTAL_BYTES = 200 * 1024**2
MAX_ENTRIES = 1000
MAX_DEPTH = 8
REFUSED = "the submission was refused"


class UnsafeSubmission(Exception):
    """The submission folder holds something trusted code must not copy."""


def check_submission(folder: str, course_root: str | None = None) -> None:
    """Raise :class:`UnsafeSubmission` unless ``folder`` and every entry below
    it are plain folders and regular files within the caps. ``course_root``:
    the folders between it and ``folder`` must not be links either."""
    folder = os.path.abspath(folder)
    if course_root:
        root = os.path.abspath(course_root)
        rel = os.path.relpath(folder, root)
        path = root
        for part in [] if rel == "." else rel.split(os.sep):
            path = os.path.join(path, part)
            _folder_itself(path, os.path.relpath(path, root))
    else:
        _folder_itself(folder, os.path.basename(folder))
    entries = total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        depth = os.path.relpath(dirpath, folder).count(os.sep) + (dirpath != folder)
        if depth > MAX_DEPTH:
            raise UnsafeSubmission(f"{REFUSED}: its folders nest more than {MAX_DEPTH} deep")
        for name in dirnames + filenames:
            entries += 1
            if entries > MAX_ENTRIES:
                raise UnsafeSubmission(f"{REFUSED}: it holds more than {MAX_ENTRIES} files")
            path = os.path.join(dirpath, name)
            rel = shown(os.path.relpath(path, folder))
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode):
                raise UnsafeSubmission(
                    f"{REFUSED}: {rel} is {kind_of(info.st_mode)}; hand in regular files only"
                )
            if info.st_nlink != 1:
                raise UnsafeSubmission(
                    f"{REFUSED}: {rel} is a hard link; hand in regular files only"
                )
            if info.st_size > MAX_FILE_BYTES:
                raise UnsafeSubmission(
                    f"{REFUSED}: {rel} is larger than {MAX_FILE_BYTES // 2**20} MB"
                )
            total += info.st_size
            if total > MAX_TOTAL_BYTES:
                raise UnsafeSubmission(
                    f"{REFUSED}: its files together are larger than {MAX_TOTAL_BYTES // 2**20} MB"
                )


def _folder_itself(path: str, label: str) -> None:
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeSubmission(
            f"{REFUSED}: {shown(label)} is {kind_of(info.st_mode)}, not a folder"
        )


_installed = False


def install() -> None:
    """Make ``Autograde`` check the submission folder before it copies it
    (idempotent; called by the course's ``nbgrader_config.py``)."""
    global _installed
    if _installed:
        return
    from nbgrader.converters.autograde import Autograde

    original = Autograde.init_assignment

    def init_assignment(self, assignment_id, student_id):
        source = self._format_source(assignment_id, student_id)
        try:
            check_submission(source, self.coursedir.root)
        except UnsafeSubmission as exc:
            self.log.error("UnsafeSubmission: %s", exc)
            raise
        return original(self, assignment_id, student_id)

    Autograde.init_assignment = init_assignment
    _installed = True
