"""The model index (model-index.yml + configs/metafile.yml): mim search /
mim list on the installed package, BlitzNetInferencer by model name,
tools/model_converters/publish_model.py; and the repository's LICENSE and
CITATION.cff."""
import glob
import hashlib
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
import torch
import yaml

from blitznet_mm.testing.builders import REPO
from blitznet_mm.testing.markdown import table_rows
from blitznet_mm.testing.scripts import exit_message
from blitznet_mm.testing.tool_runs import run_script

INDEX = osp.join(REPO, 'model-index.yml')


def _models():
    from modelindex.load_model_index import load
    return {m.name: m for m in load(INDEX).models}


def _configs():
    return sorted(
        osp.relpath(p, REPO) for p in glob.glob(
            osp.join(REPO, 'configs', '**', 'blitznet*.py'), recursive=True)
        if '_base_' not in p)


def test_every_config_is_a_model_of_the_index():
    models = _models()
    indexed = sorted(m.config for m in models.values())
    missing = sorted(set(_configs()) - set(indexed))
    assert not missing, (f'configs not in configs/metafile.yml: {missing}; '
                         'run python tools/misc/make_metafile.py --only ...')
    for name, m in models.items():
        assert osp.isfile(osp.join(REPO, m.config)), m.config
        assert name == osp.splitext(osp.basename(m.config))[0]
        assert m.weights is None  # nothing trained is published yet
        assert not m.results
        assert m.in_collection == 'BlitzNet'


# docs/variants.md's table (measured with get_flops.py when it was written;
# the README repeats three rows): params (M) and GMACs, rounded to 0.1
VARIANTS_TABLE = {
    'blitznet300_voc': (59.4, 16.1),
    'blitznet300_s8_voc': (58.3, 9.8),
    'blitznet512_voc': (68.5, 27.4),
    'blitznet512_s4_voc': (69.6, 45.6),
    'blitznet300_coco': (71.2, 30.0),
    'blitznet300_detnet59_voc': (22.1, 16.8),
}


def _size_rows(page):
    """{config name: (params M, GMACs)} of the rows of `page`'s tables
    that name a config and state its params and GMACs."""
    with open(osp.join(REPO, page)) as f:
        rows = table_rows(f.read())
    sizes = {}
    for row in rows:
        m = re.fullmatch(r'`(?:\w+/)*(blitznet\w+)\.py`',
                         row.get('config', ''))
        if m and row.get('params', '').endswith(' M') and row.get('GMACs'):
            sizes[m.group(1)] = (float(row['params'][:-2]),
                                 float(row['GMACs']))
    return sizes


@pytest.mark.parametrize('name', sorted(VARIANTS_TABLE))
def test_metadata_agrees_with_the_variants_table(name):
    meta = _models()[name].metadata.data
    params, gmacs = VARIANTS_TABLE[name]
    assert meta['Parameters'] / 1e6 == pytest.approx(params, abs=0.05)
    assert meta['FLOPs'] / 1e9 == pytest.approx(gmacs, abs=0.051)
    assert meta['Input Size'] == int(name[8:11])  # blitznet300 / 512


def test_the_docs_state_the_measured_sizes():
    """docs/variants.md lists every row of VARIANTS_TABLE with its figures,
    every config row it has agrees with the index's metadata, and the
    README's rows are the same figures."""
    doc = _size_rows('docs/variants.md')
    assert {n: doc.get(n) for n in VARIANTS_TABLE} == VARIANTS_TABLE
    models = _models()
    for name, (params, gmacs) in doc.items():
        meta = models[name].metadata.data
        assert meta['Parameters'] / 1e6 == pytest.approx(params, abs=0.05), \
            name
        assert meta['FLOPs'] / 1e9 == pytest.approx(gmacs, abs=0.051), name
    readme = _size_rows('README.md')
    assert readme and all(doc[n] == v for n, v in readme.items()), readme


