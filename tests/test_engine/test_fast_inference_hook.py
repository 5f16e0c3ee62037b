"""``tools/test.py --fast`` really runs reduced precision inside mmengine's
test loop (whose ``autocast(enabled=fp16)`` around ``test_step`` used to
switch the hook's autocast off): the neck's activations are observed during
``runner.test()`` on a real image."""
import os.path as osp

import pytest
import torch

from blitznet_mm.testing.builders import load_cfg
from blitznet_mm.utils import default_dtype


def _runner(coco_mini, work_dir, hook):
    from mmengine.runner import Runner
    cfg = load_cfg('blitznet300_coco_mini.py')
    root = osp.abspath(coco_mini) + '/'
    cfg.test_dataloader.dataset.update(data_root=root, indices=1)
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_evaluator[0].ann_file = \
        root + 'annotations/instances_train2017.json'
    cfg.work_dir = str(work_dir)
    # mmengine keeps one visualizer per name, with its first save_dir
    cfg.visualizer.name = f'visualizer_{work_dir.name}'
    cfg.load_from = None
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [hook]
    return Runner.from_cfg(cfg)


@pytest.mark.slow
@pytest.mark.parametrize('hook_cfg,expected', [
    (dict(), default_dtype('cpu')),
    (dict(autocast=False), torch.float32),
])
def test_neck_runs_in_the_requested_dtype_inside_runner_test(
        hook_cfg, expected, coco_mini, tmp_path):
    runner = _runner(coco_mini, tmp_path,
                     dict(type='FastInferenceHook', **hook_cfg))
    seen = []
    runner.model.neck.register_forward_hook(
        lambda m, i, out: seen.append({t.dtype
                                       for t in out}))
    metrics = runner.test()
    assert seen == [{expected}]
    assert 'coco/bbox_mAP' in metrics and 'sem_seg/mIoU' in metrics


def test_rejects_unknown_dtype():
    from blitznet_mm.engine.hooks import FastInferenceHook
    with pytest.raises(ValueError, match="'bf16' or 'fp16'"):
        FastInferenceHook(dtype='int8')
