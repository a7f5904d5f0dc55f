"""Open-set matching: a name only when the best person clears the threshold and the margin,
whatever number of templates a person has, and never for a face under the naming size."""

from pathlib import Path

import numpy as np
import pytest

from rollcall.vision.gallery import Gallery


def _unit(*v: float) -> np.ndarray:
    a = np.asarray(v, np.float32)
    return a / np.linalg.norm(a)


def make_gallery(threshold: float = 0.5, margin: float = 0.1) -> Gallery:
    templates = np.stack([_unit(1, 0, 0), _unit(0.9, 0.1, 0), _unit(0, 1, 0), _unit(0, 0, 1)])
    return Gallery(["ada", "bob", "cy"], np.array([0, 0, 1, 2]), templates, threshold, margin)


def test_nearest_person_is_named() -> None:
    g = make_gallery()
    m = g.match(np.stack([_unit(0.95, 0.05, 0), _unit(0, 0.2, 1)]))
    assert [g.name_of(int(p)) for p in m.person] == ["ada", "cy"]
    assert m.similarity[0] > 0.99


def test_below_threshold_is_unknown() -> None:
    g = make_gallery(threshold=0.8)
    m = g.match(_unit(1, 1, 1)[None])
    assert m.person[0] == -1
    assert m.candidate[0] in (0, 1, 2)


def test_ambiguous_between_people_is_unknown() -> None:
    g = make_gallery(threshold=0.3, margin=0.1)
    m = g.match(_unit(1, 1, 0)[None])  # equally close to ada and bob
    assert m.person[0] == -1
    assert abs(m.similarity[0] - m.second[0]) < 0.1


def test_empty_gallery_and_empty_probes() -> None:
    empty = Gallery.empty()
    m = empty.match(np.zeros((2, 128), np.float32))
    assert list(m.person) == [-1, -1]
    assert len(make_gallery().match(np.zeros((0, 3), np.float32))) == 0


@pytest.mark.parametrize("stored_width", [0, 128])
def test_a_gallery_without_templates_takes_probes_of_any_width(stored_width: int) -> None:
    # Nobody enrolled for this embedder: the store hands back a (0, 128) matrix whatever the
    # embedder's width; sface+dlib probes are 256-D. Every face is unknown, one row per face.
    empty = Gallery([], np.zeros(0, np.int64), np.zeros((0, stored_width), np.float32), 0.5, 0.1)
    for width in (128, 256):
        m = empty.match(np.ones((3, width), np.float32) / np.sqrt(width))
        assert len(m) == 3 and list(m.person) == [-1, -1, -1]
    assert empty.person_scores(np.ones((3, 256), np.float32)).shape == (3, 0)


def test_probes_of_another_width_than_the_templates_are_refused() -> None:
    with pytest.raises(ValueError, match="different embedders"):
        make_gallery().match(np.ones((2, 4), np.float32))


def test_empty_gallery_takes_probes_of_any_length() -> None:
    # Nobody enrolled: the store hands back a (0, 128) matrix, the default embedder gives
    # 256 values per face. Every face must come back unknown, one answer per face.
    probes = np.ones((3, 256), np.float32) / 16
    for empty in (Gallery.empty(), Gallery([], np.zeros(0), np.zeros((0, 128)), 0.8, 0.01)):
        m = empty.match(probes, face_px=np.array([40.0, 50.0, 60.0]))
        assert len(m) == 3
        assert list(m.person) == [-1, -1, -1]
        assert list(m.candidate) == [-1, -1, -1]


def test_single_person_gallery_uses_threshold_only() -> None:
    g = Gallery(["solo"], np.array([0]), _unit(1, 0)[None], 0.5, 0.2)
    m = g.match(np.stack([_unit(1, 0.1), _unit(0, 1)]))
    assert list(m.person) == [0, -1]


def test_two_templates_score_the_cosine_to_their_mean_direction() -> None:
    # Two photos of ada that differ a lot; a new photo halfway between matches neither well
    # but matches her mean direction. bob's single template scores its own cosine.
    templates = np.stack([_unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 0, 1)])
    g = Gallery(["ada", "bob"], np.array([0, 0, 1]), templates, threshold=0.9, margin=0.1)
    m = g.match(np.stack([_unit(1, 1, 0), _unit(0.2, 0, 1)]))
    assert g.name_of(int(m.person[0])) == "ada" and m.similarity[0] > 0.99
    assert g.name_of(int(m.person[1])) == "bob"
    assert abs(m.similarity[1] - _unit(0.2, 0, 1) @ _unit(0, 0, 1)) < 1e-6
    assert g.templates.shape == (3, 3)  # the enrolled templates themselves are unchanged


