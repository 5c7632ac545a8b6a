"""The MP4 writer and the command line's MP4 checks, without Qt: frames are uint8 RGB arrays,
and every video is decoded back with PyAV."""

import errno
import io
import os
from fractions import Fraction

import av
import numpy as np
import pytest

from rnnviz.io import mp4 as M



def _frames(n: int, width: int = 48, height: int = 32) -> list[np.ndarray]:
    """Like the window's frames: a light background, a few flat coloured boxes, one that moves."""
    out = []
    for k in range(n):
        a = np.full((height, width, 3), 245, np.uint8)
        a[4:14, 4:20] = (200, 40, 40)
        a[18:28, 26:44] = (40, 90, 200)
        x = 2 + 4 * k
        a[:, x : x + 4] = (20, 20, 20)  # the moving cursor
        out.append(a)
    return out


def _decode(path) -> tuple[list[np.ndarray], object]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        info = {"rate": v.average_rate, "codec": v.codec_context.name, "pix_fmt": v.codec_context.pix_fmt,
                "size": (v.codec_context.width, v.codec_context.height)}
        # convert as BT.709, as tagged (older PyAV ignores the tag when converting)
        frames = [f.reformat(format="rgb24", src_colorspace="itu709").to_ndarray() for f in c.decode(v)]
    return frames, info


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def _leftovers(folder):
    return [n for n in os.listdir(folder) if n.startswith(".") or n.endswith(".rnnviz-tmp")]


def test_the_video_decodes_back_frame_for_frame(tmp_path):
    frames = _frames(6)
    path = tmp_path / "a.mp4"
    seen = []
    assert M.write_mp4(str(path), lambda t: frames[t], range(6), fps=8, report=lambda d: seen.append(d) or True)
    assert seen == list(range(7))
    got, info = _decode(path)
    assert len(got) == 6 and info["size"] == (48, 32) and got[0].shape == (32, 48, 3)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p" and info["rate"] == 8
    for k, g in enumerate(got):  # lossy, but close, and closest to its own source frame
        errs = [_mad(g, f) for f in frames]
        assert errs[k] < 5.0 and int(np.argmin(errs)) == k, (k, errs)


def test_odd_sizes_are_padded_not_scaled(tmp_path):
    frames = [f[:31, :47] for f in _frames(3)]
    path = tmp_path / "odd.mp4"
    assert M.write_mp4(str(path), lambda t: frames[t], range(3))
    got, info = _decode(path)
    assert info["size"] == (48, 32) == M.even_size(47, 31) and len(got) == 3
    for g, f in zip(got, frames):
        assert _mad(g[:31, :47], f) < 5.0  # the picture is where it was, at its own scale
        assert _mad(g[31, :47], f[30]) < 6.0 and _mad(g[:31, 47], f[:, 46]) < 6.0  # the edge repeated


def test_the_frame_rate_is_the_step_rate(tmp_path):
    assert M.frame_rate(4.0) == 4 == M.DEFAULT_FPS
    assert M.frame_rate(0.5) == Fraction(1, 2) and M.frame_rate(15) == 15
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            M.frame_rate(bad)
    frames = _frames(3, 16, 16)
    path = tmp_path / "slow.mp4"
    assert M.write_mp4(str(path), lambda t: frames[t], range(3), fps=0.5)
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        times = [float(f.time) for f in c.decode(v)]
    assert times == [0.0, 2.0, 4.0]  # one step every 2 s, the last one shown for 2 s too


def test_the_index_is_at_the_front(tmp_path):
    """``faststart``: a player can start before it has read the whole file."""
    frames = _frames(2, 16, 16)
    path = tmp_path / "f.mp4"
    assert M.write_mp4(str(path), lambda t: frames[t], range(2))
    data = path.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")


def test_cancel_leaves_no_file_and_keeps_an_old_one(tmp_path):
    frames = _frames(5, 16, 16)
    rendered = []

    def frame(t):
        rendered.append(t)
        return frames[t]

    path = tmp_path / "c.mp4"
    assert M.write_mp4(str(path), frame, range(5), report=lambda d: d < 3) is False
    assert not path.exists() and _leftovers(tmp_path) == []
    assert rendered == [0, 1, 2]  # stopped at once, not after rendering everything
    assert M.write_mp4(str(path), frame, range(5), report=lambda d: d == 0) is False
    assert not path.exists()
    path.write_bytes(b"old video")
    assert M.write_mp4(str(path), frame, range(5), report=lambda d: d < 5) is False  # even at the very end
    assert path.read_bytes() == b"old video" and _leftovers(tmp_path) == []


def test_bad_frames_are_refused_and_leave_nothing(tmp_path):
    frames = _frames(3, 16, 16)
    path = tmp_path / "bad.mp4"
    with pytest.raises(ValueError, match="like the first"):
        M.write_mp4(str(path), lambda t: frames[t] if t == 0 else frames[t][:8], range(3))
    with pytest.raises(ValueError, match="uint8"):
        M.write_mp4(str(path), lambda t: frames[t].astype(np.float32), range(3))
    with pytest.raises(ValueError, match="uint8"):
        M.write_mp4(str(path), lambda t: frames[t][..., 0], range(3))
    with pytest.raises(ValueError):
        M.write_mp4(str(path), lambda t: frames[t], [])
    with pytest.raises(ValueError, match="4096"):
        M.Mp4Stream(str(path), (M.MAX_SIDE + 1, 16))
    assert not path.exists() and _leftovers(tmp_path) == []


def test_write_errors_are_one_line_oserrors_naming_the_target(tmp_path):
    frames = _frames(2, 16, 16)
    missing = tmp_path / "no" / "such" / "v.mp4"
    with pytest.raises(OSError) as info:
        M.write_mp4(str(missing), lambda t: frames[t], range(2))
    assert info.value.filename == str(missing)


def test_a_full_disk_is_an_oserror_saying_so():
    class Full(io.BytesIO):
        def write(self, data):
            if self.tell() + len(data) > 2000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(data)

    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    with pytest.raises(OSError) as info:
        with M.Mp4Stream(Full(), (64, 64)) as video:
            for k in range(10):
                video.add(np.roll(noise, k, axis=1))
    assert info.value.errno == errno.ENOSPC


def test_mp4_stream_as_a_context_manager(tmp_path):
    path = tmp_path / "s.mp4"
    frames = _frames(4, 20, 12)
    with M.Mp4Stream(str(path), (20, 12), fps=Fraction(5, 2)) as video:
        for f in frames:
            video.add(f)
    assert video.frames == 4 and (video.width, video.height) == (20, 12)
    got, info = _decode(path)
    assert len(got) == 4 and info["rate"] == Fraction(5, 2)


def test_there_is_an_h264_encoder():
    assert M.h264_encoder() in M.ENCODERS


def test_mp4_path_problem(tmp_path):
    assert M.mp4_path_problem(str(tmp_path / "a.mp4")) is None
    assert M.mp4_path_problem(str(tmp_path / "A.MP4")) is None
    assert "must be an .mp4" in M.mp4_path_problem(str(tmp_path / "a.gif"))
    assert "does not exist" in M.mp4_path_problem(str(tmp_path / "nope" / "a.mp4"))
