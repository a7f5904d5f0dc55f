"""What of a source may be stored, shown and logged: never a camera's password."""

import pytest

from rollcall.source_text import hides_secrets, shown_source


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("rtsp://admin:CamPassw0rd@10.1.2.3:554/stream1", "rtsp://admin:***@10.1.2.3:554/stream1"),
        ("rtsp://u:p@ss@cam/s", "rtsp://u:***@cam/s"),  # an @ inside the password
        ("http://cam/video.cgi?user=a&password=b&res=hd", "http://cam/video.cgi?user=a&password=***&res=hd"),
        ("https://relay/live?token=abc", "https://relay/live?token=***"),
        ("rtsp://viewer@cam/s", "rtsp://viewer@cam/s"),  # a user without password
        ("rtsp://cam/s?channel=2", "rtsp://cam/s?channel=2"),
        ("lecture.mp4", "lecture.mp4"),
        ("camera:0", "camera:0"),
        ("screen:1", "screen:1"),
    ],
)  # fmt: skip
def test_only_the_secret_parts_are_hidden(given: str, shown: str) -> None:
    assert shown_source(given) == shown
    assert shown_source(shown) == shown  # shown twice is shown once
    assert hides_secrets(shown) == (shown != given)


def test_a_stream_source_is_named_without_its_password() -> None:
    """The source's name is in every warning about it (a dropped stream, a reconnection)."""
    from rollcall.errors import SourceError
    from rollcall.vision.sources import open_source

    with pytest.raises(SourceError) as info:
        open_source("rtsp://admin:CamPassw0rd@127.0.0.1:9/none", reconnect_timeout=0.5)
    assert "CamPassw0rd" not in str(info.value)


def test_a_recordings_name_is_what_a_resume_compares() -> None:
    from rollcall.source_text import recording_name

    assert recording_name("/media/lectures/w2.mp4") == "w2.mp4"
    assert recording_name("file:///media/lectures/w2.mp4") == "w2.mp4"
    assert recording_name("frames/room-12/") == "room-12"
    for live in ("camera:0", "screen", "screen:1", "rtsp://cam/stream", "https://x/live.m3u8"):
        assert recording_name(live) is None, live
