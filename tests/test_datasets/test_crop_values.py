"""The crop's coverage rule on a case worked out by hand (paper Sec. 4.1;
TF sample_distorted_bounding_box: coverage = intersection / box area, not
IoU; one box suffices)."""
import numpy as np

from blitznet_mm.datasets import box_coverage, sample_coverage_crop


def test_coverage_is_intersection_over_box_area_by_hand():
    """Crop [0, 0, 50, 50]: box [25, 25, 75, 75] has 625 of its 2500 px
    inside: 0.25 (its IoU would be 625 / 4375 = 0.143); a box inside: 1; a
    box outside: 0; a box touching the border only: 0; an empty box: 0."""
    crops = np.array([[0., 0., 50., 50.]])
    boxes = np.array([[25., 25., 75., 75.], [10., 10., 20., 20.],
                      [60., 60., 70., 70.], [50., 0., 60., 10.],
                      [5., 5., 5., 10.]])
    np.testing.assert_allclose(
        box_coverage(crops, boxes), [[0.25, 1., 0., 0., 0.]], atol=1e-12)


def test_one_box_suffices_and_coverage_one_falls_back():
    """Two boxes at opposite corners of a 100 x 100 image, each 10 x 10: a
    crop of area >= 0.3 with coverage 0.9 of one box is easy to find, but
    never covers both unless it is nearly the whole image - accepted crops
    must cover one of them >= 0.9, not necessarily both. Coverage 1.01 is
    impossible: the whole image comes back, not accepted."""
    boxes = np.array([[0., 0., 10., 10.], [90., 90., 100., 100.]])
    rng = np.random.RandomState(0)
    partial = 0
    for _ in range(300):
        crop, ok = sample_coverage_crop(100, 100, boxes, 0.9, rng=rng)
        c = box_coverage(crop[None].astype(float), boxes)[0]
        if ok:
            assert c.max() >= 0.9
            partial += bool(c.min() < 0.9)
    assert partial > 30
    crop, ok = sample_coverage_crop(100, 100, boxes, 1.01, rng=rng)
    assert not ok and crop.tolist() == [0, 0, 100, 100]
