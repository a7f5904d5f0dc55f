"""Synthetic meeting data made from real photos: gallery frames, seeded scripts, recordings."""

from rollcall.synth.gallery import (
    GalleryLayout,
    Tile,
    TileTruth,
    compose_gallery,
    display_name,
    gallery_frame,
)
from rollcall.synth.people import frame_photo, load_people, read_photo
from rollcall.synth.scoring import (
    AttendanceScore,
    NamedFace,
    SampleRecord,
    SampleScore,
    WrongName,
    score_attendance,
    score_samples,
)
from rollcall.synth.script import AttendanceScript, ScriptTile, make_script
from rollcall.synth.video import (
    Recording,
    choose_photos,
    frame_times,
    pick_encoder,
    render_recording,
)

__all__ = [
    "AttendanceScore",
    "NamedFace",
    "SampleRecord",
    "SampleScore",
    "WrongName",
    "score_samples",
    "AttendanceScript",
    "GalleryLayout",
    "Recording",
    "ScriptTile",
    "Tile",
    "TileTruth",
    "choose_photos",
    "compose_gallery",
    "display_name",
    "frame_photo",
    "frame_times",
    "gallery_frame",
    "load_people",
    "make_script",
    "pick_encoder",
    "read_photo",
    "render_recording",
    "score_attendance",
]
