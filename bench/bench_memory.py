"""Memory of the face engine: resident set size of a fresh process at each stage, per embedder.

Each measurement runs in its own process (a process never gives back all it once held, so
embedders measured one after another in one process would read each other's memory):
imports, the detector after one 1280x720 frame, the embedder loaded, and after three frames of
30 faces identified. Medians over repeated runs, in MB.

    .venv/bin/python bench/bench_memory.py [--repeats 3] [--embedder sface+dlib sface dlib]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from common import OUT, faces_root

STAGES = ("python + imports", "detector, one frame", "embedder loaded", "three 30-face frames")


def rss_mb() -> float:
    """This process's resident set size (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(embedder: str) -> list[float]:
    """In this process: RSS after each of STAGES."""
    import cv2

    from rollcall.synth import gallery_frame
    from rollcall.vision.engine import EngineOptions, FaceEngine

    photos = sorted((faces_root() / "identities" / "photos").glob("*/lfw__*"))[:30]
    frame, _ = gallery_frame(photos, (1280, 720))
    cv2.setNumThreads(2)
    marks = [rss_mb()]
    engine = FaceEngine(EngineOptions(embedder=embedder, threads=2))
    engine.detect(frame)
    marks.append(rss_mb())
    _ = engine.embedder
    marks.append(rss_mb())
    for _ in range(3):
        engine.embed(frame, engine.detect(frame))
    marks.append(rss_mb())
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--embedder", nargs="*", default=["sface+dlib", "sface", "dlib"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    faces_root()  # exits with a clear message when the face data is absent
    report = {}
    print(f"RSS of a fresh process (median of {args.repeats} runs, MB)")
    print(f"{'embedder':>12} " + " ".join(f"{s:>22}" for s in STAGES))
    for name in args.embedder:
        runs = [
            json.loads(
                subprocess.run(
                    [sys.executable, __file__, "--child", name],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=600,
                ).stdout.splitlines()[-1]
            )
            for _ in range(args.repeats)
        ]
        median = np.median(np.array(runs), axis=0)
        report[name] = dict(zip(STAGES, median.round(1).tolist(), strict=True))
        print(f"{name:>12} " + " ".join(f"{v:22.0f}" for v in median))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_memory.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {OUT / 'bench_memory.json'}")


if __name__ == "__main__":
    main()
