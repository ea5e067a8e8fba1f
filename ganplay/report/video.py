"""Export a stretch of a recorded timeline as an MP4 (H.264) or GIF, drawn with Pillow and NumPy.

Each frame is the main view as the window draws it (2-D: D's decision field under the real and
generated points, the manifold mesh; images: the sample grid), with a strip below that burns in
the step counter and the losses over the exported range with a cursor at the frame's step.
No Qt: ``ganplay train --video`` uses it headless. MP4 goes through ``imageio-ffmpeg`` (its
wheel ships an ffmpeg binary, so it works after a plain ``pip install``).

A *recording* is ``engine.recorder.Recorder`` (not imported: drawing sits below the engine): it
has ``frames`` (each with ``step``, ``generated``, ``field``, ``extent``, ``manifold``,
``metrics`` and ``points()``), ``steps()``, ``series(name)`` and ``real``.
"""
from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ganplay.errors import GanplayError
from ganplay.files import atomic_write_bytes

SIZE = 480  # the main view's side in pixels (a multiple of 16, as H.264 wants)
STRIP = 96  # the strip with the step counter and the loss cursor
REAL = (40, 120, 220)
FAKE = (235, 90, 40)
MESH = (90, 90, 90)
CURVES = {"d_loss": ((120, 60, 200), "L_D"), "g_loss": ((20, 160, 90), "L_G")}
FORMATS = (".mp4", ".gif")


def _field_colours() -> np.ndarray:
    """A 256-entry diverging map (blue: D says fake, red: D says real), like the window's."""
    t = np.linspace(0.0, 1.0, 256)[:, None]
    blue, white, red = np.array([59, 76, 192]), np.array([235, 235, 235]), np.array([180, 4, 38])
    lut = np.where(t < 0.5, blue + (white - blue) * (t / 0.5), white + (red - white) * ((t - 0.5) / 0.5))
    return lut.astype(np.uint8)


FIELD_LUT = _field_colours()


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