def test_metadata_of_the_voc_and_coco_configs():
    models = _models()
    voc, coco = (
        models[n].metadata.data
        for n in ('blitznet300_voc', 'blitznet300_coco'))
    # paper: 65k iterations of batch 32 on VOC07+12, 700k on COCO
    assert (voc['Iterations'], voc['Batch Size']) == (65000, 32)
    assert coco['Iterations'] == 700000
    assert voc['Training Data'] == 'VOC' and coco['Training Data'] == 'COCO'
    assert voc['Tasks'] == ['Object Detection', 'Semantic Segmentation']
    assert models['blitznet300_voc12_det'].metadata.data['Tasks'] == [
        'Object Detection'
    ]
    assert models['blitznet300_coco_mini'].metadata.data[
        'Training Data'] == 'COCO (data/samples)'


@pytest.mark.slow
def test_flops_and_params_are_get_flops_measurements():
    from blitznet_mm.analysis.complexity import complexity
    meta = _models()['blitznet300_s8_voc'].metadata.data
    params, flops, _ = complexity(
        osp.join(REPO, 'configs', 'blitznet300_s8_voc.py'))
    assert (meta['Parameters'], meta['FLOPs']) == (int(params), int(flops))


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """blitznet_mm built into a wheel from a copy of the working tree and
    unpacked into a folder (a non-editable install, which mim needs),
    without touching the .venv's installed copy. Returns the folder."""
    tmp = tmp_path_factory.mktemp('wheel')
    src = tmp / 'src'
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '.mim')
    for d in ('blitznet_mm', 'configs', 'tools', 'demo', 'requirements'):
        shutil.copytree(osp.join(REPO, d), src / d, ignore=ignore)
    for f in ('setup.py', 'README.md', 'model-index.yml'):
        shutil.copy(osp.join(REPO, f), src / f)
    res = subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
        '--no-build-isolation', '-w',
        str(tmp / 'dist'),
        str(src)
    ],
                         capture_output=True,
                         text=True,
                         timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    target = tmp / 'site'
    with zipfile.ZipFile(glob.glob(str(tmp / 'dist' / '*.whl'))[0]) as z:
        z.extractall(target)
    return target


