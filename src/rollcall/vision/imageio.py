"""Reading images safely: any failure becomes an ImageError naming the file and the reason."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from rollcall.errors import ImageError

# Pixels in one decoded image; a 40-megapixel photo is already far beyond any camera frame we need.
MAX_PIXELS = 40_000_000
MAX_BYTES = 50 * 1024 * 1024
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".pgm", ".ppm"}

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
                if fmt not in {"JPEG", "PNG", "BMP", "WEBP", "GIF", "TIFF", "PPM", "MPO"}:
                    raise ImageError(f"{label}: unsupported image format {fmt}")
                if fmt in {"GIF", "TIFF", "MPO"}:
                    img.seek(0)
                    rgb = np.asarray(img.convert("RGB"))
                    return np.ascontiguousarray(rgb[:, :, ::-1])
                img.verify()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{label}: image has too many pixels (limit {MAX_PIXELS:,})") from None
    except UnidentifiedImageError:
        raise ImageError(f"{label}: not a readable image (unknown format or corrupt)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{label}: corrupt image ({exc})") from None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ImageError(f"{label}: corrupt or truncated image")
    return image


def read_file_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of an image file, or an ImageError saying why they cannot be read."""
    path = Path(path)
    try:
        if path.is_dir():
            raise ImageError(f"{path}: is a folder, not an image")
        if path.stat().st_size > MAX_BYTES:
            raise ImageError(f"{path}: file is larger than {MAX_BYTES // (1024 * 1024)} MB")
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except PermissionError:
        raise ImageError(f"{path}: permission denied") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file to BGR uint8."""
    return decode_image(read_file_bytes(path), str(path))
