"""A batch in which only some real images carry a mask (mmdet's
DetDataPreprocessor fails on it, or leaves masks unpadded): the mask-less
images get an all-255 mask, padded like the others, and are ignored."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate

from blitznet_mm.testing.builders import coco_mini_dataset


def _preprocessor(type_):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import blitznet_mm  # noqa: F401
    register_all_modules()
    return MODELS.build(
        dict(
            type=type_,
            mean=[103.06, 115.90, 123.15],
            std=[1, 1, 1],
            pad_size_divisor=32,
            pad_seg=True,
            seg_pad_value=255))


@pytest.fixture(scope='module')
def samples(coco_mini):
    # keep_ratio: the two images differ in size, so padding matters
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadBlitzNetAnnotations'),
        dict(type='Resize', scale=(300, 300), keep_ratio=True),
        dict(type='PackDetInputs')
    ]
    ds = coco_mini_dataset(coco_mini, pipeline=pipeline)
    out = [ds[0], ds[1]]
    assert out[0]['inputs'].shape != out[1]['inputs'].shape
    return out


@pytest.mark.parametrize('missing', [0, 1])
def test_mask_less_image_gets_an_ignored_padded_mask(samples, missing):
    batch = copy.deepcopy(samples)
    del batch[missing]['data_samples'].gt_sem_seg
    data = _preprocessor('BlitzNetDataPreprocessor')(pseudo_collate(batch),
                                                     True)
    pad_h, pad_w = data['inputs'].shape[-2:]
    assert pad_h % 32 == 0 and pad_w % 32 == 0
    for i, ds in enumerate(data['data_samples']):
        mask = ds.gt_sem_seg.sem_seg
        assert mask.shape == (1, pad_h, pad_w)
        if i == missing:
            assert (mask == 255).all()
        else:
            h, w = samples[i]['inputs'].shape[-2:]
            ref = samples[i]['data_samples'].gt_sem_seg.sem_seg
            assert torch.equal(mask[:, :h, :w], ref)
            assert (mask[:, h:] == 255).all() and (mask[:, :, w:] == 255).all()


def test_mmdet_preprocessor_fails_on_the_same_batch(samples):
    """Why the subclass exists (mmdet 3.3): if this starts passing, mmdet
    has fixed it and BlitzNetDataPreprocessor can go."""
    batch = copy.deepcopy(samples)
    del batch[1]['data_samples'].gt_sem_seg
    with pytest.raises(AttributeError, match='gt_sem_seg'):
        _preprocessor('DetDataPreprocessor')(pseudo_collate(batch), True)
