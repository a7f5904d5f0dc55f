"""Where YuNet's five landmarks fall in dlib's aligned 150 px face chip (embed.DLIB_CHIP_POINTS).

dlib's ResNet was trained on chips cut by dlib's own pipeline: HOG detector, 5-point shape
predictor (eye corners, nose base), get_face_chip(size=150, padding=0.25). rollcall aligns on
YuNet's landmarks instead, so it needs their positions in that chip. For every photo where
dlib's HOG detector finds exactly one face, this cuts dlib's chip with extra context
(padding 1.0, 300 px), finds YuNet's landmarks in it, maps them to the padding-0.25 chip and
prints the per-point median and spread. Needs dlib (pip install dlib-bin).

    .venv/bin/python bench/dlib_chip_template.py
"""

from __future__ import annotations

import cv2
import numpy as np

from common import faces_root, load_photos, setup_threads
from rollcall.synth import read_photo
from rollcall.vision import models
from rollcall.vision.detect import YuNetDetector, import_dlib
from rollcall.vision.embed import DLIB_CHIP_POINTS

CONTEXT_SIZE, CONTEXT_PADDING = 300, 1.0
CHIP_SIZE, CHIP_PADDING = 150, 0.25


def main() -> None:
    setup_threads(2)
    dlib = import_dlib()
    hog = dlib.get_frontal_face_detector()
    shape = dlib.shape_predictor(str(models.model_path(models.DLIB_SHAPE5)))
    yunet = YuNetDetector(upscale_below=0)
    points = []
    photos = [p for p in load_photos(faces_root(), ["photos"]) if p.path.suffix == ".jpg"]
    for photo in photos:
        rgb = cv2.cvtColor(read_photo(photo.path), cv2.COLOR_BGR2RGB)
        found = hog(rgb, 1)
        if len(found) != 1:
            continue
        context = dlib.get_face_chip(
            rgb, shape(rgb, found[0]), size=CONTEXT_SIZE, padding=CONTEXT_PADDING
        )
        faces = yunet.detect(cv2.cvtColor(np.asarray(context), cv2.COLOR_RGB2BGR))
        if not len(faces):
            continue
        marks = faces.landmarks[int(np.argmax(faces.min_side))]
        # A chip with padding p puts the mean face's unit square at (p + u) / (2p + 1) * size.
        unit = marks / CONTEXT_SIZE * (2 * CONTEXT_PADDING + 1) - CONTEXT_PADDING
        points.append((CHIP_PADDING + unit) / (2 * CHIP_PADDING + 1) * CHIP_SIZE)
    stack = np.array(points)
    median = np.median(stack, axis=0)
    spread = np.median(np.abs(stack - median), axis=0)
    names = ["right eye", "left eye", "nose tip", "right mouth", "left mouth"]
    print(f"{len(stack)} photos with one dlib face (of {len(photos)} jpg photos)")
    for name, (x, y), (sx, sy), (cx, cy) in zip(
        names, median, spread, DLIB_CHIP_POINTS, strict=True
    ):
        print(
            f"  {name:>11}: ({x:6.2f}, {y:6.2f})  MAD ({sx:4.2f}, {sy:4.2f})  in use ({cx}, {cy})"
        )


if __name__ == "__main__":
    main()
