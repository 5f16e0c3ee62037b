# VOC07+12 schedule of BlitzNet300 (paper Sec. 4.1; docs/training_recipe.md):
# Adam 1e-4, x0.1 at 35k and 50k (the authors' README says 40k/50k), 65k
# iterations. L2 5e-5 on convolution weights only (authors' code; the paper
# says 5e-4): no decay on norm layers and biases.
max_iters = 65000
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, weight_decay=5e-5),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[35000, 50000],
        gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=32)
