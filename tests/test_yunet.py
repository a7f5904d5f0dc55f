"""YuNet under onnxruntime finds exactly what OpenCV's own FaceDetectorYN finds (same boxes,
landmarks and scores), on real photos and a generated gallery frame of any size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from rollcall.vision import models
from rollcall.vision.yunet import YuNetNetwork


def _opencv(image: np.ndarray, score: float, nms: float) -> np.ndarray:
    h, w = image.shape[:2]
    detector = cv2.FaceDetectorYN.create(
        str(models.model_path(models.YUNET)), "", (w, h), score, nms, 5000
    )
    _, rows = detector.detect(image)
    return np.zeros((0, 15), np.float32) if rows is None else rows


def _ordered(rows: np.ndarray) -> np.ndarray:
    return rows[np.lexsort((rows[:, 1], rows[:, 0]))]


def test_the_onnxruntime_network_finds_what_opencv_finds(faces: Path) -> None:
    from rollcall.synth.gallery import gallery_frame

    root = faces / "identities" / "photos"
    photos = sorted(root.rglob("*.jpg"))[::60][:16]
    images = [cv2.imread(str(p)) for p in photos]
    frame, _ = gallery_frame([str(p) for p in photos[:9]], (1280, 720))
    images += [frame, cv2.resize(frame, (643, 361))]  # sizes that are not multiples of 32
    for score in (0.7, 0.5):
        net = YuNetNetwork(score, 0.3, threads=1)
        found = 0
        for image in images:
            theirs, ours = _opencv(image, score, 0.3), net.detect(image)
            assert len(ours) == len(theirs)
            if len(ours):
                assert np.abs(_ordered(ours) - _ordered(theirs)).max() < 0.01
            found += len(ours)
        assert found >= len(images)  # every photo shows a face, the frames nine
