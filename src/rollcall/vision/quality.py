"""Whether a photo can serve as an enrollment template: one clear, large enough, sharp face."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rollcall.errors import EnrollmentRefused
from rollcall.vision.types import Faces


@dataclass(frozen=True)
class EnrollmentPolicy:
    # Below this a face gives a template that matches poorly even at full size.
    min_face_px: int = 40
    # Variance of the Laplacian on the aligned 112 px chip; calibrated on shared/data/faces.
    min_sharpness: float = 25.0
    # A second face at least this fraction of the main face's size makes the photo ambiguous.
    second_face_ratio: float = 0.5
    # The detector's confidence a face needs to be enrolled, or to count as a second face. It
    # does not depend on the face's size, because the detector now scores every face at a
    # pyramid level where it is 24-400 px (YuNetDetector): measured with
    # bench/bench_portraits.py and a scan of the largest face of each photo, the main face of
    # all 970 photos of identities/photos, aligned112 and gray_yale scores 0.85 or more at
    # native size (0.81 or more rescaled to 4032 px), where before 11 clear close-ups of
    # 210-525 px scored 0.71-0.79 and were refused as "no face found". Under 0.8 are turned,
    # covered or cut-off faces, and in group photos the boxes on hands and objects: the 12
    # such boxes found by eye in groups/ (WIDER, voc_dlib) all scored 0.70-0.80. A face found
    # but under this score is refused as "found but not clearly", with its score.
    min_score: float = 0.8


def sharpness(chip: np.ndarray) -> float:
    """Variance of the Laplacian: low on blurred or heavily upscaled faces.

    Enrollment measures it on the chip aligned from its fixed-size view of the photo
    (FaceEngine.enrollment_face), not from the photo's own pixels: a soft 112 px crop aligned
    1:1 kept its last pixel of detail (275) that the chip from a copy enlarged to 4032 px
    smoothed away (24). A Laplacian of Gaussian (sigma 1 px) was tried as a measure less
    sensitive to that: stabler (3% against 15% over sizes of one photo), but it read dark,
    low-contrast faces as blurred (6 of aligned112's 480 crops under the threshold calibrated
    on blurred LFW photos, 3 of them sharp by eye), so the plain one stays."""
    gray = chip if chip.ndim == 2 else cv2.cvtColor(chip, cv2.COLOR_BGR2GRAY)
    gray = cv2.resize(gray, (112, 112), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def choose_enrollment_face(faces: Faces, policy: EnrollmentPolicy) -> int:
    """Index of the one face to enroll from a photo, or EnrollmentRefused saying why."""
    if not len(faces):
        raise EnrollmentRefused("no face found")
    confident = faces.scores >= policy.min_score
    if not confident.any():
        # A face was found, only not clearly enough: say so, and what to do about it.
        largest = int(np.argmax(faces.min_side))
        side, score = float(faces.min_side[largest]), float(faces.scores[largest])
        if side < policy.min_face_px:
            raise EnrollmentRefused(
                f"face too small ({side:.0f} px, need at least {policy.min_face_px} px)"
            )
        raise EnrollmentRefused(
            f"face found but not clearly (detector confidence {score:.2f}, need "
            f"{policy.min_score:.2f}); use a photo of the whole face, turned to the camera "
            "and not covered"
        )
    kept = np.flatnonzero(confident)
    sides = faces.min_side[kept]
    order = np.argsort(-sides)
    if len(order) > 1 and sides[order[1]] >= policy.second_face_ratio * sides[order[0]]:
        raise EnrollmentRefused(
            f"{len(kept)} faces found; use a photo showing only the person to enroll"
        )
    main = order[0]
    if sides[main] < policy.min_face_px:
        raise EnrollmentRefused(
            f"face too small ({sides[main]:.0f} px, need at least {policy.min_face_px} px)"
        )
    return int(kept[main])


def check_sharpness(chip: np.ndarray, policy: EnrollmentPolicy) -> float:
    value = sharpness(chip)
    if value < policy.min_sharpness:
        raise EnrollmentRefused(
            f"face too blurry (sharpness {value:.0f}, need at least {policy.min_sharpness:.0f})"
        )
    return value
