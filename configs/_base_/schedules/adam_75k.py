# BlitzNet512 on VOC07+12 (paper Sec. 4.1): batch 16, 75k iterations,
# x0.1 at 45k and 60k.
_base_ = './adam_65k.py'
max_iters = 75000
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[45000, 60000],
        gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=16)