class FrameRenderer:
    """Draws recorded frames of one recording at a fixed extent and size."""

    def __init__(self, recorder, first: int, last: int, size: int = SIZE):
        self.recorder = recorder
        self.first, self.last = int(first), int(last)
        self.size = size
        self.font = _font(16)
        self.small = _font(12)
        frames = [f for f in recorder.frames if first <= f.step <= last]
        self.extent = self._extent(frames)
        self.curves = {k: recorder.series(k) for k in CURVES}

    def _extent(self, frames: list) -> tuple[float, float, float, float] | None:
        if not frames or frames[0].generated.ndim != 2:
            return None
        with_field = [f.extent for f in frames if f.extent is not None]
        if with_field:
            return with_field[-1]
        pts = self.recorder.real if self.recorder.real is not None else frames[-1].generated
        pts = np.asarray(pts, np.float32)
        lo, hi = np.percentile(pts, 0.5, axis=0), np.percentile(pts, 99.5, axis=0)
        pad = 0.25 * max(float(hi[0] - lo[0]), float(hi[1] - lo[1]), 1e-3)
        return float(lo[0] - pad), float(hi[0] + pad), float(lo[1] - pad), float(hi[1] + pad)

    def render(self, frame) -> np.ndarray:
        """One video frame: RGB uint8 [SIZE + STRIP, SIZE, 3]."""
        view = self._points(frame) if frame.generated.ndim == 2 else self._images(frame)
        canvas = Image.new("RGB", (self.size, self.size + STRIP), (255, 255, 255))
        canvas.paste(view, (0, 0))
        self._strip(ImageDraw.Draw(canvas), frame)
        return np.asarray(canvas)

    def _to_px(self, pts: np.ndarray) -> np.ndarray:
        x0, x1, y0, y1 = self.extent
        s = self.size - 1
        px = (pts[:, 0] - x0) / (x1 - x0) * s
        py = (1.0 - (pts[:, 1] - y0) / (y1 - y0)) * s  # y up
        return np.stack([px, py], axis=1)

    def _points(self, frame) -> Image.Image:
        n = self.size
        img = np.full((n, n, 3), 255, np.uint8)
        if frame.field is not None and frame.extent is not None:
            heat = Image.fromarray(FIELD_LUT[frame.field[::-1]])  # row 0 is y0: flip to y up
            x0, x1, y0, y1 = frame.extent
            a = self._to_px(np.array([[x0, y1], [x1, y0]], np.float32))
            (l, t), (r, b) = np.rint(a).astype(int)
            if r > l and b > t:
                heat = np.asarray(heat.resize((r - l, b - t), Image.BILINEAR))
                box = img[max(t, 0):min(b, n), max(l, 0):min(r, n)]
                box[:] = (0.25 * 255 + 0.75 * heat[max(-t, 0):max(-t, 0) + box.shape[0],
                                                    max(-l, 0):max(-l, 0) + box.shape[1]]).astype(np.uint8)
        pil = Image.fromarray(img)
        if frame.manifold is not None:
            draw = ImageDraw.Draw(pil)
            mesh = np.asarray(frame.manifold, np.float32)
            for line in list(mesh) + (list(mesh.transpose(1, 0, 2)) if mesh.shape[0] > 1 else []):
                ok = np.all(np.isfinite(line), axis=1)
                if ok.sum() > 1:
                    draw.line([tuple(p) for p in self._to_px(line[ok])], fill=MESH, width=1)
        img = np.asarray(pil).copy()
        if self.recorder.real is not None:
            _dots(img, self._to_px(np.asarray(self.recorder.real, np.float32)), REAL)
        _dots(img, self._to_px(frame.points()), FAKE)
        return Image.fromarray(img)

    def _images(self, frame) -> Image.Image:
        imgs = frame.generated
        n = len(imgs)
        cols = int(np.ceil(np.sqrt(n)))
        rows = int(np.ceil(n / cols))
        h, w, c = imgs.shape[1:]
        grid = np.full((rows * (h + 2), cols * (w + 2), c), 255, np.uint8)
        for i, tile in enumerate(imgs):
            r, q = divmod(i, cols)
            grid[r * (h + 2) + 1:r * (h + 2) + 1 + h, q * (w + 2) + 1:q * (w + 2) + 1 + w] = tile
        if c == 1:
            grid = np.repeat(grid, 3, axis=2)
        pil = Image.fromarray(grid)
        return pil.resize((self.size, self.size), Image.NEAREST)

    def _strip(self, draw: ImageDraw.ImageDraw, frame) -> None:
        top = self.size
        left, right = 8, self.size - 8
        lo, hi = self.first, max(self.last, self.first + 1)
        values = [v[(s >= lo) & (s <= hi)] for s, v in self.curves.values()]
        values = np.concatenate(values) if values else np.zeros(0)
        values = values[np.isfinite(values)]
        y_lo, y_hi = (np.percentile(values, [1, 99]) if len(values) else (0.0, 1.0))
        y_hi = max(y_hi, y_lo + 1e-6)
        plot_top, plot_bottom = top + 28, top + STRIP - 6

        def px(step, value):
            x = left + (step - lo) / (hi - lo) * (right - left)
            y = plot_bottom - (np.clip(value, y_lo, y_hi) - y_lo) / (y_hi - y_lo) * (plot_bottom - plot_top)
            return x, y

        draw.rectangle([left, plot_top, right, plot_bottom], outline=(200, 200, 200))
        label_x = self.size - 150
        for (name, (colour, label)), (s, v) in zip(CURVES.items(), self.curves.values()):
            keep = (s >= lo) & (s <= hi) & np.isfinite(v)
            if keep.sum() > 1:
                draw.line([px(a, b) for a, b in zip(s[keep], v[keep])], fill=colour, width=1)
            at = frame.metrics.get(name)
            if at is not None and np.isfinite(at):
                draw.text((label_x, top + 6), f"{label} {at:.3f}", fill=colour, font=self.small)
                label_x += 72
        x = px(frame.step, 0.0)[0]
        draw.line([(x, plot_top - 2), (x, plot_bottom + 2)], fill=(220, 30, 30), width=2)
        draw.text((left, top + 4), f"step {frame.step:,}", fill=(0, 0, 0), font=self.font)
        modes = frame.metrics.get("modes")
        if modes is not None and np.isfinite(modes):
            draw.text((left + 130, top + 6), f"modes {modes:g}", fill=(60, 60, 60), font=self.small)


