"""Fuzzing the portal's uploads and forms: every bad input gets a clear 4xx, never a 5xx.

Hypothesis sends the enroll form corrupt and truncated JPEG/PNG, non-images named as images,
decompression bombs, oversized bodies and hostile file names (path traversal, absolute paths,
NUL bytes, unicode), and sends the other forms hostile text. After each run the file system is
compared with a snapshot taken before: nothing may appear or change outside ROLLCALL_HOME, and
inside it only the database may change (uploads are read in memory, never stored as files).
Run with `pytest -s` to see how many cases each test ran.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.web.conftest import Browser, seed

from rollcall.config import Settings
from rollcall.web import MAX_UPLOAD_BYTES, create_app

# Small, so that "over the limit" costs little; the real limit is checked once below.
FUZZ_LIMIT = 512 * 1024
# Accepted answers: 302 after a successful enrollment (only for real faces), 400 with a form
# error, 403 never (ada is an admin), 413 for a body over the limit.
CLEAR_REFUSALS = {400, 413}
CONSENT = {"consent_method": "signed form", "consent_note": "", "consent_confirmed": "on"}
FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,  # derandomized: nothing to replay, and no .hypothesis folder in the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple[int, int]]:
    """Every file under `root` (not under `skip`) with its size and mtime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if skip is not None and Path(dirpath).resolve() == skip.resolve():
            dirnames[:] = []
            continue
        for f in filenames:
            p = Path(dirpath) / f
            try:
                st_ = p.lstat()
            except FileNotFoundError:
                continue
            out[str(p)] = (st_.st_size, st_.st_mtime_ns)
    return out


class Guard:
    """The file system around ROLLCALL_HOME before the fuzzing, to compare with after."""

    DB_FILES = {"rollcall.db", "rollcall.db-wal", "rollcall.db-shm", "rollcall.db-journal"}
    # Written by the first enrollment that stores a template: the key templates are sealed with.
    CREATED_ON_FIRST_TEMPLATE = {"keys/template.key"}

    def __init__(self, home: Path) -> None:
        self.home = home
        self.outside = home.parent  # the test's own temporary folder
        self.cwd = Path.cwd()
        self.before_outside = _snapshot(self.outside, skip=home)
        self.before_home = self._home_files()
        self.before_cwd = set(os.listdir(self.cwd))

    def _home_files(self) -> dict[str, tuple[int, int]]:
        return {
            k: v
            for k, v in _snapshot(self.home).items()
            if Path(k).name not in self.DB_FILES
            and str(Path(k).relative_to(self.home)) not in self.CREATED_ON_FIRST_TEMPLATE
        }

    def check(self) -> None:
        assert _snapshot(self.outside, skip=self.home) == self.before_outside
        assert self._home_files() == self.before_home, "only the database may change in HOME"
        assert set(os.listdir(self.cwd)) == self.before_cwd
        for target in ("/etc/passwd.jpg", "/passwd.jpg", "/tmp/passwd.jpg", "/etc/evil.png"):
            assert not Path(target).exists(), target


@pytest.fixture
def fuzz_app(home: Path):  # noqa: ANN201
    app = create_app(Settings.from_env(), TESTING=True, MAX_CONTENT_LENGTH=FUZZ_LIMIT)
    seed(app)
    return app


@pytest.fixture
def ada(fuzz_app) -> Browser:  # noqa: ANN001
    b = Browser(fuzz_app.test_client())
    assert b.login("ada").status_code == 302
    return b


# -- what gets uploaded ----------------------------------------------------------------------


