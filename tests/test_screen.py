"""Reading a meeting screen: tiles found through compression, pictures on walls set aside."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rollcall.synth.gallery import Tile, compose_gallery, speaker_rects
from rollcall.vision.screen import find_tiles, read_screen
from rollcall.vision.track import iou_matrix
from rollcall.vision.types import Faces


def noise_photo(seed: int) -> np.ndarray:
    """A busy picture: smooth blobs of colour, some of them dark like hair or a dim room."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
    return cv2.resize(small, (320, 240), interpolation=cv2.INTER_CUBIC)


def compressed(image: np.ndarray, quality: int = 45) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def assert_found(found: np.ndarray, truth: list) -> None:
    assert len(found) == len(truth), (found, truth)
    overlap = iou_matrix(np.asarray(truth, np.float32), found)
    assert overlap.max(axis=1).min() >= 0.9, overlap.max(axis=1)


@pytest.mark.parametrize("size", [(640, 480), (960, 540), (1280, 720), (1920, 1080)])
@pytest.mark.parametrize("count", [1, 4, 7, 12, 25, 49])
def test_gallery_tiles_are_found_through_compression(size: tuple[int, int], count: int) -> None:
    tiles = [Tile(f"p{i}", noise_photo(i)) for i in range(count)]
    if count > 3:
        tiles[2] = Tile("off", None, camera_off=True)
    image, truths = compose_gallery(tiles, size)
    found = find_tiles(compressed(image))
    # A camera-off tile may or may not be told from the background: both are fine.
    faces_truth = [t.rect for t in truths if t.kind == "face"]
    assert len(found) in (len(faces_truth), len(truths))
    overlap = iou_matrix(np.asarray(faces_truth, np.float32), found)
    assert overlap.max(axis=1).min() >= 0.9


@pytest.mark.parametrize("size", [(960, 540), (1280, 720)])
def test_speaker_view_gives_the_big_tile_and_the_strip(size: tuple[int, int]) -> None:
    rects = speaker_rects(5, size)
    tiles = [Tile(f"p{i}", noise_photo(10 + i)) for i in range(5)]
    image, _ = compose_gallery(tiles, size, rects=rects)
    # The active speaker's green frame, as bright as it gets against the gutter.
    x, y, w, h = rects[0]
    cv2.rectangle(image, (x + 2, y + 2), (x + w - 3, y + h - 3), (80, 200, 60), 4)
    assert_found(find_tiles(compressed(image)), rects)


def test_a_camera_picture_has_no_tiles() -> None:
    assert len(find_tiles(compressed(noise_photo(3)))) == 0


def faces_at(boxes: list[tuple[int, int, int, int]]) -> Faces:
    n = len(boxes)
    return Faces(np.asarray(boxes, np.float32), np.ones(n), np.zeros((n, 5, 2)))


