"""The models compared, built randomly initialised, and their inputs."""
import os
import os.path as osp
from typing import Optional

import mmcv
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.logging import MMLogger
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope

from blitznet_mm.compat import give_ssd_head_loss_cls
from blitznet_mm.testing.builders import COCO_MINI, REPO

CFG = osp.join(REPO, 'configs')
# name -> (family, config, input size)
MODELS = {
    'BlitzNet300 s4': ('blitznet', osp.join(CFG, 'blitznet300_voc.py'), 300),
    'BlitzNet300 s8': ('blitznet', osp.join(CFG,
                                            'blitznet300_s8_voc.py'), 300),
    'BlitzNet512 s8': ('blitznet', osp.join(CFG, 'blitznet512_voc.py'), 512),
    'SSD300 (mmdet)': ('ssd', 'mmdet::ssd/ssd300_coco.py', 300),
    'SSD512 (mmdet)': ('ssd', 'mmdet::ssd/ssd512_coco.py', 512),
    'FCN R50-D8 @300 (mmseg)':
    ('fcn', 'mmseg::fcn/fcn_r50-d8_4xb4-20k_voc12aug-512x512.py', 300),
    'FCN R50-D8 @512 (mmseg)':
    ('fcn', 'mmseg::fcn/fcn_r50-d8_4xb4-20k_voc12aug-512x512.py', 512),
}
# the variants of issue 14 (docs/variants.md, "Size and cost"), 300x300,
# VOC head
VARIANTS = {
    f'BlitzNet300 {v}': ('blitznet', osp.join(CFG, f'blitznet300_{c}.py'), 300)
    for v, c in (('DetNet-59', 'detnet59_voc'), ('RFB', 'rfb_voc'),
                 ('ASPP head',
                  'aspp_voc'), ('FCN head', 'fcn_voc'), ('GN', 'gn_coco_mini'))
}
MODELS.update(VARIANTS)
# own segmentation classes (docs/custom_data.md): COCO-Stuff's 171 outputs
# at stride 4, and at stride 8 (the s8 neck and anchors); the other
# segmentation / detection heads (docs/bisenet.md, docs/iou_net.md)
SEG_VARIANTS = {
    'BlitzNet300 s4 (COCO-Stuff)':
    ('blitznet', osp.join(CFG, 'blitznet300_coco_stuff.py'), 300),
    'BlitzNet300 s8 (COCO-Stuff)':
    ('blitznet', osp.join(CFG, 'blitznet300_coco_stuff.py'), 300),
    'BlitzNet300 BiSeNet head':
    ('blitznet', osp.join(CFG, 'blitznet300_bisenet_voc.py'), 300),
    'BlitzNet300 IoU-Net head': ('blitznet',
                                 osp.join(CFG, 'blitznet300_iou_voc.py'), 300),
    # mmdet detectors with BlitzNet's segmentation branch (docs/joint.md),
    # at BlitzNet300's input padded to their stride 32 (their
    # preprocessors' pad_size_divisor), for the same footing
    'RTMDet-tiny + seg':
    ('blitznet', osp.join(CFG, 'joint', 'rtmdet_tiny_seg_coco.py'), 320),
    'RetinaNet R50-FPN + seg':
    ('blitznet', osp.join(CFG, 'joint', 'retinanet_r50_fpn_seg_coco.py'), 320),
}
MODELS.update(SEG_VARIANTS)
# models built with another config's neck and anchors (output stride 8)
STRIDE_FROM = {
    'BlitzNet300 s8 (COCO-Stuff)': osp.join(CFG, 'blitznet300_s8_voc.py')
}
BLITZNETS = [k for k, v in MODELS.items() if v[0] == 'blitznet']
# extra rows: the 80-class head, random and trained (post-processing)
COCO_BLITZNET = 'BlitzNet300 s4 (COCO head)'
TRAINED = 'BlitzNet300 s4 (COCO head, trained)'
MODELS[COCO_BLITZNET] = MODELS[TRAINED] = ('blitznet',
                                           osp.join(CFG,
                                                    'blitznet300_coco.py'),
                                           300)
