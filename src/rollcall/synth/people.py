"""Real face photos on disk: find them per person, read them, and frame them like a webcam."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from rollcall.errors import ImageError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp"})

# A webcam framing keeps the face between these fractions of the tile height; the default
# sits in the middle so both tight crops and head-and-shoulders shots end up looking alike.
MIN_FACE_FRACTION = 0.40
MAX_FACE_FRACTION = 0.80
DEFAULT_FACE_FRACTION = 0.55


def load_people(root: Path) -> dict[str, list[Path]]:
    """One entry per sub-folder of ``root`` that holds images: folder name -> sorted photo paths."""
    root = Path(root)
    if not root.is_dir():
        raise ImageError(f"Photo folder {root} does not exist; point it at identities/photos.")
    people: dict[str, list[Path]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        photos = sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if photos:
            people[folder.name] = photos
    return people


def read_photo(path: Path) -> np.ndarray:
    """Read a photo as BGR uint8; Pillow covers what OpenCV cannot decode (GIF)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is not None:
        return image
    try:
        with Image.open(path) as pil:
            rgb = np.asarray(pil.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise ImageError(f"Cannot read photo {path}: {exc}") from exc
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


@lru_cache(maxsize=1)
def _face_cascade() -> cv2.CascadeClassifier | None:
    path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
    cascade = cv2.CascadeClassifier(str(path))
    return None if cascade.empty() else cascade


HAAR_PER_YUNET_HEIGHT = 0.94
# YuNet looks at the photo padded by a quarter all round and shrunk to this: the same 400 px
# across as the copy Haar looks at, plus the padding.
FRAMING_SIDE = 600


@lru_cache(maxsize=1)
def framing_detector():  # noqa: ANN202 - a YuNetDetector, imported late (synth loads first)
    from rollcall.vision.detect import YuNetDetector

    return YuNetDetector()


def locate_face(image: np.ndarray) -> tuple[float, float, float, float]:
    """Rough (x, y, w, h) of the main (largest) face, only to frame the photo; never used as truth.

    The Haar cascade's largest box, on a copy at most 400 px across padded so a tight crop's
    face lies inside it, checked against YuNet's largest face: Haar framed 5 of the 970
    identity photos on the wrong spot (a bystander, an eye, a box off to one side: a tile showing
    half a face), so where the two disagree (overlap under 0.4; the other 928 photos where both
    found a face overlap more) YuNet's box is taken, in the Haar box's terms. When
    Haar finds no face, the centre of the photo (right for the crops in the data set)."""
    from rollcall.vision.track import iou_matrix

    h, w = image.shape[:2]
    box = _haar_face(image)
    if box is not None:
        yunet = _yunet_face(image)
        if yunet is not None and iou_matrix(np.array([box]), np.array([yunet]))[0, 0] < 0.4:
            box = yunet
    if box is None:
        side = 0.75 * min(h, w)
        return ((w - side) / 2, (h - side) / 2, side, side)
    return box


def _haar_face(image: np.ndarray) -> tuple[float, float, float, float] | None:
    cascade = _face_cascade()
    if cascade is None:
        return None
    h, w = image.shape[:2]
    scale = min(1.0, 400.0 / max(h, w))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    pad = int(0.25 * max(gray.shape))
    gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=128)
    side = min(small.shape[:2])
    found = cascade.detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(max(20, side // 8),) * 2
    )
    if not len(found):
        return None
    x, y, fw, fh = max(found, key=lambda b: b[2] * b[3])
    return ((x - pad) / scale, (y - pad) / scale, fw / scale, fh / scale)


def _yunet_face(image: np.ndarray) -> tuple[float, float, float, float] | None:
    from rollcall.vision.detect import detect_padded

    faces = detect_padded(framing_detector(), image, FRAMING_SIDE)
    if not len(faces):
        return None
    x, y, fw, fh = faces.boxes[int(np.argmax(faces.boxes[:, 2] * faces.boxes[:, 3]))]
    # In the Haar box's terms: square, 0.94 of YuNet's height, same centre (medians over the
    # 937 photos where both found the same face).
    side = HAAR_PER_YUNET_HEIGHT * float(fh)
    cx, cy = float(x + fw / 2), float(y + fh / 2)
    return (cx - side / 2, cy - side / 2, side, side)


def frame_photo(
    image: np.ndarray,
    size: tuple[int, int],
    face_fraction: float = DEFAULT_FACE_FRACTION,
    face: tuple[float, float, float, float] | None = None,
    keep_fraction: bool = False,
) -> np.ndarray:
    """Crop, pad and resize a photo so it fills a ``size`` (w, h) tile like a webcam view.

    The crop is chosen so the face is about ``face_fraction`` of the tile height, never outside
    [0.4, 0.8]; it stays inside the photo whenever that range allows, and is padded with its own
    edges, blurred, otherwise (tight crops then look like a blurred-background webcam).
    ``keep_fraction`` pads rather than zooming in or sliding: the face is ``face_fraction`` of
    the height (any fraction) at the same place whatever the photo, so there is room around it
    (an entrance passer's head and hair).
    """
    tile_w, tile_h = size
    aspect = tile_w / tile_h
    h, w = image.shape[:2]
    fx, fy, fw, fh = face if face is not None else locate_face(image)
    face_h = max(fh, 1.0)
    if keep_fraction:
        if face_fraction <= 0:
            raise ValueError(f"face_fraction must be above 0, not {face_fraction}")
        win_h = face_h / face_fraction
    else:
        want_h = face_h / float(np.clip(face_fraction, MIN_FACE_FRACTION, MAX_FACE_FRACTION))
        fit_h = min(h, w / aspect)  # the largest window of this aspect inside the photo
        min_h = face_h / MAX_FACE_FRACTION
        max_h = face_h / MIN_FACE_FRACTION
        win_h = want_h if want_h <= fit_h else max(fit_h, min_h)
        win_h = min(win_h, max_h)
    win_w = win_h * aspect
    # Webcam framing puts the eyes a little above the middle of the picture.
    cx, cy = fx + fw / 2, fy + fh / 2
    x0 = cx - win_w / 2
    y0 = cy - 0.45 * win_h
    if not keep_fraction:  # (which wants the face in the same place in every photo)
        x0 = _keep_inside(x0, win_w, w)
        # A webcam view has no gap under the shoulders: a short photo sits on the tile's bottom.
        y0 = _keep_inside(y0, win_h, h) if win_h < h else h - win_h
    scale = tile_w / win_w
    matrix = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], dtype=np.float32)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    view = cv2.warpAffine(
        image, matrix, (tile_w, tile_h), flags=interp, borderMode=cv2.BORDER_REPLICATE
    )
    inside = cv2.warpAffine(
        np.ones((h, w), np.float32), matrix, (tile_w, tile_h), flags=cv2.INTER_LINEAR
    )
    if inside.min() > 0.999:
        return view
    # Where the photo does not reach, smear its edges out of focus, like a blurred background.
    sigma = max(2.0, tile_h / 12)
    backdrop = cv2.GaussianBlur(view, (0, 0), sigma) * 0.8
    mask = cv2.GaussianBlur(inside, (0, 0), max(1.0, tile_h / 80))[..., None]
    return (view * mask + backdrop * (1 - mask)).astype(np.uint8)


def _keep_inside(start: float, length: float, limit: float) -> float:
    """Slide a window back inside [0, limit] when it fits; keep the face centred when not."""
    if length >= limit:
        return start
    return min(max(start, 0.0), limit - length)


@lru_cache(maxsize=1024)
def _face_in(path: Path) -> tuple[float, float, float, float]:
    # Tiles change size as people come and go; the face in a photo does not.
    return locate_face(read_photo(path))


@lru_cache(maxsize=512)
def framed_photo(
    path: Path,
    size: tuple[int, int],
    face_fraction: float = DEFAULT_FACE_FRACTION,
    keep_fraction: bool = False,
) -> np.ndarray:
    """``frame_photo`` of a file, cached because a recording reuses each tile many times."""
    framed = frame_photo(read_photo(path), size, face_fraction, _face_in(path), keep_fraction)
    framed.setflags(write=False)
    return framed
