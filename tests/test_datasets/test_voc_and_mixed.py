"""VOC layout (XML + palette PNGs) built from real coco_mini images, mixed
sets, converters and bad input."""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.dataset import ConcatDataset

from blitznet_mm.testing.builders import REPO, coco_mini_dataset
from blitznet_mm.testing.tool_runs import run_script
from blitznet_mm.testing.voc_layout import VOC_CLASSES, build_voc_fixture

PIPE = [dict(type='LoadImageFromFile'), dict(type='LoadBlitzNetAnnotations')]


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory, coco_mini):
    root = str(tmp_path_factory.mktemp('voc'))
    info = build_voc_fixture(coco_mini, root)
    return root, info


def _voc(root, **kw):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    import blitznet_mm  # noqa: F401
    register_all_modules()
    cfg = dict(
        type='BlitzNetVOCDataset',
        data_root=root,
        ann_file='VOC2012/ImageSets/Main/trainval.txt',
        data_prefix=dict(
            sub_data_root='VOC2012/', seg='VOC2012/SegmentationClass/'),
        pipeline=PIPE)
    cfg.update(kw)
    return DATASETS.build(cfg)


def test_voc_layout_boxes_and_palette_masks(voc_root):
    root, info = voc_root
    ds = _voc(root)
    assert ds.metainfo['classes'] == VOC_CLASSES
    assert len(ds) == len(info['ids']) and info['masked']
    for i, img_id in enumerate(info['ids']):
        r = ds[i]
        seg, labels, boxes = (r['gt_seg_map'], r['gt_bboxes_labels'],
                              r['gt_bboxes'].numpy())
        assert seg.shape == r['img'].shape[:2]
        assert len(labels) == len(info['objects'][img_id])
        if img_id not in info['masked']:
            assert (seg == 255).all()  # boxes-only: ignored, never 0
            continue
        values = set(np.unique(seg).tolist())
        # palette indices are read as classes (pillow), void border kept
        assert 255 in values and 0 in values
        assert values - {0, 255} <= set((labels + 1).tolist())
        for c in np.unique(labels):
            ys, xs = np.nonzero(seg == c + 1)
            inside = np.zeros(len(xs), bool)
            for (x1, y1, x2, y2), lab in zip(boxes, labels):
                if lab == c:
                    inside |= ((xs >= x1 - 1) & (xs <= x2 + 1) & (ys >= y1 - 1)
                               & (ys <= y2 + 1))
            assert inside.all()


def test_mixed_set_boxes_only_masks_only_and_both(voc_root, coco_mini):
    root, info = voc_root
    voc = _voc(root)  # some images with masks, some boxes-only
    coco_boxes = coco_mini_dataset(
        coco_mini, with_sem_seg=False, pipeline=PIPE, indices=5)
    coco_both = coco_mini_dataset(coco_mini, pipeline=PIPE, indices=5)
    mixed = ConcatDataset([voc, coco_boxes, coco_both],
                          ignore_keys=['classes', 'palette', 'dataset_type'])
    n_mask = n_boxes_only = 0
    for i in range(len(mixed)):
        seg = mixed[i]['gt_seg_map']
        if (seg == 255).all():
            n_boxes_only += 1
        else:
            n_mask += 1
    assert n_boxes_only == len(info['ids']) - len(info['masked']) + 5
    assert n_mask == len(info['masked']) + 5


def test_masks_only_image_without_boxes(voc_root):
    root, info = voc_root
    img_id = info['masked'][0]
    xml = osp.join(root, 'VOC2012', 'Annotations', img_id + '.xml')
    text = open(xml).read()
    start, end = text.index('<object>'), text.rindex('</object>') + 9
    with open(xml, 'w') as f:
        f.write(text[:start] + text[end:])
    try:
        ds = _voc(root, filter_cfg=dict(filter_empty_gt=False))
        r = ds[info['ids'].index(img_id)]
        assert len(r['gt_bboxes']) == 0 and (r['gt_seg_map'] < 255).any()
    finally:
        with open(xml, 'w') as f:
            f.write(text)


