"""Semantic masks for mixed annotations, on the real images of data/samples."""
import numpy as np
import pytest

from blitznet_mm.testing.builders import coco_mini_dataset

AUG_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadBlitzNetAnnotations'),
    dict(type='BlitzNetPhotoMetricDistortion'),
    dict(type='ZoomOut', mean=[103.06, 115.90, 123.15], prob=1.0),
    dict(type='CoverageRandomCrop'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=(300, 300), keep_ratio=False),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(2, 2), keep_empty=False),
]


def _inside_boxes(seg, boxes, labels, cls, slack=2):
    """Fraction of pixels of segmentation class cls+1 inside a box of
    detection class cls."""
    ys, xs = np.nonzero(seg == cls + 1)
    if len(xs) == 0:
        return 1.0
    inside = np.zeros(len(xs), bool)
    for (x1, y1, x2, y2), lab in zip(boxes, labels):
        if lab == cls:
            inside |= ((xs >= x1 - slack) & (xs <= x2 + slack) &
                       (ys >= y1 - slack) & (ys <= y2 + slack))
    return inside.mean()


def test_semantic_mask_from_instances_matches_boxes(coco_mini):
    ds = coco_mini_dataset(
        coco_mini,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadBlitzNetAnnotations')
        ])
    for i in range(0, len(ds), 8):
        r = ds[i]
        seg, img = r['gt_seg_map'], r['img']
        assert seg.shape == img.shape[:2] and seg.dtype == np.uint8
        labels = r['gt_bboxes_labels']
        assert set(np.unique(seg)) <= {0} | set((labels + 1).tolist())
        assert (seg > 0).any() and (seg == 0).any()
        for c in np.unique(labels):
            assert _inside_boxes(seg, r['gt_bboxes'].numpy(), labels, c) > .99


def test_augmentation_keeps_masks_and_boxes_aligned(coco_mini):
    """Without the crop every mask pixel of class c lies in a box of class c;
    with it (the crop drops boxes whose centre leaves the crop while their
    visible pixels keep their true class) every kept box still covers
    pixels of its class; no box is under 2 pixels after the resize."""
    # without the crop and the tiny-box filter (which drops boxes but keeps
    # their mask pixels, as the authors' code) every mask pixel is boxed
    no_crop = [
        t for t in AUG_PIPELINE
        if t['type'] not in ('CoverageRandomCrop', 'FilterAnnotations')
    ]
    np.random.seed(0)
    for pipeline, check_mask_in_boxes in ((no_crop, True), (AUG_PIPELINE,
                                                            False)):
        ds = coco_mini_dataset(coco_mini, pipeline=pipeline)
        covered, boxes_seen = 0, 0
        for i in range(len(ds)):
            r = ds[i]
            seg = r['gt_seg_map']
            assert seg.shape == (300, 300) == r['img'].shape[:2]
            boxes, labels = r['gt_bboxes'].numpy(), r['gt_bboxes_labels']
            if check_mask_in_boxes:
                for c in np.unique(labels):  # slack: nearest resize
                    assert _inside_boxes(seg, boxes, labels, c, slack=3) > .99
            else:
                assert (boxes[:, 2:] - boxes[:, :2] >= 2).all()
            for (x1, y1, x2, y2), c in zip(boxes.round().astype(int), labels):
                boxes_seen += 1
                covered += (seg[y1:y2 + 1, x1:x2 + 1] == c + 1).any()
        assert boxes_seen > 20 and covered / boxes_seen > .97


def test_boxes_only_image_gets_all_ignore_mask(coco_mini):
    ds = coco_mini_dataset(
        coco_mini,
        with_sem_seg=False,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadBlitzNetAnnotations')
        ])
    r = ds[0]
    assert (r['gt_seg_map'] == 255).all()  # never 0 (issue #31)
    assert len(r['gt_bboxes']) > 0


def test_missing_or_wrong_size_mask_file_is_a_clear_error(tmp_path, coco_mini):
    import mmcv

    from blitznet_mm.datasets import LoadBlitzNetAnnotations
    img_path = f'{coco_mini}/train2017/000000000790.jpg'
    img = mmcv.imread(img_path)
    t = LoadBlitzNetAnnotations(with_bbox=False, with_label=False)
    missing = str(tmp_path / 'nope.png')
    with pytest.raises(FileNotFoundError, match='nope.png'):
        t(
            dict(
                img=img,
                img_path=img_path,
                ori_shape=img.shape[:2],
                seg_map_path=missing))
    small = tmp_path / 'small.png'
    mmcv.imwrite(np.zeros((10, 12), np.uint8), str(small))
    with pytest.raises(ValueError, match='small.png is 12x10'):
        t(
            dict(
                img=img,
                img_path=img_path,
                ori_shape=img.shape[:2],
                seg_map_path=str(small)))


def test_test_pipeline_keeps_mask_at_original_size(coco_mini):
    """Loaded after Resize, the ground truth stays at the original size so
    that mIoU is scored at the original resolution (paper Sec. 4.2)."""
    ds = coco_mini_dataset(
        coco_mini,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(300, 300), keep_ratio=False),
            dict(type='LoadBlitzNetAnnotations')
        ])
    r = ds[0]
    assert r['img'].shape[:2] == (300, 300)
    assert r['gt_seg_map'].shape == tuple(r['ori_shape'])
