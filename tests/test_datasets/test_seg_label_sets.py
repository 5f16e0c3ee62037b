"""Segmentation label sets of their own, on the real images of data/samples:
COCO-Stuff PNGs, COCO panoptic json + PNGs and COCO's 12 supercategories,
written from the real instance masks and checked pixel for pixel against
references computed here (pycocotools decoding, id = R + 256 G + 256^2 B)."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from blitznet_mm.testing import write_coco_panoptic, write_coco_stuff_pngs

ANN = 'annotations/instances_train2017.json'


def _build(cfg):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    import blitznet_mm  # noqa: F401
    register_all_modules()
    return DATASETS.build(cfg)


LOAD = [dict(type='LoadImageFromFile'), dict(type='LoadBlitzNetAnnotations')]


def _reference_map(coco: COCO, img_id: int, label_of) -> np.ndarray:
    """Instances decoded by pycocotools, larger first, ``label_of(cat)``;
    255 where no instance is."""
    info = coco.imgs[img_id]
    anns = coco.imgToAnns[img_id]
    masks = [coco.annToMask(a).astype(bool) for a in anns]
    ref = np.full((info['height'], info['width']), 255, np.uint8)
    for i in sorted(range(len(anns)), key=lambda i: -masks[i].sum()):
        ref[masks[i]] = label_of(coco.cats[anns[i]['category_id']])
    return ref


@pytest.fixture(scope='module')
def coco(coco_mini):
    return COCO(osp.join(coco_mini, ANN))


@pytest.fixture(scope='module')
def supercat_set(coco_mini, coco, tmp_path_factory):
    """Detection of the 80 categories, segmentation of COCO's 12
    supercategories (no background): PNGs written from the instances."""
    supercats = tuple(sorted({c['supercategory'] for c in coco.cats.values()}))
    assert len(supercats) == 12
    out = tmp_path_factory.mktemp('supercat')
    write_coco_stuff_pngs(
        osp.join(coco_mini, ANN),
        str(out / 'masks'),
        lambda c: supercats.index(c['supercategory']),
        suffix='.png')
    return supercats, str(out / 'masks')


def test_supercategory_masks_are_the_instances(coco_mini, coco, supercat_set):
    supercats, masks = supercat_set
    ds = _build(
        dict(
            type='BlitzNetCocoDataset',
            data_root=coco_mini,
            ann_file=ANN,
            data_prefix=dict(img='train2017/', seg=masks),
            pipeline=LOAD,
            metainfo=dict(seg_classes=supercats, seg_background=False)))
    assert len(ds.metainfo['classes']) == 80
    seen = set()
    for i in range(len(ds)):
        r = ds[i]
        ref = _reference_map(coco, r['img_id'],
                             lambda c: supercats.index(c['supercategory']))
        np.testing.assert_array_equal(r['gt_seg_map'], ref)
        assert r['seg_background'] is False and r['max_seg_label'] == 11
        seen |= set(np.unique(ref).tolist())
    assert supercats.index('person') in seen and 255 in seen and len(seen) > 5
    # masks from instances would be the detection rule: refused
    with pytest.raises(
            ValueError,
            match=r"own \(12 classes, no background"
            r"\).*data_prefix\['seg'\]"):
        _build(
            dict(
                type='BlitzNetCocoDataset',
                data_root=coco_mini,
                ann_file=ANN,
                data_prefix=dict(img='train2017/'),
                metainfo=dict(seg_classes=supercats, seg_background=False)))


def test_coco_stuff_reader_gives_the_png_values(coco_mini, coco, tmp_path):
    from mmseg.datasets import COCOStuffDataset
    names = COCOStuffDataset.METAINFO['classes']
    sky = names.index('sky-other')
    pngs = write_coco_stuff_pngs(
        osp.join(coco_mini, ANN),
        str(tmp_path / 'stuff' / 'train2017'),
        lambda c: names.index(c['name']),
        stuff_label=sky)
    ds = _build(
        dict(
            type='BlitzNetCocoStuffDataset',
            data_root=coco_mini,
            ann_file=ANN,
            data_prefix=dict(
                img='train2017/', seg=str(tmp_path / 'stuff' / 'train2017')),
            pipeline=LOAD))
    assert ds.metainfo['seg_classes'] == names and len(names) == 171
    assert ds.metainfo['seg_background'] is False
    for i in range(len(ds)):
        r = ds[i]
        png = pngs[osp.basename(r['img_path'])]
        assert png.endswith('_labelTrainIds.png')
        np.testing.assert_array_equal(r['gt_seg_map'],
                                      np.array(Image.open(png)))
        # where an instance is, its thing class (COCO-Stuff ids 0..79)
        ref = _reference_map(coco, r['img_id'],
                             lambda c: names.index(c['name']))
        things = ref != 255
        np.testing.assert_array_equal(r['gt_seg_map'][things], ref[things])
        h = ref.shape[0]
        assert (r['gt_seg_map'][h // 2:][~things[h // 2:]] == sky).all()
    # a value outside 0..170 (and not 255) is an error naming the PNG
    bad = np.array(Image.open(png))
    bad[0, 0] = 171
    Image.fromarray(bad).save(png)
    with pytest.raises(
            ValueError,
            match=osp.basename(png) + r' holds labels \[171\].*0\.\.170'):
        ds[len(ds) - 1]


def _panoptic(coco_mini, root, stuff_class='wall-other-merged'):
    from mmdet.datasets import CocoPanopticDataset
    stuff = CocoPanopticDataset.METAINFO['stuff_classes']
    pan = write_coco_panoptic(
        osp.join(coco_mini, ANN), str(root / 'panoptic.json'),
        str(root / 'png'), stuff, stuff_class)
    cfg = dict(
        type='BlitzNetCocoPanopticDataset',
        data_root=coco_mini,
        ann_file=str(root / 'panoptic.json'),
        data_prefix=dict(img='train2017/', seg=str(root / 'png')),
        pipeline=LOAD)
    return pan, cfg


def test_panoptic_loader_is_pixel_exact(coco_mini, tmp_path):
    pan, cfg = _panoptic(coco_mini, tmp_path)
    ds = _build(cfg)
    # the label sets, read here from the json: things then stuff, 133
    cats = pan['categories']
    assert ds.metainfo['seg_classes'] == tuple(c['name'] for c in cats)
    things = [c for c in cats if c['isthing']]
    assert ds.metainfo['classes'] == tuple(c['name'] for c in things)
    assert (len(things), len(cats)) == (80, 133)
    seg_label = {c['id']: i for i, c in enumerate(cats)}
    det_label = {c['id']: i for i, c in enumerate(things)}
    by_image = {a['image_id']: a for a in pan['annotations']}
    crowds, labels_seen = 0, set()
    for i in range(len(ds)):
        r = ds[i]
        ann = by_image[r['img_id']]
        bgr = cv2.imread(str(tmp_path / 'png' / ann['file_name']))
        b, g, r_ = (bgr[..., k].astype(np.int64) for k in range(3))
        ids = r_ + 256 * g + 65536 * b
        ref = np.full(ids.shape, 255, np.uint8)
        for s in ann['segments_info']:
            ref[ids == s['id']] = seg_label[s['category_id']]
        np.testing.assert_array_equal(r['gt_seg_map'], ref)
        labels_seen |= set(np.unique(ref).tolist())
        boxes = [(s['bbox'], s['iscrowd'], det_label[s['category_id']])
                 for s in ann['segments_info']
                 if s['category_id'] in det_label]
        want = np.array([[x, y, x + w, y + h] for (x, y, w, h), _, _ in boxes],
                        np.float32).reshape(-1, 4)
        np.testing.assert_allclose(r['gt_bboxes'].numpy(), want)
        np.testing.assert_array_equal(r['gt_bboxes_labels'],
                                      [lab for _, _, lab in boxes])
        np.testing.assert_array_equal(r['gt_ignore_flags'],
                                      [bool(c) for _, c, _ in boxes])
        crowds += sum(c for _, c, _ in boxes)
        assert r['seg_background'] is False
    assert crowds == 1  # the samples' one crowd annotation: an ignored box
    stuff = seg_label[next(c['id'] for c in cats
                           if c['name'] == 'wall-other-merged')]
    assert {255, stuff, 0} <= labels_seen  # void, stuff, person


def test_panoptic_errors_name_the_file(coco_mini, tmp_path):
    pan, cfg = _panoptic(coco_mini, tmp_path)
    ann = pan['annotations'][0]
    png = tmp_path / 'png' / ann['file_name']
    ok = np.array(Image.open(png))
    bad = ok.copy()
    bad[0, 0] = (7, 7, 7)  # an id no segment has
    Image.fromarray(bad).save(png)
    ds = _build(cfg)
    index = [d['img_id'] for d in ds.load_data_list()].index(ann['image_id'])
    with pytest.raises(
            ValueError,
            match=ann['file_name'] + r' holds '
            r'segment ids \[460551\]'):
        ds[index]
    Image.fromarray(ok[:-1]).save(png)
    with pytest.raises(
            ValueError, match=ann['file_name'] + r' is \d+x\d+ '
            'but its image'):
        ds[index]
    broken = dict(pan)
    broken['annotations'] = [
        dict(
            ann,
            segments_info=[dict(ann['segments_info'][0], category_id=9999)])
    ]
    with open(tmp_path / 'broken.json', 'w') as f:
        json.dump(broken, f)
    with pytest.raises(
            ValueError, match=r'broken\.json: segment .* has '
            'category 9999'):
        _build(dict(cfg, ann_file=str(tmp_path / 'broken.json')))
    with pytest.raises(
            ValueError,
            match=r'panoptic\.json: metainfo '
            r'seg_classes \(2\) differ'):
        _build(dict(cfg, metainfo=dict(seg_classes=('a', 'b'))))


def test_zoom_out_border_follows_the_set(coco_mini):
    from mmdet.registry import TRANSFORMS
    zoom = TRANSFORMS.build(
        dict(type='ZoomOut', mean=(0, 0, 0), prob=1.0, ratio_range=(2, 2)))
    seg = np.full((10, 10), 3, np.uint8)
    for background, border in ((True, 0), (False, 255)):
        out = zoom.transform(
            dict(
                img=np.zeros((10, 10, 3), np.uint8),
                gt_seg_map=seg.copy(),
                seg_background=background))['gt_seg_map']
        assert out.shape == (20, 20)
        assert set(np.unique(out).tolist()) == {3, border}
