"""Tests of the FashionMNIST loader, on small IDX files written here.

Every test passes ``search`` (or points ``DEBIAN_DIR`` and the current
folder at tmp_path) and a tmp ``cache_dir``, so none depends on what this
machine has in /usr/share or ~/.cache; only the last test reads the real
Debian files, and it is skipped when they are missing.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from dlcourse.data import CLASS_NAMES, DatasetError, load_fashion_mnist
from dlcourse.data import fashion_mnist as fm

SIZES = {"train": 12, "test": 5}  # small splits: the files are a few kB


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """IDX encoding of a uint8 array: big-endian magic, dims, then the bytes."""
    dims = b"".join(struct.pack(">I", d) for d in array.shape)
    return struct.pack(">I", magic) + dims + np.ascontiguousarray(array, np.uint8).tobytes()


def write_split(
    folder: Path, split: str, *, seed: int = 0, fmt: str = "raw", n: int | None = None
) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Write a random split into ``folder`` as raw files, ``.gz`` or both.

    Returns uint8 images ``(n, 28, 28)``, uint8 labels ``(n,)`` and the
    ``checksums`` dict: content SHA-256 per name, MD5 of each ``.gz`` written.
    """
    n = SIZES[split] if n is None else n
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    images[0, 0, :2] = (0, 255)  # both ends of the range, always
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    checksums = {}
    names = fm.SPLITS[split]
    for name, data in zip(names, (idx_bytes(images, 0x803), idx_bytes(labels, 0x801)), strict=True):
        checksums[name] = hashlib.sha256(data).hexdigest()
        if fmt in ("raw", "both"):
            (folder / name).write_bytes(data)
        if fmt in ("gz", "both"):
            gz = gzip.compress(data, mtime=0)
            (folder / f"{name}.gz").write_bytes(gz)
            checksums[f"{name}.gz"] = hashlib.md5(gz).hexdigest()
    return images, labels, checksums


