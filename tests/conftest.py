"""Shared fixtures: the real COCO images embedded in data/samples (or a larger
set of the same layout named by BLITZNET_COCO_MINI) and a briefly trained
BlitzNet; the helpers they use are ``blitznet_mm.testing``'s."""
import gc
import os
import os.path as osp
import shutil

import pytest
import torch

import blitznet_mm
from blitznet_mm.testing.builders import (COCO_MINI, REPO, build_model,
                                          coco_mini_dataset, config_path)
from blitznet_mm.testing.tool_runs import run_script
from blitznet_mm.testing.workers import once_per_run, xdist_worker_count

# the cores shared by the xdist workers (make test runs 2), at most 2 each;
# the tools the tests start get the same share of OpenMP's and MKL's
# threads (their torch's default is one per core, oversubscribing the
# cores the other worker uses; a fresh-clone run with this was not faster
# overall: suite times vary by +-15% between runs, docs/install.md)
THREADS = max(1, min(2, (os.cpu_count() or 1) // xdist_worker_count()))
torch.set_num_threads(THREADS)
for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, str(THREADS))
# The tools and demos import blitznet_mm as an installed package would be
# (no sys.path edits, as mmdet's); the ones these tests start import the
# copy under test, the one imported here (a checkout's, or the installed)
os.environ['PYTHONPATH'] = os.pathsep.join(
    p for p in (osp.dirname(osp.dirname(blitznet_mm.__file__)),
                os.environ.get('PYTHONPATH')) if p)


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """The folders a module- or class-scoped fixture makes with
    ``tmp_path_factory`` are removed when it is torn down: pytest keeps
    them to the end of the session, and the training fixtures' checkpoints
    would add up to several GB (``tmp_path`` folders of passed tests go at
    once, ``tmp_path_retention_policy`` in setup.cfg)."""
    if fixturedef.scope not in ('module', 'class'):
        yield
        return
    base = request.getfixturevalue('tmp_path_factory').getbasetemp()
    before = set(os.listdir(base))
    yield
    made = [base / n for n in set(os.listdir(base)) - before]
    if made:
        fixturedef.addfinalizer(
            lambda: [shutil.rmtree(p, ignore_errors=True) for p in made])


def pytest_collection_finish(session):
    """The stack's and the test modules' ~0.5 M objects, alive to the end,
    are taken out of the collector's sight: the full collections mmengine
    forces at each dataset build (``BaseDataset._serialize_data``) and
    Python's own then take milliseconds instead of ~0.3 s each."""
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(config, items):
    """A test of the trained (or exported) model is slow by definition: the
    fixture trains 24 steps (and exports) before it, out of
    ``make test-fast``."""
    for item in items:
        if {'trained', 'trained_run', 'exported'} & set(
                getattr(item, 'fixturenames', ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope='session')
def coco_mini() -> str:
    ann = osp.join(COCO_MINI, 'annotations', 'instances_train2017.json')
    if not osp.isfile(ann):
        pytest.fail(f'real test data missing: {ann} (set BLITZNET_COCO_MINI)')
    return COCO_MINI


@pytest.fixture(scope='session')
def trained_run(coco_mini, tmp_path_factory):
    """BlitzNet300 s4 (COCO head) trained for 24 Adam steps on 4 real
    images, once per run (all xdist workers share it): dict(pth=its
    checkpoint, samples=the 4 packed samples, ref=its fp32 predictions on
    them, losses=the loss terms logged at each step: images 0-1 at even
    steps, 2-3 at odd ones)."""

    def produce(folder):
        from mmengine.dataset import pseudo_collate
        from mmengine.optim import OptimWrapper
        torch.manual_seed(0)
        model = build_model('blitznet300_coco.py')
        ds = coco_mini_dataset(coco_mini)
        samples = [ds[i] for i in range(4)]
        optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
        model.train()
        losses = []  # per step: the logged loss terms
        for it in range(24):
            log = model.train_step(
                pseudo_collate(samples[it % 2 * 2:][:2]), optim)
            losses.append({k: float(v) for k, v in log.items()})
        model.eval()
        model.dataset_meta = ds.metainfo
        with torch.no_grad():
            ref = [model.test_step(pseudo_collate([s]))[0] for s in samples]
        # the weights once on disk, as a checkpoint the tools load too
        # (``exported``); the value the workers unpickle stays small
        pth = folder / 'trained.pth'
        torch.save(
            dict(
                state_dict=model.state_dict(),
                meta=dict(dataset_meta=ds.metainfo)), pth)
        return dict(pth=str(pth), samples=samples, ref=ref, losses=losses)

    return once_per_run(tmp_path_factory, 'trained', produce)


@pytest.fixture(scope='session')
def trained(trained_run):
    """The ``trained_run`` model in eval mode, with its fp32 predictions on
    the 4 images: its scores are peaked like a trained model's (a random
    model's are near uniform, so any rounding would reorder them). Returns
    (model, samples, predictions); copy the model before changing it."""
    ckpt = torch.load(
        trained_run['pth'], map_location='cpu', weights_only=True)
    model = build_model('blitznet300_coco.py')
    model.load_state_dict(ckpt['state_dict'])
    model.eval()
    model.dataset_meta = ckpt['meta']['dataset_meta']
    return model, trained_run['samples'], trained_run['ref']


@pytest.fixture(scope='session')
def exported(trained_run, tmp_path_factory):
    """The ``trained_run`` checkpoint exported by tools/deployment/export.py
    (OpenVINO, which writes the ONNX file on the way). Returns dict(pth=...,
    onnx=..., xml=..., log=...)."""

    from blitznet_mm.deployment.export import onnx_export_unavailable
    if onnx_export_unavailable():
        pytest.skip(onnx_export_unavailable())
    pth = trained_run['pth']

    def produce(out):
        res = run_script([
            osp.join(REPO, 'tools', 'deployment', 'export.py'),
            config_path('blitznet300_coco_mini.py'), pth, '--backend',
            'openvino', '--out-dir',
            str(out)
        ],
                         timeout=900)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        return dict(
            pth=pth,
            onnx=str(out / 'blitznet300_coco_mini.onnx'),
            xml=str(out / 'blitznet300_coco_mini.xml'),
            log=res.stdout + res.stderr)

    return once_per_run(tmp_path_factory, 'exported', produce)
