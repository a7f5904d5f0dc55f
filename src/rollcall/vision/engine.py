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

    @property
    def embedder(self) -> Embedder:
        # Loaded on first use: `rollcall count` never needs the 10 MB recognition model.
        if self._embedder is None:
            self._embedder = create_embedder(self.options.embedder, threads=self.options.threads)
        return self._embedder

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

    def enrollment_face(self, image: np.ndarray, policy: EnrollmentPolicy) -> EnrollmentFace:
        """The template a photo gives, or EnrollmentRefused with the reason."""
        # Faces under half the main one's size never decide anything here, so a phone photo
        # is searched at the working resolution only (0.4 s instead of 2.6 s at 12 MP).
        faces = self.detect(image, pad_retry=True, small_faces=False)
        i = choose_enrollment_face(faces, policy)
        one = faces[[i]]
        chip = self.embedder.align(image, one)[0]
        sharp = check_sharpness(chip, policy)
        vector = self.embedder.embed(image, one)[0]
        return EnrollmentFace(
            vector, chip, float(one.min_side[0]), sharp, float(one.scores[0]), one.boxes[0]
        )
