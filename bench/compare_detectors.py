"""Gallery detection of this checkout's YuNetDetector against another checkout's, timed in
turns on the same frames, so both see the same load on a shared machine. Prints median ms per
frame and faces found, as bench_engine.py's detection section does (default upscale policy,
the same seeded frames).

    git archive <commit> src | tar -x -C /tmp/base
    .venv/bin/python bench/compare_detectors.py --baseline-src /tmp/base/src [--repeats 10]
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np

from bench_engine import make_frames, tile_of
from common import faces_root, load_photos, setup_threads
from rollcall.vision.detect import YuNetDetector

CASES = (((1280, 720), 49), ((640, 480), 49), ((1920, 1080), 49), ((1280, 720), 4))


def baseline_detector(src: Path) -> object:
    """The other checkout's YuNetDetector (its detect.py imports this checkout's helpers)."""
    spec = importlib.util.spec_from_file_location(
        "baseline_detect", src / "rollcall" / "vision" / "detect.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.YuNetDetector()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-src", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    setup_threads(2)
    photos = load_photos(faces_root())
    detectors = {"baseline": baseline_detector(args.baseline_src), "this": YuNetDetector()}
    for size, tiles in CASES:
        frames = make_frames(photos, tiles, size, 4, seed=tiles * 7 + size[0])
        times: dict[str, list[float]] = {k: [] for k in detectors}
        for image, _ in frames:  # warm-up
            for det in detectors.values():
                det.detect(image)
        for _ in range(args.repeats):
            for image, _ in frames:
                for name, det in detectors.items():
                    start = time.perf_counter()
                    det.detect(image)
                    times[name].append((time.perf_counter() - start) * 1000)
        for name, det in detectors.items():
            found = present = false = 0
            for image, truths in frames:
                where = tile_of(det.detect(image), truths)
                found += len(set(where[where >= 0].tolist()))
                present += sum(t.has_face for t in truths)
                false += int((where < 0).sum())
            print(
                f"{size[0]}x{size[1]} {tiles:>2}t {name:>8}: {np.median(times[name]):6.1f} ms  "
                f"found {found}/{present}  false {false}",
                flush=True,
            )


if __name__ == "__main__":
    main()
