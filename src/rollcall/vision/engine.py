"""The face engine: detector + embedder + gallery, from an image to named faces."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rollcall.vision.detect import (
    FaceDetector,
    YuNetDetector,
    clip_faces,
    create_detector,
    detect_padded,
)
from rollcall.vision.embed import Embedder, create_embedder, embed
from rollcall.vision.gallery import Gallery, Matches
from rollcall.vision.quality import EnrollmentPolicy, check_sharpness, choose_enrollment_face
from rollcall.vision.slicing import SlicePolicy, detect_sliced, should_slice
from rollcall.vision.types import Faces

# A face that fills a whole photo (a tight head-shot crop) is missed twice over: part of it lies
# outside the picture, and once the detector enlarges a small photo the face is larger than any
# YuNet finds. Measured on 13 such crops of 298-960 px that were missed: padded by a quarter
# on each side, all 13 were found once shrunk to 320 px without enlarging (none when enlarged).
RETRY_SIDE = 320

# Enrollment decides on the photo rescaled to this many pixels, whatever its own size, so that
# the same photo at 250 px or 4032 px meets the detector's pyramid at the same scales and gets
# the same answer. YuNet's scores move with the scale a face is seen at (0.75 at one level,
# 0.83 at another for the same half-hidden bystander), and the levels an image gets depend on
# its pixel count: a 250 px LFW photo was searched at 2x and 0.5x, the same photo at 4032 px at
# 5.8x and 1.4x (of the 250 px one), so bystanders and boxes on hands under 0.8 at one size
# passed 0.8 at the other, and a box over the whole photo was found only at 4032. 1280x960
# puts an LFW face (90 px of 250) at about 400 px, judged at the 277 px coarse level as a face
# of ~100 px, where YuNet scores best; a phone photo's small faces stay above 20 px as long as
# they are a twentieth of the photo. Enrollment costs ~0.4 s a photo at every size (before:
# 0.05 s at 250 px, 0.3 s at 4032 px).
ENROLL_PIXELS = 1280 * 960


@dataclass(frozen=True)
class EngineOptions:
    detector: str = "yunet"
    embedder: str = "sface+dlib"
    threads: int = 0  # 0: OpenCV's own choice (all cores)
    # Sliced detection (vision/slicing.py) for a room full of small faces: None decides per
    # image from the first pass (many small faces), True slices every image, False never.
    sliced: bool | None = None
    slice_policy: SlicePolicy = SlicePolicy()


@dataclass(frozen=True)
class EnrollmentFace:
    """The one face a photo contributes to a person's templates."""

    embedding: np.ndarray
    chip: np.ndarray
    face_px: float
    sharpness: float
    score: float
    box: np.ndarray | None = None  # [x, y, w, h] of the face in the photo's pixels


@dataclass(frozen=True)
class Identified:
    faces: Faces  # with embeddings
    matches: Matches