def test_bad_boxes_and_unknown_classes_are_skipped_and_counted(voc_root):
    root, info = voc_root
    img_id = info['ids'][1]
    xml = osp.join(root, 'VOC2012', 'Annotations', img_id + '.xml')
    text = open(xml).read()
    bad = ('<object><name>{}</name><difficult>0</difficult><bndbox><xmin>{}'
           '</xmin><ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax></bndbox>'
           '</object>')
    extra = (
        bad.format('dog', 50, 50, 40, 60) +  # x2 < x1
        bad.format('dog', 30, 30, 30, 30) +  # zero area
        bad.format('dog', 5000, 5000, 5100, 5100) +  # outside
        bad.format('unicorn', 1, 1, 20, 20))  # unknown class
    with open(xml, 'w') as f:
        f.write(text.replace('</annotation>', extra + '</annotation>'))
    try:
        ds = _voc(root)
        assert dict(ds.skipped.counts) == {
            'empty_box': 2,
            'outside_image': 1,
            'unknown_class': 1
        }
        r = ds[1]
        assert len(r['gt_bboxes']) == len(info['objects'][img_id])
    finally:
        with open(xml, 'w') as f:
            f.write(text)


def test_malformed_and_missing_annotation_files(voc_root, tmp_path, coco_mini):
    root, info = voc_root
    xml = osp.join(root, 'VOC2012', 'Annotations', info['ids'][0] + '.xml')
    text = open(xml).read()
    with open(xml, 'w') as f:
        f.write(text[:len(text) // 2])
    try:
        with pytest.raises(
                ValueError, match=f"{info['ids'][0]}.xml: malformed"):
            _voc(root)
    finally:
        with open(xml, 'w') as f:
            f.write(text)
    empty = tmp_path / 'empty.json'
    empty.write_text('')
    with pytest.raises(ValueError, match='empty.json: not a COCO'):
        coco_mini_dataset(coco_mini, ann_file=str(empty))
    with pytest.raises(FileNotFoundError, match='nope.json'):
        coco_mini_dataset(coco_mini, ann_file=str(tmp_path / 'nope.json'))
    lst = tmp_path / 'empty.txt'
    lst.write_text('')
    with pytest.raises(ValueError, match='image list is empty'):
        _voc(root, ann_file=str(lst))


def test_missing_and_corrupt_image_name_the_file(tmp_path, coco_mini):
    from mmcv.transforms import LoadImageFromFile
    bad = tmp_path / 'corrupt.jpg'
    bad.write_bytes(b'\xff\xd8 not really a jpeg')
    with pytest.raises(Exception, match='corrupt.jpg'):
        LoadImageFromFile()(dict(img_path=str(bad)))
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        LoadImageFromFile()(dict(img_path=str(tmp_path / 'missing.jpg')))


def test_coco_unknown_category_and_bad_boxes_are_counted(tmp_path, coco_mini):
    with open(osp.join(coco_mini, 'annotations',
                       'instances_train2017.json')) as f:
        coco = json.load(f)
    img = coco['images'][0]
    base = dict(image_id=img['id'], iscrowd=0, segmentation=[], area=100)
    coco['annotations'] += [
        dict(base, id=10**9, category_id=999, bbox=[1, 1, 10, 10]),
        dict(base, id=10**9 + 1, category_id=1, bbox=[1, 1, 0, 10]),
        dict(
            base,
            id=10**9 + 2,
            category_id=1,
            bbox=[img['width'] + 5, 1, 10, 10])
    ]
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(coco))
    ds = coco_mini_dataset(coco_mini, ann_file=str(ann), pipeline=PIPE)
    assert dict(ds.skipped.counts) == {
        'unknown_class': 1,
        'empty_box': 1,
        'outside_image': 1
    }


def test_voc_to_coco_converter_feeds_coco_metric(voc_root, tmp_path):
    root, info = voc_root
    out = tmp_path / 'voc.json'
    res = run_script([
        osp.join(REPO, 'tools', 'dataset_converters', 'voc_to_coco.py'), root,
        'VOC2012', 'ImageSets/Main/trainval.txt',
        str(out)
    ])
    assert res.returncode == 0, res.stderr[-2000:]
    coco = json.loads(out.read_text())
    assert len(coco['images']) == len(info['ids'])
    assert len(coco['categories']) == 20
    assert all(isinstance(i['id'], int) for i in coco['images'])
    ds = _voc(root, int_img_ids=True)
    assert {ds.get_data_info(i)['img_id'] for i in range(len(ds))} == \
        {i['id'] for i in coco['images']}


def test_sbd_converter_writes_palette_pngs(tmp_path):
    from PIL import Image
    from scipy.io import savemat
    label = np.zeros((6, 8), np.uint8)
    label[1:3, 2:5] = 15
    label[4:, :2] = 7
    savemat(tmp_path / 'a.mat',
            {'GTcls': {
                'Segmentation': label,
                'Boundaries': np.zeros(1)
            }})
    res = run_script([
        osp.join(REPO, 'tools', 'dataset_converters', 'sbd_to_png.py'),
        str(tmp_path),
        str(tmp_path / 'png')
    ])
    assert res.returncode == 0, res.stderr[-2000:]
    png = Image.open(tmp_path / 'png' / 'a.png')
    assert png.mode == 'P' and np.array_equal(np.array(png), label)


def test_voc12_masks_official_first_then_sbd(tmp_path, coco_mini):
    """train_aug images take SegmentationClass (palette) when it has the
    image, else SegmentationClassAug (plain index PNGs); both read as class
    indices."""
    from blitznet_mm.testing.voc_layout import build_vocdevkit
    root = str(tmp_path / 'VOCdevkit')
    splits = build_vocdevkit(coco_mini, root)
    train = splits['2012']['Segmentation/train_aug.txt']
    ds = _voc(
        root,
        ann_file='VOC2012/ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(
            sub_data_root='VOC2012/',
            seg='VOC2012/SegmentationClass/',
            seg_aug='VOC2012/SegmentationClassAug/'))
    assert ds.num_missing_masks == 0
    sources = []
    for i, img_id in enumerate(train):
        path = ds.get_data_info(i)['seg_map_path']
        sources.append(osp.basename(osp.dirname(path)))
        r = ds[i]
        values = set(np.unique(r['gt_seg_map']).tolist())
        assert values <= set(range(21)) | {255} and values - {0, 255}
    assert set(sources) == {'SegmentationClass', 'SegmentationClassAug'}


