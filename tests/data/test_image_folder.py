import numpy as np
import pytest
from PIL import Image

from ganplay.data.image_folder import list_image_files, read_image_folder
from ganplay.errors import ConfigError, DataError


def gray_png(path, value, size=(40, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", size, value).save(path)


def colour_jpeg(path, rgb, size=(30, 50)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, rgb).save(path, quality=95)


def test_gray_folder_is_one_channel_sorted_and_recursive(tmp_path):
    gray_png(tmp_path / "b.png", 200)
    gray_png(tmp_path / "a.PNG", 10)
    gray_png(tmp_path / "sub" / "c.png", 100)
    (tmp_path / "notes.txt").write_text("not an image")
    names = [p.relative_to(tmp_path).as_posix() for p in list_image_files(tmp_path)]
    assert names == ["a.PNG", "b.png", "sub/c.png"]
    images, warnings = read_image_folder(tmp_path, 16)
    assert images.shape == (3, 16, 16, 1) and images.dtype == np.uint8
    assert images[:, 8, 8, 0].tolist() == [10, 200, 100]
    assert warnings == []


def test_any_colour_image_makes_rgb_and_corrupt_file_is_skipped(tmp_path):
    gray_png(tmp_path / "a.png", 50)
    colour_jpeg(tmp_path / "b.jpg", (250, 10, 10))
    (tmp_path / "c.jpeg").write_bytes(b"\xff\xd8 broken jpeg")
    images, warnings = read_image_folder(tmp_path, 8)
    assert images.shape == (2, 8, 8, 3)
    assert abs(int(images[1, 4, 4, 0]) - 250) < 8 and images[1, 4, 4, 1] < 20
    assert len(warnings) == 1 and "skipped 1 of 3" in warnings[0] and "c.jpeg" in warnings[0]


def test_forced_channels(tmp_path):
    colour_jpeg(tmp_path / "x.jpg", (0, 255, 0))
    gray = read_image_folder(tmp_path, 4, channels=1)[0]
    assert gray.shape == (1, 4, 4, 1) and 140 < gray[0, 0, 0, 0] < 160  # luma of pure green
    gray_png(tmp_path / "y.png", 77)
    rgb = read_image_folder(tmp_path, 4, channels=3)[0]
    assert rgb.shape == (2, 4, 4, 3) and rgb[1, 0, 0].tolist() == [77, 77, 77]
    with pytest.raises(ConfigError, match="image_channels=2"):
        read_image_folder(tmp_path, 4, channels=2)


def test_center_crop_keeps_the_middle(tmp_path):
    im = Image.new("L", (30, 10), 0)  # wide: the middle 10x10 square is white
    im.paste(255, (10, 0, 20, 10))
    im.save(tmp_path / "wide.png")
    images, _ = read_image_folder(tmp_path, 10)
    assert images.min() == 255


def test_missing_empty_and_unreadable_folders(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_image_folder(tmp_path / "nope", 28)
    with pytest.raises(DataError, match="no PNG or JPEG images"):
        read_image_folder(tmp_path, 28)
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(DataError, match=r"none of the 1 image files.*bad\.png"):
        read_image_folder(tmp_path, 28)
