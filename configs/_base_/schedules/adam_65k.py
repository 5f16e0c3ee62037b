# VOC07+12 schedule of BlitzNet300 (BLITZNET_SPEC.md Sec. 7): Adam 1e-4,
# x0.1 at 35k and 50k (paper; the code README says 40k/50k), 65k iterations.
max_iters = 65000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    # weight decay 5e-4 in the paper, 5e-5 in the authors' code; paper kept
    optimizer=dict(type='Adam', lr=1e-4, weight_decay=5e-4))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[35000, 50000], gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=32)
