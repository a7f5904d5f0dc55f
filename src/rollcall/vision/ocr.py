"""Reading one line of text (a tile's name label) with the PP-OCRv6 recognizer rapidocr ships.

Only the recognition model is used, on label strips already cut out of the frame: running
rapidocr's text detector over whole tiles costs about a second per tile on two cores, while
recognition of a known strip takes tens of milliseconds. The model file is package data of the
PyPI package ``rapidocr`` (Apache-2.0, see MODELS.md); its sha256 is pinned here and the bytes
that were hashed are the bytes handed to onnxruntime, so nothing unverified is ever loaded and
nothing is downloaded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from rollcall.vision.models import ModelFile, package_file, verified_bytes

# rapidocr 3.10.0's multilingual recognizer (Latin scripts with accents, Greek, Cyrillic, CJK).
PPOCR_REC = ModelFile(
    name="PP-OCRv6 small recognizer (rapidocr 3.10)",
    package="rapidocr",
    resource="models/PP-OCRv6_rec_small.onnx",
    sha256="6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
    size=21_234_383,
)
# Pinned for completeness (the same wheel ships them); rollcall never loads them.
PPOCR_DET = ModelFile(
    name="PP-OCRv6 small text detector (rapidocr 3.10)",
    package="rapidocr",
    resource="models/PP-OCRv6_det_small.onnx",
    sha256="090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
    size=9_929_594,
)


# The recognizer's input height (rapidocr's rec_img_shape): strips are scaled to it.
TEXT_HEIGHT = 48


@dataclass(frozen=True)
class ReadText:
    """One strip's text and the recognizer's confidence in it (0-1)."""

    text: str
    score: float


class TextLineReader:
    """rapidocr's TextRecognizer over a verified, in-memory copy of its model.

    One instance is safe to share between threads (onnxruntime sessions are); a lock guards
    the recognizer's Python-side state, which is not."""

    def __init__(self, model_path: Path | None = None, threads: int = 0) -> None:
        import onnxruntime as ort
        from rapidocr.ch_ppocr_rec import TextRecognizer
        from rapidocr.utils.log import logger as rapid_log
        from rapidocr.utils.parse_parameters import ParseParams

        # rapidocr logs every engine it builds at INFO; rollcall's own log says enough.
        rapid_log.setLevel(logging.WARNING)
        path = model_path if model_path is not None else package_file(PPOCR_REC)
        data = verified_bytes(path, PPOCR_REC.sha256, PPOCR_REC.name)
        options = ort.SessionOptions()
        options.log_severity_level = 4
        # As for the face networks (onnx_runtime.session): idle threads must not spin after a
        # strip, on cores the detector or another pool process needs next.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        import rapidocr

        cfg = ParseParams.load(Path(rapidocr.__file__).parent / "config.yaml").Rec
        cfg._set_flag("allow_objects", True)
        # Handing rapidocr a ready session is its documented way to bring one's own model; with
        # it, rapidocr neither looks for nor downloads any file (the character list is inside
        # the ONNX file's metadata).
        cfg.session = session
        cfg.font_path = None
        cfg.engine_cfg = None
        # One strip per run. rapidocr pads every strip of a batch to the batch's widest, and
        # the padding changes what the recognizer reads on marginal strips (3 of 27 8 px
        # labels read alone differed from the same labels read with their gallery's others,
        # "Chlaé" against "Chloé"), so a label depended on which other tiles were read with it:
        # in a pool of workers, on which process's label cache held what (bench_scale's replay
        # found 4 of 40 sessions whose labels differed from `rollcall run`'s). Read alone, the
        # strips cost the same (bench_labels: 26-29 ms a tile either way).
        cfg.rec_batch_num = 1
        self._recognizer = TextRecognizer(cfg)
        self._lock = threading.Lock()

    def read(self, strips: Sequence[np.ndarray]) -> list[ReadText]:
        """The text of each BGR strip (one line each), each strip recognised on its own."""
        from rapidocr.ch_ppocr_rec.typings import TextRecInput

        strips = [s for s in strips]
        if not strips:
            return []
        with self._lock:
            out = self._recognizer(TextRecInput(img=strips))
        return [
            ReadText(str(t).strip(), float(s)) for t, s in zip(out.txts, out.scores, strict=True)
        ]


@cache
def shared_reader(threads: int = 0) -> TextLineReader:
    """One reader per process: the model takes ~0.3 s and ~60 MB to load."""
    return TextLineReader(threads=threads)
