"""Exporting a recorded stretch: MP4 frames decode at the right count and size; GIFs too; the
headless ``ganplay train --video`` writes one."""
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from ganplay.engine.recorder import Recorder
from ganplay.engine.snapshot import DecisionField
from ganplay.errors import GanplayError
from ganplay.report.video import SIZE, STRIP, FrameRenderer, export_video


def _recording(n: int = 40, images: bool = False) -> Recorder:
    rec = Recorder()
    rng = np.random.default_rng(0)
    rec.real = rng.normal(size=(500, 2)).astype(np.float16)
    field = DecisionField(rng.random((100, 100)).astype(np.float32), (-3.0, 3.0, -3.0, 3.0))
    for i in range(n):
        gen = rng.uniform(-1, 1, (16, 28, 28, 1)) if images else rng.normal(size=(500, 2)) * (i + 1) / n
        rec.add(50 * i, gen, field=None if images else field,
                manifold=None if images else rng.normal(size=(5, 5, 2)),
                metrics={"d_loss": 1.0 + np.sin(i), "g_loss": 0.7, "modes": 8.0})
    return rec


def _decoded(path) -> tuple[dict, int]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    return meta, sum(1 for _ in reader)


def test_mp4_decodes_to_the_selected_frames_at_the_right_size(tmp_path):
    rec = _recording()
    path = tmp_path / "run.mp4"
    n = export_video(rec, path, first=500, last=1450)
    assert n == 20  # steps 500, 550, ..., 1450
    meta, frames = _decoded(path)
    assert frames == n
    assert tuple(meta["size"]) == (SIZE, SIZE + STRIP)


def test_gif_of_images(tmp_path):
    rec = _recording(6, images=True)
    path = tmp_path / "run.gif"
    assert export_video(rec, path) == 6
    with Image.open(path) as gif:
        assert gif.n_frames == 6 and gif.size == (SIZE, SIZE + STRIP)


def test_frames_burn_in_the_cursor_and_show_the_points():
    rec = _recording()
    r = FrameRenderer(rec, 0, 1950)
    a, b = r.render(rec.frames[0]), r.render(rec.frames[-1])
    assert a.shape == (SIZE + STRIP, SIZE, 3)
    cursor = (a[SIZE:, :, 0] > 200) & (a[SIZE:, :, 1] < 60)  # the red cursor moves right
    cursor_b = (b[SIZE:, :, 0] > 200) & (b[SIZE:, :, 1] < 60)
    assert np.nonzero(cursor.any(0))[0].mean() < np.nonzero(cursor_b.any(0))[0].mean()
    assert not np.array_equal(a[:SIZE], b[:SIZE])


def test_bad_requests_say_what_is_wrong(tmp_path):
    with pytest.raises(GanplayError, match="mp4 or .gif"):
        export_video(_recording(2), tmp_path / "x.avi")
    with pytest.raises(GanplayError, match="nothing recorded"):
        export_video(Recorder(), tmp_path / "x.mp4")
    with pytest.raises(GanplayError, match="no recorded frame"):
        export_video(_recording(2), tmp_path / "x.mp4", first=10_000)


def test_train_video_writes_an_mp4(tmp_path):
    from ganplay.cli import main

    video = tmp_path / "ring.mp4"
    assert main(["train", "--model", "toy-mlp", "--dataset", "ring8", "--set", "hidden=16", "--steps", "300",
                 "--video", str(video), "--video-every", "20", "--out", str(tmp_path / "out"), "--quiet",
                 "--no-quality"]) == 0
    _, frames = _decoded(video)
    assert frames == 16  # steps 0, 20, ..., 300
