"""Reading images safely: any failure becomes an ImageError naming the file and the reason."""

from __future__ import annotations

import io
import os
import subprocess  # nosec B404 - the HEIC decoder's own process, a fixed argv, no shell
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from rollcall.errors import ImageError
from rollcall.source_text import shown_text

# Pixels in one decoded image; a 40-megapixel photo is already far beyond any camera frame we need.
MAX_PIXELS = 40_000_000
MAX_BYTES = 50 * 1024 * 1024
# Phones save HEIC (iPhones by default) or AVIF as often as JPEG.
IMAGE_SUFFIXES = {
    ".jpg", ".jpeg", ".jfif", ".jpe", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff",
    ".pgm", ".ppm", ".heic", ".heif", ".hif", ".avif",
}  # fmt: skip
FORMATS = {"JPEG", "PNG", "BMP", "WEBP", "GIF", "TIFF", "PPM", "MPO", "AVIF"}
# Formats Pillow decodes (OpenCV reads the others, and turns them as their EXIF says): GIFs,
# multi-page TIFFs, MPO (the JPEG many phones write, with a second picture inside) and AVIF.
PILLOW_DECODES = {"GIF", "TIFF", "MPO", "AVIF"}
# HEIC/HEIF is decoded by pi-heif (libheif and libde265, LGPL; decoding only, no GPL encoder)
# in a process of its own, see heic_child.py; it is never registered with Pillow here, so no
# other Image.open in the server (an agent's frame) can reach libheif.
HEIC_CHILD = Path(__file__).with_name("heic_child.py")
HEIC_SECONDS = 60

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# OpenCV reads this when a decoder checks its limits; keep it aligned with Pillow's.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_PIXELS))


def decode_image(data: bytes, label: str = "image") -> np.ndarray:
    """Decode bytes to a BGR uint8 array, refusing bombs, non-images and truncated files."""
    if not data:
        raise ImageError(f"{label}: empty file")
    if len(data) > MAX_BYTES:
        raise ImageError(f"{label}: file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    # Pillow reads the header first, so a decompression bomb is refused before any pixel is
    # decoded; it also reads GIFs, which OpenCV does not.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise ImageError(f"{label}: {w}x{h} pixels is more than {MAX_PIXELS:,}")
                fmt = img.format
                if fmt not in FORMATS:
                    raise ImageError(f"{label}: unsupported image format {fmt}")
                if fmt in PILLOW_DECODES:
                    img.seek(0)
                    # A phone holds the camera sideways and writes which way is up in EXIF;
                    # unturned, a portrait's face lies on its side and is not found.
                    upright = ImageOps.exif_transpose(img)
                    rgb = np.asarray(upright.convert("RGB"))
                    return np.ascontiguousarray(rgb[:, :, ::-1])
                img.verify()
    except ImageError:
        raise
    except Image.DecompressionBombWarning:
        if data.startswith(b"\xff\xd8\xff"):
            return _halved_jpeg(data, label)
        raise ImageError(f"{label}: image has too many pixels (limit {MAX_PIXELS:,})") from None
    except Image.DecompressionBombError:
        raise ImageError(
            f"{label}: image has too many pixels (limit {MAX_PIXELS:,}; a JPEG's "
            f"{2 * MAX_PIXELS:,})"
        ) from None
    except UnidentifiedImageError:
        if _is_iso_media(data):
            return _decode_heic(data, label)
        raise ImageError(f"{label}: not a readable image (unknown format or corrupt)") from None
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError) as exc:
        # RuntimeError: the AVIF decoder's word for a damaged file; libheif's spans lines.
        reason = " ".join(str(exc).split())
        raise ImageError(f"{label}: corrupt image ({reason})") from None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ImageError(f"{label}: corrupt or truncated image")
    return image


def _halved_jpeg(data: bytes, label: str) -> np.ndarray:
    """A JPEG of 40-80 MP (a phone's 48 or 50 MP mode) decoded at half its size, which the
    JPEG decoder does without ever holding the full picture: a face in it is still hundreds of
    pixels wide. Larger ones were refused outright by Pillow's bomb check before this."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                w, h = img.size
                img.draft("RGB", ((w + 1) // 2, (h + 1) // 2))
                if img.size[0] * img.size[1] > MAX_PIXELS:
                    raise ImageError(f"{label}: {w}x{h} pixels is more than {2 * MAX_PIXELS:,}")
                upright = ImageOps.exif_transpose(img)
                rgb = np.asarray(upright.convert("RGB"))
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{label}: corrupt image ({' '.join(str(exc).split())})") from None
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _is_iso_media(data: bytes) -> bool:
    """An ISO base media file (HEIC, HEIF; AVIF too, which Pillow reads itself): 'ftyp' first."""
    return len(data) >= 12 and data[4:8] == b"ftyp"


def _decode_heic(data: bytes, label: str) -> np.ndarray:
    """A HEIC/HEIF photo, decoded upright in heic_child.py's process."""
    try:
        done = subprocess.run(  # nosec B603 - this interpreter, our own script, no shell
            # -P: the script's own folder (vision/, with its types.py) must not shadow the stdlib.
            [sys.executable, "-P", str(HEIC_CHILD), str(MAX_PIXELS)],
            input=data,
            capture_output=True,
            timeout=HEIC_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ImageError(f"{label}: HEIC image took over {HEIC_SECONDS} s to decode") from None
    if done.returncode < 0:
        raise ImageError(f"{label}: corrupt HEIC image (the decoder crashed on it)")
    if done.returncode != 0:
        reason = " ".join(done.stderr.decode(errors="replace").split()) or "corrupt image"
        raise ImageError(f"{label}: {reason}")
    head, _, pixels = done.stdout.partition(b"\n")
    w, h = (int(v) for v in head.split())
    rgb = np.frombuffer(pixels, np.uint8).reshape(h, w, 3)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def read_file_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of an image file, or an ImageError saying why they cannot be read."""
    path = Path(path)
    shown = shown_text(str(path))  # (a name in another encoding, or with a newline, on one line)
    try:
        if path.is_dir():
            raise ImageError(f"{shown}: is a folder, not an image")
        if path.stat().st_size > MAX_BYTES:
            raise ImageError(f"{shown}: file is larger than {MAX_BYTES // (1024 * 1024)} MB")
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{shown}: no such file") from None
    except PermissionError:
        raise ImageError(f"{shown}: permission denied") from None
    except OSError as exc:
        raise ImageError(f"{shown}: cannot be read ({exc.strerror or exc})") from None


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file to BGR uint8."""
    return decode_image(read_file_bytes(path), shown_text(str(path)))
