"""The GIF encoder and the command line's GIF options, without Qt: frames are PIL images or arrays."""

import io

import numpy as np
import pytest
from PIL import Image

from rnnviz.io import gif as G


def _p_image(index: np.ndarray, palette: bytes) -> Image.Image:
    image = Image.frombytes("P", (index.shape[1], index.shape[0]), np.ascontiguousarray(index).tobytes())
    image.putpalette(palette)
    return image


def test_gif_stream_round_trips_every_frame():
    """Frames come back exactly, including unchanged frames, tiny changes and index 255."""
    import io

    rng = np.random.default_rng(0)
    palette = bytes(rng.integers(0, 256, 768, dtype=np.uint8))
    lut = np.frombuffer(palette, np.uint8).reshape(256, 3)
    a = rng.integers(0, 255, (40, 60)).astype(np.uint8)
    b = a.copy()
    b[10:12, 20:25] = 7
    c = b.copy()
    c[39, 59] = 255  # uses the index GifStream would make transparent
    d = rng.integers(0, 256, (40, 60)).astype(np.uint8)
    frames = [a, a.copy(), b, c, c.copy(), d, a]
    buf = io.BytesIO()
    gif = G.GifStream(buf, (60, 40), palette, 70)
    for f in frames:
        gif.add(_p_image(f, palette))
    gif.close()
    assert gif.frames == len(frames)
    with pytest.raises(ValueError):
        gif.add(_p_image(np.zeros((5, 5), np.uint8), palette))
    buf.seek(0)
    with Image.open(buf) as im:
        assert im.n_frames == len(frames) and im.info["loop"] == 0
        for k, f in enumerate(frames):
            im.seek(k)
            assert im.info["duration"] == 70
            np.testing.assert_array_equal(np.asarray(im.convert("RGB")), lut[f], err_msg=f"frame {k}")


def test_gif_image_block_carries_its_own_colours_when_they_differ():
    import io

    rng = np.random.default_rng(1)
    own = bytes(rng.integers(0, 256, 768, dtype=np.uint8))
    other = bytes(rng.integers(0, 256, 768, dtype=np.uint8))
    index = rng.integers(0, 256, (8, 9)).astype(np.uint8)
    block = G._gif_image_block(_p_image(index, own), 0, 0, other)
    head = b"GIF89a" + bytes([9, 0, 8, 0, 0xF7, 0, 0]) + other
    with Image.open(io.BytesIO(head + block + b";")) as im:
        want = np.frombuffer(own, np.uint8).reshape(256, 3)[index]
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), want)


# ---------------------------------------------------------------------- command line helpers
def test_gif_path_problem(tmp_path):
    assert G.gif_path_problem(str(tmp_path / "a.gif")) is None
    assert "must be a .gif" in G.gif_path_problem(str(tmp_path / "a.png"))
    assert "does not exist" in G.gif_path_problem(str(tmp_path / "nope" / "a.gif"))


def test_parse_step_range():
    import argparse

    assert G.parse_step_range("1:30") == (1, 30)
    assert G.parse_step_range("5-9") == (5, 9)
    for bad in ("0:3", "9:5", "a:b", "7"):
        with pytest.raises(argparse.ArgumentTypeError):
            G.parse_step_range(bad)


def test_gif_timing_and_default_range():
    assert G.gif_duration_ms(4.0) == 250 and G.gif_duration_ms(30.0) == 30 and G.gif_duration_ms(1e9) == 10
    assert G.default_step_range(1000) == (1, G.DEFAULT_MAX_FRAMES) and G.default_step_range(5) == (1, 5)


def test_gif_stream_takes_index_arrays():
    rng = np.random.default_rng(2)
    palette = bytes(rng.integers(0, 256, 768, dtype=np.uint8))
    lut = np.frombuffer(palette, np.uint8).reshape(256, 3)
    frames = [rng.integers(0, 255, (6, 7)).astype(np.uint8) for _ in range(3)]
    buf = io.BytesIO()
    gif = G.GifStream(buf, (7, 6), palette, 100)
    for f in frames:
        gif.add(f)
    with pytest.raises(ValueError):
        gif.add(np.zeros((7, 6), np.uint8))  # width and height swapped
    gif.close()
    buf.seek(0)
    with Image.open(buf) as im:
        for k, f in enumerate(frames):
            im.seek(k)
            np.testing.assert_array_equal(np.asarray(im.convert("RGB")), lut[f])


def _frames(n=5, h=12, w=16):
    """RGB frames as arrays: a bar that grows one column per step over a two-colour background."""
    out = []
    for t in range(n):
        a = np.zeros((h, w, 3), np.uint8)
        a[:, :, 2] = 200
        a[2:6, : t + 1] = (230, 120, 10)
        out.append(a)
    return out


def test_write_gif_from_arrays_one_frame_per_step(tmp_path):
    frames = _frames()
    asked = []

    def frame(t):
        asked.append(t)
        return frames[t] if t % 2 else Image.fromarray(frames[t])  # arrays and PIL images alike

    done = []
    path = str(tmp_path / "a.gif")
    assert G.write_gif(path, frame, list(range(5)), 250, report=lambda k: done.append(k)) is True
    assert asked[:2] == [4, 0] and sorted(asked[2:]) == [1, 2, 3, 4]  # palette from last and first
    assert done == [0, 1, 2, 3, 4, 5]
    with Image.open(path) as im:
        assert im.n_frames == 5 and im.size == (16, 12)
        for t in range(5):
            im.seek(t)
            assert im.info["duration"] == 250
            np.testing.assert_array_equal(np.asarray(im.convert("RGB")), frames[t])


def test_write_gif_cancelled_leaves_the_old_file(tmp_path):
    path = tmp_path / "a.gif"
    path.write_bytes(b"old")
    frames = _frames()
    assert G.write_gif(str(path), frames.__getitem__, list(range(5)), 100, report=lambda k: k < 2) is False
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.gif"]
    with pytest.raises(ValueError, match="uint8"):
        G.write_gif(str(tmp_path / "b.gif"), lambda t: np.zeros((4, 4)), [0], 100)
    assert [p.name for p in tmp_path.iterdir()] == ["a.gif"]