def test_a_small_face_behind_a_participant_is_not_a_participant() -> None:
    size = (1280, 720)
    image, truths = compose_gallery([Tile(f"p{i}", noise_photo(i)) for i in range(4)], size)
    (x0, y0, w0, _), (x1, y1, _, _) = truths[0].rect, truths[1].rect
    main = (x0 + w0 // 2 - 90, y0 + 60, 180, 200)
    poster = (x0 + 20, y0 + 20, 60, 70)  # a third of the main face
    pair = [(x1 + 40, y1 + 60, 160, 180), (x1 + 280, y1 + 70, 150, 170)]  # two at one camera
    reading = read_screen(compressed(image), faces_at([main, poster, *pair]))
    assert reading.grid and len(reading.tiles) == 4
    assert reading.faces.boxes.tolist() == np.asarray([main, *pair], np.float32).tolist()
    assert reading.background.boxes.tolist() == [list(map(float, poster))]
    assert len(reading.shared) == 1
    assert reading.tile_of.tolist() == [0, 1, 1]


def test_without_a_grid_every_face_counts() -> None:
    faces = faces_at([(10, 10, 100, 120), (150, 20, 30, 35)])
    reading = read_screen(compressed(noise_photo(5)), faces)
    assert not reading.grid and len(reading.faces) == 2 and len(reading.background) == 0


def test_a_dark_stripe_in_a_picture_does_not_split_its_tile() -> None:
    photo = noise_photo(9)
    photo[:, 30:38] = 26  # a black bar as dark as the gutters, from top to bottom
    tiles = [Tile(f"p{i}", noise_photo(i)) for i in range(6)] + [Tile("bar", photo)]
    image, truths = compose_gallery(tiles, (960, 540))
    assert_found(find_tiles(compressed(image)), [t.rect for t in truths])


# -- tiles far narrower than the frame, and pictures as dark as the gutters (issue 11) ----------


def face_in(rect: tuple[int, int, int, int], share: float, left: float, top: float) -> tuple:
    """A face box of ``share`` of the tile's height at (left, top) fractions of the tile."""
    x, y, w, h = rect
    side = int(h * share)
    return (x + int(w * left), y + int(h * top), int(side * 0.8), side)


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_a_poster_in_the_speaker_views_strip_of_one_is_not_a_participant(
    size: tuple[int, int],
) -> None:
    """Speaker view with one other participant: their tile alone in the strip covers an eighth
    of the frame's width, so every row of it is mostly background. The strip's tile must still
    be found, or the poster behind that participant is read as a participant of its own."""
    rects = speaker_rects(2, size)
    image, _ = compose_gallery(
        [Tile("speaker", noise_photo(1)), Tile("p", noise_photo(2))], size, rects=rects
    )
    speaker = face_in(rects[0], 0.6, 0.35, 0.15)
    strip_face = face_in(rects[1], 0.7, 0.3, 0.15)
    poster = face_in(rects[1], 0.3, 0.8, 0.05)  # a picture on the wall behind them
    reading = read_screen(compressed(image), faces_at([speaker, strip_face, poster]))
    assert_found(reading.tiles, rects)
    assert reading.background.boxes.tolist() == [list(map(float, poster))]
    assert len(reading.faces) == 2


def test_a_lone_tile_in_the_last_row_is_found() -> None:
    # 43 people on 1280x720: 7 rows of 7, the last holding one tile a seventh of the width.
    tiles = [Tile(f"p{i}", noise_photo(i)) for i in range(43)]
    image, truths = compose_gallery(tiles, (1280, 720))
    assert_found(find_tiles(compressed(image)), [t.rect for t in truths])


def dark_edge_photo(seed: int) -> np.ndarray:
    """A picture whose right half is a dim room, within a few levels of the app's canvas."""
    photo = noise_photo(seed)
    rng = np.random.default_rng(seed)
    dim = np.clip(rng.normal(29, 3, (240, 160)), 0, 255).astype(np.uint8)
    photo[:, 160:] = cv2.GaussianBlur(dim, (0, 0), 1.5)[:, :, None]
    return photo


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_a_picture_as_dark_as_the_gutter_beside_it_keeps_its_tile(size: tuple[int, int]) -> None:
    """The gutter beside a dim picture is one wide run of near-background columns, too wide to
    be a gutter; only the flat canvas in it is one. Cut anywhere else, the poster behind the
    next participant ends up in a tile without them and counts as a participant."""
    tiles = [Tile("dim", dark_edge_photo(3)), *(Tile(f"p{i}", noise_photo(i)) for i in range(3))]
    image, truths = compose_gallery(tiles, size)
    rects = [t.rect for t in truths]
    main = face_in(rects[1], 0.6, 0.45, 0.15)
    poster = face_in(rects[1], 0.25, 0.04, 0.05)
    reading = read_screen(compressed(image), faces_at([main, poster]))
    # The dim half of the first picture may be trimmed off its tile, like any dark margin.
    assert_found(reading.tiles[1:], rects[1:])
    assert reading.background.boxes.tolist() == [list(map(float, poster))]


def test_a_piece_of_a_tile_trimmed_of_its_dim_top_joins_the_rest_of_its_tile() -> None:
    """A dark stripe in a picture cuts its tile in two; when the piece it cut off also has a
    dim top, that piece is trimmed shorter than its row's tiles. It still belongs with the rest
    of its tile, or the poster in it is read as a participant."""
    photo = cv2.resize(noise_photo(4), (320, 180))  # the tile's shape: drawn without a border
    rng = np.random.default_rng(4)
    dim = np.clip(rng.normal(29, 3, (180, 320)), 0, 255).astype(np.uint8)[:, :, None]
    photo[:, 96:104] = dim[:, 96:104]  # a dark stripe from top to bottom
    photo[:30, :96] = dim[:30, :96]  # the dim top of the piece left of it
    tiles = [Tile(f"p{i}", noise_photo(i)) for i in range(3)] + [Tile("striped", photo)]
    image, truths = compose_gallery(tiles, (1920, 1080))
    rect = truths[3].rect
    main = face_in(rect, 0.6, 0.5, 0.2)
    poster = face_in(rect, 0.2, 0.05, 0.3)  # in the piece left of the stripe
    reading = read_screen(compressed(image), faces_at([main, poster]))
    assert_found(reading.tiles, [t.rect for t in truths])
    assert reading.background.boxes.tolist() == [list(map(float, poster))]


def test_a_sliver_cut_off_the_next_picture_does_not_hide_a_cut_tile() -> None:
    """Whether a piece is a sliver of a cut tile is judged against its row's typical width. A
    thin bright strip at the dim edge of one picture, cut off on its own, must not drag that
    typical width down so far that the next tile's piece (cut off at a dark stripe, holding a
    poster) passes for a tile of its own: the poster was named as a participant (issue 11,
    a 2x2 gallery at 720p)."""
    rng = np.random.default_rng(7)

    def dim(width: int, spread: float) -> np.ndarray:
        noise = np.clip(rng.normal(26, spread, (180, width)), 0, 255).astype(np.uint8)
        return cv2.GaussianBlur(noise, (0, 0), 1.0)[:, :, None]

    edged = cv2.resize(noise_photo(5), (320, 180))
    # A dim room at the picture's right edge with a lamp-lit strip in it: the strip is cut off
    # at the flat part of a dark run too wide to join it back to its picture.
    edged[:, 270:280] = dim(10, 7)
    edged[:, 280:290] = dim(10, 1)
    edged[:, 302:] = dim(18, 7)
    striped = cv2.resize(noise_photo(6), (320, 180))
    striped[:, 100:110] = dim(10, 1)  # a dark stripe from top to bottom (hair, a door frame)
    tiles = [
        Tile("edged", edged),
        Tile("striped", striped),
        *(Tile(f"p{i}", noise_photo(i)) for i in range(2)),
    ]
    image, truths = compose_gallery(tiles, (1280, 720))
    rect = truths[1].rect
    main = face_in(rect, 0.6, 0.5, 0.1)
    poster = face_in(rect, 0.2, 0.05, 0.1)  # in the piece left of the stripe
    reading = read_screen(compressed(image), faces_at([main, poster]))
    assert_found(reading.tiles[1:], [t.rect for t in truths][1:])
    assert reading.background.boxes.tolist() == [list(map(float, poster))]


# -- something drawn across a gutter (a notification, a chat toast, a tooltip) -----------------


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
@pytest.mark.parametrize("grey", [230, 60])
@pytest.mark.parametrize("where", ["middle row", "top row", "at a crossing"])
def test_a_box_drawn_across_a_gutter_loses_no_tile(
    size: tuple[int, int], grey: int, where: str
) -> None:
    """A box over part of a gutter left it too little background for a cut: the two tiles
    were one piece, joined to the third across the next gutter, too wide for a tile, and the
    whole row was dropped; a poster in it was then counted and, matching, named."""
    image, truths = compose_gallery([Tile(f"p{i}", noise_photo(i)) for i in range(9)], size)
    rects = [t.rect for t in truths]
    (x3, y3, w3, h3), (x4, _, _, _) = rects[3], rects[4]
    _, y0, _, h0 = rects[0]
    gap_x, gap_y = (x3 + w3 + x4) // 2, (y0 + h0 + y3) // 2
    box = {
        "middle row": (gap_x - 50, y3 + h3 // 3, 100, 60),
        "top row": (gap_x - 145, y0 + h0 // 2, 290, 70),
        "at a crossing": (gap_x - 60, gap_y - 30, 120, 60),  # over both gutters
    }[where]
    bx, by, bw, bh = box
    cv2.rectangle(image, (bx, by), (bx + bw, by + bh), (grey, grey, grey), -1)
    assert_found(find_tiles(compressed(image)), rects)
    # A small face on the wall of the tile right of the box is a picture, the main one counts.
    main = (x4 + w3 // 2 - 60, y3 + h3 // 4, 120, 140)
    poster = (x4 + w3 - 70, y3 + 10, 40, 48)
    reading = read_screen(compressed(image), faces_at([main, poster]))
    assert reading.background.boxes.tolist() == [list(map(float, poster))]


def test_a_small_face_in_no_tile_of_a_gallery_is_a_picture() -> None:
    """A face outside every tile found (a tile the search missed, a photo on a shared screen)
    is held to the tiles' faces: far smaller than theirs, it is neither counted nor named."""
    image, truths = compose_gallery([Tile(f"p{i}", noise_photo(i)) for i in range(4)], (1280, 720))
    (x0, y0, w0, _), (x1, y1, w1, _) = truths[0].rect, truths[1].rect
    mains = [(x0 + w0 // 2 - 90, y0 + 60, 180, 200), (x1 + w1 // 2 - 90, y1 + 60, 180, 200)]
    gutter = (x0 + w0 + x1) // 2  # faces centred on the gutter between the two: in no tile
    small, large = (gutter - 15, y0 + 40, 30, 36), (gutter - 65, y0 + 150, 130, 150)
    reading = read_screen(compressed(image), faces_at([*mains, small, large]))
    assert reading.grid
    assert reading.background.boxes.tolist() == [list(map(float, small))]
    assert len(reading.faces) == 3


def test_beside_one_lecturer_tile_a_small_face_on_a_shared_slide_is_a_picture() -> None:
    """Slides shared with only the lecturer's camera on: a student's photo on a slide (in no
    tile) is held to the lecturer's face, and is neither counted nor named in a session."""
    image, truths = compose_gallery([Tile(f"p{i}", noise_photo(i)) for i in range(4)], (1280, 720))
    (x0, y0, w0, _), (x1, _, _, _) = truths[0].rect, truths[1].rect
    lecturer = (x0 + w0 // 2 - 90, y0 + 60, 180, 200)
    gutter = (x0 + w0 + x1) // 2
    photo = (gutter - 15, y0 + 40, 30, 36)
    reading = read_screen(compressed(image), faces_at([lecturer, photo]))
    assert reading.background.boxes.tolist() == [list(map(float, photo))]


# -- tiles cut into pieces inside a gallery's grid ----------------------------------------------


def dim_left_photo(seed: int, poster: bool) -> np.ndarray:
    """A picture whose left part is a dim room as dark as the canvas, with (``poster``) a
    framed picture hanging in it: the XY-cut takes the dim part for gutter and cuts the tile
    into pieces, the poster one of its own."""
    photo = noise_photo(seed)
    rng = np.random.default_rng(seed)
    dim = np.clip(rng.normal(27, 3, (240, 130)), 0, 255).astype(np.uint8)
    photo[:, :130] = cv2.GaussianBlur(dim, (0, 0), 1.5)[:, :, None]
    if poster:
        photo[20:100, 30:90] = 235  # the frame
        photo[24:96, 34:86] = cv2.resize(noise_photo(seed + 50), (52, 72))
    return photo


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_a_tile_cut_into_pieces_is_put_back_together_on_the_grid(size: tuple[int, int]) -> None:
    """Found in a generated meeting (Meet, 25 people): a tile whose picture was dark on the left
    came out as three pieces, and a poster in another's dark corner as a tile of its own, so
    the poster's face was its tile's main face, counted and named (a classmate marked present
    from his picture on the wall). The other tiles of the grid say where the cells are."""
    tiles = [Tile(f"p{i}", noise_photo(i)) for i in range(23)]
    tiles[0] = Tile("dim", dim_left_photo(40, poster=False))
    tiles[14] = Tile("poster", dim_left_photo(41, poster=True))
    image, truths = compose_gallery(tiles, size)
    rects = [t.rect for t in truths if t.kind == "face"]
    # The active speaker's green frame round the dim tile, as Meet draws it.
    x, y, w, h = rects[0]
    cv2.rectangle(image, (x + 1, y + 1), (x + w - 2, y + h - 2), (80, 200, 60), 3)
    rect = rects[14]
    main = face_in(rect, 0.6, 0.55, 0.15)
    tx, ty, tw, th = rect
    poster = (tx + int(tw * 0.12), ty + int(th * 0.12), int(tw * 0.14), int(th * 0.24))
    reading = read_screen(compressed(image), faces_at([main, poster]))
    assert_found(reading.tiles, rects)
    assert reading.background.boxes.tolist() == [list(map(float, poster))]


def dim_edges_photo(seed: int, left: bool = True, top: bool = False, bottom: bool = False):  # noqa: ANN201
    """A picture with dim edges as dark as the canvas: left, and the top or bottom band."""
    photo = dim_left_photo(seed, poster=False) if left else noise_photo(seed)
    rng = np.random.default_rng(seed + 7)
    dim = cv2.GaussianBlur(
        np.clip(rng.normal(27, 3, (240, 320)), 0, 255).astype(np.uint8), (0, 0), 1.5
    )
    if top:
        photo[:70] = dim[:70, :, None]
    if bottom:
        photo[-70:] = dim[-70:, :, None]
    return photo


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_tiles_cut_in_every_row_but_one_and_across_a_row_gutter_are_put_back(
    size: tuple[int, int],
) -> None:
    """Found in a generated Meet meeting of nine at 1080p: only the top row's tiles were found
    whole (no second row to give the grid's rows), and a tile dark at its bottom ran on into the
    dark top of the one below it, across the gutter, as one piece."""
    tiles = [Tile(f"p{i}", noise_photo(i)) for i in range(3)]
    tiles += [Tile(f"d{i}", dim_edges_photo(60 + i)) for i in range(3, 9)]
    tiles[4] = Tile("d4", dim_edges_photo(64, bottom=True))
    tiles[7] = Tile("d7", dim_edges_photo(67, top=True))
    image, truths = compose_gallery(tiles, size)
    assert_found(find_tiles(compressed(image)), [t.rect for t in truths])


def test_the_speaker_views_big_tile_is_no_piece_of_its_strips_grid() -> None:
    """The strip's tiles make a grid whose rows and columns, carried on by their pitch, cover
    the big tile below: it must stay one tile, not be cut into strip-sized cells."""
    size = (1920, 1080)
    strip = [(60 + i * 258, 6, 252, 142) for i in range(7)]  # the strip as wide as the big tile
    rects = [(100, 160, 1700, 910), *strip]
    tiles = [Tile(f"p{i}", noise_photo(30 + i)) for i in range(len(rects))]
    image, _ = compose_gallery(tiles, size, rects=rects)
    assert_found(find_tiles(compressed(image)), rects)