class FaceEngine:
    def __init__(self, options: EngineOptions | None = None) -> None:
        self.options = options or EngineOptions()
        if self.options.threads > 0:
            # Both networks run 1.4-1.9x faster on 2 threads than on 1 (MODELS.md).
            cv2.setNumThreads(self.options.threads)
        self.detector: FaceDetector = create_detector(self.options.detector)
        self._tile_detector: FaceDetector | None = None
        self._embedder: Embedder | None = None
        self._template_embedder: Embedder | None = None

    @property
    def embedder(self) -> Embedder:
        # Loaded on first use: `rollcall count` never needs the 10 MB recognition model.
        if self._embedder is None:
            self._embedder = create_embedder(self.options.embedder, threads=self.options.threads)
        return self._embedder

    @property
    def template_embedder(self) -> Embedder:
        """The embedder templates are made with: each enrollment face is embedded together
        with its mirror image and the two averaged (embed.mirror_mean), a steadier estimate
        of the person than one view, while faces in sessions are embedded once. Enrollment
        is offline, so the second pass costs nothing while a session runs
        (bench/calibrate.py --mirror-templates). Same networks, same sessions."""
        if self._template_embedder is None:
            self._template_embedder = create_embedder(
                self.options.embedder, threads=self.options.threads, mirror=True
            )
        return self._template_embedder

    def detect(self, image: np.ndarray, pad_retry: bool = False, small_faces: bool = True) -> Faces:
        """Faces in an image. pad_retry marks a still photo (enroll, identify, count) rather
        than a video frame: every level of the detector's pyramid is searched (a large photo
        at full resolution unless small_faces is False), and a photo where no face is found
        is tried again, padded and shrunk (see RETRY_SIDE). When the first pass shows many
        small faces (a classroom from the front), the image is searched again in enlarged,
        overlapping tiles (see vision/slicing.py and EngineOptions.sliced)."""
        faces = self.detector.detect(image, still=pad_retry, small_faces=small_faces)
        if small_faces and self.options.sliced is not False:
            working = self._working_scale(image, pad_retry)
            policy = self.options.slice_policy
            if self.options.sliced or should_slice(faces, working, policy):
                faces = detect_sliced(self.tile_detector, image, faces, policy, working)
        if len(faces) or not pad_retry:
            return faces
        h, w = image.shape[:2]
        faces = detect_padded(self.detector, image, RETRY_SIDE)
        return clip_faces(faces, w, h)

    @property
    def tile_detector(self) -> FaceDetector:
        """The sliced pass's detector: YuNet with the tiles' own score threshold, and its own
        networks (one tile size), so the first pass's stay planned."""
        if self._tile_detector is None:
            if isinstance(self.detector, YuNetDetector):
                threshold = self.options.slice_policy.score_threshold
                # A tile is searched at one level: its faces are small by construction.
                self._tile_detector = YuNetDetector(score_threshold=threshold, coarse_factor=1.0)
            else:
                self._tile_detector = self.detector
        return self._tile_detector

    def _working_scale(self, image: np.ndarray, still: bool) -> float:
        """The scale of the detector's first pass (how large its faces looked to it)."""
        if not isinstance(self.detector, YuNetDetector):
            return 1.0
        h, w = image.shape[:2]
        cap = self.detector.still_max_pixels if still else self.detector.max_pixels
        return self.detector.scale_for(w, h, cap)

    def embed(self, image: np.ndarray, faces: Faces) -> Faces:
        faces.embeddings = embed(self.embedder, image, faces)
        return faces

    def identify(self, image: np.ndarray, gallery: Gallery, pad_retry: bool = False) -> Identified:
        faces = self.embed(image, self.detect(image, pad_retry))
        # Each face's size goes along: faces under the gallery's naming size are never named.
        return Identified(faces, gallery.match(faces.embeddings, faces.min_side))

    def enrollment_faces(self, image: np.ndarray) -> Faces:
        """The faces enrollment decides on (see enrollment_face), in the photo's pixels."""
        view, (sx, sy) = enrollment_view(image)
        return to_photo(self._enrollment_detect(view), sx, sy)

    def _enrollment_detect(self, view: np.ndarray) -> Faces:
        # Faces under half the main one's size never decide anything here: the working level
        # only, never the 12 MP search for small faces.
        return self.detect(view, pad_retry=True, small_faces=False)

    def enrollment_face(self, image: np.ndarray, policy: EnrollmentPolicy) -> EnrollmentFace:
        """The template a photo gives, or EnrollmentRefused with the reason.

        Which face, how many faces, how clear and how sharp are decided on the photo rescaled
        to ENROLL_PIXELS (the same answer at every photo size); the face's size is checked,
        and the template taken, in the photo's own pixels."""
        view, (sx, sy) = enrollment_view(image)
        seen = self._enrollment_detect(view)
        i = choose_enrollment_face(to_photo(seen, sx, sy), policy)
        seen_one = seen[[i]]
        # Sharpness on the chip aligned from the view: the chip of an upscaled copy is not
        # blurrier than the original's, nor a 112 px crop taken 1:1 sharper than its copy.
        sharp = check_sharpness(self.embedder.align(view, seen_one)[0], policy)
        one = to_photo(seen_one, sx, sy)
        chip = self.embedder.align(image, one)[0]
        vector = self.template_embedder.embed(image, one)[0]
        return EnrollmentFace(
            vector, chip, float(one.min_side[0]), sharp, float(one.scores[0]), one.boxes[0]
        )


def enrollment_view(image: np.ndarray, pixels: int | None = None) -> tuple[np.ndarray, tuple]:
    """The photo rescaled to `pixels` (ENROLL_PIXELS) keeping its shape, and the x and y scales
    from the photo to it. Cubic when enlarging, so an enlarged photo and the original enlarged
    here give about the same pixels; area when shrinking."""
    pixels = ENROLL_PIXELS if pixels is None else pixels
    h, w = image.shape[:2]
    scale = (pixels / (w * h)) ** 0.5
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return image, (1.0, 1.0)
    interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    view = cv2.resize(image, size, interpolation=interpolation)
    return view, (size[0] / w, size[1] / h)


def to_photo(faces: Faces, sx: float, sy: float) -> Faces:
    """Faces found in the enrollment view, in the photo's pixels."""
    if (sx, sy) == (1.0, 1.0):
        return faces
    scale = np.array([sx, sy], np.float32)
    return Faces(
        boxes=faces.boxes / np.tile(scale, 2),
        scores=faces.scores.copy(),
        landmarks=faces.landmarks / scale,
        data=dict(faces.data),
    )
