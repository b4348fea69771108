"""FashionMNIST from wherever it already is, verified, or downloaded once.

    images, labels = load_fashion_mnist("train")   # (60000, 28, 28) float32, (60000,) int64

These machines have no internet, so the loader first looks where the data
usually already is, in this order, and stops at the first folder holding a
complete, valid pair of files for the split:

1. the ``path`` argument; if it is given and fails, the error is raised at
   once (the user asked for that folder, falling through would hide why);
2. the folder in the environment variable ``DLCOURSE_FASHION_MNIST``;
3. Debian's ``/usr/share/datasets/fashion-mnist`` (``apt-get install
   dataset-fashion-mnist``, what CI uses; it ships only ``.gz`` files);
4. torchvision's ``FashionMNIST/raw`` under the current folder and ``./data``;
5. the download cache, then (when ``download=True``) each mirror in turn.

A missing or corrupt automatic place is remembered and the next one tried;
when none works, ONE :class:`DatasetError` lists every place and why it
failed, and ends with the command that fixes it.

Nothing is ever half-read: the IDX header (magic, dims) must match the byte
count exactly, gzip streams must be complete, labels must be in 0..9 and
both files of a split must hold the same number of items. The content is
checked by the SHA-256 of the *decompressed* bytes, so a raw file and a
``.gz`` from any compressor (Debian recompressed upstream's) verify the same
way; a download must also match upstream's MD5 of the ``.gz`` before it is
renamed into the cache.

Parsed files are cached in-process by (resolved path, mtime, size) as
read-only uint8; every call returns fresh float32 / int64 arrays, so the
caller may modify them freely.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
ENV_VAR = "DLCOURSE_FASHION_MNIST"  # a folder holding the four files
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist
MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)  # as torchvision
FIX_COMMAND = "sudo apt-get install dataset-fashion-mnist"
DOWNLOAD_TIMEOUT = 30.0  # seconds without data before a mirror counts as failed

SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# Keys without ".gz": SHA-256 of the decompressed file. Keys with ".gz": MD5
# of upstream's compressed file, used only to accept a download (Debian
# recompressed its copies, so their .gz MD5 differ while the content agrees).
OFFICIAL = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}

IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dims
LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dim
NUM_CLASSES = len(CLASS_NAMES)


class DatasetError(RuntimeError):
    """The data could not be found or failed validation; the message says
    where was looked and why each place failed."""


def load_fashion_mnist(
    split: str = "train",
    path: str | os.PathLike | None = None,
    *,
    download: bool = True,
    cache_dir: str | os.PathLike | None = None,
    mirrors: Iterable[str] = MIRRORS,
    checksums: Mapping[str, str] | None = OFFICIAL,
    search: Iterable[str | os.PathLike] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 28, 28)`` float32 in [0, 1] (exactly uint8 / 255) and
    labels ``(N,)`` int64 in 0..9; N = 60000 for "train", 10000 for "test".

    ``path``: a folder with the split's two files (raw or ``.gz``), tried
    first and alone. ``search``: folders replacing places 2-4 (env var,
    Debian, torchvision), for tests; ``None`` means the real ones.
    ``checksums``: file name -> SHA-256 of its decompressed content, and
    ``name.gz`` -> MD5 of the compressed download (see ``OFFICIAL``); a file
    without an entry is rejected. ``None`` skips the content check, but
    downloads still need their MD5 and are refused without one.
    Every array returned is new: modifying it changes no later result.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, not {split!r}")
    names = SPLITS[split]

    if path is not None:
        folder = Path(path)
        try:
            return _to_float(*_load_pair(folder, names, checksums))
        except _PlaceFailed as failure:
            raise DatasetError(
                f"FashionMNIST {split!r} split: path argument {folder}: {failure}"
            ) from None

    tried = []  # (place, why it failed), for the one final message
    if isinstance(search, str | os.PathLike):  # one folder, not its characters
        search = (search,)
    places = _default_places() if search is None else [("folder", Path(p)) for p in search]
    for label, folder in places:
        if folder is None:
            tried.append((label, "not set"))
            continue
        try:
            return _to_float(*_load_pair(folder, names, checksums))
        except _PlaceFailed as failure:
            tried.append((f"{label} {folder}", str(failure)))

    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    mirrors = tuple(mirrors)
    try:
        if download:
            _download_missing(cache, names, mirrors, checksums)
        return _to_float(*_load_pair(cache, names, checksums))
    except _PlaceFailed as failure:
        tried.append((f"download cache {cache}", str(failure)))
    if not download:
        tried.append(("download", "not attempted (download=False)"))

    lines = "\n".join(f"  - {place}: {why}" for place, why in tried)
    raise DatasetError(
        f"FashionMNIST {split!r} split could not be loaded. Places tried, in order:\n{lines}\n"
        f"To fix, install the data for everyone on this machine: {FIX_COMMAND}"
    )


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/dlcourse/fashion-mnist``, or under ``~/.cache``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dlcourse" / "fashion-mnist"


class _PlaceFailed(Exception):
    """Why one place did not yield the split (internal, becomes a line of
    the final DatasetError)."""


def _default_places() -> list[tuple[str, Path | None]]:
    """Places 2-4, read at call time so the env var and cwd are current."""
    env = os.environ.get(ENV_VAR)
    try:
        cwd = Path.cwd()
    except OSError:  # the current folder was deleted under us
        cwd = Path(".")
    return [
        (f"environment variable {ENV_VAR}", Path(env) if env else None),
        ("Debian package folder", DEBIAN_DIR),
        ("torchvision folder", cwd / "FashionMNIST" / "raw"),
        ("torchvision folder", cwd / "data" / "FashionMNIST" / "raw"),
    ]


def _load_pair(
    folder: Path, names: tuple[str, str], checksums: Mapping[str, str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """The split's (images, labels) as read-only uint8 from ``folder``, or
    _PlaceFailed saying why not."""
    if not folder.is_dir():
        raise _PlaceFailed("missing (no such folder)")
    images, images_file = _load_one(folder, names[0], IMAGES_MAGIC, checksums)
    labels, labels_file = _load_one(folder, names[1], LABELS_MAGIC, checksums)
    if labels.size and labels.max() >= NUM_CLASSES:
        raise _PlaceFailed(
            f"corrupt: {labels_file}: label {int(labels.max())}, expected 0..{NUM_CLASSES - 1}"
        )
    if len(images) != len(labels):
        raise _PlaceFailed(
            f"corrupt: {images_file} holds {len(images)} images but {labels_file} "
            f"holds {len(labels)} labels"
        )
    return images, labels


def _load_one(
    folder: Path, name: str, magic: int, checksums: Mapping[str, str] | None
) -> tuple[np.ndarray, Path]:
    """One file, raw or ``.gz`` (raw first: it needs no decompression), and
    the path it came from; the first candidate that validates wins,
    otherwise every candidate's reason."""
    candidates = [p for p in (folder / name, folder / f"{name}.gz") if p.is_file()]
    if not candidates:
        raise _PlaceFailed(f"missing {name} (raw or .gz)")
    problems = []
    for file in candidates:
        try:
            stat = file.stat()
            array, sha256 = _read_idx(str(file.resolve()), stat.st_mtime_ns, stat.st_size, magic)
            _check_content(file, name, sha256, checksums)
            return array, file
        except _PlaceFailed as failure:
            problems.append(str(failure))
    raise _PlaceFailed("; ".join(problems))


