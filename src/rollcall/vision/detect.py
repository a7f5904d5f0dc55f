"""Face detectors behind one small interface, chosen by name: yunet (default), haar, dlib."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import cv2
import numpy as np

from rollcall.errors import RollcallError
from rollcall.vision import models
from rollcall.vision.types import Faces
from rollcall.vision.yunet import YuNetNetwork


class FaceDetector(Protocol):
    name: str

    def detect(
        self,
        image: np.ndarray,
        enlarge: bool = True,
        still: bool = False,
        small_faces: bool = True,
    ) -> Faces:
        """Every face in a BGR image, boxes and landmarks in that image's pixels. enlarge=False
        turns off a detector's own resizing (for an image already sized); still=True is a
        photo (enroll, identify, count) rather than a video frame, worth a slower search;
        small_faces=False says faces much smaller than the main one do not matter (enroll)."""
        ...


DETECTORS: dict[str, Callable[..., FaceDetector]] = {}


def register(name: str) -> Callable[[type], type]:
    def wrap(cls: type) -> type:
        DETECTORS[name] = cls
        return cls

    return wrap


def create_detector(name: str = "yunet", **options: object) -> FaceDetector:
    try:
        factory = DETECTORS[name]
    except KeyError:
        raise RollcallError(
            f"unknown detector {name!r}; choose one of {', '.join(sorted(DETECTORS))}"
        ) from None
    return factory(**options)


def _as_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


@register("yunet")
class YuNetDetector:
    """OpenCV Zoo's YuNet: fast, five landmarks per face, good for faces of ~20 to ~400 px.

    An image is searched at a working level, then at coarser levels of a pyramid; boxes and
    landmarks are mapped back to the original pixels and merged.

    The working level. Gallery tiles in a screen capture give faces of 20-40 px, below where
    YuNet is at its best, so frames whose shorter side is under ``upscale_below`` are enlarged
    until it reaches ``upscale_to`` (at most ``max_upscale``). Measured (bench/bench_engine.py):
    a 640x480 7x7 gallery went from 89% of faces found unscaled, 92% enlarged to 720 px, to 96%
    enlarged 2x (39 ms a frame); 720p and larger frames found nothing more when enlarged, at
    2-6x the cost, so they are left alone. Frames of more than ``max_pixels`` (1920x1080) are
    shrunk to that many. Still photos may keep up to ``still_max_pixels`` (12 MP), because a
    big photo can hold small faces: on 4032x3024 mosaics of WIDER photos
    (bench/bench_groups.py --mosaic) a 2 MP working level found 79.8% of the faces of 20 px or
    more, 12 MP 93.9%, at about 5x the time (0.3 s against 1.3-1.8 s a photo on 2 loaded
    cores). Enrollment needs only the main face and asks for ``small_faces=False``: 2 MP.

    Coarser levels, each ``coarse_factor`` times smaller, until the shorter side is at most
    ``largest_face``. Measured on 46 portraits rescaled so the face is N px
    (bench/bench_portraits.py --size-response): YuNet alone scores a face 0.94 at 160-240 px,
    0.90 at 400, 0.82 at 500, finds 27 of 46 at 640 px (median 0.72) and none from 800 px,
    where it may put a box on the chin instead; so a face as large as the image needs a level
    whose shorter side is about 400 px. Each level answers for the faces in its range (see
    detect). Every image searches every level, video frames included: a speaker view shows one
    face filling its big tile beside small ones in the strip (and maybe a poster behind the
    speaker), so "the working level found small faces" says nothing about a big one; a
    1280x720 frame pays ~4 ms for its 320x180 coarse level. A face of 500-1000 px in a
    1280x720 frame is found at 0.93-0.94 where it was found at 0.82, 25 of 46 times at 640 px,
    and never from 800 px.
    """

    name = "yunet"

    def __init__(
        self,
        score_threshold: float = 0.7,
        nms_threshold: float = 0.3,
        upscale_below: int = 720,
        max_upscale: float = 2.0,
        upscale_to: int | None = 1080,
        max_pixels: int = 1920 * 1080,
        coarse_factor: float = 4.0,
        largest_face: int = 400,
        big_face: int = 200,
        still_max_pixels: int = 4032 * 3024,
    ) -> None:
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.upscale_below = upscale_below
        self.max_upscale = max_upscale
        self.upscale_to = upscale_to or upscale_below
        self.max_pixels = max_pixels
        self.coarse_factor = coarse_factor
        self.largest_face = largest_face
        self.big_face = big_face
        self.still_max_pixels = still_max_pixels
        # onnxruntime with as many threads as OpenCV was given (FaceEngine sets them first).
        self._net = YuNetNetwork(score_threshold, nms_threshold, cv2.getNumThreads())

    def scale_for(self, width: int, height: int, max_pixels: int | None = None) -> float:
        """The working level's scale: small frames enlarged, large images shrunk."""
        max_pixels = self.max_pixels if max_pixels is None else max_pixels
        if max_pixels and width * height > max_pixels:
            return (max_pixels / (width * height)) ** 0.5
        short = min(width, height)
        if self.upscale_below <= 0 or short >= self.upscale_below:
            return 1.0
        return min(self.max_upscale, self.upscale_to / short)

    def levels(
        self, width: int, height: int, enlarge: bool = True, max_pixels: int | None = None
    ) -> list[float]:
        """The scales searched, working level first, then each coarser one."""
        scales = [self.scale_for(width, height, max_pixels) if enlarge else 1.0]
        short = min(width, height) * scales[0]
        while self.coarse_factor > 1 and short > self.largest_face:
            short /= self.coarse_factor
            scales.append(scales[-1] / self.coarse_factor)
        return scales

    def detect(
        self,
        image: np.ndarray,
        enlarge: bool = True,
        still: bool = False,
        small_faces: bool = True,
    ) -> Faces:
        image = _as_bgr(image)
        h, w = image.shape[:2]
        cap = self.still_max_pixels if still and small_faces else self.max_pixels
        scales = self.levels(w, h, enlarge, cap)
        level = _resized(image, scales[0])
        first = self._detect_level(level, level.shape[1] / w)
        if len(scales) == 1:
            return clip_faces(drop_contained(first), w, h)
        # Each level answers for the faces in its range (shorter side, original pixels): a
        # coarser level for those of big_face px or more at the finer one (smaller ones are a
        # few px there, where hands and blurs look like faces), a finer one for those up to
        # largest_face px.
        found = [(first, 0.0, np.inf)]
        for k in range(1, len(scales)):
            level = _resized(level, 1 / self.coarse_factor)
            found[-1] = (found[-1][0], found[-1][1], self.largest_face / scales[k - 1])
            faces = self._detect_level(level, level.shape[1] / w)
            found.append((faces, self.big_face / scales[k - 1], np.inf))
        kept = [f[(f.min_side >= lo) & (f.min_side <= hi)] for f, lo, hi in found]
        faces = merge_levels(kept, self.nms_threshold)
        return clip_faces(drop_contained(faces), w, h)

    def _detect_level(self, level: np.ndarray, scale: float) -> Faces:
        rows = self._net.detect(level)
        if len(rows) == 0:
            return Faces.empty()
        rows = rows.astype(np.float32) / np.float32(scale)
        rows[:, 14] *= scale  # the score is not a coordinate
        return Faces(boxes=rows[:, :4], scores=rows[:, 14], landmarks=rows[:, 4:14])


