default_scope = 'mmdet'
custom_imports = dict(imports=['blitznet_mm'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # atomic writes; never saves NaN weights (blitznet_mm/engine/hooks)
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=5000,
        by_epoch=False,
        max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))

# data-parallel runs: BatchNorm statistics averaged over the replicas at the
# end of training / before validation (mmengine), then a check that all
# replicas hold the same weights
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='ReplicaConsistencyHook'),
    # the model's task settings (classes, ignored label, pixel mean, input
    # size) must match the dataset, pipeline and metric
    dict(type='TaskSettingsCheckHook')
]

env_cfg = dict(
    # every input is resized to a fixed size: cuDNN's autotuning pays once
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='BlitzNetLocalVisualizer',
    vis_backends=vis_backends,
    name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
