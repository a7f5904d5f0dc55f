"""YuNet under onnxruntime (rollcall.vision.yunet) against OpenCV's FaceDetectorYN on the same
frames, one thread each: median ms per frame and whether they find the same faces.

    .venv/bin/python bench/bench_detector.py [--repeat 15]

Frames: 1280x720 and 1920x1080 galleries of 4, 16 and 49 real photos (rollcall.synth.gallery),
and real group photos scaled to at most 1920x1080.
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np

from common import faces_root
from rollcall.synth.gallery import gallery_frame
from rollcall.vision import models
from rollcall.vision.yunet import YuNetNetwork


def frames() -> list[tuple[str, np.ndarray]]:
    root = faces_root()
    photos = sorted((root / "identities" / "photos").rglob("*.jpg"))
    out = []
    for n in (4, 16, 49):
        for size in ((1280, 720), (1920, 1080)):
            image, _ = gallery_frame(
                [str(p) for p in photos[:: max(1, len(photos) // n)][:n]], size
            )
            out.append((f"gallery {n} {size[0]}x{size[1]}", image))
    for path in sorted((root / "groups").rglob("*.jpg"))[:6]:
        image = cv2.imread(str(path))
        scale = min(1.0, (1920 * 1080 / (image.shape[0] * image.shape[1])) ** 0.5)
        out.append((f"group {path.name[:20]}", cv2.resize(image, None, fx=scale, fy=scale)))
    return out


def median_ms(run, repeat: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    ours = YuNetNetwork(0.7, 0.3, threads=1)
    print(f"{'frame':32} {'faces':>5} {'OpenCV ms':>9} {'ort ms':>7} {'same':>5}")
    ratios = []
    for name, image in frames():
        h, w = image.shape[:2]
        theirs = cv2.FaceDetectorYN.create(
            str(models.model_path(models.YUNET)), "", (w, h), 0.7, 0.3, 5000
        )
        a = theirs.detect(image)[1]
        a = np.zeros((0, 15), np.float32) if a is None else a
        b = ours.detect(image)
        same = len(a) == len(b) and (
            not len(a)
            or np.abs(a[np.lexsort((a[:, 1], a[:, 0]))] - b[np.lexsort((b[:, 1], b[:, 0]))]).max()
            < 0.01
        )
        cv_ms = median_ms(lambda t=theirs, i=image: t.detect(i), args.repeat)
        ort_ms = median_ms(lambda i=image: ours.detect(i), args.repeat)
        ratios.append(cv_ms / ort_ms)
        print(f"{name:32} {len(b):>5} {cv_ms:>9.1f} {ort_ms:>7.1f} {'yes' if same else 'NO':>5}")
    print(f"\nOpenCV / onnxruntime time, median over frames: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