def _resized(image: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA
    return cv2.resize(image, size, interpolation=interpolation)


def merge_levels(levels: list[Faces], nms_threshold: float) -> Faces:
    """One face per object seen at several pyramid levels: the best-scored box (and its
    landmarks), as YuNet's own non-maximum suppression does within a level."""
    faces = Faces.concat(levels)
    if len(faces) < 2:
        return faces
    keep = cv2.dnn.NMSBoxes(faces.boxes.tolist(), faces.scores.tolist(), 0.0, nms_threshold)
    return faces[np.sort(np.asarray(keep, int).reshape(-1))]


@register("haar")
class HaarDetector:
    """The seed project's Viola-Jones cascade, kept for comparison; never the default.

    It gives no landmarks, so they are placed where an upright frontal face has them
    inside a Haar box; that is enough for SFace's alignment on frontal faces.
    """

    name = "haar"
    # Typical eye / nose / mouth positions as fractions of a Haar frontal-face box.
    _LANDMARKS = np.array(
        [[0.31, 0.40], [0.69, 0.40], [0.50, 0.58], [0.35, 0.76], [0.65, 0.76]], np.float32
    )

    def __init__(self, min_size: int = 20, scale_factor: float = 1.1, min_neighbors: int = 5):
        self._cascade = cv2.CascadeClassifier(str(models.haar_cascade_path()))
        if self._cascade.empty():
            raise RollcallError("the Haar cascade could not be loaded")
        self.min_size = min_size
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors

    def detect(
        self,
        image: np.ndarray,
        enlarge: bool = True,
        still: bool = False,
        small_faces: bool = True,
    ) -> Faces:
        gray = image if image.ndim == 2 else cv2.cvtColor(_as_bgr(image), cv2.COLOR_BGR2GRAY)
        gray = cv2.equalizeHist(gray)
        boxes, _, weights = self._cascade.detectMultiScale3(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
            outputRejectLevels=True,
        )
        if len(boxes) == 0:
            return Faces.empty()
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        weights = np.asarray(weights, np.float32).reshape(-1)
        # Squash the cascade's level weights into 0..1 so scores read like the other detectors'.
        scores = 1.0 / (1.0 + np.exp(-weights))
        landmarks = boxes[:, None, :2] + self._LANDMARKS[None] * boxes[:, None, 2:]
        h, w = gray.shape[:2]
        return clip_faces(Faces(boxes=boxes, scores=scores, landmarks=landmarks), w, h)


@register("dlib")
class DlibHogDetector:
    """dlib's HOG + linear SVM detector with its 5-point landmarks (needs the dlib extra)."""

    name = "dlib"

    def __init__(self, upsample: int = 1) -> None:
        dlib = import_dlib()
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(models.model_path(models.DLIB_SHAPE5)))
        self._dlib = dlib
        self.upsample = upsample

    def detect(
        self,
        image: np.ndarray,
        enlarge: bool = True,
        still: bool = False,
        small_faces: bool = True,
    ) -> Faces:
        rgb = cv2.cvtColor(_as_bgr(image), cv2.COLOR_BGR2RGB)
        rects, scores, _ = self._detector.run(rgb, self.upsample if enlarge else 0, 0.0)
        if not rects:
            return Faces.empty()
        boxes, marks, shapes = [], [], []
        for r in rects:
            boxes.append([r.left(), r.top(), r.width(), r.height()])
            shape = self._shape(rgb, r)
            pts = np.array([[p.x, p.y] for p in shape.parts()], np.float32)
            shapes.append(shape)
            marks.append(dlib5_to_yunet(pts))
        h, w = rgb.shape[:2]
        faces = Faces(
            boxes=boxes, scores=np.clip(np.asarray(scores) / 3 + 0.5, 0, 1), landmarks=marks
        )
        faces.data["dlib_shape"] = np.array(shapes, dtype=object)
        return clip_faces(faces, w, h)


