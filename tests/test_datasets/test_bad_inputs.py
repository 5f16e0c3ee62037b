"""Bad inputs never train silently (issue 23, item 4; docs/reliability.md,
"Dataset files"): copies of the real embedded files (data/samples, the VOC
fixture built from them) are damaged one way at a time inside a small
training set (blitznet_mm/testing/bad_inputs.py), and every sample is
pulled through the train dataset and pipeline of a shipped config. Each
damage either stops with an error naming the file and the problem, or is
skipped, counted and warned about with the file named; valid but unusual
images load with the pixels of the original.
"""
import copy
import logging
import os.path as osp
import re
import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

# yapf: disable
from blitznet_mm.testing.bad_inputs import (BUILDERS, NUM_IMAGES, add_coco_ann,
                                            add_thing_segment, add_voc_object,
                                            append, both, corrupt_jpeg,
                                            edit_json, edit_mask, edit_xml,
                                            empty, exif_rotated, html,
                                            image_entry, panoptic_segment,
                                            pil_resave, remove, set_coco_ann,
                                            size_in_json, to_16bit_png,
                                            truncate, write)

# yapf: enable


@pytest.fixture(scope='module')
def pristine(coco_mini, tmp_path_factory):
    """Each source's intact set, built once; cases damage copies."""
    made = {}

    def get(source):
        if source not in made:
            root = str(tmp_path_factory.mktemp(source))
            made[source] = (root, *BUILDERS[source](coco_mini, root))
        return made[source]

    return get


# --------------------------------------------------------------- outcomes
class Error:
    """Stops with ``exc`` whose message starts as ``pattern`` ({img}, {ann},
    {xml}, {mask}: the target files' names)."""

    def __init__(self, exc, pattern):
        self.exc, self.pattern = exc, pattern


class Skipped:
    """Loads; ``counts`` skip kinds in the dataset's ``skipped``, a warning
    matching ``pattern``, the target image keeps its intact instances."""

    def __init__(self, counts, pattern):
        self.counts, self.pattern = counts, pattern


class Loads:
    """Loads, nothing skipped; ``tolerance``: mean absolute difference of
    the loaded image from the intact one (BGR, before augmentation);
    ``gray``: compare with the intact image's luminance; ``mask``: the
    loaded mask equals the intact PNG's values."""

    def __init__(self, tolerance=None, gray=False, mask=False):
        self.tolerance, self.gray, self.mask = tolerance, gray, mask


