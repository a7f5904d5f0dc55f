"""`rollcall demo`: a generated meeting from real photos, taken end to end and scored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.faces

SMALL = ["--people", "6", "--strangers", "2", "--minutes", "3", "--size", "960x540"]
FAST = ["--min-interval", "5", "--max-interval", "15", "--seed", "4"]


def _payload(output: str) -> dict:
    # Notes and stages go to stderr; with --json stdout holds exactly one JSON object.
    return json.loads(output[output.index("{") : output.rindex("}") + 1])


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "home"


@pytest.fixture(scope="module")
def demo_json(faces: Path, demo_home: Path) -> dict:
    """One small demo shared by the tests below (it takes ~10 s)."""
    from rollcall.cli import cli as group

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROLLCALL_HOME", str(demo_home))
        mp.delenv("ROLLCALL_DATABASE_URL", raising=False)
        args = ["demo", "--photos", str(faces / "identities" / "photos"), *SMALL, *FAST, "--json"]
        result = CliRunner().invoke(group, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return _payload(result.stdout)


def test_demo_marks_no_one_falsely_and_misses_no_one_visible(demo_json: dict) -> None:
    score = demo_json["score"]
    assert score["false_present"] == []
    assert score["missed"] == []  # everyone on screen for a whole longest gap is marked
    assert score["head_counts"] >= 10


def test_demo_report_has_one_entry_per_expected_person(demo_json: dict) -> None:
    report = demo_json["report"]
    people = [a["person"] for a in report["attendance"]]
    assert sorted(people) == sorted(demo_json["roster"])
    assert len(people) == 6
    assert not set(people) & set(demo_json["strangers"])
    assert len(demo_json["strangers"]) == 2
    assert report["state"] == "closed"


def test_demo_absentees_are_absent(demo_json: dict) -> None:
    score = demo_json["score"]
    assert score["absentees"], "the script for 6 people has one absentee"
    assert score["absentees_absent"] == score["absentees"]
    status = {a["person"]: a["status"] for a in demo_json["report"]["attendance"]}
    assert all(status[n] == "absent" for n in score["absentees"])


def test_demo_counts_heads_and_keeps_the_video(demo_json: dict, demo_home: Path) -> None:
    score = demo_json["score"]
    # Only photos with exactly one clear face are shown, so every count should match.
    assert score["head_count_accuracy"] >= 0.9, score["head_count_misses"]
    assert score["first_seen_error_median"] <= 15  # within one longest sampling gap
    video = Path(demo_json["video"])
    assert video.is_file() and video.parent == demo_home / "demo"
    truth = json.loads(video.with_suffix(".json").read_text())
    for name, photo in truth["video_photos"].items():
        # The picture shown in the video is never one the person was enrolled from.
        assert Path(photo).name not in truth["enrolled_from"].get(name, [])


def test_demo_refuses_a_folder_with_too_few_people(cli, faces: Path, tmp_path: Path) -> None:
    source = faces / "identities" / "photos"
    small = tmp_path / "photos"
    for name in ("Tony_Blair", "Colin_Powell"):
        shutil.copytree(source / name, small / name)
    result = cli("demo", "--photos", small, "--people", "4")
    assert result.exit_code != 0
    assert "--people" in result.output