def write_file(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def assert_split(result, images: np.ndarray, labels: np.ndarray) -> None:
    x, y = result
    assert x.dtype == np.float32 and x.shape == images.shape
    assert y.dtype == np.int64 and y.shape == labels.shape
    np.testing.assert_array_equal(x, images.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(y, labels)


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


# --- each place ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["raw", "gz", "both"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_explicit_path(tmp_path, cache, split, fmt):
    images, labels, sums = write_split(tmp_path / "d", split, fmt=fmt)
    result = load_fashion_mnist(
        split, tmp_path / "d", checksums=sums, search=(), cache_dir=cache, download=False
    )
    assert_split(result, images, labels)


def test_env_var(tmp_path, cache, monkeypatch):
    images, labels, sums = write_split(tmp_path / "env", "train")
    write_split(tmp_path / "debian", "train", seed=1, fmt="gz")
    monkeypatch.setenv(fm.ENV_VAR, str(tmp_path / "env"))
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.chdir(tmp_path)
    result = load_fashion_mnist(checksums=None, cache_dir=cache, download=False)
    assert_split(result, images, labels)  # before the Debian folder


def test_debian_folder_gz_only(tmp_path, cache, monkeypatch):
    debian = tmp_path / "debian"
    images, labels, sums = write_split(debian, "test", fmt="gz")
    assert not list(debian.glob("*-ubyte"))  # like the package: only .gz
    assert_split(
        load_fashion_mnist("test", checksums=sums, search=(debian,), cache_dir=cache),
        images,
        labels,
    )
    # and as the default third place
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    monkeypatch.setattr(fm, "DEBIAN_DIR", debian)
    monkeypatch.chdir(tmp_path)
    assert_split(
        load_fashion_mnist("test", checksums=sums, cache_dir=cache, download=False), images, labels
    )


@pytest.mark.parametrize("root", [".", "data"])
def test_torchvision_raw_folder(tmp_path, cache, monkeypatch, root):
    images, labels, sums = write_split(
        tmp_path / root / "FashionMNIST" / "raw", "train", fmt="both"
    )
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.chdir(tmp_path)
    result = load_fashion_mnist(checksums=sums, cache_dir=cache, download=False)
    assert_split(result, images, labels)


def test_earlier_place_wins(tmp_path, cache, monkeypatch):
    first, _, _ = write_split(tmp_path / "a", "train", seed=1)
    second, _, _ = write_split(tmp_path / "b", "train", seed=2)
    x, _ = load_fashion_mnist(checksums=None, search=(tmp_path / "a", tmp_path / "b"))
    np.testing.assert_array_equal(x, first / np.float32(255))
    x, _ = load_fashion_mnist(checksums=None, search=(tmp_path / "b", tmp_path / "a"))
    np.testing.assert_array_equal(x, second / np.float32(255))
    # explicit path before everything; Debian before torchvision in the defaults
    explicit, _, _ = write_split(tmp_path / "p", "train", seed=3)
    x, _ = load_fashion_mnist(path=tmp_path / "p", checksums=None, search=(tmp_path / "a",))
    np.testing.assert_array_equal(x, explicit / np.float32(255))
    debian, _, _ = write_split(tmp_path / "debian", "train", seed=4, fmt="gz")
    write_split(tmp_path / "FashionMNIST" / "raw", "train", seed=5)
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.chdir(tmp_path)
    x, _ = load_fashion_mnist(checksums=None, cache_dir=cache, download=False)
    np.testing.assert_array_equal(x, debian / np.float32(255))


def test_corrupt_automatic_place_is_skipped(tmp_path, cache):
    write_split(tmp_path / "bad", "train")
    write_file(tmp_path / "bad", "train-labels-idx1-ubyte", b"\0\0\x08\x01")
    images, labels, _ = write_split(tmp_path / "good", "train", seed=7)
    result = load_fashion_mnist(
        checksums=None, search=(tmp_path / "bad", tmp_path / "good"), cache_dir=cache
    )
    assert_split(result, images, labels)


def test_corrupt_raw_falls_back_to_gz_in_same_folder(tmp_path):
    images, labels, sums = write_split(tmp_path, "test", fmt="both")
    write_file(tmp_path, "t10k-images-idx3-ubyte", b"")
    assert_split(load_fashion_mnist("test", tmp_path, checksums=sums), images, labels)


# --- download -----------------------------------------------------------------------


class Mirror:
    """A local HTTP server: ``files[url_path] = bytes``; counts requests."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                mirror.requests.append(self.path)
                body = mirror.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep pytest output quiet
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirror():
    m = Mirror()
    yield m
    m.close()


def serve_split(mirror: Mirror, folder: Path, prefix: str, split: str) -> None:
    for name in fm.SPLITS[split]:
        mirror.files[f"{prefix}/{name}.gz"] = (folder / f"{name}.gz").read_bytes()


def test_download_verified_cached_and_reused(tmp_path, cache, mirror):
    images, labels, sums = write_split(tmp_path / "upstream", "train", fmt="gz")
    serve_split(mirror, tmp_path / "upstream", "/fm", "train")
    kwargs = dict(mirrors=(mirror.url + "/fm/",), checksums=sums, search=(), cache_dir=cache)
    assert_split(load_fashion_mnist(**kwargs), images, labels)
    assert sorted(mirror.requests) == sorted(f"/fm/{n}.gz" for n in fm.SPLITS["train"])
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        f"{n}.gz" for n in fm.SPLITS["train"]
    )  # no temporary files left behind
    fm._read_idx.cache_clear()  # read from the cached files, not from memory
    assert_split(load_fashion_mnist(**kwargs), images, labels)
    assert len(mirror.requests) == 2  # one request per file, ever


def test_corrupt_mirror_rejected_next_used(tmp_path, cache, mirror):
    images, labels, sums = write_split(tmp_path / "upstream", "test", fmt="gz")
    serve_split(mirror, tmp_path / "upstream", "/good", "test")
    for name in fm.SPLITS["test"]:
        good = mirror.files[f"/good/{name}.gz"]
        mirror.files[f"/bad/{name}.gz"] = good[:-3]  # truncated in transit
    result = load_fashion_mnist(
        "test",
        mirrors=(mirror.url + "/bad/", mirror.url + "/good/"),
        checksums=sums,
        search=(),
        cache_dir=cache,
    )
    assert_split(result, images, labels)
    assert [p.split("/")[1] for p in mirror.requests] == ["bad", "good", "bad", "good"]


def test_all_mirrors_corrupt_names_md5(tmp_path, cache, mirror):
    _, _, sums = write_split(tmp_path / "upstream", "test", fmt="gz")
    serve_split(mirror, tmp_path / "upstream", "/m", "test")
    sums = {**sums, "t10k-images-idx3-ubyte.gz": "0" * 32}
    with pytest.raises(DatasetError) as err:
        load_fashion_mnist(
            "test", mirrors=(mirror.url + "/m/",), checksums=sums, search=(), cache_dir=cache
        )
    assert "rejected, MD5" in str(err.value)
    assert not cache.exists() or not list(cache.glob("t10k-images*"))


def test_download_without_md5_is_refused(tmp_path, cache, mirror):
    write_split(tmp_path / "upstream", "test", fmt="gz")
    serve_split(mirror, tmp_path / "upstream", "/m", "test")
    with pytest.raises(DatasetError, match="no MD5"):
        load_fashion_mnist(
            "test", mirrors=(mirror.url + "/m/",), checksums=None, search=(), cache_dir=cache
        )
    assert mirror.requests == []


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_nothing_anywhere_one_message(tmp_path, cache, monkeypatch):
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "FashionMNIST" / "raw").mkdir(parents=True)  # empty
    with pytest.raises(DatasetError) as err:
        load_fashion_mnist(cache_dir=cache, download=False)
    message = str(err.value)
    for place in (
        f"environment variable {fm.ENV_VAR}: not set",
        f"{tmp_path / 'no-debian'}: missing",
        f"{tmp_path / 'FashionMNIST' / 'raw'}: missing",
        f"{tmp_path / 'data' / 'FashionMNIST' / 'raw'}: missing train-images-idx3-ubyte",
        f"{cache}: missing",
        "download: not attempted",
    ):
        assert place in message
    assert message.endswith(fm.FIX_COMMAND)


def test_failed_download_and_corrupt_place_in_message(tmp_path, cache):
    write_split(tmp_path / "bad", "train")
    write_file(tmp_path / "bad", "train-images-idx3-ubyte", b"\0\0\x08\x03" + bytes(8))
    url = closed_port_url()
    with pytest.raises(DatasetError) as err:
        load_fashion_mnist(
            mirrors=(url,), search=(tmp_path / "none", tmp_path / "bad"), cache_dir=cache
        )
    message = str(err.value)
    assert f"{tmp_path / 'none'}: missing" in message
    assert f"{tmp_path / 'bad'}: corrupt:" in message
    assert f"download failed: {url}train-images-idx3-ubyte.gz" in message
    assert message.count("\n  - ") == 3  # one line per place, in one error
    assert message.endswith(fm.FIX_COMMAND)


# --- corrupt files --------------------------------------------------------------------


def corrupt_cases():
    """name -> (file to overwrite, function of its good raw bytes, expected words)."""
    img, lab = fm.SPLITS["test"]
    return {
        "truncated raw": (img, lambda b: b[:-1], "truncated, expected 3936 bytes"),
        "padded raw": (img, lambda b: b + b"\0", "padded, expected 3936 bytes"),
        "truncated gz": (f"{lab}.gz", lambda b: gzip.compress(b)[:-5], "truncated or corrupt gzip"),
        "not gzip": (f"{img}.gz", lambda b: b, "truncated or corrupt gzip"),
        "wrong magic": (img, lambda b: struct.pack(">I", 0x801) + b[4:], "wrong magic 0x00000801"),
        "wrong dims": (img, lambda b: b[:8] + struct.pack(">II", 14, 56) + b[16:], "wrong dims"),
        "short header": (lab, lambda b: b[:6], "too short"),
        "label out of range": (lab, lambda b: b[:-1] + b"\x0a", "label 10, expected 0..9"),
        "count mismatch": (lab, lambda b: struct.pack(">II", 0x801, 4) + b[8:-1], "5 images but"),
        "checksum mismatch": (img, lambda b: b[:-1] + bytes([b[-1] ^ 1]), "checksum mismatch"),
    }


@pytest.mark.parametrize("case", list(corrupt_cases()))
def test_corrupt_file_explicit_path_raises(tmp_path, cache, case):
    name, damage, words = corrupt_cases()[case]
    _, _, sums = write_split(tmp_path / "good", "test")  # the fallback that must NOT be used
    folder = tmp_path / "bad"
    write_split(folder, "test")
    raw = name.removesuffix(".gz")
    good = (folder / raw).read_bytes()
    if name.endswith(".gz"):
        (folder / raw).unlink()
    write_file(folder, name, damage(good))
    # structural checks must hold on their own, without the checksum's help
    sums = sums if case == "checksum mismatch" else None
    with pytest.raises(DatasetError) as err:
        load_fashion_mnist(
            "test", folder, checksums=sums, search=(tmp_path / "good",), cache_dir=cache
        )
    message = str(err.value)
    assert words in message
    assert f"path argument {folder}: corrupt: " in message
    assert str(folder / name) in message


def test_checksum_missing_from_dict_is_an_error(tmp_path):
    _, _, sums = write_split(tmp_path, "test")
    del sums["t10k-labels-idx1-ubyte"]
    with pytest.raises(DatasetError, match="no expected SHA-256 for t10k-labels"):
        load_fashion_mnist("test", tmp_path, checksums=sums)


def test_missing_explicit_folder(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        load_fashion_mnist("test", tmp_path / "nope", checksums=None)


def test_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        load_fashion_mnist("valid", tmp_path)


# --- values and the in-process cache ----------------------------------------------------


def test_values_exactly_uint8_over_255(tmp_path):
    folder = tmp_path / "all"
    images = np.arange(256 * 4, dtype=np.int64).reshape(4, 16, 16)  # every byte value
    images = np.tile(images, (1, 2, 2))[:, :28, :28].astype(np.uint8)
    labels = np.arange(4, dtype=np.uint8)
    write_file(folder, "t10k-images-idx3-ubyte", idx_bytes(images, 0x803))
    write_file(folder, "t10k-labels-idx1-ubyte", idx_bytes(labels, 0x801))
    assert len(np.unique(images)) == 256
    x, y = load_fashion_mnist("test", folder, checksums=None)
    assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(x, (images / 255.0).astype(np.float32))
    assert y.dtype == np.int64 and list(y) == [0, 1, 2, 3]


def test_returned_arrays_are_the_callers(tmp_path):
    images, labels, sums = write_split(tmp_path, "train", fmt="gz")
    x, y = load_fashion_mnist(path=tmp_path, checksums=sums)
    assert x.flags.writeable and y.flags.writeable
    x[:] = -1
    y[:] = 99
    assert_split(load_fashion_mnist(path=tmp_path, checksums=sums), images, labels)


def test_rewritten_file_is_read_again(tmp_path):
    write_split(tmp_path, "test", seed=1)
    load_fashion_mnist("test", tmp_path, checksums=None)
    images, labels, _ = write_split(tmp_path, "test", seed=2, n=6)  # new size and mtime
    assert_split(load_fashion_mnist("test", tmp_path, checksums=None), images, labels)


def test_import_is_cheap():
    code = (
        "import sys, dlcourse.data; "
        "heavy = {'torch', 'nbgrader', 'urllib.request'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_class_names():
    assert (
        len(CLASS_NAMES) == 10
        and CLASS_NAMES[0] == "T-shirt/top"
        and CLASS_NAMES[9] == "Ankle boot"
    )


# --- the real data ------------------------------------------------------------------------


@pytest.mark.skipif(
    not fm.DEBIAN_DIR.is_dir(), reason=f"{fm.DEBIAN_DIR} missing (run: {fm.FIX_COMMAND})"
)
def test_real_debian_test_split(tmp_path):
    # the official content SHA-256 must match Debian's recompressed files
    x, y = load_fashion_mnist(
        "test", checksums=fm.OFFICIAL, search=(fm.DEBIAN_DIR,), download=False, cache_dir=tmp_path
    )
    assert x.shape == (10000, 28, 28) and x.dtype == np.float32
    assert y.shape == (10000,) and y.dtype == np.int64
    assert np.bincount(y, minlength=10).tolist() == [1000] * 10
    assert 0.0 <= x.min() and x.max() <= 1.0