def test_images_without_mask_are_counted_and_warned_once(voc_root):
    from mmengine.logging import MMLogger
    root, info = voc_root
    logger = MMLogger.get_current_instance()
    messages = []
    handler = type(
        'H', (__import__('logging').Handler, ),
        dict(emit=lambda self, rec: messages.append(rec.getMessage())))()
    logger.addHandler(handler)
    try:
        ds = _voc(root)
    finally:
        logger.removeHandler(handler)
    missing = len(info['ids']) - len(info['masked'])
    assert missing > 0 and ds.num_missing_masks == missing
    warned = [m for m in messages if 'have no mask' in m]
    assert len(warned) == 1
    example = next(i for i in info['ids'] if i not in info['masked'])
    assert f'{missing} of {len(info["ids"])} images' in warned[0]
    assert f'{example}.png' in warned[0]
    with pytest.raises(FileNotFoundError, match=f'{example}.png'):
        _voc(root, seg_required=True)


def test_difficult_objects_are_trained_on_and_ignored_in_evaluation(voc_root):
    root, info = voc_root
    img_id = info['ids'][0]
    xml = osp.join(root, 'VOC2012', 'Annotations', img_id + '.xml')
    text = open(xml).read()
    with open(xml, 'w') as f:
        f.write(
            text.replace('<difficult>0</difficult>',
                         '<difficult>1</difficult>', 1))
    pack = PIPE + [dict(type='PackDetInputs')]
    n = len(info['objects'][img_id])
    try:
        train = _voc(root, pipeline=pack)[0]['data_samples']
        assert len(train.gt_instances) == n  # authors' code: a target
        old = _voc(root, pipeline=pack, train_difficult=False)[0]
        assert len(old['data_samples'].gt_instances) == n - 1
        test = _voc(root, pipeline=pack, test_mode=True)[0]['data_samples']
        assert len(test.gt_instances) == n - 1
        assert len(test.ignored_instances) == 1  # VOCMetric ignores it
    finally:
        with open(xml, 'w') as f:
            f.write(text)


def test_coco_annotation_without_segmentation_is_a_box_without_mask(
        tmp_path, coco_mini):
    with open(osp.join(coco_mini, 'annotations',
                       'instances_train2017.json')) as f:
        coco = json.load(f)
    first = coco['images'][0]['id']
    anns = [a for a in coco['annotations'] if a['image_id'] == first]
    drop = max(anns, key=lambda a: a['area'])
    del drop['segmentation']
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(coco))
    ds = coco_mini_dataset(coco_mini, ann_file=str(ann), pipeline=PIPE)
    full = coco_mini_dataset(coco_mini, pipeline=PIPE)
    i = [ds.get_data_info(k)['img_id'] for k in range(len(ds))].index(first)
    r, ref = ds[i], full[i]
    assert len(r['gt_bboxes']) == len(ref['gt_bboxes'])  # the box is kept
    # its pixels are no longer painted; every other instance still is
    assert (r['gt_seg_map'] != ref['gt_seg_map']).any()
    assert ((r['gt_seg_map'] == ref['gt_seg_map'])
            | (r['gt_seg_map'] == 0)).all()
