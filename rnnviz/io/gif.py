"""Animated GIFs written one frame at a time, and the command line's GIF options. No Qt here.

Frames are RGB images, as PIL images or (H, W, 3) uint8 arrays; the window side renders them
(and converts its QImages). :func:`write_gif` quantises every frame to one shared palette and
streams it through :class:`GifStream`, so memory stays flat however long the sequence.
"""

from __future__ import annotations

import io
import re
import struct
from typing import Callable, Sequence

import numpy as np

from .atomic import Cancelled, atomic_write

__all__ = [
    "DEFAULT_MAX_FRAMES", "GifStream", "default_step_range", "gif_duration_ms", "gif_path_problem",
    "parse_step_range", "write_gif",
]

#: Without an explicit step range a GIF holds at most this many steps (the first ones).
DEFAULT_MAX_FRAMES = 300


def gif_duration_ms(speed: float) -> int:
    """Frame time at ``speed`` steps/s, in the 10 ms units a GIF stores."""
    return max(10, int(round(100.0 / max(speed, 1e-6))) * 10)


def default_step_range(T: int) -> tuple[int, int]:
    """1-based inclusive steps a GIF shows when none are chosen."""
    return 1, min(T, DEFAULT_MAX_FRAMES)


def write_gif(path: str, frame: Callable[[int], object], steps: Sequence[int], duration_ms: int,
              report: Callable[[int], object] | None = None) -> bool:
    """Write ``frame(t)`` for every ``t`` in ``steps`` to ``path`` as an animated GIF, atomically.

    ``frame(t)`` returns an RGB image (PIL, or a (H, W, 3) uint8 array); frames are asked for one
    at a time, after the last and the first, which give the palette. ``report(done)`` is called
    with 0…len(steps); when it returns False the export stops and ``path`` is left as it was.
    Returns True when the file was written, False when cancelled.
    """
    from PIL import Image

    if report is None:
        report = lambda done: True  # noqa: E731
    try:
        # One palette for every frame: taken from the last step (most colours revealed) and the
        # first, so colours do not flicker from frame to frame.
        sample_last, sample_first = rgb_image(frame(steps[-1])), rgb_image(frame(steps[0]))
        both = Image.new("RGB", (sample_last.width, sample_last.height * 2))
        both.paste(sample_last, (0, 0))
        both.paste(sample_first, (0, sample_last.height))
        palette = both.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        del both, sample_last

        def to_p(img):
            return rgb_image(img).quantize(palette=palette, dither=Image.Dither.NONE)

        if report(0) is False:
            raise Cancelled
        first_frame = to_p(sample_first)
        del sample_first

        def write(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                gif = GifStream(fh, first_frame.size, bytes(palette.getpalette()), duration_ms)
                gif.add(first_frame)
                for k, t in enumerate(steps[1:], start=1):
                    if report(k) is False:
                        raise Cancelled
                    gif.add(to_p(frame(t)))
                if report(len(steps)) is False:
                    raise Cancelled
                gif.close()

        atomic_write(path, write, suffix=".gif")
        return True
    except Cancelled:
        return False


def rgb_image(frame):
    """``frame`` as an RGB PIL image: a PIL image (converted when needed) or an (H, W, 3) uint8 array."""
    from PIL import Image

    if isinstance(frame, Image.Image):
        return frame if frame.mode == "RGB" else frame.convert("RGB")
    arr = np.asarray(frame)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"a frame must be an RGB image or an (H, W, 3) uint8 array, not {arr.dtype} {arr.shape}")
    return Image.fromarray(np.ascontiguousarray(arr), "RGB")


#: Palette index a GIF frame uses for "unchanged since the previous frame" (frames use 0…254).
TRANSPARENT = 255