S = r'\d+x\d+'
CASES = [
    # images (every dataset loads them with mmcv; named by NamesBadImages)
    ('coco', 'image missing', remove('img'),
     Error(FileNotFoundError, r'image \S*{img}: no such file')),
    ('coco', 'image empty (0 bytes)', empty('img'),
     Error(ValueError, r'image \S*{img}: empty file \(0 bytes\)')),
    ('coco', 'image truncated (first half)', truncate('img'),
     Error(
         ValueError, r'image \S*{img}: truncated JPEG \(\d+ bytes, no '
         r'end-of-image marker\)')),
    ('coco', 'image with corrupt headers', corrupt_jpeg,
     Error(ValueError, r'image \S*{img}: cannot be decoded \(corrupt')),
    ('coco', 'HTML page named .jpg', html('img'),
     Error(
         ValueError, r"image \S*{img}: not an image file \(it starts "
         r"with b'<html><b'\)")),
    ('voc', 'image truncated (first half)', truncate('img'),
     Error(ValueError, r'image \S*{img}: truncated JPEG')),
    ('panoptic', 'image missing', remove('img'),
     Error(FileNotFoundError, r'image \S*{img}: no such file')),
    ('seg_folder', 'image empty (0 bytes)', empty('img'),
     Error(ValueError, r'image \S*{img}: empty file')),
    ('stuff', 'image not an image (HTML)', html('img'),
     Error(ValueError, r'image \S*{img}: not an image file')),
    # image sizes stated by the annotation
    ('coco', 'json width differs from the file', size_in_json(10),
     Error(
         ValueError, rf'image \S*{{img}} is {S} \(w x h, EXIF orientation '
         rf'applied\) but its annotation says {S}: its boxes and masks '
         'would be misplaced')),
    ('coco', 'EXIF-rotated JPEG, json of the stored size',
     exif_rotated('stored'),
     Error(ValueError, rf'image \S*{{img}} is {S} .*says {S}')),
    ('voc', 'XML <size> differs from the file',
     edit_xml(r'<width>(\d+)</width>', r'<width>1\g<1></width>'),
     Error(ValueError, rf'image \S*{{img}} is {S} .*\S*{{xml}} says {S}')),
    ('panoptic', 'json width differs from the file', size_in_json(-1),
     Error(ValueError, rf'image \S*{{img}} is {S} .*says {S}')),
    # valid but unusual images
    ('coco', 'grayscale JPEG',
     pil_resave(lambda im: im.convert('L'),
                quality=95), Loads(tolerance=3, gray=True)),
    ('coco', 'CMYK JPEG',
     pil_resave(lambda im: im.convert('CMYK'),
                quality=95), Loads(tolerance=6)),
    ('coco', 'PNG bytes named .jpg', pil_resave(lambda im: im, format='PNG'),
     Loads(tolerance=0)),
    ('coco', '16-bit PNG', to_16bit_png, Loads(tolerance=0)),
    ('voc', 'JPEG with 64 bytes after its end-of-image marker',
     append('img', bytes(64)), Loads(tolerance=0)),
    ('voc', 'same, and its mask holds label 21 (the mask error comes '
     'through)',
     both(
         append('img', bytes(64)),
         edit_mask(lambda a: np.where(a == 0, 21, a).astype(np.uint8))),
     Error(ValueError, r'mask \S*{mask} holds labels \[21\]')),
    ('coco', 'EXIF-rotated JPEG (orientation 6), json of the displayed size',
     exif_rotated('displayed'), Loads(tolerance=4)),
    # COCO instances json
    ('coco', 'json missing', remove('ann'),
     Error(FileNotFoundError, r'\S*{ann}: annotation file does not exist')),
    ('coco', 'json empty', empty('ann'),
     Error(ValueError, r'\S*{ann}: not a COCO instances file '
           r'\(JSONDecodeError')),
    ('coco', 'json truncated', truncate('ann'),
     Error(ValueError, r'\S*{ann}: not a COCO instances file '
           r'\(JSONDecodeError')),
    ('coco', 'json of binary bytes (unreadable as text)',
     lambda t: write(t['ann'],
                     bytes(range(256)) * 4),
     Error(ValueError, r'\S*{ann}: not a COCO instances file '
           r'\(UnicodeDecodeError')),
    ('coco', 'json of another format (a list)',
     lambda t: write(t['ann'], b'[1, 2]'),
     Error(ValueError, r'\S*{ann}: not a COCO instances file')),
    ('coco', 'box negative (entirely left of and above the image)',
     add_coco_ann(bbox=[-300, -200, 100, 100]),
     Skipped({'outside_image': 1}, r'{img}: outside_image')),
    ('coco', 'box of negative width', add_coco_ann(bbox=[50, 50, -20, 30]),
     Skipped({'empty_box': 1}, r'{img}: empty_box')),
    ('coco', 'box with NaN', add_coco_ann(bbox=[10, float('nan'), 30, 30]),
     Skipped({'not_finite': 1}, r'{img}: not_finite')),
    ('coco', 'box of strings', add_coco_ann(bbox=['10', '10', '30', '30']),
     Skipped({'not_a_number': 1}, r'{img}: not_a_number')),
    ('coco', 'box of 3 values', add_coco_ann(bbox=[10, 10, 30]),
     Skipped({'malformed_box': 1}, r'{img}: malformed_box')),
    ('coco', 'box outside the image (right of it)',
     add_coco_ann(bbox=[5000, 10, 30, 30]),
     Skipped({'outside_image': 1}, r'{img}: outside_image')),
    ('coco', 'box under 1 px wide', add_coco_ann(bbox=[10, 10, 0.5, 30]),
     Skipped({'under_1px_box': 1}, r'{img}: under_1px_box')),
    ('coco', 'box partly outside the image',
     add_coco_ann(bbox=[-20, -20, 5000, 5000]), Loads()),
    ('coco', 'unknown category id', add_coco_ann(category_id=999),
     Skipped({'unknown_class': 1}, r'{img}: unknown_class')),
    ('coco', 'polygon of 2 points (4 values)',
     set_coco_ann(segmentation=[[10, 10, 50, 50]]),
     Skipped({'short_polygon': 1}, r'{img}: short_polygon \(annotation id '
             r'\d+: 1 of 1 polygons under 3 points\)')),
    ('coco', 'polygon with a string coordinate',
     set_coco_ann(segmentation=[[10, 10, 'x', 50, 60, 10]]),
     Error(
         ValueError, r'image \S*{img}: an instance segmentation cannot be '
         r'rasterised')),
    ('coco', 'polygon with NaN',
     set_coco_ann(segmentation=[[10, 10, float('nan'), 50, 60, 10]]),
     Error(
         ValueError, r'image \S*{img}: an instance segmentation cannot be '
         r'rasterised \(polygon .* not finite\)')),
    ('coco', 'RLE of another size than the image',
     set_coco_ann(segmentation=dict(size=[10, 10], counts='PPYo0'), iscrowd=1),
     Error(
         ValueError, r'\S*{ann}: annotation \d+ of image {img}: RLE of '
         r'size \[10, 10\] \(h, w\) but the image is \d+x\d+')),
    # VOC XML and palette PNGs
    ('voc', 'XML missing', remove('xml'),
     Error(FileNotFoundError, r'\S*{xml}: annotation file not found')),
    ('voc', 'image list missing', remove('list'),
     Error(FileNotFoundError, r'\S*{list}: image list not found')),
    ('voc', 'XML of binary bytes', lambda t: write(t['xml'],
                                                   bytes(range(256)) * 4),
     Error(ValueError, r'\S*{xml}: malformed XML')),
    ('voc', 'XML truncated', truncate('xml'),
     Error(ValueError, r'\S*{xml}: malformed XML')),
    ('voc', 'XML width not a number',
     edit_xml(r'<width>\d+</width>', '<width>abc</width>'),
     Error(ValueError, r'\S*{xml}: malformed annotation \(ValueError')),
    ('voc', 'box with NaN', add_voc_object('dog', (10, 'nan', 40, 40)),
     Skipped({'not_finite': 1}, r'{xml}: not_finite')),
    ('voc', 'box of words', add_voc_object('dog', (10, 'ten', 40, 40)),
     Skipped({'not_a_number': 1}, r'{xml}: not_a_number')),
    ('voc', 'box without xmax', add_voc_object('dog', (10, 10, None, 40)),
     Skipped({'malformed_box': 1}, r'{xml}: malformed_box')),
    ('voc', 'box negative (entirely outside)',
     add_voc_object('dog', (-90, -90, -10, -10)),
     Skipped({'outside_image': 1}, r'{xml}: outside_image')),
    ('voc', 'unknown class', add_voc_object('unicorn', (10, 10, 40, 40)),
     Skipped({'unknown_class': 1}, r"{xml}: unknown_class \(name "
             r"'unicorn'\)")),
    ('voc', 'mask label 21 (above the 20 classes)',
     edit_mask(lambda a: np.where(a == 0, 21, a).astype(np.uint8)),
     Error(
         ValueError, r'mask \S*{mask} holds labels \[21\] but the labels '
         r"of the dataset's segmentation classes are 0..20")),
    ('voc', 'mask RGB (3 channels)',
     edit_mask(lambda a: np.stack([a] * 3, -1),
               mode='RGB'), Error(ValueError,
                                  r'mask \S*{mask} has 3 channels')),
    ('voc', 'mask of another size', edit_mask(lambda a: a[:-2]),
     Error(ValueError, rf'mask \S*{{mask}} is {S} but its image')),
    ('voc', 'mask empty (0 bytes)', empty('mask'),
     Error(ValueError, r'mask \S*{mask} cannot be decoded: empty file '
           r'\(0 bytes\)')),
    ('voc', 'mask truncated', truncate('mask'),
     Error(
         ValueError, r'mask \S*{mask} cannot be decoded: truncated PNG '
         r'\(\d+ bytes, no IEND chunk\)')),
    ('voc', 'mask not an image (HTML)', html('mask'),
     Error(
         ValueError, r"mask \S*{mask} cannot be decoded: not an image "
         r"file \(it starts with b'<html><b'\)")),
    ('voc', 'mask missing (segmentation set)', remove('mask'),
     Skipped({'missing_mask': 1}, r'1 of 3 images of \S+ have no mask '
             r'\(e.g. \S*{mask}\); they are trained on boxes only')),
    ('voc', 'mask as 16-bit PNG, labels in range',
     edit_mask(lambda a: a.astype(np.uint16), mode='infer'), Loads(mask=True)),
    # COCO-Stuff PNGs
    ('stuff', 'mask label 171 (above the 171 classes 0..170)',
     edit_mask(lambda a: np.where(a == 255, 171, a).astype(np.uint8)),
     Error(ValueError, r'mask \S*{mask} holds labels \[171\] .*0..170')),
    ('stuff', 'mask RGBA (4 channels)',
     edit_mask(lambda a: np.stack([a] * 4, -1),
               mode='RGBA'), Error(ValueError,
                                   r'mask \S*{mask} has 4 channels')),
    ('stuff', 'mask missing', remove('mask'),
     Error(FileNotFoundError, r'mask \S*{mask} of image \S*{img} is '
           'missing')),
    ('stuff', 'mask truncated', truncate('mask'),
     Error(
         ValueError, r'mask \S*{mask} cannot be decoded: truncated PNG '
         r'\(\d+ bytes, no IEND chunk\)')),
    ('stuff', 'mask of another size', edit_mask(lambda a: a[:, :-1]),
     Error(ValueError, rf'mask \S*{{mask}} is {S} but its image')),
    # mmseg-style folders (the blur config)
    ('seg_folder', 'mask label 3 (classes 0..2)',
     edit_mask(lambda a: np.where(a == 255, 3, a).astype(np.uint8)),
     Error(ValueError, r'mask \S*{mask} holds labels \[3\] .*0..2')),
    ('seg_folder', 'mask RGB (3 channels)',
     edit_mask(lambda a: np.stack([a] * 3, -1),
               mode='RGB'), Error(ValueError,
                                  r'mask \S*{mask} has 3 channels')),
    ('seg_folder', 'mask missing', remove('mask'),
     Error(FileNotFoundError, r'no mask for image \S*{img}: \S*{mask} is '
           'missing')),
    ('seg_folder', 'mask not an image (HTML)', html('mask'),
     Error(
         ValueError, r"mask \S*{mask} cannot be decoded: not an image "
         r"file \(it starts with b'<html><b'\)")),
    # COCO panoptic json and PNGs
    ('panoptic', 'json missing', remove('ann'),
     Error(FileNotFoundError, r'\S*{ann}: annotation file does not exist')),
    ('panoptic', 'json truncated', truncate('ann'),
     Error(ValueError, r'\S*{ann}: not a COCO panoptic file')),
    ('panoptic', 'image entry without height',
     lambda t: edit_json(t['ann'], lambda d: image_entry(t, d).pop('height')),
     Error(ValueError, r"\S*{ann}: not a COCO panoptic file \(KeyError: "
           r"'height'\)")),
    ('panoptic', 'segment of an unknown category',
     panoptic_segment(lambda ann, seg: seg.update(category_id=9999)),
     Error(
         ValueError, r'\S*{ann}: segment \d+ of image {img} has category '
         '9999, not in the categories')),
    ('panoptic', 'segment box with NaN',
     add_thing_segment([float('nan'), 1, 20,
                        20]), Skipped({'not_finite': 1},
                                      r'{mask}: not_finite')),
    ('panoptic', 'segment box of strings',
     add_thing_segment(['1', '1', '20', '20']),
     Skipped({'not_a_number': 1}, r'{mask}: not_a_number')),
    ('panoptic', 'PNG grayscale, not RGB',
     edit_mask(lambda a: a[..., 0], mode='L'),
     Error(ValueError, r'panoptic PNG \S*{mask} is L, not RGB')),
    ('panoptic', 'PNG with a segment id no segment lists',
     edit_mask(lambda a: np.where(a == 0, 7, a).astype(np.uint8)),
     Error(ValueError, r'panoptic PNG \S*{mask} holds segment ids \[\d+')),
    ('panoptic', 'PNG of another size', edit_mask(lambda a: a[1:]),
     Error(ValueError, rf'panoptic PNG \S*{{mask}} is {S} but its image')),
    ('panoptic', 'PNG truncated', truncate('mask'),
     Error(ValueError, r'panoptic PNG \S*{mask} cannot be decoded: '
           r'truncated PNG')),
    ('panoptic', 'PNG missing', remove('mask'),
     Error(FileNotFoundError, r'panoptic PNG \S*{mask} is missing')),
]


