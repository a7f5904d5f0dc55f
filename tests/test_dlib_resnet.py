"""dlib's ResNet read from its weight file and run under onnxruntime, the fused embedder, and
faces embedded with their mirror image."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rollcall.errors import ModelError
from rollcall.vision import models
from rollcall.vision.dlib_resnet import BLOCKS, CHIP_SIZE, DlibResnet, read_weights
from rollcall.vision.embed import (
    DLIB_CHIP_POINTS,
    SFACE_CHIP_POINTS,
    FusedEmbedder,
    create_embedder,
    fuse,
    mirror_mean,
    mirror_transform,
    normalise,
    similarity_transform,
    warp_chip,
)
from rollcall.vision.types import Faces


@pytest.fixture(scope="module")
def resnet_path() -> Path:
    return models.model_path(models.DLIB_RESNET)


def test_weights_follow_the_published_architecture(resnet_path: Path) -> None:
    weights = read_weights(resnet_path)
    # dlib's input layer stores the per-channel means it subtracts (R, G, B).
    assert weights.mean_rgb == pytest.approx((122.782, 117.001, 104.298), abs=1e-3)
    assert len(weights.convs) == 1 + 2 * len(BLOCKS) == 29
    first = weights.convs[0]
    assert first.weight.shape == (32, 3, 7, 7) and (first.stride, first.padding) == (2, 0)
    widths = [c.weight.shape[0] for c in weights.convs[1:]]
    assert widths == [w for w, _ in BLOCKS for _ in range(2)]
    strides = [c.stride for c in weights.convs[1::2]]
    assert strides == [2 if down else 1 for _, down in BLOCKS]
    assert weights.projection.shape == (256, 128)
    assert all(np.isfinite(c.weight).all() and np.abs(c.weight).max() > 0 for c in weights.convs)


def test_a_different_file_is_refused(tmp_path: Path, resnet_path: Path) -> None:
    cut = tmp_path / "cut.dat"
    data = resnet_path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # loses the later layers
    with pytest.raises(ModelError, match="layout"):
        read_weights(cut)


def test_descriptors_match_dlib_itself(resnet_path: Path) -> None:
    dlib = pytest.importorskip("dlib", reason="dlib not installed (pip install dlib-bin)")
    net = dlib.face_recognition_model_v1(str(resnet_path))
    rng = np.random.default_rng(5)
    # Any 150x150 RGB input goes through the same arithmetic; smooth noise looks more like a
    # photo to the network than white noise, so use both.
    chips = rng.integers(0, 256, (4, CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8)
    smooth = [cv2.GaussianBlur(c, (0, 0), 4) for c in chips]
    batch = np.stack([*chips, *smooth])
    ours = DlibResnet(resnet_path, threads=1).descriptors(batch)
    theirs = np.array([np.asarray(net.compute_face_descriptor(c)) for c in batch])
    cosine = (normalise(ours) * normalise(theirs)).sum(axis=1)
    assert cosine.min() > 0.99999
    assert np.abs(ours - theirs).max() < 1e-4
    assert ours.shape == (8, 128)


def test_similarity_transform_recovers_rotation_scale_and_shift() -> None:
    angle, scale, shift = np.deg2rad(17), 0.4, np.array([12.0, -3.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = np.array([[100, 120], [160, 118], [130, 150], [108, 180], [152, 181]], float)
    dst = src @ rot.T + shift
    matrix = similarity_transform(src, dst)
    assert np.allclose(matrix[:, :2], rot) and np.allclose(matrix[:, 2], shift)


def test_large_faces_are_shrunk_without_aliasing() -> None:
    # A one-pixel checkerboard averages to mid grey; a plain bilinear warp at 1/6 scale
    # samples it and comes out near black or white in places.
    board = ((np.indices((900, 900)).sum(axis=0) % 2) * 255).astype(np.uint8)
    image = cv2.merge([board] * 3)
    matrix = np.array([[1 / 6, 0, 0], [0, 1 / 6, 0]])
    chip = warp_chip(image, matrix, 150)
    assert chip.shape == (150, 150, 3)
    assert np.abs(chip[5:-5, 5:-5].astype(float) - 127.5).max() < 20
    naive = cv2.warpAffine(image, matrix, (150, 150), flags=cv2.INTER_LINEAR)
    assert np.abs(naive[5:-5, 5:-5].astype(float) - 127.5).max() > 60  # the premise


def test_dlib_chip_puts_landmarks_where_dlib_does() -> None:
    embedder = create_embedder("dlib", threads=1)
    marks = np.array([[210, 240], [290, 236], [252, 285], [220, 320], [286, 318]], np.float32)
    image = np.zeros((600, 500, 3), np.uint8)
    for x, y in marks.astype(int):
        cv2.circle(image, (int(x), int(y)), 3, (255, 255, 255), -1)
    faces = Faces(np.array([[190, 200, 120, 150]]), np.array([0.9]), marks[None])
    chip = embedder.align(image, faces)[0]
    assert chip.shape == (CHIP_SIZE, CHIP_SIZE, 3)
    matrix = similarity_transform(marks, DLIB_CHIP_POINTS)
    mapped = np.c_[marks, np.ones(5)] @ matrix.T
    assert np.abs(mapped - DLIB_CHIP_POINTS).max() < 6  # a face is close to the mean face
    for x, y in mapped.round().astype(int):
        assert chip[y, x].max() > 100  # each dot lands where the transform says


def test_fused_similarity_is_the_weighted_mean_of_both_models() -> None:
    rng = np.random.default_rng(1)
    s = normalise(rng.normal(size=(6, 128)))
    d = normalise(rng.normal(size=(6, 128)))
    fused = fuse(s, d)
    assert fused.shape == (6, 256)
    assert np.allclose(np.linalg.norm(fused, axis=1), 1, atol=1e-6)
    ws, wd = FusedEmbedder.SFACE_WEIGHT, FusedEmbedder.DLIB_WEIGHT
    expected = (ws * (s @ s.T) + wd * (d @ d.T)) / (ws + wd)
    assert np.allclose(fused @ fused.T, expected, atol=1e-5)


def test_each_embedder_separates_real_people(faces: Path) -> None:
    from rollcall.synth import read_photo
    from rollcall.vision.engine import EngineOptions, FaceEngine

    folder = faces / "identities" / "photos"
    a = sorted((folder / "George_W_Bush").iterdir())[:3]
    b = sorted((folder / "Tony_Blair").iterdir())[:2]
    for name in ("sface", "dlib", "sface+dlib"):
        engine = FaceEngine(EngineOptions(embedder=name, threads=1))
        vectors = []
        for path in [*a, *b]:
            image = read_photo(path)
            found = engine.detect(image, pad_retry=True)
            biggest = found[[int(np.argmax(found.min_side))]]
            vectors.append(engine.embed(image, biggest).embeddings[0])
        v = np.array(vectors)
        sims = v @ v.T
        same = [sims[0, 1], sims[0, 2], sims[1, 2], sims[3, 4]]
        different = sims[:3, 3:].ravel()
        assert min(same) > max(different), (name, same, different)
        assert v.shape[1] == engine.embedder.dim


def test_sface_under_onnxruntime_matches_opencv() -> None:
    # The float graph made from the int8bq file must give OpenCV's own features.
    path = models.model_path(models.SFACE)
    opencv = cv2.FaceRecognizerSF.create(str(path), "")
    embedder = create_embedder("sface", threads=1)
    rng = np.random.default_rng(9)
    chips = [
        cv2.GaussianBlur(rng.integers(0, 256, (112, 112, 3), dtype=np.uint8), (0, 0), 2)
        for _ in range(5)
    ]
    ours = embedder.embed_chips(chips)
    theirs = normalise(np.vstack([opencv.feature(c) for c in chips]))
    assert ours.shape == (5, 128)
    assert (ours * theirs).sum(axis=1).min() > 0.9999


def test_mirror_chip_is_the_chip_of_the_flipped_photo() -> None:
    # The mirror image's chip is cut from the photo itself; it must be the chip the flipped
    # photo would give (its landmarks mirrored, left and right trading places).
    rng = np.random.default_rng(4)
    image = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), (0, 0), 3)
    marks = np.array([[130, 100], [190, 104], [162, 135], [138, 165], [185, 168]], np.float64)
    width = image.shape[1]
    flipped_marks = marks[[1, 0, 2, 4, 3]].copy()
    flipped_marks[:, 0] = width - 1 - flipped_marks[:, 0]
    flipped = np.ascontiguousarray(image[:, ::-1])

    def sface_cut(img: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
        return cv2.warpAffine(img, matrix, (size, size))  # as SFaceEmbedder cuts its chips

    for cut, points, size in (
        (sface_cut, SFACE_CHIP_POINTS, 112),
        (warp_chip, DLIB_CHIP_POINTS, CHIP_SIZE),
    ):
        ours = cut(image, mirror_transform(marks, points, width), size)
        theirs = cut(flipped, similarity_transform(flipped_marks, points), size)
        assert np.abs(ours.astype(float) - theirs).mean() < 0.5


def test_mirror_mean_averages_each_face_with_its_mirror() -> None:
    rng = np.random.default_rng(5)
    faces, mirrors = normalise(rng.normal(size=(3, 8))), normalise(rng.normal(size=(3, 8)))
    mean = mirror_mean(np.vstack([faces * 2.0, mirrors]))  # unnormalised rows are fine
    assert np.allclose(mean, normalise(faces + mirrors), atol=1e-6)
