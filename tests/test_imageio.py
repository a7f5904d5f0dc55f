"""Unreadable inputs become one clear ImageError naming the file, never a crash."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rollcall.errors import ImageError
from rollcall.vision.imageio import MAX_PIXELS, decode_image, read_image


def _png(w: int = 8, h: int = 6) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), 200, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_reads_png_and_gif(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(_png())
    gif = tmp_path / "b.gif"
    Image.fromarray(np.zeros((5, 7), np.uint8)).save(gif)
    assert read_image(tmp_path / "a.png").shape == (6, 8, 3)
    assert read_image(gif).shape == (5, 7, 3)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"hello, I am a text file renamed to .jpg", "not a readable image"),
        (_png()[:40], "corrupt"),
        (_png()[:-20], "corrupt"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=reason) as info:
        read_image(path)
    assert str(path) in str(info.value)


def test_truncated_jpeg_is_refused_or_partial(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        buf, "JPEG"
    )
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    with pytest.raises(ImageError, match="cut.jpg"):
        read_image(path)


def test_decompression_bomb_refused_before_decoding() -> None:
    side = int(MAX_PIXELS**0.5) + 100
    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, "PNG")  # tiny file, huge canvas
    assert len(buf.getvalue()) < 1_000_000
    with pytest.raises(ImageError, match="pixels|too large"):
        decode_image(buf.getvalue(), "bomb.png")


def test_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="folder"):
        read_image(tmp_path)