# ------------------------------------------------------------ the campaign
class Messages(logging.Handler):

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def build(cfg):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    import blitznet_mm  # noqa: F401
    register_all_modules()
    return DATASETS.build(copy.deepcopy(cfg))


def pull_all(cfg):
    """Build the dataset of ``cfg`` and run every sample through its
    pipeline. Returns (dataset, samples, warnings logged)."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    messages = Messages()
    logger.addHandler(messages)
    try:
        ds = build(cfg)
        samples = [ds[i] for i in range(len(ds))]
    finally:
        logger.removeHandler(messages)
    return ds, samples, messages.lines


def _parts(ds):
    return getattr(ds, 'datasets', [ds])


def _skip_counts(ds) -> dict:
    counts = {}
    for part in _parts(ds):
        counts.update(part.skipped.counts if hasattr(part, 'skipped') else {})
        if getattr(part, 'num_missing_masks', 0):
            counts['missing_mask'] = part.num_missing_masks
    return counts


def _check_trainable(ds, samples):
    """What reaches the model: 300x300 images, finite boxes inside them
    with labels of the dataset's classes, masks of its labels or 255."""
    meta = ds.metainfo
    n_cls = len(meta['classes'])
    n_seg = len(meta.get('seg_classes') or ()) or n_cls + 1
    for s in samples:
        assert tuple(s['inputs'].shape) == (3, 300, 300)
        ds_ = s['data_samples']
        if 'bboxes' in ds_.gt_instances:  # not in masks-only sets
            boxes = ds_.gt_instances.bboxes.tensor
            assert boxes.isfinite().all()
            assert (boxes >= 0).all() and (boxes <= 300).all()
            labels = ds_.gt_instances.labels
            assert ((labels >= 0) & (labels < n_cls)).all()
        seg = ds_.gt_sem_seg.sem_seg
        assert seg.shape[-2:] == (300, 300)
        assert (((seg >= 0) & (seg < n_seg)) | (seg == 255)).all()