def _encoded(ext: str, w: int, h: int, seed_: int) -> bytes:
    rng = np.random.default_rng(seed_)
    ok, buf = cv2.imencode(ext, rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    assert ok
    return buf.tobytes()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bomb(side: int) -> bytes:
    """A small PNG declaring side x side grey pixels; rows of zeros compress ~1000:1."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compressobj(9)
    body = b"".join(rows.compress(b"\0" * (side + 1)) for _ in range(min(side, 2000)))
    body += rows.flush()  # only the first rows: the header alone must get it refused
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def _jpeg_claiming(w: int, h: int) -> bytes:
    """A JPEG whose frame header claims w x h pixels, with no image data behind it."""
    sof = (
        b"\xff\xc0"
        + struct.pack(">HBHHB", 17, 8, h, w, 3)
        + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    )
    return b"\xff\xd8" + sof + b"\xff\xd9"


VALID = st.builds(
    _encoded,
    st.sampled_from([".jpg", ".png", ".bmp", ".webp"]),
    st.integers(1, 96),
    st.integers(1, 96),
    st.integers(0, 2**16),
)


@st.composite
def damaged(draw) -> bytes:  # noqa: ANN001
    data = bytearray(draw(VALID))
    how = draw(st.sampled_from(["truncate", "flip", "both", "splice"]))
    if how in ("truncate", "both"):
        data = data[: draw(st.integers(0, max(0, len(data) - 1)))]
    if how in ("flip", "both") and data:
        for _ in range(draw(st.integers(1, 16))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    if how == "splice":
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=256)) + data[cut:]
    return bytes(data)


NOT_IMAGES = st.one_of(
    st.binary(max_size=4096),
    st.text(max_size=1024).map(str.encode),
    st.sampled_from(
        [
            b"#!/bin/sh\nrm -rf /\n",
            b"<html><script>alert(1)</script></html>",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
            b"PK\x03\x04" + b"\0" * 64,  # a ZIP
            b"GIF89a" + b"\xff" * 32,  # a GIF header with garbage
            b"\x89PNG\r\n\x1a\n",  # the PNG signature alone
            b"\xff\xd8\xff\xe0",  # the JPEG start alone
            b"BM" + b"\xff" * 60,  # a BMP header with garbage
            b"",
        ]
    ),
)
BOMBS = st.sampled_from(
    [
        ("png-30000", lambda: _png_bomb(30_000)),
        ("png-8000", lambda: _png_bomb(8_000)),
        ("jpeg-65000", lambda: _jpeg_claiming(65_000, 65_000)),
        ("jpeg-9000x9000", lambda: _jpeg_claiming(9_000, 9_000)),
    ]
).map(lambda named: named[1]())
OVERSIZED = st.integers(FUZZ_LIMIT + 1, FUZZ_LIMIT * 3).map(lambda n: b"\xff\xd8" + b"\0" * n)
CONTENT = st.one_of(VALID, damaged(), NOT_IMAGES, BOMBS, OVERSIZED)

TRAVERSAL = st.sampled_from(
    [
        "../../etc/passwd.jpg",
        "..\\..\\windows\\win.ini.png",
        "/etc/passwd.jpg",
        "/tmp/passwd.jpg",
        "C:\\evil.jpg",
        "photo.jpg\0.sh",
        "\0.png",
        "....//....//etc/evil.png",
        "%2e%2e%2fetc%2fpasswd.jpg",
        "фото.jpg",
        "😀.png",
        "\u202egpj.exe",
        ".jpg",
        "a" * 5000 + ".jpg",
        "",
    ]
)
FILENAMES = st.one_of(
    TRAVERSAL,
    st.tuples(st.text(max_size=60), st.sampled_from([".jpg", ".png", ".JPEG", ".txt", ""])).map(
        "".join
    ),
)
PERSON_NAMES = st.one_of(
    st.sampled_from(["Eve", "../../etc/passwd", "/abs/name", "a\0b", "  ", "名前", "x" * 300]),
    st.text(max_size=80),
)


def _check(response, outcomes: Counter) -> None:  # noqa: ANN001
    code = response.status_code
    outcomes[code] += 1
    assert code < 500, code
    assert code in CLEAR_REFUSALS | {302}, code
    if code == 400:
        page = response.get_data(as_text=True)
        assert 'class="flash flash-error"' in page or "<h1>400" in page or "400" in page


# -- the tests --------------------------------------------------------------------------------


def test_enroll_upload_fuzz(ada: Browser, home: Path) -> None:
    guard = Guard(home)
    outcomes: Counter = Counter()

    @FUZZ
    @given(
        name=PERSON_NAMES,
        files=st.lists(st.tuples(CONTENT, FILENAMES), min_size=0, max_size=3),
        consent=st.booleans(),
    )
    def run(name: str, files: list[tuple[bytes, str]], consent: bool) -> None:
        data: dict[str, object] = {"name": name, **(CONSENT if consent else {})}
        data["photos"] = [(io.BytesIO(content), filename) for content, filename in files]
        _check(ada.post("/people/new", data, content_type="multipart/form-data"), outcomes)

    run()
    guard.check()
    total = sum(outcomes.values())
    print(f"\nfuzz enroll upload: {total} cases, status codes {dict(sorted(outcomes.items()))}")
    assert 302 not in outcomes, "no fuzzed upload holds a face: none may be enrolled"
    assert outcomes[400] and outcomes[413], outcomes


def test_upload_over_the_real_limit_is_413(app, browser) -> None:  # noqa: ANN001
    body = b"\xff\xd8" + b"\0" * MAX_UPLOAD_BYTES
    response = browser("ada").post(
        "/people/new",
        {"name": "Eve", **CONSENT, "photos": (io.BytesIO(body), "big.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


@pytest.mark.parametrize("bomb", [_png_bomb(30_000), _jpeg_claiming(65_000, 65_000)])
def test_decompression_bombs_get_a_form_error(ada: Browser, bomb: bytes) -> None:
    response = ada.post(
        "/people/new",
        {"name": "Eve", **CONSENT, "photos": (io.BytesIO(bomb), "bomb.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "refused" in page and ("pixels" in page or "corrupt" in page), page[-2000:]


FORM_TEXT = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["../../etc/passwd", "\0", "a\0b", "'; DROP TABLE people; --", "9" * 400]),
)


def test_other_forms_fuzz(ada: Browser, fuzz_app, home: Path) -> None:  # noqa: ANN001
    """Every other form, fed hostile text: course, roster, schedule, term, alerts, marks (one
    and several), unknowns, people's details, accounts, deletion."""
    guard = Guard(home)
    outcomes: Counter = Counter()
    forms = [
        ("/courses/", ["name"]),
        ("/courses/History/roster", ["person", "action"]),
        ("/courses/History/schedule", ["start_time", "end_time", "grace_minutes"]),
        ("/courses/History/instructors", ["user", "action"]),
        ("/sessions/algebra-1/marks/Bob", ["status", "reason"]),
        ("/unknowns/1/assign", ["person", "as_template"]),
        ("/people/Bob/delete", ["confirm"]),
        ("/courses/History/term", ["term_start", "term_end", "holidays"]),
        ("/alerts/course/History", ["absences", "rate_below", "cc"]),
        ("/sessions/algebra-1/marks", ["person", "status", "reason"]),
        ("/people/Bob/details", ["student_id", "email", "guardian_email"]),
        ("/admin/users/otto/email", ["email"]),
        ("/unknowns/dismiss", ["face", "faces"]),
        ("/unknowns/1/enroll", ["name", "consent_method", "consent_confirmed"]),
    ]

    @FUZZ
    @given(form=st.sampled_from(forms), values=st.lists(FORM_TEXT, min_size=3, max_size=3))
    def run(form: tuple[str, list[str]], values: list[str]) -> None:
        url, fields = form
        response = ada.post(url, dict(zip(fields, values, strict=False)))
        outcomes[response.status_code] += 1
        assert response.status_code < 500, (url, values)

    run()
    guard.check()
    print(f"\nfuzz other forms: {sum(outcomes.values())} cases, {dict(sorted(outcomes.items()))}")


@pytest.mark.faces
def test_valid_upload_with_consent_is_accepted(ada: Browser, faces: Path, home: Path) -> None:
    """The control: the same form with a real face photo and consent enrolls the person."""
    guard = Guard(home)
    folder = sorted((faces / "identities" / "photos").iterdir())[0]
    photo = sorted(folder.iterdir())[0]
    for filename in ("../../etc/passwd.jpg", "/tmp/passwd.jpg", "ok\u00e9.jpg"):
        # One person: the same face under another name would be refused as theirs.
        name = "Fuzz Valid"
        response = ada.post(
            "/people/new",
            {"name": name, **CONSENT, "photos": (io.BytesIO(photo.read_bytes()), filename)},
            content_type="multipart/form-data",
        )
        # A first upload enrolls; later ones are duplicates of the same photo, which still
        # redirects (to the person) rather than failing.
        assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    guard.check()
