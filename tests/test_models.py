"""Model files are located in packages and refused unless their sha256 matches."""

from pathlib import Path

import pytest

from rollcall.errors import ModelError
from rollcall.vision import models


def test_packaged_models_verify() -> None:
    for model in (models.YUNET, models.SFACE, models.DLIB_RESNET):
        path = models.model_path(model)
        assert path.stat().st_size == model.size
    assert models.haar_cascade_path().name == models.HAAR_FRONTALFACE


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    original = models.model_path(models.YUNET).read_bytes()
    tampered = tmp_path / "yunet.onnx"
    tampered.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(ModelError, match="refusing to load"):
        models.verify(tampered, models.YUNET.sha256, "YuNet")


def test_missing_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        models.verify(tmp_path / "absent.onnx", models.YUNET.sha256, "YuNet")


def test_missing_package_is_explained() -> None:
    fake = models.ModelFile("x", "no_such_package_rollcall", "m.onnx", "0" * 64, 1)
    with pytest.raises(ModelError, match="pip install no_such_package_rollcall"):
        models.model_path(fake)
