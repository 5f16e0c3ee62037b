"""Command-line tools on real data."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from blitznet_mm.testing.builders import REPO, config_path
from blitznet_mm.testing.runs import small_config
from blitznet_mm.testing.scripts import load_script
from blitznet_mm.testing.tool_runs import run_script


def test_browse_dataset_draws_augmented_samples(tmp_path, coco_mini):
    root = osp.abspath(coco_mini) + '/'
    res = run_script([
        osp.join(REPO, 'tools', 'analysis', 'browse_dataset.py'),
        osp.join(REPO, 'configs', 'blitznet300_coco_mini.py'), '--output-dir',
        str(tmp_path / 'out'), '--num', '3', '--cfg-options',
        f'train_dataloader.dataset.data_root={root}'
    ],
                     timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    files = os.listdir(tmp_path / 'out')
    assert len(files) == 3 and all(f.endswith('.jpg') for f in files)


def test_get_flops_reports_blitznet300(tmp_path):
    res = run_script([
        osp.join(REPO, 'tools', 'analysis', 'get_flops.py'),
        osp.join(REPO, 'configs', 'blitznet300_voc.py')
    ],
                     timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    row = [r for r in res.stdout.splitlines() if 'blitznet300_voc' in r][0]
    params, gflops = (float(v) for v in row.split('|')[3:5])
    assert 55 < params < 65 and 14 < gflops < 18  # 59.4 M, 16.1 GMAC


@pytest.mark.slow
def test_learning_check_two_iterations(tmp_path, coco_mini):
    """The CI-sized version of the learning-evidence run: the JSON it
    writes holds an evaluation with finite scores, and the report and the
    figure are rebuilt from it."""
    import json
    import math
    out = tmp_path / 'report.md'
    res = run_script([
        osp.join(REPO, 'tools', 'analysis',
                 'learning_check.py'), '--name', 'ci', '--config',
        small_config(tmp_path), '--data-root', coco_mini, '--num-images', '2',
        '--iters', '2', '--eval-interval', '2', '--batch-size', '2',
        '--augment', '--seg-init', 'kaiming', '--work-dir',
        str(tmp_path / 'w'), '--run-dir',
        str(tmp_path / 'runs'), '--out',
        str(out)
    ],
                     timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    run = json.loads((tmp_path / 'runs' / 'ci.json').read_text())
    assert run['args']['augment'] and run['args']['seg_init'] == 'kaiming'
    assert [e['iter'] for e in run['evals']] == [2]
    ev = run['evals'][0]
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'sem_seg/mIoU'):
        assert math.isfinite(ev[key]) and ev[key] >= 0, key
    assert run['losses'] and run['losses'][-1]['iter'] == 2
    assert all(math.isfinite(r['loss']) for r in run['losses'])
    assert (tmp_path / 'report.png').stat().st_size > 10_000
    assert '## ci' in out.read_text()


def test_learning_check_puts_joint_configs_on_the_baseline_footing(coco_mini):
    """An mmdet recipe of configs/joint/ in the learning check: the
    baseline's resize-only pipelines at --input-size, the baseline's
    optimizer (--optim-from), no ImageNet download, no EMA copy or stage-2
    switch; without --input-size it stops and says so."""
    from types import SimpleNamespace

    from mmengine.config import Config
    lc = load_script('tools/analysis/learning_check.py')
    args = SimpleNamespace(
        config=osp.join(REPO, 'configs', 'joint', 'rtmdet_tiny_seg_coco.py'),
        data_root=coco_mini,
        input_size=320,
        augment=False,
        seg_init='kaiming',
        optim_from=lc.CONFIG,
        batch_size=4,
        iters=6,
        eval_interval=3,
        lr=1e-3,
        work_dir='w')
    cfg = lc.build_cfg(args, 'ann.json')
    recipe = Config.fromfile(args.config)
    hooks = [h['type'] for h in recipe.custom_hooks]
    assert {'EMAHook', 'PipelineSwitchHook'} <= set(hooks)
    assert [h['type'] for h in cfg.custom_hooks] == [
        h for h in hooks if h not in ('EMAHook', 'PipelineSwitchHook')
    ]
    for key in ('train_dataloader', 'test_dataloader', 'val_dataloader'):
        resize = [
            t for t in cfg[key].dataset.pipeline if t['type'] == 'Resize'
        ]
        assert [(t['scale'], t['keep_ratio'])
                for t in resize] == [((320, 320), False)], key
    opt = cfg.optim_wrapper
    assert opt.optimizer.type == 'Adam' and opt.optimizer.weight_decay == 5e-5
    assert opt.paramwise_cfg.bypass_duplicate  # RTMDet shares its convs
    assert cfg.model.backbone.init_cfg is None
    assert cfg.model.seg_head.init_cfg == lc.SEG_INITS['kaiming']
    args.input_size = None
    with pytest.raises(SystemExit, match='states no input_size'):
        lc.build_cfg(args, 'ann.json')
    # a BlitzNet config at another size is trained and scored at that size
    # (the anchors follow the resize: a 300 test resize would score a
    # 512-trained model on anchors it never saw)
    args.config, args.input_size = lc.CONFIG, 512
    cfg = lc.build_cfg(args, 'ann.json')
    for key in ('train_dataloader', 'test_dataloader', 'val_dataloader'):
        assert [
            t['scale'] for t in cfg[key].dataset.pipeline
            if t['type'] == 'Resize'
        ] == [(512, 512)], key


@pytest.mark.slow
def test_blur_check_two_iterations(tmp_path, coco_mini):
    """The blur learning check in miniature: it makes the set, trains the
    blur config 2 iterations and scores the held-out split per class."""
    import json
    import math
    res = run_script([
        osp.join(REPO, 'tools', 'analysis', 'blur_check.py'), '--config',
        small_config(
            tmp_path, base=config_path('blur/blitznet300_blur_seg.py')),
        '--data-root', coco_mini, '--iters', '2', '--eval-interval', '2',
        '--batch-size', '2', '--per-image', '1', '--work-dir',
        str(tmp_path / 'w'), '--out',
        str(tmp_path / 'bc')
    ],
                     timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    run = json.loads((tmp_path / 'bc.json').read_text())
    n = len(os.listdir(osp.join(coco_mini, 'train2017')))
    assert run['counts'] == dict(train=n - round(n / 4), val=round(n / 4))
    (ev, ) = run['evals']
    assert ev['iter'] == 2 and run['losses'][-1]['iter'] == 2
    ious = [
        ev[f'sem_seg/IoU.{c}'] for c in ('background', 'motion', 'defocus')
    ]
    finite = [v for v in ious if math.isfinite(v)]
    assert finite and all(0 <= v <= 100 for v in finite)
    assert ev['sem_seg/mIoU'] == pytest.approx(
        sum(finite) / len(finite), abs=0.02)
    md = (tmp_path / 'bc.md').read_text()
    assert '| 2 |' in md and 'IoU defocus' in md


@pytest.mark.slow
def test_benchmark_quick_run_writes_consistent_report(tmp_path, coco_mini,
                                                      exported):
    """Smoke run of tools/analysis/benchmark.py (one BlitzNet, the
    trained-score post-processing path on the suite's trained model and its
    export, and a training step of BlitzNet and a peer): the report's
    numbers hang together.
    Speed targets are judged from `make bench`, not here (machines are
    noisy)."""
    import json
    res = run_script([
        osp.join(REPO, 'tools', 'analysis', 'benchmark.py'), '--quick',
        '--models', 'BlitzNet300 s8', '--out-dir',
        str(tmp_path), '--checkpoint', exported['pth'], '--exported',
        exported['onnx']
    ],
                     timeout=900,
                     env=dict(os.environ, BLITZNET_COCO_MINI=coco_mini))
    assert res.returncode == 0, res.stderr[-3000:]
    rep = json.loads((tmp_path / 'benchmark.json').read_text())
    assert rep['peaks_gflops']['fp32'] > 0 and rep['peaks_gflops']['bf16'] > 0
    names = [r['model'] for r in rep['inference']]
    assert names == ['BlitzNet300 s8', 'BlitzNet300 s4 (COCO head, trained)']
    backends = {'fp32 onnxruntime', 'fp32 openvino', 'bf16 openvino'}
    for r in rep['inference']:
        runs_exported = backends if 'trained' in r['model'] else set()
        assert set(
            r['paths']) == {'fp32', 'fp32 fast', 'bf16 fast'} | runs_exported
        e = r['paths']['fp32']['1']
        # the stages are consecutive laps of one clock: they add up
        assert abs(sum(e['stages_s'].values()) - e['median_s']) \
            < 0.25 * e['median_s']
        assert e['floor_s'] > 0 and e['vs_floor'] == pytest.approx(
            e['median_s'] / e['floor_s'])
    s8 = rep['inference'][0]
    assert 17e9 < s8['flops'] < 22e9  # 2 x 9.8 G multiply-adds
    # measured, not derived: the process's peak memory holds at least the
    # fp32 weights, and no path runs clearly faster than its FLOP floor
    for r in rep['inference']:
        for path in r['paths'].values():
            e = path['1']
            assert e['peak_mem_mib'] * 2**20 >= 4 * r['params']
            # the floor comes from a measured matmul peak, which large
            # convolutions can beat: SSD300's VGG ran at 1.00-1.07x of it on
            # an Intel Xeon and at 0.58-0.61x (fp32 fast) on an AMD EPYC,
            # where oneDNN's 3x3 convolutions outrun the fp32 matmul; so
            # only a clearly impossible speed (a FLOP count wrong by 3x, a
            # wrong clock) fails
            assert e['vs_floor'] > 0.3, (r['model'], e)
            assert 0 < e['stages_s']['decode+nms'] < e['median_s']
    trained = rep['inference'][1]
    # the suite's export of the suite's trained weights, run as it is
    assert trained['export'] == dict(reused=exported['onnx'])
    assert rep['trained_source'] == f"checkpoint {exported['pth']}"
    for path in backends:  # the exported graph, then the shared post-proc.
        e = trained['paths'][path]['1']
        assert set(e['stages_s']) == {'graph', 'decode+nms', 'mask'}
        assert abs(sum(e['stages_s'].values()) - e['median_s']) \
            < 0.25 * e['median_s']
    rows = rep['postproc']['rows']
    assert [r['candidates'] for r in rows][-1] == 45390
    assert len(rep['training']) == 4
    (pipe, ) = rep['pipeline']['rows']  # --quick: 300 only
    assert pipe['size'] == 300 and pipe['images_per_s'] > 0
    md = (tmp_path / 'benchmark.md').read_text()
    assert '## Inference, batch 1' in md and 'SSD300' in md
    assert '| fp32 openvino |' in md and 'run as it is (--exported)' in md
    assert '## Training input pipeline, this run' in md and \
        'square products of 3k,' in md  # --quick: the largest side
    assert rep['peak_sizes'] == [3072]
    assert (tmp_path / 'benchmark.png').stat().st_size > 10_000


def test_gpu_check_nms_stand_in_keeps_what_mmcv_keeps():
    """The GPU check's mmcv._ext stand-in (torchvision's NMS there, a
    greedy torch NMS here) keeps the indices mmcv's compiled NMS keeps, in
    its order, for both box conventions."""
    import torch
    from mmcv.ops import nms as mmcv_nms
    stub = load_script('tools/analysis/gpu_check/mmcv_ext_stub.py')
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(300, 2, generator=g) * 200
    boxes = torch.cat([xy, xy + 10 + torch.rand(300, 2, generator=g) * 60], 1)
    scores = torch.rand(300, generator=g)
    for offset in (0, 1):
        _, ref = mmcv_nms(boxes, scores, 0.45, offset=offset)
        got = stub.nms(boxes, scores, 0.45, offset)
        assert got.tolist() == ref.tolist()
    assert stub.nms(boxes[:0], scores[:0], 0.5).numel() == 0
    mod = stub.make_module()
    with pytest.raises(NotImplementedError, match='roi_align_forward'):
        mod.roi_align_forward()  # any other op: present, refuses to run
    assert 'stub' in mod.get_compiling_cuda_version()


def test_gpu_check_sections_are_guarded(tmp_path):
    """A failing section and one past its hard limit are recorded (the
    latter with the rows it had finished) and the next section runs; the
    report is written after each."""
    import json
    import time
    Check = load_script('tools/analysis/gpu_check/guard.py').Check
    check = Check(str(tmp_path), lambda res: 'report', lambda msg: None)

    def fails(deadline):
        raise ValueError('boom')

    def overruns(deadline):
        deadline.partial = dict(rows=[1])
        try:
            time.sleep(5)
        except Exception:  # a row's own guard must not swallow the limit
            pass
        return dict(rows=[1, 2])

    check.run('a', 10, fails)
    check.run('b', 0.2, overruns, grace=0.3)
    check.run('c', 10, lambda deadline: dict(ok=not deadline.over()))
    sec = json.loads((tmp_path / 'report.json').read_text())['sections']
    assert sec['a']['status'] == 'failed' and 'boom' in sec['a']['error']
    assert sec['b']['status'] == 'timeout' and sec['b']['result'] == \
        dict(rows=[1]) and sec['b']['seconds'] < 3
    assert sec['c'] == dict(sec['c'], status='ok', result=dict(ok=True))
    assert (tmp_path / 'report.md').read_text() == 'report'


@pytest.mark.slow
def test_gpu_check_dry_run_with_the_mmcv_stand_in(tmp_path, coco_mini):
    """tools/analysis/gpu_check.py --device cpu --dry-run, as on the GPU
    machine without mmcv's compiled ops (--mmcv-ext stub), one section: the
    set-up, the stand-in, the guard and both report files work together
    (the whole dry run is in docs/benchmark.md, "GPU")."""
    import json
    out = tmp_path / 'gc'
    # a new interpreter: its stub of mmcv's ops goes in before any import
    # of mmcv.ops, which the fork server has done
    res = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'analysis',
                 'gpu_check.py'), '--device', 'cpu', '--dry-run', '--mmcv-ext',
        'stub', '--sections', 'unit.mixed_batch', '--out',
        str(out)
    ],
                         capture_output=True,
                         text=True,
                         timeout=600,
                         env=dict(os.environ, BLITZNET_COCO_MINI=coco_mini))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    rep = json.loads((out / 'report.json').read_text())
    assert rep['dry_run'] and rep['env']['mmcv_ext'].startswith('stub')
    assert rep['env']['mmcv_nms'].startswith('mmcv.ops.nms ok on cpu')
    (name, sec), = rep['sections'].items()
    assert name == 'unit.mixed_batch' and sec['status'] == 'ok', sec
    r = sec['result']
    assert r['ok'] and r['losses_finite'] and r['grads_finite']
    assert len(r['predict']) == 3  # one label map per image, any size
    assert all(len(p['sem_seg']) == 3 for p in r['predict'])
    md = (out / 'report.md').read_text()
    assert '**Dry run**' in md and 'stand-in' in md


def test_benchmark_keeps_the_hand_written_sections(tmp_path):
    """`make bench` rewrites docs/benchmark.md; the hand-written pipeline
    and GPU sections of the old file come back (each up to the next
    '## ' heading), nothing else."""
    from blitznet_mm.analysis.bench.report import kept_sections
    old = tmp_path / 'benchmark.md'
    old.write_text('# B\n\n## Inference\nrows\n\n## Training input pipeline\n'
                   'before/after\n\n## Targets\nt\n\n## GPU\nhow to run\n')
    assert kept_sections(str(old)) == ('## Training input pipeline\n'
                                       'before/after\n\n## GPU\nhow to '
                                       'run\n')
    assert kept_sections(str(tmp_path / 'missing.md')) == ''


@pytest.mark.parametrize('argv,fast', [([], None), (['--fast'], 'auto'),
                                       (['--fast', 'bf16'], 'bf16'),
                                       (['--fast', 'fp32'], 'fp32')])
def test_test_py_fast_flag_parses(monkeypatch, argv, fast):
    """Plain ``--fast`` is a valid choice of its own (argparse checks the
    ``const`` against ``choices`` on Python >= 3.11)."""
    cli = load_script('tools/test.py')
    monkeypatch.setattr(sys, 'argv', ['test.py', 'c.py', 'k.pth'] + argv)
    assert cli.parse_args().fast == fast