def _dots(img: np.ndarray, px: np.ndarray, colour) -> None:
    """2x2-pixel dots (fast for thousands of points: no per-point drawing calls)."""
    n = img.shape[0]
    px = px[np.all(np.isfinite(px), axis=1)]
    xy = np.rint(px).astype(np.int64)
    for dx in (0, 1):
        for dy in (0, 1):
            x, y = xy[:, 0] + dx, xy[:, 1] + dy
            ok = (x >= 0) & (x < n) & (y >= 0) & (y < n)
            img[y[ok], x[ok]] = colour


def export_video(recorder, path, first: int | None = None, last: int | None = None,
                 fps: float = 30.0, size: int = SIZE, every: int | None = None) -> int:
    """Write the recorded frames with ``first <= step <= last`` to ``path`` (.mp4 or .gif),
    atomically; returns the number of frames. ``every``: only the frames at multiples of that
    many steps, and the last (the window's ``--record-gif``). GanplayError says what went wrong."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise GanplayError(f"{path}: the video must end in {' or '.join(FORMATS)}")
    if size % 16:
        raise GanplayError(f"video size {size} must be a multiple of 16")
    steps = recorder.steps()
    if not len(steps):
        raise GanplayError(f"nothing recorded for {path}: train for a few steps first")
    first = int(steps[0]) if first is None else int(first)
    last = int(steps[-1]) if last is None else int(last)
    frames = [f for f in list(recorder.frames) if first <= f.step <= last]
    if every and frames:
        frames = [f for f in frames[:-1] if f.step % every == 0] + frames[-1:]
    if not frames:
        raise GanplayError(f"no recorded frame between steps {first:,} and {last:,}")
    renderer = FrameRenderer(recorder, first, last, size)
    if suffix == ".gif":
        # One palette for the whole GIF, from the last frame (the run at its most colourful),
        # without dithering: a palette per frame with dithering was 6x slower and twice the size.
        palette = Image.fromarray(renderer.render(frames[-1])).quantize(256, method=Image.Quantize.FASTOCTREE)
        pictures = [Image.fromarray(renderer.render(f)).quantize(palette=palette, dither=Image.Dither.NONE)
                    for f in frames]
        buf = io.BytesIO()
        pictures[0].save(buf, format="GIF", save_all=True, append_images=pictures[1:],
                         duration=max(int(1000 / fps), 20), loop=0)
        atomic_write_bytes(path, buf.getvalue())
        return len(frames)
    _write_mp4(path, (renderer.render(f) for f in frames), (size, size + STRIP), fps)
    return len(frames)


def _write_mp4(path: Path, pictures, size: tuple[int, int], fps: float) -> None:
    try:
        import imageio_ffmpeg
    except ImportError:
        raise GanplayError("MP4 export needs imageio-ffmpeg (pip install imageio-ffmpeg), "
                           "or export a .gif instead") from None
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise GanplayError(f"cannot write {path}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(suffix=".mp4", dir=folder)
    os.close(fd)
    try:
        writer = imageio_ffmpeg.write_frames(tmp, size, fps=fps, codec="libx264", pix_fmt_in="rgb24",
                                             pix_fmt_out="yuv420p", macro_block_size=16,
                                             output_params=["-movflags", "+faststart"])
        writer.send(None)
        for picture in pictures:
            writer.send(np.ascontiguousarray(picture))
        writer.close()
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        raise GanplayError(f"cannot write {path}: {exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def timed_export(recorder, path, **kwargs) -> tuple[int, float]:
    """``export_video`` and the seconds it took (for the status bar and benchmarks)."""
    t0 = time.perf_counter()
    n = export_video(recorder, path, **kwargs)
    return n, time.perf_counter() - t0
