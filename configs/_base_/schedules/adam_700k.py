# COCO (paper Sec. 4.3): 700k iterations, x0.1 at 400k and 550k.
_base_ = './adam_65k.py'
max_iters = 700000
train_cfg = dict(max_iters=max_iters, val_interval=50000)
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[400000, 550000],
        gamma=0.1)
]