def dlib5_to_yunet(pts: np.ndarray) -> np.ndarray:
    """dlib's 5 points (two corners per eye, nose base) as YuNet's five (eyes, nose, mouth)."""
    # dlib order: 0-1 one eye's corners, 2-3 the other's, 4 the base of the nose.
    eye_a = pts[0:2].mean(axis=0)
    eye_b = pts[2:4].mean(axis=0)
    right_eye, left_eye = (eye_b, eye_a) if eye_b[0] < eye_a[0] else (eye_a, eye_b)
    nose = pts[4]
    eyes_mid = (right_eye + left_eye) / 2
    down = nose - eyes_mid
    across = (left_eye - right_eye) * 0.4
    mouth_mid = nose + 0.8 * down
    return np.array([right_eye, left_eye, nose, mouth_mid - across, mouth_mid + across])


def import_dlib():  # noqa: ANN201 - dlib has no type stubs
    try:
        import dlib
    except ImportError as exc:
        raise RollcallError(
            'the dlib backend needs the optional extra: pip install -e ".[dlib]"'
        ) from exc
    return dlib


def detect_padded(detector: FaceDetector, image: np.ndarray, max_side: int) -> Faces:
    """Faces in image padded by a quarter of its longer side all round (black) and shrunk so the
    longer side is at most max_side, without the detector's own enlarging; boxes and landmarks
    in image's pixels, not clipped to it. For a face that fills the picture: the padding puts
    all of it inside, the shrinking brings it down to sizes the detector finds."""
    h, w = image.shape[:2]
    pad = max(h, w) // 4
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    scale = min(1.0, max_side / max(padded.shape[:2]))
    if scale < 1.0:
        size = (max(1, round(padded.shape[1] * scale)), max(1, round(padded.shape[0] * scale)))
        padded = cv2.resize(padded, size, interpolation=cv2.INTER_AREA)
    faces = detector.detect(padded, enlarge=False)
    faces.boxes[:] /= scale
    faces.landmarks[:] /= scale
    faces.boxes[:, :2] -= pad
    faces.landmarks -= pad
    return faces


def drop_contained(faces: Faces, inside: float = 0.7, larger: float = 2.0) -> Faces:
    """Without the boxes lying mostly (``inside`` of their area) within a box at least
    ``larger`` times their area that scores at least as well: a part of a face (a box on the
    chin of a face too large for the working level) is not another face."""
    n = len(faces)
    if n < 2:
        return faces
    b = faces.boxes
    area = b[:, 2] * b[:, 3]
    x0 = np.maximum(b[:, None, 0], b[None, :, 0])
    y0 = np.maximum(b[:, None, 1], b[None, :, 1])
    x1 = np.minimum(b[:, None, 0] + b[:, None, 2], b[None, :, 0] + b[None, :, 2])
    y1 = np.minimum(b[:, None, 1] + b[:, None, 3], b[None, :, 1] + b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    # contained[i, j]: box i lies within box j, which is larger and scores no worse
    contained = (
        (inter >= inside * area[:, None])
        & (area[None, :] >= larger * area[:, None])
        & (faces.scores[None, :] >= faces.scores[:, None])
    )
    np.fill_diagonal(contained, False)
    return faces[~contained.any(axis=1)]


def clip_faces(faces: Faces, width: int, height: int) -> Faces:
    """Keep boxes inside the image and drop degenerate ones (they break crops later)."""
    if not len(faces):
        return faces
    b = faces.boxes
    x0 = np.clip(b[:, 0], 0, width)
    y0 = np.clip(b[:, 1], 0, height)
    x1 = np.clip(b[:, 0] + b[:, 2], 0, width)
    y1 = np.clip(b[:, 1] + b[:, 3], 0, height)
    faces.boxes = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1).astype(np.float32)
    return faces[(faces.boxes[:, 2] >= 4) & (faces.boxes[:, 3] >= 4)]
