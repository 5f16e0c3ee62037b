# RTMDet-tiny (mmdet's recipe unchanged: CachedMosaic, RandomResize,
# RandomCrop, YOLOXHSVRandomAug, flip, Pad, CachedMixUp, stage-2 switch at
# epoch 280, AdamW, EMA, 300 epochs) + BlitzNet's segmentation branch on
# the 3 CSPNeXtPAFPN levels. The masks follow every transform: mmdet's
# mixes and crop are swapped for their mask-carrying versions
# (blitznet_mm/datasets/transforms/{mix,crop}_with_masks.py).
_base_ = [
    'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py', './_base_/seg_branch.py'
]
model = dict(
    type='BlitzNet',
    data_preprocessor=_base_.seg_data_preprocessor,
    seg_head=dict(_base_.seg_head, in_channels=96),
    # mmdet's recipe less train_cfg.debug, which no mmdet 3.x head reads
    train_cfg=dict(
        _delete_=True,
        **{
            k: v
            for k, v in _base_.model.train_cfg.items() if k != 'debug'
        }))
train_pipeline = [
    dict(t, type=_base_.with_masks.get(t['type'], t['type']))
    for t in _base_.train_pipeline
]
train_pipeline_stage2 = [
    dict(t, type=_base_.with_masks.get(t['type'], t['type']))
    for t in _base_.train_pipeline_stage2
]
test_pipeline = [
    dict(t, type=_base_.with_masks.get(t['type'], t['type']))
    for t in _base_.test_pipeline
]
train_dataloader = dict(
    dataset=dict(type=_base_.seg_dataset_type, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type=_base_.seg_dataset_type, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [_base_.val_evaluator, _base_.seg_metric]
test_evaluator = val_evaluator
custom_hooks = [
    dict(h, switch_pipeline=train_pipeline_stage2)
    if h['type'] == 'PipelineSwitchHook' else h for h in _base_.custom_hooks
] + _base_.seg_hooks
visualizer = dict(type='BlitzNetLocalVisualizer')
