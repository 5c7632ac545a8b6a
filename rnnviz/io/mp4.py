"""MP4 (H.264) videos written one frame at a time, and the command line's MP4 checks. No Qt here.

Presentation software plays MP4 and handles large GIFs badly, so the stepping animation can
also be a video. Frames are (H, W, 3) uint8 RGB arrays (the window side renders them); they
are encoded as they come (:class:`Mp4Stream`), so memory stays flat however long the sequence:
x264 keeps a short look-ahead of :data:`LOOKAHEAD` frames, nothing more.

What every player needs: H.264 in yuv420p (4:2:0 chroma; other layouts play in few players),
even width and height (frames of odd size are padded by repeating their last row or column,
never scaled), BT.709 colours tagged as such, and the index at the front of the file
(``faststart``) so a slide can start playing before the whole file is read. Encoding goes
through PyAV, whose wheels ship FFmpeg's libraries with libx264.
"""

from __future__ import annotations

import errno
import math
import os
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np

from .atomic import Cancelled, atomic_write

__all__ = [
    "DEFAULT_FPS", "MAX_SIDE", "Mp4Stream", "even_size", "frame_rate", "h264_encoder", "mp4_path_problem",
    "write_mp4",
]

#: Frames per second when none is given: one step per frame at the app's default speed, 4 steps/s
#: (the GIF's 250 ms a step).
DEFAULT_FPS = 4.0
#: Largest width or height of a video, in pixels: what H.264 hardware decoders (level 5.1) play.
MAX_SIDE = 4096
#: Frames x264 looks ahead (its default is 40): memory stays below ~10 frames however long the video.
LOOKAHEAD = 10
#: Constant-quality factor of x264 (lower is better; 18 keeps the small text of the plots sharp).
CRF = 18
#: H.264 encoders in the order they are tried (libx264 is the one PyAV's wheels ship).
ENCODERS = ("libx264", "libopenh264")

_BT709 = 1  # AVCOL_SPC/PRI/TRC_BT709
_LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG: 16–235, what players assume


def frame_rate(speed: float) -> Fraction:
    """Frames per second for ``speed`` steps/s (one frame per step), as an exact fraction."""
    speed = float(speed)
    if not (math.isfinite(speed) and speed > 0):
        raise ValueError(f"the frame rate must be a positive number, not {speed}")
    return Fraction(speed).limit_denominator(1000) or Fraction(1, 1000)


def even_size(width: int, height: int) -> tuple[int, int]:
    """The video size a frame of ``width`` × ``height`` gets: rounded up to even sides."""
    return width + width % 2, height + height % 2


def h264_encoder() -> str:
    """The name of an H.264 encoder the installed PyAV has; OSError (one line) when there is none."""
    try:
        import av
    except ImportError as err:
        raise OSError(errno.ENOSYS, f"MP4 export needs PyAV ({err}); install it with: pip install av") from None
    for name in ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except Exception:  # noqa: BLE001 - PyAV raises its own "unknown codec" error types across versions
            continue
        return name
    raise OSError(errno.ENOSYS, f"PyAV {av.__version__}'s FFmpeg has no H.264 encoder (libx264 or openh264)")


