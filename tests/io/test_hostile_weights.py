"""Hostile weights files (issue 11): nothing outside the file is read, nothing hangs, and no
declared size is allocated before it is checked. Each file is small and made here.

Memory is checked in a subprocess whose address space may grow by 1 GiB at most
(``hostile_files.load_limited``): a reader that trusts a declared size fails there.
"""

from __future__ import annotations

import io
import os
import signal
import struct
import time
import zipfile
from contextlib import contextmanager

import h5py
import numpy as np
import pytest

from hostile_files import (
    GiB, MiB, deflate_bomb, deflated, gru_vars, keras_config, keras_weights, load_limited, npy_header,
    raw_zip, stored,
)
from rnnviz.engine import Cell, InputError, Stack, init_cell
from rnnviz.io import load_weights
from rnnviz.io import limits

SECRET = b"root:x:0:0:SECRET-PASSWORD-LINE:/root:/bin/bash\n" * 4


@contextmanager
def deadline(seconds=5):
    """Fail (instead of hanging the suite) if the block takes more than ``seconds`` of CPU time,
    or ten times that on the clock (a machine shared with other runs is slow, not hung)."""
    def ring(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGPROF, ring), signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    signal.alarm(10 * seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.alarm(0)
        signal.signal(signal.SIGPROF, old[0])
        signal.signal(signal.SIGALRM, old[1])


def refused(path, needle=None) -> str:
    with deadline():
        with pytest.raises(InputError) as info:
            load_weights(path)
    text = str(info.value)
    assert len(text.splitlines()) == 1, text
    assert SECRET[:20].decode() not in text
    if needle:
        assert needle in text, text
    return text


def keras_archive(path, weights: bytes, config: bytes | None = None):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", config or keras_config())
        z.writestr("model.weights.h5", weights)
    return path


def h5_bytes(layers, edit=None) -> bytes:
    buf = io.BytesIO()
    keras_weights(buf, layers, edit)
    return buf.getvalue()


# ------------------------------------------------------------------------------ HDF5: only inside the file
def _external_storage(secret):
    def edit(f):
        g = f["layers/gru/cell/vars"]
        del g["1"]
        g.create_dataset("1", shape=(3, 9), dtype="<f4", external=[(str(secret), 0, 3 * 9 * 4)])
    return edit


def _external_link(other):
    def edit(f):
        g = f["layers/gru/cell/vars"]
        del g["1"]
        g["1"] = h5py.ExternalLink(str(other), "/data")
    return edit


def _soft_link(f):
    g = f["layers/gru/cell/vars"]
    del g["1"]
    g["1"] = h5py.SoftLink("/layers/gru/cell/vars/0")


def _virtual(other):
    def edit(f):
        g = f["layers/gru/cell/vars"]
        del g["1"]
        layout = h5py.VirtualLayout(shape=(3, 9), dtype="<f4")
        layout[:] = h5py.VirtualSource(str(other), "/data", shape=(3, 9))
        g.create_virtual_dataset("1", layout)
    return edit


def _plugin_filter(f):
    g = f["layers/gru/cell/vars"]
    del g["1"]
    ds = g.create_dataset("1", shape=(3, 9), dtype="<f4", chunks=(3, 9), compression=32015,
                          allow_unknown_filter=True)
    ds.id.write_direct_chunk((0, 0), b"\0" * 108)


def _external_layers_group(other):
    def edit(f):
        del f["layers"]
        f["layers"] = h5py.ExternalLink(str(other), "/layers")
    return edit


@pytest.fixture
def elsewhere(tmp_path):
    """A secret next to the weights, and another HDF5 file holding a good-looking matrix."""
    secret = tmp_path / "passwd"
    secret.write_bytes(SECRET)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("data", data=np.frombuffer(SECRET[:108], "<f4").reshape(3, 9))
    with h5py.File(tmp_path / "other_layers.h5", "w") as f:
        keras_weights(f, [("gru", gru_vars())])
    return secret, other, tmp_path / "other_layers.h5"


CASES = {
    "external storage": (lambda s, o, ol: _external_storage(s), "external file"),
    "external link": (lambda s, o, ol: _external_link(o), "external link"),
    "soft link": (lambda s, o, ol: _soft_link, "soft link"),
    "virtual dataset": (lambda s, o, ol: _virtual(o), "virtual dataset"),
    "plugin filter": (lambda s, o, ol: _plugin_filter, "filter 32015"),
    "external layers group": (lambda s, o, ol: _external_layers_group(ol), "external link"),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("container", [".weights.h5", ".keras", "folder.keras"])
def test_hdf5_never_reads_outside_the_file(tmp_path, elsewhere, case, container):
    make, needle = CASES[case]
    blob = h5_bytes([("gru", gru_vars())], make(*elsewhere))
    if container == ".weights.h5":
        path = tmp_path / "evil.weights.h5"
        path.write_bytes(blob)
    elif container == ".keras":
        path = keras_archive(tmp_path / "evil.keras", blob)
    else:
        path = tmp_path / "evil.keras"
        path.mkdir()
        (path / "config.json").write_bytes(keras_config())
        (path / "model.weights.h5").write_bytes(blob)
    refused(path, needle)


def test_hdf5_external_storage_on_a_fifo_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    path = tmp_path / "fifo.weights.h5"
    path.write_bytes(h5_bytes([("gru", gru_vars())], _external_storage(fifo)))
    refused(path, "external file")


def test_good_hdf5_still_loads(tmp_path):
    path = tmp_path / "good.weights.h5"
    path.write_bytes(h5_bytes([("gru", gru_vars())]))
    assert isinstance(load_weights(path), Cell)
    assert isinstance(load_weights(keras_archive(tmp_path / "good.keras", path.read_bytes())), Cell)


# ------------------------------------------------------------------------------ FIFOs and other non-files
@pytest.mark.parametrize("suffix", [".npz", ".safetensors", ".pt", ".keras", ".weights.h5"])
def test_a_fifo_is_refused_without_blocking(tmp_path, suffix):
    os.mkfifo(tmp_path / f"pipe{suffix}")
    refused(tmp_path / f"pipe{suffix}", "FIFO")


def test_a_device_is_refused(tmp_path):
    os.symlink("/dev/zero", tmp_path / "zero.npz")
    refused(tmp_path / "zero.npz", "a device")


def test_keras_folder_with_a_fifo_inside(tmp_path):
    folder = tmp_path / "f.keras"
    folder.mkdir()
    os.mkfifo(folder / "config.json")
    (folder / "model.weights.h5").write_bytes(h5_bytes([("gru", gru_vars())]))
    refused(folder, "FIFO")


# ------------------------------------------------------------------------------ declared sizes
def _sparse_h5(path, H, compression=None):
    """A bare GRU whose recurrent kernel declares (H, 3H) float32 and stores no chunk at all."""
    with h5py.File(path, "w") as f:
        g = f.create_group("layers/gru/cell/vars")
        g.create_dataset("0", shape=(2, 3 * H), dtype="<f4", chunks=(2, 64), compression=compression)
        g.create_dataset("1", shape=(H, 3 * H), dtype="<f4", chunks=(64, 64), compression=compression)
        g.create_dataset("2", shape=(2, 3 * H), dtype="<f4", chunks=(2, 64), compression=compression)
    return path


def _npz_bomb(path, H):
    """An .npz whose weight_hh_l0 is (H, H) float64 of zeros, deflated to almost nothing."""
    shape = (H, H)
    header = npy_header(shape)
    data, crc = deflate_bomb(header, 0, len(header) + H * H * 8)
    ih = npy_header((H, 1)) + bytes(H * 8)
    raw_zip(path, [("weight_hh_l0.npy", data, crc, len(header) + H * H * 8, 8), deflated("weight_ih_l0.npy", ih)])
    return path


def _keras_bomb(path, member, size, fill=0):
    prefix = b"\x89HDF\r\n\x1a\n" if member == "model.weights.h5" else b"{"
    data, crc = deflate_bomb(prefix, fill, size)
    other = deflated("config.json", keras_config()) if member != "config.json" else \
        deflated("model.weights.h5", h5_bytes([("gru", gru_vars())]))
    raw_zip(path, [other, (member, data, crc, size, 8)])
    return path


def _keras_liar(path):
    """model.weights.h5 says 2 KiB in the directory and inflates to 1 GiB."""
    data, crc = deflate_bomb(b"\x89HDF\r\n\x1a\n", 0, GiB)
    raw_zip(path, [deflated("config.json", keras_config()), ("model.weights.h5", data, crc, 2048, 8)])
    return path


def _safetensors_header(path, n):
    path.write_bytes(struct.pack("<Q", n) + b"{" + b" " * 64)
    return path


def _safetensors_huge_shape(path):
    header = b'{"weight_hh_l0":{"dtype":"F32","shape":[60000,20000],"data_offsets":[0,4800000000]}}'
    header += b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(64))
    return path


def _sparse_folder(path):
    """An unzipped .keras whose model.weights.h5 is a good 4 GiB sparse file."""
    path.mkdir()
    (path / "config.json").write_bytes(keras_config())
    weights = path / "model.weights.h5"
    weights.write_bytes(h5_bytes([("gru", gru_vars())]))
    os.truncate(weights, 4 * GiB)
    return path


def test_declared_sizes_are_checked_before_allocating(tmp_path):
    files = {
        "sparse-h5": (_sparse_h5(tmp_path / "sparse.weights.h5", 11585), "H = 11585"),
        "gzip-h5": (_sparse_h5(tmp_path / "gzip.weights.h5", 8000, "gzip"), "H = 8000"),
        "npz-bomb": (_npz_bomb(tmp_path / "bomb.npz", 11585), "H = 11585"),
        "keras-weights-bomb": (_keras_bomb(tmp_path / "w.keras", "model.weights.h5", GiB), "256 MiB"),
        "keras-config-bomb": (_keras_bomb(tmp_path / "c.keras", "config.json", GiB, fill=0x20), "4 MiB"),
        "keras-liar": (_keras_liar(tmp_path / "liar.keras"), ""),
        "safetensors-header": (_safetensors_header(tmp_path / "h.safetensors", 3 * GiB), "header"),
        "safetensors-shape": (_safetensors_huge_shape(tmp_path / "s.safetensors"), ""),
        "sparse-folder": (_sparse_folder(tmp_path / "sparse.keras"), None),
    }
    results = load_limited([("weights", p) for p, _ in files.values()])
    for name, (path, needle) in files.items():
        result = results[os.fspath(path)]
        outcome, message, seconds = result
        if needle is None:
            assert outcome == "loaded", (name, message)
        else:
            assert outcome == "refused", (name, outcome, message)
            assert needle in message, (name, message)
        assert seconds < 2, (name, seconds)
        assert result.grew < 64 * MiB, (name, result.grew)


def test_a_stride_0_pt_is_refused_before_it_is_materialised(tmp_path):
    torch = pytest.importorskip("torch")
    H = 20000
    state = {"weight_ih_l0": torch.zeros(1).expand(4 * H, 3), "weight_hh_l0": torch.zeros(1).expand(4 * H, H)}
    torch.save(state, tmp_path / "stride0.pt")
    good = tmp_path / "good.pt"
    cell = init_cell("gru", 3, 4, seed=0)
    torch.save({f"{name}_l0": torch.tensor(np.array(getattr(cell, attr)))
                for name, attr in (("weight_ih", "W_ih"), ("weight_hh", "W_hh"), ("bias_ih", "b_ih"),
                                   ("bias_hh", "b_hh"))}, good)
    results = load_limited([("weights", tmp_path / "stride0.pt"), ("weights", good)])
    result = results[os.fspath(tmp_path / "stride0.pt")]
    outcome, message, seconds = result
    assert outcome == "refused" and "rnnviz reads at most" in message, message
    assert seconds < 2 and result.grew < 64 * MiB, (seconds, result.grew)
    assert results[os.fspath(good)][0] == "loaded", results[os.fspath(good)]


def test_a_legacy_or_pickled_pt_is_refused(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "legacy.pt").write_bytes(b"\x80\x02\x8a\x0alz\xfc\x9cF\xf9 j\xa8P\x19.")
    refused(tmp_path / "legacy.pt", "zip format")


def test_too_many_zip_members(tmp_path):
    members = [stored(f"m{k}.npy", b"") for k in range(limits.MAX_MEMBERS + 1)]
    raw_zip(tmp_path / "many.npz", members)
    refused(tmp_path / "many.npz", f"at most {limits.MAX_MEMBERS}")


def test_too_many_layers(tmp_path):
    state = {}
    for k in range(limits.MAX_LAYERS + 1):
        state[f"weight_ih_l{k}"] = np.ones((2, 2))
        state[f"weight_hh_l{k}"] = np.ones((2, 2))
    np.savez(tmp_path / "deep.npz", **state)
    refused(tmp_path / "deep.npz", f"at most {limits.MAX_LAYERS}")


def test_the_total_read_from_one_file_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TOTAL_BYTES", 500)
    np.savez(tmp_path / "w.npz", **{"weight_ih_l0": np.ones((12, 3)), "weight_hh_l0": np.ones((12, 4))})
    refused(tmp_path / "w.npz", "at most 500 bytes are read from one file")


# ------------------------------------------------------------------------------ the layer-order search
def _unstackable(path, n):
    """``n`` layers named so that each is its own class, none of which stacks on another."""
    layers = [(f"layer{chr(97 + k)}", [np.ones((3, 4)), np.ones((4, 4)), np.ones(4)]) for k in range(n)]
    with h5py.File(path, "w") as f:
        for name, values in layers:
            g = f.create_group(f"layers/{name}/cell/vars")
            for i, v in enumerate(values):
                g.create_dataset(str(i), data=v.astype(np.float32), chunks=True)  # chunked: no offsets
    return path


def _almost_stackable(path, n):
    """``n - 1`` layers 4 → 4 that stack in every order, and one 7 → 9 that fits none."""
    layers = [(f"layer{chr(97 + k)}", [np.ones((4, 4)), np.ones((4, 4)), np.ones(4)]) for k in range(n - 1)]
    layers.append(("odd", [np.ones((7, 9)), np.ones((9, 9)), np.ones(9)]))
    with h5py.File(path, "w") as f:
        for name, values in layers:
            g = f.create_group(f"layers/{name}/cell/vars")
            for i, v in enumerate(values):
                g.create_dataset(str(i), data=v.astype(np.float32), chunks=True)
    return path


def _every_order(path, n):
    """``n`` layers 4 → 4: every order fits, so the file cannot say which it is."""
    layers = [(f"layer{chr(97 + k)}", [np.ones((4, 4)), np.ones((4, 4)), np.ones(4)]) for k in range(n)]
    with h5py.File(path, "w") as f:
        for name, values in layers:
            g = f.create_group(f"layers/{name}/cell/vars")
            for i, v in enumerate(values):
                g.create_dataset(str(i), data=v.astype(np.float32), chunks=True)
    return path


@pytest.mark.parametrize("n", [12, 20])
def test_layer_order_search_is_quick(tmp_path, n):
    for make, needle in ((_unstackable, "do not stack"), (_almost_stackable, "do not stack"),
                         (_every_order, "several orders")):
        path = make(tmp_path / f"{make.__name__}{n}.weights.h5", n)
        t = time.thread_time()  # CPU time, so a loaded machine does not fail it
        refused(path, needle)
        assert time.thread_time() - t < 2


def test_layer_order_search_gives_up_with_a_message(tmp_path, monkeypatch):
    from rnnviz.io.weights import keras

    monkeypatch.setattr(keras, "_ORDER_STEPS", 5)
    # Two classes 4 → 4 and 4 → 4 plus widths that only a search can rule out.
    layers = [("a", [np.ones((4, 4)), np.ones((4, 4)), np.ones(4)]),
              ("b", [np.ones((4, 5)), np.ones((5, 5)), np.ones(5)]),
              ("c", [np.ones((5, 4)), np.ones((4, 4)), np.ones(4)]),
              ("d", [np.ones((4, 4)), np.ones((4, 4)), np.ones(4)])]
    with h5py.File(tmp_path / "s.weights.h5", "w") as f:
        for name, values in layers:
            g = f.create_group(f"layers/{name}/cell/vars")
            for i, v in enumerate(values):
                g.create_dataset(str(i), data=v.astype(np.float32), chunks=True)
    refused(tmp_path / "s.weights.h5", "too many orders")


def test_a_unique_order_is_still_found(tmp_path):
    widths = [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8), (8, 9), (9, 10), (10, 11), (11, 12), (12, 13)]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(widths))
    with h5py.File(tmp_path / "u.weights.h5", "w") as f:
        for k in order:  # written out of model order, chunked: only the widths can tell
            D, H = widths[k]
            g = f.create_group(f"layers/layer{chr(97 + int(k))}/cell/vars")
            for i, v in enumerate([rng.normal(size=(D, H)), rng.normal(size=(H, H)), rng.normal(size=H)]):
                g.create_dataset(str(i), data=v.astype(np.float32), chunks=True)
    s = load_weights(tmp_path / "u.weights.h5")
    assert isinstance(s, Stack) and [c.hidden_size for c in s.layers] == [h for _, h in widths]


# ------------------------------------------------------------------------------ names in messages
@pytest.mark.parametrize("name", [b"new\nline.npz", b"latin-\xe9\xff.npz", b"tab\there.safetensors"])
def test_file_names_are_printable_on_one_line(tmp_path, name):
    path = os.path.join(os.fsencode(tmp_path), name)
    with open(path, "wb") as fh:
        fh.write(b"not a weights file at all")
    for p in (path, os.fsdecode(path)):
        with pytest.raises(InputError) as info:
            load_weights(p)
        text = str(info.value)
        assert len(text.splitlines()) == 1 and text.isprintable(), repr(text)
        assert "\\" in text