class GifStream:
    """An animated GIF written one frame at a time, so memory stays flat however many steps.

    (Pillow's ``save_all`` keeps every frame in memory until the end: about 1 MB a frame at
    1200 px.) Every frame uses one global palette; each is stored as the rectangle that changed
    since the previous frame and is left in place for the next (disposal 1). Pillow encodes
    each rectangle (a one-frame GIF whose image block is copied), so no LZW code lives here.
    """

    def __init__(self, fh, size: tuple[int, int], palette: bytes, duration_ms: int, loop: int = 0):
        self._fh = fh
        self._palette = bytes(palette[:768]).ljust(768, b"\0")
        self._delay = max(1, int(round(duration_ms / 10)))  # GIF delays are in 1/100 s
        self._size = size
        self._previous: np.ndarray | None = None
        self.frames = 0
        w, h = size
        # logical screen: global table of 256 colours (0xF7), background 0, square pixels
        fh.write(b"GIF89a" + struct.pack("<HHBBB", w, h, 0xF7, 0, 0) + self._palette)
        fh.write(b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", loop) + b"\x00")

    def add(self, frame) -> None:
        """Append a frame of the stream's size in the stream's palette: a P-mode PIL image or a
        (height, width) uint8 array of palette indices.

        Pixels that did not change since the previous frame are written as the transparent
        index 255 (when the frame does not use it), which compresses to almost nothing.
        """
        from PIL import Image

        if isinstance(frame, np.ndarray):
            if frame.ndim != 2 or frame.dtype != np.uint8 or frame.shape[::-1] != tuple(self._size):
                raise ValueError("every frame must be a uint8 index array of the first frame's size")
            index = frame
        else:
            if frame.size != self._size or frame.mode != "P":
                raise ValueError("every frame must be a P image of the first frame's size")
            index = np.asarray(frame)
        changed = None
        if self._previous is None:
            box = (0, 0, *self._size)
        else:
            changed = index != self._previous
            if changed.any():
                rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
                box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
            else:  # nothing moved: one unchanged pixel keeps one frame per step, and its time
                box = (0, 0, 1, 1)
        self._previous = index
        x0, y0, x1, y1 = box
        part = index[y0:y1, x0:x1]
        transparent = changed is not None and not (part == TRANSPARENT).any()
        if transparent:
            part = np.where(changed[y0:y1, x0:x1], part, TRANSPARENT).astype(np.uint8)
        image = Image.frombytes("P", (x1 - x0, y1 - y0), np.ascontiguousarray(part).tobytes())
        image.putpalette(self._palette)
        # graphic control: disposal 1 (leave in place), maybe a transparent index, the delay
        flags = 0x04 | (0x01 if transparent else 0x00)
        self._fh.write(b"\x21\xf9\x04" + bytes([flags]) + struct.pack("<H", self._delay)
                       + bytes([TRANSPARENT if transparent else 0]) + b"\x00")
        self._fh.write(_gif_image_block(image, x0, y0, self._palette))
        self.frames += 1

    def close(self) -> None:
        self._fh.write(b";")


def _gif_image_block(image, left: int, top: int, palette: bytes) -> bytes:
    """Image descriptor, colour table if needed and LZW data of ``image``, placed at (left, top)."""
    buf = io.BytesIO()
    image.save(buf, format="GIF", optimize=False, interlace=False)
    data = buf.getvalue()
    flags = data[10]
    pos, table = 13, b""
    if flags & 0x80:
        n = 3 << ((flags & 7) + 1)
        table = data[13 : 13 + n]
        pos += n
    while data[pos] == 0x21:  # skip extensions: label, then sub-blocks up to a zero length
        pos += 2
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    if data[pos] != 0x2C or data[-1] != 0x3B:
        raise OSError("Pillow wrote an unexpected GIF layout")
    descriptor = bytearray(data[pos : pos + 10])
    struct.pack_into("<HH", descriptor, 1, left, top)
    body = data[pos + 10 : -1]
    if not descriptor[9] & 0x80 and table and table != palette[: len(table)]:
        # Pillow reordered the colours: carry its table along as this frame's local table
        descriptor[9] = (descriptor[9] & 0x40) | 0x80 | (flags & 7)
        body = table + body
    return bytes(descriptor) + body


# ---------------------------------------------------------------------- command line
def gif_path_problem(path: str) -> str | None:
    """Why ``path`` cannot take a GIF (one line for the command line), or None."""
    from .limits import output_problem

    return output_problem(path, ".gif", "a .gif file")


def parse_step_range(text: str) -> tuple[int, int]:
    """``"5:40"`` or ``"5-40"`` → (5, 40), 1-based inclusive (argparse ``type=``)."""
    import argparse

    m = re.fullmatch(r"\s*(\d+)\s*[:\-]\s*(\d+)\s*", text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < int(m.group(1)):
        raise argparse.ArgumentTypeError(f"{text!r} is not FIRST:LAST, e.g. 1:30")
    return int(m.group(1)), int(m.group(2))