class Mp4Stream:
    """An H.264 MP4 video written one frame at a time to ``target`` (a path or a binary file).

    ``size`` is (width, height) of the frames to come; the video is that size rounded up to
    even sides (see :func:`even_size`). Use it as a context manager, or call :meth:`close`,
    which writes the index; :meth:`abort` closes without finishing (the caller discards the
    file). Raises OSError (one line) when FFmpeg fails.
    """

    def __init__(self, target, size: tuple[int, int], fps: float | Fraction = DEFAULT_FPS):
        import av

        width, height = (int(v) for v in size)
        if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
            raise ValueError(f"a video frame of {width} × {height} px is outside 1…{MAX_SIDE} px a side")
        rate = frame_rate(fps) if not isinstance(fps, Fraction) or fps <= 0 else fps
        encoder = h264_encoder()
        self._av = av
        self._size = (width, height)
        self.width, self.height = even_size(width, height)
        self.rate = rate
        self.frames = 0
        try:
            # the target may be a name without an extension (atomic_write's): name the format
            self._container = av.open(target, "w", format="mp4", options={"movflags": "+faststart"})
        except av.error.FFmpegError as err:
            raise _os_error(err, target) from None
        try:
            stream = self._container.add_stream(encoder, rate=rate)
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
            cc = stream.codec_context
            # a key frame every ~2 s: slides can seek, and mostly still frames stay small
            cc.gop_size = max(1, min(250, round(float(rate) * 2)))
            cc.colorspace = cc.color_primaries = cc.color_trc = _BT709
            cc.color_range = _LIMITED_RANGE
            cc.options = ({"crf": str(CRF), "preset": "medium", "rc-lookahead": str(LOOKAHEAD)}
                          if encoder == "libx264" else {"b": str(8 * self.width * self.height)})
        except BaseException:
            self._container.close()
            raise
        self._stream = stream
        self._target = target

    def add(self, frame) -> None:
        """Append one (height, width, 3) uint8 RGB frame of the stream's ``size``."""
        arr = np.asarray(frame)
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
            raise ValueError(f"a frame must be an (H, W, 3) uint8 RGB array, not {arr.dtype} {arr.shape}")
        if arr.shape[1::-1] != self._size:
            raise ValueError(f"every frame must be {self._size[0]} × {self._size[1]} px like the first, "
                             f"not {arr.shape[1]} × {arr.shape[0]}")
        pad_h, pad_w = self.height - arr.shape[0], self.width - arr.shape[1]
        if pad_h or pad_w:  # H.264's 4:2:0 needs even sides: repeat the edge rather than scale
            arr = np.pad(arr, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        av = self._av
        try:
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
            picture = picture.reformat(format="yuv420p", dst_colorspace="itu709")
            picture.pts = self.frames
            self._mux(self._stream.encode(picture))
        except av.error.FFmpegError as err:
            raise _os_error(err, self._target) from None
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and write the index: the file is complete."""
        av = self._av
        try:
            try:
                self._mux(self._stream.encode(None))
            finally:
                self._container.close()
        except av.error.FFmpegError as err:
            raise _os_error(err, self._target) from None

    def abort(self) -> None:
        """Stop without finishing the file (it is to be discarded)."""
        try:
            self._container.close()
        except Exception:  # noqa: BLE001 - the half-written file is thrown away anyway
            pass

    def _mux(self, packets) -> None:
        for packet in packets:
            self._container.mux(packet)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.close()
        else:
            self.abort()
        return False


def _os_error(err, target) -> OSError:
    """FFmpeg's error as a one-line OSError (atomic_write names the real target in it)."""
    if isinstance(err, OSError) and err.errno:
        return OSError(err.errno, err.strerror or str(err), os.fspath(target) if isinstance(target, (str, os.PathLike)) else None)
    text = " ".join(str(getattr(err, "strerror", None) or err).split())
    return OSError(errno.EIO, f"FFmpeg could not write the video: {text}")


def write_mp4(path: str, frame: Callable[[int], object], steps: Sequence[int], fps: float | Fraction = DEFAULT_FPS,
              report: Callable[[int], object] | None = None) -> bool:
    """Write ``frame(t)`` for every ``t`` in ``steps`` to ``path`` as an H.264 MP4, atomically.

    ``frame(t)`` returns an (H, W, 3) uint8 RGB array; frames are asked for one at a time, in
    order, and encoded at once. ``fps`` frames per second (one frame per step). ``report(done)``
    is called with 0…len(steps); when it returns False the export stops and ``path`` is left as
    it was (no file if there was none). Returns True when the file was written, False when
    cancelled. Raises OSError when it cannot be written, ValueError for a bad frame.
    """
    if not len(steps):
        raise ValueError("a video needs at least one step")
    h264_encoder()  # fail before the first frame is rendered
    if report is None:
        report = lambda done: True  # noqa: E731

    def write(tmp: str) -> None:
        if report(0) is False:
            raise Cancelled
        first = np.asarray(frame(steps[0]))
        if first.ndim != 3:
            raise ValueError(f"a frame must be an (H, W, 3) uint8 RGB array, not {first.dtype} {first.shape}")
        with Mp4Stream(tmp, (first.shape[1], first.shape[0]), fps) as video:
            video.add(first)
            del first
            for k, t in enumerate(steps[1:], start=1):
                if report(k) is False:
                    raise Cancelled
                video.add(frame(t))
            if report(len(steps)) is False:
                raise Cancelled

    try:
        atomic_write(path, write, suffix=".mp4")
        return True
    except Cancelled:
        return False


# ---------------------------------------------------------------------- command line
def mp4_path_problem(path: str) -> str | None:
    """Why ``path`` cannot take an MP4 (one line for the command line), or None."""
    from .limits import output_problem, shown

    problem = output_problem(path, ".mp4", "an .mp4 file")
    if problem:
        return problem
    try:
        h264_encoder()
    except OSError as err:
        return f"{shown(path)}: {err.strerror}"
    return None