def _names(target) -> dict:
    return {
        k: re.escape(osp.basename(v))
        for k, v in target.items() if isinstance(v, str)
    }


def run_case(pristine, tmp_path, source, damage):
    """The case's set: a copy of the pristine one, damaged. Returns
    (dataset config, target files)."""
    root, cfg, target = pristine(source)
    copy_root = str(tmp_path / source)
    shutil.copytree(root, copy_root, symlinks=True)
    cfg = copy.deepcopy(cfg)
    target = {
        k: v.replace(root, copy_root) if isinstance(v, str) else v
        for k, v in target.items()
    }
    for part in cfg.datasets if 'datasets' in cfg else [cfg]:
        part.data_root = copy_root
    damage(target)
    return cfg, target


def _first_image(ds, target) -> int:
    names = [
        osp.basename(ds.get_data_info(i)['img_path']) for i in range(len(ds))
    ]
    return names.index(osp.basename(target['img']))


@pytest.mark.parametrize(
    'source,what,damage,outcome',
    CASES,
    ids=[f'{c[0]}: {c[1]}' for c in CASES])
def test_damaged_file_never_trains_silently(pristine, tmp_path, source, what,
                                            damage, outcome):
    cfg, target = run_case(pristine, tmp_path, source, damage)
    if isinstance(outcome, Error):
        pattern = outcome.pattern.format(**_names(target))
        with pytest.raises(outcome.exc, match='^' + pattern):  # ours first
            pull_all(cfg)
        return
    ds, samples, warnings = pull_all(cfg)
    assert len(samples) == NUM_IMAGES
    _check_trainable(ds, samples)
    if isinstance(outcome, Skipped):
        assert _skip_counts(ds) == outcome.counts
        pattern = outcome.pattern.format(**_names(target))
        assert any(re.search(pattern, w) for w in warnings), warnings
        if 'missing_mask' not in outcome.counts:
            # the damage added or spoilt one annotation; the others stay
            _, pcfg, ptarget = pristine(source)
            intact = build(pcfg)
            i, j = _first_image(ds, target), _first_image(intact, ptarget)
            want = len(intact.get_data_info(j)['instances'])
            assert len(ds.get_data_info(i)['instances']) == want
        return
    assert _skip_counts(ds) == {}
    if outcome.tolerance is None and not outcome.mask:
        return
    _, pcfg, ptarget = pristine(source)
    part = _parts(ds)[0]
    load = part.pipeline.transforms[:2]  # the shipped loading steps
    assert [type(t).__name__
            for t in load] == ['LoadImageFromFile', 'LoadBlitzNetAnnotations']
    got = load[1](load[0](part.get_data_info(_first_image(part, target))))
    if outcome.mask:
        want = np.array(Image.open(ptarget['mask']))
        assert got['gt_seg_map'].dtype == np.uint8
        np.testing.assert_array_equal(got['gt_seg_map'], want)
    if outcome.tolerance is not None:
        ref = cv2.imread(ptarget['img'])
        if outcome.gray:
            ref = cv2.cvtColor(
                cv2.cvtColor(ref, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        img = got['img']
        assert img.shape == ref.shape and img.dtype == np.uint8
        diff = np.abs(img.astype(np.float64) - ref).mean()
        assert diff <= outcome.tolerance, diff
