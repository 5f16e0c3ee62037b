"""mmdet's dense heads in ``BlitzNet`` (issue 21): RetinaNet, FCOS, ATSS,
RTMDet and CornerNet heads over FPN, CSPNeXtPAFPN and BlitzNetNeck, with
BlitzNet's or an mmseg segmentation branch and mixed annotations, on real
images of data/samples. Heads and their train/test settings are mmdet's
own configs; the trunks are shrunk (ResNet-18, inputs of 256) for speed."""
import copy

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.hub import get_config

from blitznet_mm.testing.builders import coco_mini_dataset

R18 = dict(
    type='ResNet',
    depth=18,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    norm_cfg=dict(type='BN'),
    style='pytorch',
    init_cfg=None)
FPN = dict(
    type='FPN',
    in_channels=[64, 128, 256, 512],
    out_channels=64,
    start_level=1,
    add_extra_convs='on_input',
    num_outs=5)
BLITZ_NECK = dict(
    type='BlitzNetNeck',
    in_channels=(64, 128, 256, 512),
    out_channels=64,
    extra_mid_channels=128,
    fusion_block=dict(type='ResSkip', mid_channels=32),
    style='pytorch')
PRE = dict(
    type='DetDataPreprocessor',
    mean=[103.5, 116.3, 123.7],
    std=[57.4, 57.1, 58.4],
    pad_size_divisor=32,
    pad_seg=True,
    seg_pad_value=255)


def mmdet_model(name: str) -> dict:
    """The ``model`` of one of mmdet's own configs (its pip package's)."""
    return get_config('mmdet::' + name).model.to_dict()


def joint(det: str, neck=None, backbone=None, head=None, seg=None):
    """BlitzNet around mmdet config ``det``'s head and train/test settings,
    on a small trunk; BlitzNet's segmentation branch on every level."""
    m = mmdet_model(det)
    channels = (neck or FPN)['out_channels']
    bbox_head = dict(
        m['bbox_head'], in_channels=channels, feat_channels=64, **(head or {}))
    if 'stacked_convs' in bbox_head:
        bbox_head['stacked_convs'] = 1
    return dict(
        type='BlitzNet',
        data_preprocessor=PRE,
        backbone=backbone or R18,
        neck=neck or FPN,
        bbox_head=bbox_head,
        seg_head=seg
        or dict(type='BlitzNetSegHead', in_channels=channels, channels=16),
        train_cfg=m.get('train_cfg'),
        test_cfg=m.get('test_cfg'))


RTM = mmdet_model('rtmdet/rtmdet_tiny_8xb32-300e_coco.py')
CASES = {
    'retina-fpn':
    joint('retinanet/retinanet_r50_fpn_1x_coco.py'),
    'fcos-fpn':
    joint('fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'),
    'atss-fpn':
    joint('atss/atss_r50_fpn_1x_coco.py'),
    'rtmdet-cspnext':
    joint(
        'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
        neck=RTM['neck'],
        backbone=dict(RTM['backbone'], init_cfg=None),
        head=dict(norm_cfg=dict(type='BN'))),
    'retina-blitzneck':
    joint(
        'retinanet/retinanet_r50_fpn_1x_coco.py',
        neck=BLITZ_NECK,
        head=dict(
            anchor_generator=dict(
                type='AnchorGenerator',
                octave_base_scale=4,
                scales_per_octave=3,
                ratios=[0.5, 1.0, 2.0],
                strides=[4, 8, 16, 32, 64, 128, 256]))),
    'corner-blitzneck':
    joint(
        'cornernet/cornernet_hourglass104_8xb6-210e-mstest_coco.py',
        neck=BLITZ_NECK,
        head=dict(num_feat_levels=1)),
    'atss-fpn-mmseg':
    joint(
        'atss/atss_r50_fpn_1x_coco.py',
        seg=dict(
            type='mmseg.FCNHead',
            in_channels=64,
            in_index=0,
            channels=16,
            num_convs=1,
            concat_input=False)),
}
for case in CASES.values():  # CSPNeXt uses SyncBN: plain BN on CPU
    for part in ('backbone', 'neck'):
        if case[part].get('norm_cfg', {}).get('type') == 'SyncBN':
            case[part]['norm_cfg'] = dict(type='BN')
    case['bbox_head'].pop('feat_channels') if 'Corner' in \
        case['bbox_head']['type'] else None


def build(cfg):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import blitznet_mm  # noqa: F401
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(ConfigDict(copy.deepcopy(cfg)))  # as a runner
    model.init_weights()
    return model


@pytest.fixture(scope='module')
def samples(coco_mini):
    """Two real images with boxes and masks, at 256 x 256."""
    ds = coco_mini_dataset(coco_mini, size=256)
    return [ds[0], ds[1]]


def without_boxes(s):
    s = copy.deepcopy(s)
    s['data_samples'].gt_instances = s['data_samples'].gt_instances[:0]
    return s


def without_mask(s):
    s = copy.deepcopy(s)
    s['data_samples'].gt_sem_seg.sem_seg[:] = 255
    return s


def losses_of(model, batch):
    data = model.data_preprocessor(pseudo_collate(batch), True)
    out = model.loss(data['inputs'], data['data_samples'])
    return {
        k: sum(v) if isinstance(v, (list, tuple)) else v
        for k, v in out.items()
    }


