"""Enrollment gives the same answer for a photo at its own size and as a 12 MP phone photo
(issue 11, item 2): no bystander, box on a hand or blur that only one of the sizes sees."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rollcall.errors import EnrollmentRefused
from rollcall.vision.engine import FaceEngine
from rollcall.vision.imageio import read_image
from rollcall.vision.quality import EnrollmentPolicy
from rollcall.vision.track import iou_matrix

IDENTITIES = Path("identities")
PHONE_SIDE = 4032


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine()


def phone_size(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The photo as a phone takes it: long side 4032 px (cubic, as bench_portraits does)."""
    h, w = image.shape[:2]
    scale = PHONE_SIDE / max(h, w)
    size = (round(w * scale), round(h * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC), scale


def decision(engine: FaceEngine, image: np.ndarray, scale: float = 1.0) -> tuple[str, object]:
    """("enrolled", the face's box in the original photo's pixels, sharpness) or
    ("refused", the reason's first words)."""
    try:
        face = engine.enrollment_face(image, EnrollmentPolicy())
    except EnrollmentRefused as exc:
        return "refused", str(exc).split(" (")[0].split(";")[0]
    return "enrolled", (np.asarray(face.box, np.float32) / scale, face.sharpness)


@pytest.mark.parametrize(
    "key",
    [
        # At 4032 px the pyramid's coarse level saw a half-hidden bystander at 0.83 that the
        # native size's levels scored 0.75 or left out of their range: enrolled at 250 px,
        # "2 faces found" at 4032 px.
        "photos/Arnold_Schwarzenegger/lfw__Arnold_Schwarzenegger_0004.jpg",
        # A blurred woman behind the player: "2 faces found" at 4032 px only.
        "web_noisy/Maria_Sharapova/"
        "cbraw__maria-sharapova-won-wimbledon-as-a-17-year-AFP_1PC6YI-2.jpg",
        # A 112 px crop holding a second, larger face cut off by its edge: found at 4032 px
        # only, and enrolled instead of the face enrolled at native size.
        "aligned112/Keanu_Reeves/glint__5657.png",
        # A box on a wrist: 0.79 at native size, 0.86 at 4032 px.
        "web_noisy/Serena_Williams/cbraw__Screen-Shot-2020-02-16-at-1.02.12-PM-620x400.png",
    ],
)
def test_a_photo_gets_the_same_answer_at_phone_size(engine: FaceEngine, faces: Path, key: str):
    native = read_image(faces / IDENTITIES / key)
    phone, scale = phone_size(native)

    small = decision(engine, native)
    large = decision(engine, phone, scale)

    assert small[0] == large[0], (small, large)
    if small[0] == "refused":
        assert small[1] == large[1]
    else:
        (box_small, _), (box_large, _) = small[1], large[1]
        assert iou_matrix(box_small[None], box_large[None])[0, 0] > 0.7


def test_an_enlarged_copy_is_not_blurrier_than_the_photo(engine: FaceEngine, faces: Path):
    # A soft 112 px crop: sharpness 275 aligned 1:1 at native size (enrolled), 24 from the
    # copy enlarged to 4032 px ("face too blurry", under 25). Only the measure is compared,
    # as the decision near the threshold may go either way: the copy's pixels are the
    # photo's, smoothed a little by the enlarging.
    photos = faces / IDENTITIES / "aligned112" / "Hugh_Laurie"
    for photo in (photos / "glint__3556.png", photos / "glint__3643.png"):
        native = read_image(photo)
        phone, scale = phone_size(native)
        policy = EnrollmentPolicy(min_sharpness=0.0)

        small = engine.enrollment_face(native, policy)
        large = engine.enrollment_face(phone, policy)

        assert large.sharpness == pytest.approx(small.sharpness, rel=0.25), photo.name


@pytest.mark.parametrize("size", ["native", "phone"])
def test_a_blurred_portrait_is_refused_at_every_size(engine: FaceEngine, faces: Path, size: str):
    # What the sharpness check is for: a face out of focus (Gaussian, 2.5 px on a 250 px LFW
    # photo, whose face is about 90 px) gives a template that matches poorly.
    photo = faces / IDENTITIES / "photos" / "Tony_Blair" / "lfw__Tony_Blair_0002.jpg"
    sharp = read_image(photo)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 2.5)
    if size == "phone":
        sharp, blurred = phone_size(sharp)[0], phone_size(blurred)[0]

    assert decision(engine, sharp)[0] == "enrolled"
    assert decision(engine, blurred) == ("refused", "face too blurry")


def test_a_mirrored_selfie_gives_the_template_of_the_photo(faces: Path, engine: FaceEngine) -> None:
    """Phones' front cameras save selfies mirrored. A template is the face embedded together
    with its mirror image, so the photo and its mirror give nearly the same template; one
    embedding of one view differs between them more than twice as much (1 - cosine, mean
    0.021 for one view against 0.009 mirror-averaged on these photos)."""
    names = ["Hugo_Chavez", "John_Schneider", "Lionel_Messi", "Roger_Federer", "Tony_Blair"]
    gaps = []
    for name in names:
        for photo in sorted((faces / IDENTITIES / "photos" / name).iterdir()):
            image = read_image(photo)
            try:  # each person's first photo that enrolls
                a = engine.enrollment_face(image, EnrollmentPolicy())
                b = engine.enrollment_face(cv2.flip(image, 1), EnrollmentPolicy())
            except EnrollmentRefused:
                continue
            gaps.append(1.0 - float(a.embedding @ b.embedding))
            break
    assert len(gaps) == len(names)
    assert float(np.mean(gaps)) < 0.014, gaps
