"""The kernel zygote (dlcourse.sandbox.kernel_zygote): what it keeps, what
its kernels share, and when they die. The confinement of its kernels is
tested with every test of test_sandboxed_kernel.py (its "forked" variant)."""

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from kernel_runs import kernel_zygote_started, outputs
from processes import gone

from dlcourse.sandbox import filesystem, kernel_zygote
from dlcourse.sandbox.kernel import SandboxedKernelManager, kernel_environment

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the kernel sandbox needs root (CI runs as root)"
)


@pytest.fixture
def zygote():
    with kernel_zygote_started() as z:
        yield z


async def _outputs(workdir: Path, *codes: str) -> list[str]:
    """The stdout of each of ``codes``, run in one kernel after another."""
    return await outputs(workdir, *codes, course_root=workdir.parent)


def _memory_holds(pid: int, needle: bytes) -> bool:
    """Whether any readable memory of process ``pid`` holds ``needle``."""
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if not perms.startswith("r") or "[vvar" in line or "[vsyscall" in line:
                continue
            start, end = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(start)
                if needle in mem.read(end - start):
                    return True
            except (OSError, ValueError, OverflowError):
                continue
    return False


def test_two_kernels_share_nothing_and_the_zygote_keeps_no_request(zygote, tmp_path):
    # the first kernel's folder name is in its request only: later kernels
    # are forked from the zygote, whose memory must never have held it
    secret = "student-" + os.urandom(6).hex()
    first, second = tmp_path / secret, tmp_path / "other"
    first.mkdir()
    second.mkdir()
    probe = textwrap.dedent(
        """
        import os, glob, numpy
        open("/tmp/mine", "a").write("x")
        print(os.getuid(), open("/tmp/mine").read(), numpy.random.random() != %r,
              glob.glob("/tmp/*"), len(os.listdir("/proc")) < 10)
        """
    )
    out1 = asyncio.run(_outputs(first, probe % 0.0))[0].split()
    out2 = asyncio.run(_outputs(second, probe % 0.0))[0].split()
    assert zygote.forked == 2
    # own users, own /tmp (each sees one write: its own), own PID namespace
    assert out1[0] != out2[0] and int(out1[0]) >= 1_900_000_000
    assert out1[1] == out2[1] == "x"
    # numpy's generator is drawn afresh in each kernel
    assert (
        asyncio.run(_outputs(second, "import numpy; print(numpy.random.random())"))[0]
        != (asyncio.run(_outputs(second, "import numpy; print(numpy.random.random())"))[0])
    )
    assert not _memory_holds(zygote.proc.pid, secret.encode())
    # the check can fail: the memory of this process holds it
    assert _memory_holds(os.getpid(), secret.encode())


def test_the_zygote_holds_no_descriptor_a_kernel_could_reuse(zygote):
    # A forked kernel closes every descriptor of the zygote's above its own
    # and reuses the numbers; a Python object of the zygote's that still owned
    # one would close the kernel's when the zygote's frames unwind at the
    # kernel's exit (its socket closed one of zmq's, which aborted the kernel
    # before its exit handlers: test_the_kernel_program_ends_through_python_s_exit).
    # Its socket is detached in the child; nothing else may own one.
    fds = {
        int(fd): os.readlink(f"/proc/{zygote.proc.pid}/fd/{fd}")
        for fd in os.listdir(f"/proc/{zygote.proc.pid}/fd")
    }
    standard = {fd: fds.pop(fd) for fd in (0, 1, 2) if fd in fds}
    assert set(standard.values()) == {os.devnull}
    # its socket and the wakeup pipe its serving loop made (plain numbers)
    kinds = sorted(target.split(":")[0] for target in fds.values())
    assert kinds in (["socket"], ["pipe", "pipe", "socket"]), fds


def test_a_kernel_whose_hidden_paths_its_root_would_show_starts_the_plain_way(zygote, tmp_path):
    # a course kept under an allowed folder (here the notebook's own): the
    # hidden paths it names are covered by the launcher only
    work = tmp_path / "work"
    work.mkdir()
    inside = work / "other-student"
    inside.mkdir()
    assert filesystem.visible_in_allow_list([str(inside)], [str(work)], {}) == [str(inside)]
    assert filesystem.visible_in_allow_list([str(tmp_path / "x")], [str(work)], {}) == []
    km = SandboxedKernelManager(kernel_name="python3")
    config = {"hidden_paths": [str(inside)], "writable": [str(work)]}
    km._ipc_dir = str(tmp_path)
    cmd = [sys.executable, "-P", "-m", "dlcourse.kernel_app", "-f", "k.json"]
    env = kernel_environment(os.environ)
    assert km._zygote_request_for(config, cmd, env) is None
    forked, request = km._zygote_request_for({**config, "hidden_paths": []}, cmd, env)
    assert forked is zygote and request["args"] == ["-f", "k.json"]
    # another program, or another environment, is not the zygote's to start
    assert (
        km._zygote_request_for({**config, "hidden_paths": []}, ["/usr/bin/python3", *cmd[1:]], env)
        is None
    )
    with pytest.raises(kernel_zygote.ZygoteError):
        zygote.spawn({"sandbox": {}, "args": [], "environ": {**env, "X": "1"}})


