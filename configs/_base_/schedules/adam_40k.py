# VOC12 train-seg-aug only (paper Sec. 4.2, Table 3): 40k iterations,
# x0.1 at 25k and 35k.
_base_ = './adam_65k.py'
max_iters = 40000
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[25000, 35000],
        gamma=0.1)
]