# models whose detection classes are COCO's 80 things, not VOC's 20
DET_CLASSES = {
    COCO_BLITZNET: 80,
    TRAINED: 80,
    'BlitzNet300 s4 (COCO-Stuff)': 80,
    'BlitzNet300 s8 (COCO-Stuff)': 80,
    'RTMDet-tiny + seg': 80,
    'RetinaNet R50-FPN + seg': 80
}
# what `make bench` times by default (the COCO-head rows come from the
# post-processing section)
DEFAULT_MODELS = [k for k in MODELS if k not in (COCO_BLITZNET, TRAINED)]
PEERS = {
    300: ('SSD300 (mmdet)', 'FCN R50-D8 @300 (mmseg)'),
    512: ('SSD512 (mmdet)', 'FCN R50-D8 @512 (mmseg)')
}
# 'graph': an exported model's network + softmax + box decoding, timed whole
STAGES = ('backbone', 'neck', 'heads', 'graph', 'decode+nms', 'mask')


def build(name: str, num_det_classes: Optional[int] = None):
    """A randomly initialised model of ``MODELS[name]``, in eval mode;
    ``num_det_classes`` defaults to ``DET_CLASSES`` or VOC's 20."""
    family, path, size = MODELS[name]
    if num_det_classes is None:
        num_det_classes = DET_CLASSES.get(name, 20)
    cfg = get_config(path) if '::' in path else Config.fromfile(path)
    m = cfg.model
    if name in STRIDE_FROM:
        s8 = Config.fromfile(STRIDE_FROM[name]).model
        m.neck.finest_level = s8.neck.finest_level
        m.bbox_head.anchor_generator.scales = \
            s8.bbox_head.anchor_generator.scales
    if family == 'fcn':
        from mmseg.registry import MODELS as REG
        from mmseg.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        m.pretrained = None
        m.data_preprocessor.size = (size, size)
    else:
        from mmdet.registry import MODELS as REG
        from mmdet.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        m.backbone.init_cfg = None
        if family == 'blitznet':  # one count for both heads
            m.num_classes = num_det_classes
        else:
            m.bbox_head.num_classes = num_det_classes
    with DefaultScope.overwrite_default_scope('mmseg' if family ==
                                              'fcn' else 'mmdet'):
        model = REG.build(m)
    logger = MMLogger.get_current_instance()
    level, logger.level = logger.level, 40  # init_weights logs each tensor
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    model = revert_sync_batchnorm(model)  # mmseg configs use SyncBN
    if family == 'ssd':
        give_ssd_head_loss_cls(model)  # blitznet_mm/compat
    return model.eval()


def coco_images(num: int):
    root = osp.join(COCO_MINI, 'train2017')
    if not osp.isdir(root):
        raise FileNotFoundError(f'{root}: the benchmark runs on real '
                                'images; set BLITZNET_COCO_MINI')
    names = sorted(os.listdir(root))[:num]
    return [mmcv.imread(osp.join(root, n)) for n in names]


def make_batch(model, family, size, images, device):
    """Real images resized to size x size, through the model's own data
    preprocessor (outside the timed region)."""
    if family == 'fcn':
        from mmseg.structures import SegDataSample as Sample
    else:
        from mmdet.structures import DetDataSample as Sample
    inputs, samples = [], []
    for img in images:
        h, w = img.shape[:2]
        resized = mmcv.imresize(img, (size, size))
        inputs.append(torch.from_numpy(resized).permute(2, 0, 1).contiguous())
        meta = dict(
            ori_shape=(h, w),
            img_shape=(size, size),
            scale_factor=(size / w, size / h),
            pad_shape=(size, size))
        samples.append(Sample(metainfo=meta))
    model.to(device)
    data = model.data_preprocessor(
        dict(inputs=inputs, data_samples=samples), False)
    return data['inputs'], data['data_samples']
