"""The installed stack (issue: set-up): compiled mmcv ops, registries,
configs."""
import glob
import os.path as osp

import pytest
import torch

from blitznet_mm.testing.builders import REPO, config_path


def test_mmcv_compiled_batched_nms_suppresses_overlap():
    import mmcv._ext  # noqa: F401  (the compiled ops, not a Python fallback)
    from mmcv.ops import batched_nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = batched_nms(boxes, scores, torch.zeros(3, dtype=torch.long),
                             dict(type='nms', iou_threshold=0.5))
    assert keep.tolist() == [0, 2]
    assert torch.allclose(dets[:, 4], torch.tensor([0.9, 0.7]))
    # a different class is not suppressed
    _, keep = batched_nms(boxes, scores, torch.tensor([0, 1, 0]),
                          dict(type='nms', iou_threshold=0.5))
    assert sorted(keep.tolist()) == [0, 1, 2]


@pytest.mark.parametrize('registry,name', [
    ('MODELS', 'BlitzNet'),
    ('MODELS', 'BlitzNetNeck'),
    ('MODELS', 'BlitzNetDetHead'),
    ('MODELS', 'BlitzNetSegHead'),
    ('MODELS', 'ResSkip'),
    ('MODELS', 'ResSkipNoResidual'),
    ('MODELS', 'HourglassFusion'),
    ('MODELS', 'RefineFusion'),
    ('TASK_UTILS', 'BlitzNetAnchorGenerator'),
    ('DATASETS', 'BlitzNetCocoDataset'),
    ('DATASETS', 'BlitzNetVOCDataset'),
    ('TRANSFORMS', 'LoadBlitzNetAnnotations'),
    ('TRANSFORMS', 'BlitzNetPhotoMetricDistortion'),
    ('TRANSFORMS', 'ZoomOut'),
    ('TRANSFORMS', 'CoverageRandomCrop'),
    ('DATASETS', 'SharedPipelineConcatDataset'),
    ('DATASETS', 'BlitzNetSegDataset'),
    ('HOOKS', 'ClassCountCheckHook'),
    ('HOOKS', 'TaskSettingsCheckHook'),
    ('METRICS', 'BlitzNetSegMetric'),
])
def test_import_registers_into_mmdet(registry, name):
    import mmdet.registry as reg

    import blitznet_mm  # noqa: F401
    assert getattr(reg, registry).get(name) is not None


@pytest.mark.parametrize(
    'path',
    sorted(
        p for p in glob.glob(
            osp.join(REPO, 'configs', '**', 'blitznet*.py'), recursive=True)
        if '_base_' not in p))
def test_configs_load_with_scope_and_custom_imports(path):
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet'
    assert 'blitznet_mm' in cfg.custom_imports['imports']
    assert cfg.model.type == 'BlitzNet'


def test_installed_package_ships_mim_tools_and_configs():
    """`mim train blitznet_mm CONFIG` needs tools/ and configs/ under
    blitznet_mm/.mim of the installed (non-editable) package."""
    import importlib.metadata as md
    files = [str(f) for f in md.files('blitznet_mm')]
    assert any(f.endswith('.mim/configs/blitznet300_voc.py') for f in files)
    assert any(f.endswith('.mim/tools/train.py') for f in files)
    assert osp.isfile(config_path('blitznet300_voc.py'))


def test_readme_is_short():
    """The README is the entry page (issue 22): what it is, the two
    commands, results and a map of docs/; the rest lives in docs/."""
    size = osp.getsize(osp.join(REPO, 'README.md'))
    assert size < 8 * 1024, f'README.md is {size} bytes, over 8 kB'


def _pages():
    return ['README.md'] + sorted(
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(REPO, 'docs', '*.md')))


@pytest.mark.parametrize('page', _pages())
def test_relative_links_point_to_files_of_the_repository(page):
    from blitznet_mm.testing.markdown import relative_links
    with open(osp.join(REPO, page)) as f:
        links = relative_links(f.read())
    base = osp.dirname(osp.join(REPO, page))
    broken = [(n, t) for n, t in links
              if not osp.exists(osp.normpath(osp.join(base, t)))]
    assert not broken, f'{page}: links to missing files (line, target): ' \
        f'{broken}'


def test_the_link_reader_finds_links_and_skips_urls_and_code():
    from blitznet_mm.testing.markdown import relative_links
    text = ('See [install](docs/install.md#cuda) and ![fig](a/b.png).\n'
            '[paper](https://arxiv.org/abs/1708.02813) [top](#top) '
            '`[not](code.md)`\n```\n[nor](fenced.md)\n```\n[last](../x.md)')
    assert relative_links(text) == [(1, 'docs/install.md'), (1, 'a/b.png'),
                                    (6, '../x.md')]


def test_the_readme_lists_every_doc():
    from blitznet_mm.testing.markdown import relative_links
    with open(osp.join(REPO, 'README.md')) as f:
        linked = {t for _, t in relative_links(f.read())}
    missing = [p for p in _pages()[1:] if p not in linked]
    assert not missing, f'docs not in the README map: {missing}'