def test_a_kernel_dies_with_the_process_it_was_forked_for(zygote, tmp_path):
    # as in the batch: the zygote outlives the fork server's child that
    # asked for the kernel, which is killed at its timeout with its process
    # group; the kernel, forked by the zygote, is in neither
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(read)
            km = SandboxedKernelManager(kernel_name="python3")
            asyncio.run(km.start_kernel(cwd=str(tmp_path)))
            os.write(write, b"%d %d" % (km.provisioner.pid, zygote.forked))
            time.sleep(600)
        finally:
            os._exit(0)
    os.close(write)
    try:
        kernel, forked = (int(x) for x in os.read(read, 100).split())
        assert forked == 1
        os.kill(kernel, 0)  # alive
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        assert gone(kernel, within=10), "the kernel outlived the process it was forked for"
        assert zygote.proc.poll() is None  # not by the zygote's end
    finally:
        os.close(read)
        try:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


REFUSED_FALLBACK = """
from dlcourse.sandbox import confine, filesystem

def broken(*args, **kwargs):
    raise filesystem.FileSystemError(1, "injected")

filesystem.allow_list_root = broken
try:
    report = confine.enter(deny_list_fallback=False)
except confine.ConfineError as exc:
    print("refused:", exc, flush=True)
else:
    print("confined anyway:", report, flush=True)
"""


def test_a_forked_kernel_never_falls_back_to_a_root_with_nothing_hidden():
    # the forked child gets no hidden paths: without the allow-list root it
    # must stop, never run on the real root (as the launcher's fallback does,
    # with the course covered)
    out = subprocess.run(
        [sys.executable, "-c", REFUSED_FALLBACK], capture_output=True, text=True, timeout=60
    ).stdout
    assert out.startswith("refused:"), out
    assert kernel_zygote.confined({"applied": ["file system"], "missing": []})
    assert not kernel_zygote.confined(
        {"applied": ["file system"], "missing": ["allow-list file system (x)"]}
    )
    assert not kernel_zygote.confined({"applied": [], "missing": ["namespaces (x)"]})


def test_a_zygote_that_dies_takes_no_running_kernel_with_it(zygote, tmp_path):
    async def scenario():
        km = SandboxedKernelManager(kernel_name="python3")
        await km.start_kernel(cwd=str(tmp_path))
        assert zygote.forked == 1
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            zygote.proc.kill()
            zygote.proc.wait()
            await asyncio.sleep(0.2)
            alive_after = await km.is_alive()
            reply = await kc.execute("1 + 1", reply=True, timeout=30)
        finally:
            kc.stop_channels()
            pid = km.provisioner.pid
            await km.shutdown_kernel(now=True)
        return alive_after, reply["content"]["status"], pid

    alive_after, status, pid = asyncio.run(scenario())
    assert alive_after and status == "ok"
    assert gone(pid, within=10), "the kernel was not ended"


MATPLOTLIB_PROBE = [
    # before the notebook imports it: preloaded, backend not yet resolved
    textwrap.dedent(
        """
        import sys
        print("preloaded" if "matplotlib.pyplot" in sys.modules else "not preloaded",
              "matplotlib_inline.backend_inline" in sys.modules)
        """
    ),
    textwrap.dedent(
        """
        import matplotlib, matplotlib.pyplot as plt
        from matplotlib import font_manager, style, texmanager
        print(matplotlib.get_configdir(), matplotlib.get_cachedir(),
              matplotlib.rcParams["backend"], matplotlib.rcParams["lines.linewidth"],
              len(font_manager.fontManager.ttflist) > 0, *style.USER_LIBRARY_PATHS,
              texmanager.TexManager._cache_dir)
        matplotlib.rcParams["lines.linewidth"] = 7.0
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3])
        """
    ),
    # the inline backend showed the figure at the cell's end, and closed it
    "print(plt.get_fignums(), matplotlib.get_backend())",
]


def test_kernels_get_pyplot_preloaded_as_their_own_import_would_set_it_up(zygote, tmp_path):
    first = asyncio.run(_outputs(tmp_path, *MATPLOTLIB_PROBE))
    second = asyncio.run(_outputs(tmp_path, *MATPLOTLIB_PROBE))
    assert zygote.forked == 2
    inline = "module://matplotlib_inline.backend_inline"
    for out in (first, second):
        assert out[0].split() == ["preloaded", "False"], out
        # the kernel's own private folder, not the font list's folder of the
        # zygote's import; what the kernel's environment names as the backend;
        # no change of an earlier kernel's (the linewidth)
        # the user's style folder and TeX cache too (paths computed at import)
        assert out[1].split() == [
            *["/tmp/matplotlib", "/tmp/matplotlib", inline, "1.5", "True"],
            *["/tmp/matplotlib/stylelib", "/tmp/matplotlib/tex.cache"],
        ], out
        assert out[2].split() == ["[]", inline], out
