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


def _sideways(fmt: str, orientation: int) -> bytes:
    """An 80x40 picture with a red top-left corner, stored as a phone stores it when held
    another way: the pixels turned, and the EXIF (or HEIF transform) saying how to turn back."""
    upright = Image.new("RGB", (80, 40), (0, 0, 200))
    upright.paste((255, 0, 0), (0, 0, 12, 12))
    # Orientation 6 is shown turned 90 degrees clockwise, 8 counter-clockwise, 3 upside down.
    turn = {
        6: Image.Transpose.ROTATE_90,
        8: Image.Transpose.ROTATE_270,
        3: Image.Transpose.ROTATE_180,
    }
    stored = upright.transpose(turn[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    if fmt == "HEIF":
        import pillow_heif  # dev-only: its encoder; rollcall decodes with pi-heif

        pillow_heif.from_pillow(stored).save(buf, format="HEIF", quality=95, exif=exif.tobytes())
    elif fmt == "MPO":  # the JPEG many phones write: a second picture (depth, preview) inside
        stored.save(buf, "MPO", exif=exif, save_all=True, append_images=[stored], quality=95)
    else:
        stored.save(buf, fmt, exif=exif, **({"quality": 95} if fmt != "PNG" else {}))
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "MPO", "PNG", "WEBP", "TIFF", "AVIF", "HEIF"])
@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_phone_photos_come_out_upright(fmt: str, orientation: int) -> None:
    """A portrait taken with the phone turned must reach the face detector upright (a face on
    its side is not found, and the photo would be refused for having none)."""
    image = decode_image(_sideways(fmt, orientation), f"photo.{fmt.lower()}")
    assert image.shape == (40, 80, 3)
    b, g, r = (int(v) for v in image[4, 4])
    assert r > 200 and b < 60, f"top-left is {(b, g, r)}: the picture is not upright"
    b, g, r = (int(v) for v in image[35, 75])
    assert b > 150 and r < 60


def test_heic_suffixes_are_photos() -> None:
    from rollcall.vision.imageio import IMAGE_SUFFIXES

    assert {".heic", ".heif", ".avif"} <= IMAGE_SUFFIXES


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF", "MPO"])
def test_damaged_phone_photos_get_one_line_errors(fmt: str) -> None:
    """Bytes flipped or cut anywhere: an ImageError on one line, never a decoder's own
    exception (the AVIF decoder raises RuntimeError, libheif's messages span lines)."""
    import random

    good = _sideways(fmt, 6)
    # With this seed the 21st HEIC made libheif 1.23 (pi-heif 1.4) crash the process it ran in.
    rng = random.Random(8)
    for _ in range(40):
        data = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(12, len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(12, len(data))]
        try:
            decode_image(bytes(data), "IMG_0001")
        except ImageError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("IMG_0001: ")


def test_a_video_given_as_a_photo_is_not_a_readable_image(tmp_path: Path) -> None:
    """An MP4 begins with an 'ftyp' box like a HEIC: the same plain refusal as any non-image."""
    import av

    path = tmp_path / "lecture.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=4)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(4):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8), "rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    assert path.read_bytes()[4:8] == b"ftyp"
    with pytest.raises(ImageError) as info:
        read_image(path)
    assert str(info.value) == f"{path}: not a readable image (unknown format or corrupt)"


def test_a_50_megapixel_phone_jpeg_is_decoded_at_half_size() -> None:
    """An IT technician's review: a phone's 50 MP photo was refused ("too many pixels")
    everywhere, though the README said photos of any size work. A JPEG up to twice the
    limit is decoded at half size by the JPEG decoder; beyond that, or another format over
    the limit, is refused with the limits said."""
    import cv2
    import numpy as np

    from rollcall.errors import ImageError
    from rollcall.vision.imageio import decode_image

    photo = np.full((5774, 8660, 3), 120, np.uint8)
    cv2.circle(photo, (4330, 2887), 900, (40, 160, 220), -1)
    ok, data = cv2.imencode(".jpg", photo)
    assert ok
    image = decode_image(data.tobytes(), "big.jpg")
    assert image.shape == (2887, 4330, 3)
    assert tuple(int(v) for v in image[1443, 2165]) == pytest.approx((40, 160, 220), abs=3)
    ok, png = cv2.imencode(".png", photo)
    with pytest.raises(ImageError, match="too many pixels"):
        decode_image(png.tobytes(), "big.png")
    ok, data = cv2.imencode(".jpg", np.zeros((9000, 9500, 3), np.uint8))
    with pytest.raises(ImageError, match="a JPEG's 80,000,000"):
        decode_image(data.tobytes(), "huge.jpg")
