"""matplotlib's font list, built once on the trusted side and copied into
each confined kernel.

A confined kernel's ``/tmp`` is a new, empty tmpfs, and its ``MPLCONFIGDIR``
points there, so matplotlib found no font list and rebuilt it (scanning the
system's fonts and running ``fc-list``) in every kernel that imported
pyplot: about 0.45 s per kernel on the course machine, in every nbgrader
execution and every isolated run. All six notebooks import pyplot.

The list is built from the system's fonts by the course's own matplotlib in
a process of its own that runs no student code, and kept in a folder only
root writes (per matplotlib version; ``/run`` is emptied at boot, so fonts
installed later are seen after a reboot, as with any matplotlib cache). The
launcher reads it before it confines itself and writes a copy into the
kernel's private ``MPLCONFIGDIR`` before the kernel starts: each kernel
changes only its own copy. ``DLCOURSE_FONT_CACHE=0`` turns this off.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# a font list is about 40 KB for 40 fonts; a machine with thousands of fonts
# stays far below this
LIMIT_BYTES = 8 * 1024**2
PATTERN = "fontlist-v*.json"


def _matplotlib_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("matplotlib")
    except metadata.PackageNotFoundError:
        return None


def font_list_folder(base: Path) -> Path | None:
    """The folder under ``base`` holding matplotlib's font list for the
    installed matplotlib, built on first use; None when matplotlib is not
    installed, the build failed, or ``DLCOURSE_FONT_CACHE=0``."""
    if os.environ.get("DLCOURSE_FONT_CACHE", "1") == "0":
        return None
    version = _matplotlib_version()
    if version is None:
        return None
    folder = base / f"matplotlib-{version}"
    if any(folder.glob(PATTERN)):
        return folder
    try:
        base.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".matplotlib-", dir=base))
    except OSError:
        return None
    try:
        # a process of its own: the grading process never imports matplotlib
        subprocess.run(
            [sys.executable, "-I", "-c", "import matplotlib.font_manager"],
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "HOME": str(staging), "MPLCONFIGDIR": str(staging)},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            check=True,
        )
        built = list(staging.glob(PATTERN))
        if not built:
            return None
        # readable by all, written by root only, whatever the umask
        for path in built:
            os.chmod(path, 0o644)
        os.chmod(staging, 0o755)
        try:
            staging.rename(folder)  # another process may have built it meanwhile
        except OSError:
            pass
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder if any(folder.glob(PATTERN)) else None


def read_font_lists(folder: str | None) -> dict[str, bytes]:
    """name -> bytes of the font lists in ``folder`` (regular files of at
    most LIMIT_BYTES, never through a link); read by the launcher before it
    confines itself."""
    from dlcourse.sandbox.harvest import read_small_file

    if not folder:
        return {}
    found = {}
    for path in sorted(Path(folder).glob(PATTERN)):
        data = read_small_file(str(path), LIMIT_BYTES)
        if data is not None:
            found[path.name] = data
    return found


def give_font_lists(lists: dict[str, bytes], config_dir: str) -> None:
    """Write ``lists`` into ``config_dir``, the confined kernel's own
    matplotlib folder in its private /tmp (created here, as matplotlib
    would). Best effort: without them matplotlib builds its own."""
    try:
        os.makedirs(config_dir, mode=0o700, exist_ok=True)
        for name, data in lists.items():
            fd = os.open(
                os.path.join(config_dir, name),
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                0o600,
            )
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
    except OSError:
        pass
