"""Record an animated GIF of training: a frame of a view every N steps, written with Pillow.

Frames are kept bounded: past ``max_frames`` every other frame is dropped and the spacing
doubles, so an hour-long recording stays small and still covers the whole run.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage

from ganplay.files import atomic_write_bytes


def qimage_to_array(img: QImage) -> np.ndarray:
    """An RGB uint8 array [H, W, 3] from a QImage (any format)."""
    img = img.convertToFormat(QImage.Format_RGB888)
    w, h, stride = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buf[:, : 3 * w].reshape(h, w, 3).copy()


class GifRecorder:
    def __init__(self, path: str, every_steps: int = 100, max_frames: int = 240, max_side: int = 560,
                 frame_ms: int = 80):
        if every_steps < 1:
            raise ValueError("every_steps must be at least 1")
        self.path = path
        self.every = int(every_steps)
        self.max_frames = max_frames
        self.max_side = max_side
        self.frame_ms = frame_ms
        self.frames: list[Image.Image] = []
        self.steps: list[int] = []
        self._last_step: int | None = None

    def wants(self, step: int) -> bool:
        """A frame at the first step seen, then at the first step of each later span of ``every``."""
        last = self._last_step
        return last is None or step < last or step // self.every > last // self.every

    def add(self, step: int, image: QImage | np.ndarray) -> None:
        arr = qimage_to_array(image) if isinstance(image, QImage) else np.asarray(image, np.uint8)
        frame = Image.fromarray(arr)
        if max(frame.size) > self.max_side:
            frame.thumbnail((self.max_side, self.max_side))
        self.frames.append(frame)
        self.steps.append(int(step))
        self._last_step = int(step)
        if len(self.frames) > self.max_frames:
            self.frames, self.steps = self.frames[::2], self.steps[::2]
            self.every *= 2

    def save(self) -> int:
        """Write the GIF atomically; returns the number of frames. Raises GanplayError on failure."""
        from ganplay.errors import GanplayError

        if not self.frames:
            raise GanplayError(f"no frames recorded for {self.path}: train for at least one step")
        buf = io.BytesIO()
        first, rest = self.frames[0], self.frames[1:]
        durations = [self.frame_ms] * (len(self.frames) - 1) + [max(self.frame_ms, 1500)]  # hold the end
        first.save(buf, format="GIF", save_all=True, append_images=rest, duration=durations, loop=0,
                   optimize=False)
        atomic_write_bytes(self.path, buf.getvalue())
        return len(self.frames)
