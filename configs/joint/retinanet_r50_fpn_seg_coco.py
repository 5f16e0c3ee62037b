# RetinaNet R50-FPN 1x (mmdet's recipe unchanged: pipeline, SGD, 12 epochs)
# + BlitzNet's segmentation branch on the 5 FPN levels, one network trained
# jointly on COCO boxes and the semantic masks of their instances.
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', './_base_/seg_branch.py'
]
model = dict(
    type='BlitzNet',
    data_preprocessor=_base_.seg_data_preprocessor,
    seg_head=dict(_base_.seg_head, in_channels=256),
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
custom_hooks = _base_.seg_hooks
# draws the label map with the dataset's classes
visualizer = dict(type='BlitzNetLocalVisualizer')