def _mim(args, site):
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    env = dict(os.environ, PYTHONPATH=str(site))
    res = subprocess.run(
        [mim] + args, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout


@pytest.mark.slow
def test_the_wheel_ships_the_index_in_mim_layout(installed):
    mim = installed / 'blitznet_mm' / '.mim'
    assert (mim / 'model-index.yml').is_file()
    assert (mim / 'configs' / 'metafile.yml').is_file()
    assert (mim / 'configs' / 'blitznet300_coco.py').is_file()


@pytest.mark.slow
def test_mim_search_and_list_show_the_models(installed):
    out = _mim(['search', 'blitznet_mm'], installed)
    for name in _models():
        assert name in out, name
    out = _mim([
        'search', 'blitznet_mm', '--model', 'blitznet', '--dataset', 'voc',
        '--field', 'parameters'
    ], installed)
    assert 'blitznet300_voc' in out and 'blitznet300_coco ' not in out
    listed = _mim(['list'], installed)
    assert any(line.split()[:2] == ['blitznet-mm', '0.1.0']
               or line.split()[:2] == ['blitznet_mm', '0.1.0']
               for line in listed.splitlines()), listed


@pytest.mark.slow
def test_inferencer_takes_a_model_name_of_the_installed_index(installed):
    code = ('from blitznet_mm.apis import BlitzNetInferencer as I\n'
            'cfg, w = I.__new__(I)._load_model_from_metafile('
            '"BlitzNet300_COCO")\n'
            'print(cfg.filename, w, cfg.model.num_classes)')
    res = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         env=dict(os.environ, PYTHONPATH=str(installed)),
                         cwd=str(installed),
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    path, weights, num_classes = res.stdout.split()[-3:]
    assert path == str(installed / 'blitznet_mm' / '.mim' / 'configs' /
                       'blitznet300_coco.py')
    assert (weights, num_classes) == ('None', '80')


@pytest.mark.slow
def test_inferencer_builds_the_named_model():
    from blitznet_mm.apis import BlitzNetInferencer
    inf = BlitzNetInferencer(
        'blitznet300_coco', device='cpu', show_progress=False)
    assert inf.cfg.filename == osp.join(REPO, 'configs', 'blitznet300_coco.py')
    assert type(inf.model).__name__ == 'BlitzNet'
    assert inf.model.bbox_head.num_classes == 80


def test_an_unknown_name_lists_the_index():
    from blitznet_mm.apis import BlitzNetInferencer
    with pytest.raises(ValueError, match='blitznet300_voc') as e:
        BlitzNetInferencer.__new__(BlitzNetInferencer)\
            ._load_model_from_metafile('ssd300_coco')
    assert 'model-index.yml' in str(e.value)


def _runner_like_checkpoint(path):
    from mmengine.logging import HistoryBuffer
    w = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    loss = HistoryBuffer()  # the message hub's, as a runner pickles it
    loss.update(1.0)
    loss.update(2.0)
    ckpt = dict(
        meta=dict(iter=3, dataset_meta=dict(classes=('person', ))),
        state_dict={
            'conv.weight': w,
            'conv.bias': torch.ones(2)
        },
        optimizer=dict(
            state={0: dict(exp_avg=torch.zeros(2, 3))},
            param_groups=[dict(lr=1e-3, params=[0])]),
        message_hub=dict(log_scalars={'train/loss': loss}),
        param_schedulers=[dict(last_step=3)])
    torch.save(ckpt, path)
    return ckpt


def test_publish_model_keeps_weights_and_names_the_file_by_its_hash(tmp_path):
    ckpt = _runner_like_checkpoint(tmp_path / 'iter_3.pth')
    res = run_script([
        osp.join(REPO, 'tools', 'model_converters', 'publish_model.py'),
        str(tmp_path / 'iter_3.pth'),
        str(tmp_path / 'blitznet300_coco.pth')
    ],
                     timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    final, = glob.glob(str(tmp_path / 'blitznet300_coco-*.pth'))
    with open(final, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    assert final == str(tmp_path / f'blitznet300_coco-{sha[:8]}.pth')
    assert f'saved at {final}' in res.stdout + res.stderr
    assert not (tmp_path / 'blitznet300_coco.pth').exists()
    pub = torch.load(final, weights_only=True)  # nothing but tensors left
    assert set(pub) == {'meta', 'state_dict'}
    assert pub['meta'] == ckpt['meta']
    for k, v in ckpt['state_dict'].items():
        assert torch.equal(pub['state_dict'][k], v)


def test_publish_model_errors_name_the_file(tmp_path):
    tool = 'tools/model_converters/publish_model.py'
    stop = exit_message(tool, tmp_path / 'nope.pth', tmp_path / 'out.pth')
    assert 'nope.pth' in stop
    _runner_like_checkpoint(tmp_path / 'in.pth')
    stop = exit_message(tool, tmp_path / 'in.pth', tmp_path / 'out.pt')
    assert 'out.pt' in stop and '.pth' in stop


def test_license_and_citation():
    with open(osp.join(REPO, 'LICENSE')) as f:
        text = f.read()
    assert 'Apache License' in text and 'Version 2.0, January 2004' in text
    # the full text: the 9 sections and the appendix
    assert '9. Accepting Warranty or Additional Liability.' in text
    assert 'APPENDIX: How to apply the Apache License' in text
    with open(osp.join(REPO, 'CITATION.cff')) as f:
        cff = yaml.safe_load(f)
    paper = cff['preferred-citation']
    assert [a['family-names'] for a in paper['authors']
            ] == ['Dvornik', 'Shmelkov', 'Mairal', 'Schmid']
    assert paper['year'] == 2017 and 'ICCV' in paper['collection-title']
    assert cff['license'] == 'Apache-2.0'
