"""Open-set matching: a name only when the best person clears the threshold and the margin."""

import numpy as np
import pytest

from rollcall.vision.gallery import Gallery


def _unit(*v: float) -> np.ndarray:
    a = np.asarray(v, np.float32)
    return a / np.linalg.norm(a)


def make_gallery(threshold: float = 0.5, margin: float = 0.1) -> Gallery:
    templates = np.stack([_unit(1, 0, 0), _unit(0.9, 0.1, 0), _unit(0, 1, 0), _unit(0, 0, 1)])
    return Gallery(["ada", "bob", "cy"], np.array([0, 0, 1, 2]), templates, threshold, margin)


def test_best_template_per_person_decides() -> None:
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
    with pytest.raises(ValueError, match="4-D but the gallery's templates are 3-D"):
        make_gallery().match(np.ones((2, 4), np.float32))


def test_single_person_gallery_uses_threshold_only() -> None:
    g = Gallery(["solo"], np.array([0]), _unit(1, 0)[None], 0.5, 0.2)
    m = g.match(np.stack([_unit(1, 0.1), _unit(0, 1)]))
    assert list(m.person) == [0, -1]


def test_a_persons_mean_direction_counts_as_a_template() -> None:
    # Two photos of ada that differ a lot; a new photo halfway between matches neither well
    # but matches her mean direction. bob's single template gets no extra row.
    templates = np.stack([_unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 0, 1)])
    g = Gallery(["ada", "bob"], np.array([0, 0, 1]), templates, threshold=0.9, margin=0.1)
    m = g.match(np.stack([_unit(1, 1, 0), _unit(0.2, 0, 1)]))
    assert g.name_of(int(m.person[0])) == "ada" and m.similarity[0] > 0.99
    assert g.name_of(int(m.person[1])) == "bob"
    assert m.similarity[1] == np.float32(_unit(0.2, 0, 1) @ _unit(0, 0, 1))
    assert g.templates.shape == (3, 3)  # the enrolled templates themselves are unchanged
