"""YuNet's network under onnxruntime, its outputs decoded as OpenCV's FaceDetectorYN does.

OpenCV runs the int8bq file ~2.5x slower than onnxruntime runs the same weights made float
once (1280x720 on one core: 51 ms against ~20 ms; bench/bench_engine.py), and detection is
the whole cost of a sample that only takes the head count. The decoding is FaceDetectorYN's
(OpenCV 4.10, objdetect/src/face_detect.cpp): the image padded right and bottom to a multiple
of 32, then per stride (8, 16, 32) a score sqrt(cls * obj) on each grid cell, a box centred at
(cell + offset) * stride of size exp(log-size) * stride, five landmarks at
(cell + offset) * stride, and non-maximum suppression over the boxes cut to whole pixels.
tests/test_detect_sizes.py checks it against OpenCV's own detector on real photos."""

from __future__ import annotations

import cv2
import numpy as np

from rollcall.vision import models

STRIDES = (8, 16, 32)
DIVISOR = 32
TOP_K = 5000
OUTPUTS = [f"{kind}_{s}" for kind in ("cls", "obj", "bbox", "kps") for s in STRIDES]


class YuNetNetwork:
    """detect(image) -> (N, 15) float32 rows: box x, y, w, h, five landmarks (x, y), score."""

    def __init__(self, score_threshold: float, nms_threshold: float, threads: int = 0) -> None:
        from rollcall.vision.onnx_runtime import cached_session, yunet_float_graph

        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self._session = cached_session(yunet_float_graph, models.model_path(models.YUNET), threads)

    def detect(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        ph, pw = -(-h // DIVISOR) * DIVISOR, -(-w // DIVISOR) * DIVISOR
        padded = cv2.copyMakeBorder(image, 0, ph - h, 0, pw - w, cv2.BORDER_CONSTANT, value=0)
        blob = cv2.dnn.blobFromImage(padded)  # BGR, 0..255, NCHW float32, as OpenCV feeds it
        found = dict(zip(OUTPUTS, self._session.run(OUTPUTS, {"input": blob}), strict=True))
        rows = [self._decode(found, s, pw // s) for s in STRIDES]
        faces = np.concatenate(rows) if rows else np.zeros((0, 15), np.float32)
        if len(faces) < 2:
            return faces
        boxes = [[int(v) for v in box] for box in faces[:, :4]]  # OpenCV's Rect2i
        keep = cv2.dnn.NMSBoxes(
            boxes, faces[:, 14].tolist(), self.score_threshold, self.nms_threshold, top_k=TOP_K
        )
        return faces[np.asarray(keep, int).reshape(-1)]

    def _decode(self, found: dict[str, np.ndarray], stride: int, cols: int) -> np.ndarray:
        cls = np.clip(found[f"cls_{stride}"].reshape(-1), 0.0, 1.0)
        obj = np.clip(found[f"obj_{stride}"].reshape(-1), 0.0, 1.0)
        score = np.sqrt(cls * obj)
        cells = np.flatnonzero(score >= self.score_threshold)
        row, col = np.divmod(cells, cols)
        box = found[f"bbox_{stride}"].reshape(-1, 4)[cells]
        marks = found[f"kps_{stride}"].reshape(-1, 5, 2)[cells]
        size = np.exp(box[:, 2:4]) * stride
        centre = (np.stack([col, row], 1) + box[:, :2]) * stride
        points = (marks + np.stack([col, row], 1)[:, None, :]) * stride
        return np.column_stack(
            [centre - size / 2, size, points.reshape(-1, 10), score[cells]]
        ).astype(np.float32)