def _person_and_strangers(
    rng: np.random.Generator, templates: int, strangers: int, dim: int = 64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One person's templates (cosine ~0.7 between two, as enrollment photos of one person),
    new photos of them in worse conditions (~0.6 to a template) and strangers who share some
    of their look (~0.5 to a template): `share` is the squared cosine to the person's centre."""
    centre = _unit(*rng.normal(size=dim))

    def around(share: float, n: int) -> np.ndarray:
        noise = rng.normal(size=(n, dim))
        noise -= np.outer(noise @ centre, centre)
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        return (np.sqrt(share) * centre + np.sqrt(1 - share) * noise).astype(np.float32)

    return around(0.7, templates), around(0.55, 500), around(0.35, strangers)


def test_more_templates_do_not_attract_more_strangers() -> None:
    # The same person enrolled from 2 and from 25 photos, the same strangers: the share of
    # strangers who would be named must not grow with the photos (a best match over
    # templates rises with their number: 25 give every stranger 25 chances).
    rng = np.random.default_rng(3)
    templates, genuine, strangers = _person_and_strangers(rng, 25, 20000)
    passing, named = {}, {}
    for n in (2, 25):
        g = Gallery(["ada"], np.zeros(n), templates[:n], threshold=0.0, margin=0.0)
        passing[n] = g.person_scores(strangers)[:, 0]
        named[n] = g.person_scores(genuine)[:, 0]
    threshold = np.quantile(passing[2], 0.995)  # 1 stranger in 200 passes with 2 templates
    assert (passing[25] >= threshold).mean() <= 0.005
    # ...while the person themselves is recognised at least as often.
    assert (named[25] >= threshold).mean() >= (named[2] >= threshold).mean()


def test_face_under_the_naming_size_is_never_named() -> None:
    g = Gallery(["ada"], np.zeros(1), _unit(1, 0)[None], 0.5, 0.0, min_naming_px=24)
    probes = np.stack([_unit(1, 0), _unit(1, 0), _unit(1, 0)])
    m = g.match(probes, face_px=np.array([23.9, 24.0, 60.0]))
    assert list(m.person) == [-1, 0, 0]
    # Still scored, for review queues.
    assert m.candidate[0] == 0 and m.similarity[0] > 0.99
    assert g.match(probes[:1]).person[0] == 0  # without sizes, no size rule applies


def test_engine_passes_face_sizes_to_the_gallery(faces: Path) -> None:
    from rollcall.synth import read_photo
    from rollcall.vision.engine import EngineOptions, FaceEngine
    from rollcall.vision.quality import EnrollmentPolicy

    engine = FaceEngine(EngineOptions(threads=1))
    folder = faces / "identities" / "photos" / "Colin_Powell"
    photos = sorted(folder.iterdir())
    enrolled = engine.enrollment_face(read_photo(photos[0]), EnrollmentPolicy())
    probe = read_photo(photos[1])
    size = float(engine.detect(probe).min_side.max())
    for naming_px, expected in ((size - 1, 0), (size + 1, -1)):
        g = Gallery(
            ["Colin_Powell"],
            np.zeros(1),
            enrolled.embedding[None],
            threshold=0.5,
            margin=0.0,
            min_naming_px=naming_px,
        )
        result = engine.identify(probe, g)
        biggest = int(np.argmax(result.faces.min_side))
        assert result.matches.person[biggest] == expected
        assert result.matches.candidate[biggest] == 0


def test_the_recheck_scores_dlib_s_half_of_the_very_templates_the_full_matcher_uses(
    faces: Path,
) -> None:
    """The re-check must compare a face's dlib embedding with the dlib half of the same
    enrolled templates (same order, same normalisation), and keep only names the full matcher
    would give: on real photos, each enrolled person's other photos pass the re-check for
    nobody but themselves, and strangers' photos pass for nobody."""
    from rollcall.config import Settings
    from rollcall.synth import read_photo
    from rollcall.vision.embed import dlib_half
    from rollcall.vision.engine import EngineOptions, FaceEngine
    from rollcall.vision.gallery import (
        DEFAULT_THRESHOLD,
        SINGLE_TEMPLATE_COSINE,
        recheck_gallery,
    )
    from rollcall.vision.quality import EnrollmentPolicy, EnrollmentRefused

    assert Settings().recheck  # on by default
    engine = FaceEngine(EngineOptions(threads=1))
    root = faces / "identities" / "photos"
    enrolled = ["Roger_Federer", "Serena_Williams", "Tony_Blair"]
    names, owner, templates, probes = [], [], [], []
    for i, name in enumerate(enrolled):
        photos = sorted((root / name).iterdir())
        names.append(name)
        used = 0
        while len(owner) < 2 * (i + 1):  # staff upload photos until two pass the checks
            path = photos[used]
            used += 1
            try:
                face = engine.enrollment_face(read_photo(path), EnrollmentPolicy())
            except EnrollmentRefused:
                continue
            templates.append(face.embedding)
            owner.append(i)
        probes += [(i, path) for path in photos[used : used + 4]]
    probes += [
        (-1, path)
        for name in ("Vladimir_Putin", "John_Simm")
        for path in sorted((root / name).iterdir())[:4]
    ]
    full = Gallery(
        names,
        np.array(owner),
        np.stack(templates),
        DEFAULT_THRESHOLD["sface+dlib"],
        0.0,
        single_template_cosine=SINGLE_TEMPLATE_COSINE["sface+dlib"],
    )
    cheap = recheck_gallery(full)
    embedder = engine.embedder
    kept = 0
    for truth, path in probes:
        image = read_photo(path)
        found = engine.detect(image)
        face = found[[int(np.argmax(found.min_side))]]
        fused = embedder.embed(image, face)
        dlib = embedder.recheck(image, face)
        # The re-check's vector is the fused vector's dlib half, renormalised.
        assert float(dlib_half(fused)[0] @ dlib[0]) > 0.9999
        passed = int(cheap.match(dlib).person[0])
        assert passed in (-1, truth), f"{path.name} passed the re-check for {names[passed]}"
        kept += passed == truth >= 0
    assert kept >= 3  # the re-check does keep names (half of full-size faces, bench figures)