@pytest.mark.slow
@pytest.mark.parametrize('case', list(CASES))
def test_head_trains_and_predicts_boxes_and_label_maps(case, samples):
    model = build(CASES[case])
    model.train()
    losses = losses_of(model, samples)
    det = [k for k in losses if k != 'loss_seg']
    assert 'loss_seg' in losses and det
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert model.bbox_head.training and any(
        p.grad is not None and p.grad.abs().sum() > 0
        for p in model.bbox_head.parameters())
    model.eval()
    with torch.no_grad():
        out = model.test_step(pseudo_collate(copy.deepcopy(samples)))
    for o in out:
        assert o.pred_instances.bboxes.shape[1:] == (4, )
        assert tuple(o.pred_sem_seg.sem_seg.shape) == (1, ) + o.ori_shape


@pytest.mark.slow
@pytest.mark.parametrize(
    'case', ['retina-fpn', 'fcos-fpn', 'rtmdet-cspnext', 'corner-blitzneck'])
def test_image_without_boxes_gives_no_detection_loss(case, samples):
    """Mixed annotations: adding a masks-only image leaves the detection
    loss of the boxed image as it is (BatchNorm in eval mode, so the
    boxed image's features do not depend on the batch), and adding a
    boxes-only image (all-255 mask) leaves the segmentation loss."""
    model = build(CASES[case])
    model.eval()
    with torch.no_grad():
        alone = losses_of(model, samples[:1])
        mixed = losses_of(model, [samples[0], without_boxes(samples[1])])
        no_mask = losses_of(model, [samples[0], without_mask(samples[1])])
    for k in alone:
        if k != 'loss_seg':
            torch.testing.assert_close(
                mixed[k], alone[k], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(
        no_mask['loss_seg'], alone['loss_seg'], rtol=1e-4, atol=1e-5)
    assert mixed['loss_seg'] != alone['loss_seg']  # its mask does train


def test_batch_without_boxes_trains_segmentation_only(samples):
    model = build(CASES['retina-fpn'])
    model.train()
    losses = losses_of(model, [without_boxes(s) for s in samples])
    assert all(v == 0 for k, v in losses.items() if k != 'loss_seg')
    sum(losses.values()).backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0
               for p in model.bbox_head.parameters())
    assert model.seg_head.cls_seg.weight.grad.abs().sum() > 0


def test_label_map_of_a_padded_or_centred_image_is_the_unpadded_ones():
    """RTMDet's test pipeline pads to 640 (``img_shape`` is then the padded
    size), CornerNet's centres the image (``border``): the label map must
    be the one of the image's own logits."""
    from blitznet_mm.models.detectors.dense_head_adapter import seg_label_maps
    from blitznet_mm.models.heads import BlitzNetSegHead
    from blitznet_mm.models.heads.seg_head import label_maps
    head = BlitzNetSegHead(num_classes=4, in_channels=(8, ))
    torch.manual_seed(0)
    logits = torch.randn(1, 5, 40, 60)  # 160 x 240 input px, stride 4
    meta = dict(
        batch_input_shape=(160, 240),
        img_shape=(160, 240),
        ori_shape=(480, 720),
        scale_factor=(1 / 3, 1 / 3))
    ref = label_maps(logits, [meta])[0]
    assert ref.shape == (480, 720) and len(ref.unique()) == 5
    padded = torch.zeros(1, 5, 64, 64)
    padded[:, 0] = 100.  # the padding: class 0 everywhere, if it leaked
    padded[..., :40, :60] = logits
    got = seg_label_maps(
        head, padded,
        [dict(meta, batch_input_shape=(256, 256), img_shape=(256, 256))])[0]
    assert torch.equal(got, ref)
    centred = torch.zeros(1, 5, 64, 64)
    centred[:, 0] = 100.
    centred[..., 8:48, 2:62] = logits
    meta = dict(
        batch_input_shape=(160, 240),
        img_shape=(160, 240),
        ori_shape=(160, 240))
    got = seg_label_maps(head, centred, [
        dict(
            meta,
            batch_input_shape=(256, 256),
            img_shape=(256, 256),
            border=[32., 192., 8., 248.])
    ])[0]
    assert torch.equal(got, label_maps(logits, [meta])[0])


def test_rules_channels_and_levels():
    from mmdet.models.necks import CSPNeXtPAFPN

    from blitznet_mm.models.detectors.blitznet import levels_from_neck
    from blitznet_mm.models.detectors.dense_head_adapter import (
        head_rule, neck_num_levels)
    build(dict(CASES['retina-fpn']))  # registers mmdet's modules
    neck = CSPNeXtPAFPN(
        in_channels=[32, 64, 128], out_channels=32, num_csp_blocks=1)
    assert neck_num_levels(neck) == 3
    # mmdet's heads share one tower: their in_channels stays one int
    retina = levels_from_neck(dict(type='RetinaHead', in_channels=32), neck)
    assert retina['in_channels'] == 32
    assert head_rule(retina).levels_attr is None
    seg = levels_from_neck(dict(type='BlitzNetSegHead', in_channels=32), neck)
    assert seg['in_channels'] == (32, 32, 32)
    assert head_rule(dict(type='IoUNetDetHead')).handles_boxless
    assert head_rule(dict(type='CornerHead')).levels_attr == 'num_feat_levels'