def _check_content(file: Path, name: str, sha256: str, checksums: Mapping[str, str] | None):
    if checksums is None:
        return
    expected = checksums.get(name)
    if expected is None:
        raise _PlaceFailed(f"corrupt: {file}: no expected SHA-256 for {name} in checksums")
    if sha256 != expected.lower():
        raise _PlaceFailed(
            f"corrupt: {file}: checksum mismatch, content SHA-256 {sha256}, expected {expected}"
        )


# Keyed by (resolved path, mtime, size): a rewritten file is read again. The
# arrays are read-only so a bug cannot corrupt the cache; callers get copies.
@functools.lru_cache(maxsize=8)
def _read_idx(file: str, mtime_ns: int, size: int, magic: int) -> tuple[np.ndarray, str]:
    """Validated IDX content of ``file`` as read-only uint8 (images
    ``(N, 28, 28)`` or labels ``(N,)``) and the SHA-256 of the decompressed
    bytes."""
    try:
        with open(file, "rb") as f:
            data = f.read()
    except OSError as e:
        raise _PlaceFailed(f"unreadable: {file}: {e.strerror or e}") from None
    if file.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as e:
            raise _PlaceFailed(f"corrupt: {file}: truncated or corrupt gzip ({e})") from None

    what = "images" if magic == IMAGES_MAGIC else "labels"
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise _PlaceFailed(
            f"corrupt: {file}: {len(data)} bytes, too short for an IDX {what} header "
            f"({header} bytes)"
        )
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise _PlaceFailed(
            f"corrupt: {file}: wrong magic 0x{found:08x}, expected 0x{magic:08x} for {what}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, 4))
    if dims[1:] != (28,) * (ndim - 1):
        raise _PlaceFailed(f"corrupt: {file}: wrong dims {dims}, expected (N, 28, 28) for {what}")
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        kind = "truncated" if len(data) < expected else "padded"
        raise _PlaceFailed(
            f"corrupt: {file}: {kind}, expected {expected} bytes for dims {dims}, found {len(data)}"
        )
    array = np.frombuffer(data, np.uint8, offset=header).reshape(dims)
    array.flags.writeable = False  # the bytes object is immutable anyway; make it explicit
    return array, hashlib.sha256(data).hexdigest()


def _to_float(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fresh arrays: float32 images = uint8 / 255 (one vectorised, correctly
    rounded division) and int64 labels."""
    return np.divide(images, np.float32(255), dtype=np.float32), labels.astype(np.int64)


def _download_missing(
    cache: Path,
    names: tuple[str, str],
    mirrors: tuple[str, ...],
    checksums: Mapping[str, str] | None,
) -> None:
    """Fetch each of ``names`` not yet in ``cache`` as ``name.gz``, trying
    the mirrors in turn; a file lands in ``cache`` only after its MD5 matched
    (so a cached file was verified and is never fetched again)."""
    for name in names:
        gz_name = f"{name}.gz"
        if (cache / name).is_file() or (cache / gz_name).is_file():
            continue
        md5 = (checksums or {}).get(gz_name)
        if md5 is None:
            raise _PlaceFailed(f"download refused: no MD5 for {gz_name} to verify it against")
        if not mirrors:
            raise _PlaceFailed(f"missing {gz_name}; download failed: no mirrors given")
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _PlaceFailed(f"cannot create cache folder: {e.strerror or e}") from None
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + gz_name
            try:
                _fetch_verified(url, cache / gz_name, md5)
                break
            except _PlaceFailed as failure:
                failures.append(f"{url}: {failure}")
        else:
            raise _PlaceFailed(f"missing {gz_name}; download failed: " + "; ".join(failures))


def _fetch_verified(url: str, target: Path, md5: str) -> None:
    """Stream ``url`` into a temporary file beside ``target``; rename it to
    ``target`` only if its MD5 is ``md5``."""
    import http.client  # lazily: importing dlcourse.data must stay cheap
    import tempfile
    import urllib.error
    import urllib.request

    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as e:
        raise _PlaceFailed(f"cannot write to cache folder: {e.strerror or e}") from None
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response,
        ):
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5.lower():
            raise _PlaceFailed(f"rejected, MD5 {digest.hexdigest()}, expected {md5}")
        os.replace(tmp, target)
    except urllib.error.HTTPError as e:
        raise _PlaceFailed(f"HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise _PlaceFailed(str(e.reason)) from None
    except (OSError, http.client.HTTPException, ValueError) as e:
        raise _PlaceFailed(str(e) or type(e).__name__) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
