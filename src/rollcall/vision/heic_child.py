"""Decodes one HEIC/HEIF photo in a process of its own: ``python heic_child.py MAX_PIXELS``.

libheif (through pi-heif) crashes the whole process on some damaged files (a segmentation fault
when opening them, found by flipping bytes of a good photo). A photo staff upload must never take
the portal or an enrollment down with it, so the decoder runs here, on the bytes from stdin, and
the caller (vision.imageio) turns a crash into an error naming the file. Standard library, Pillow
and pi-heif only: this starts in a tenth of a second.

Out: "WIDTH HEIGHT\\n" and the upright picture's RGB bytes on stdout, or one line on stderr and
exit status 2.
"""

from __future__ import annotations

import io
import sys
import warnings


def main() -> int:
    import pi_heif
    from PIL import Image, ImageOps, UnidentifiedImageError

    max_pixels = int(sys.argv[1])
    Image.MAX_IMAGE_PIXELS = max_pixels
    pi_heif.register_heif_opener()
    data = sys.stdin.buffer.read()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                w, h = img.size
                if w * h > max_pixels:
                    print(f"{w}x{h} pixels is more than {max_pixels:,}", file=sys.stderr)
                    return 2
                # libheif applies the file's own turn (irot/imir) and resets EXIF's; the
                # transpose is for a file that only says it in EXIF.
                rgb = ImageOps.exif_transpose(img).convert("RGB")
    except UnidentifiedImageError:  # an MP4 or a QuickTime file begins like a HEIC
        print("not a readable image (unknown format or corrupt)", file=sys.stderr)
        return 2
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        print(f"image has too many pixels (limit {max_pixels:,})", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - whatever the decoder says is the file's fault
        print(f"corrupt image ({' '.join(str(exc).split())})", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    out.write(f"{rgb.width} {rgb.height}\n".encode())
    out.write(rgb.tobytes())
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
