"""Every private upstream method blitznet_mm overrides is listed with the
parameters it mirrors, and those match the installed mmdet/mmengine; the
import-time guard names what changed."""
import ast
import inspect
import os.path as osp

import pytest

import blitznet_mm
from blitznet_mm.compat import upstream
from blitznet_mm.testing.builders import REPO

# written down from mmdet 3.3.0 / mmengine 0.10.7's sources, not read from
# the code under test
UPSTREAM = {
    'mmengine.hooks:CheckpointHook._save_checkpoint_with_step':
    ['runner', 'step', 'meta'],
    'mmdet.visualization:DetLocalVisualizer._draw_sem_seg':
    ['image', 'sem_seg', 'classes', 'palette'],
    'mmdet.datasets:XMLDataset._parse_instance_info':
    ['raw_ann_info', 'minus_one'],
    'mmdet.models.dense_heads.base_dense_head:'
    'BaseDenseHead._predict_by_feat_single': [
        'cls_score_list', 'bbox_pred_list', 'score_factor_list', 'mlvl_priors',
        'img_meta', 'cfg', 'rescale', 'with_nms'
    ],
}


@pytest.mark.parametrize('path', sorted(upstream.MIRRORED))
def test_upstream_parameters_are_the_mirrored_ones(path):
    assert upstream.parameters(upstream.resolve(path)) == \
        upstream.MIRRORED[path]


@pytest.mark.parametrize('path', sorted(UPSTREAM))
def test_the_record_is_upstreams(path):
    assert list(upstream.MIRRORED[path]) == UPSTREAM[path]


def _private_overrides():
    """(module path, class, method) of every ``def _name`` in a
    blitznet_mm class that a base class outside blitznet_mm also has."""
    found = set()
    for name, mod in list(__import__('sys').modules.items()):
        if not name.startswith('blitznet_mm') or mod is None:
            continue
        for cls in vars(mod).values():
            if not inspect.isclass(cls) or cls.__module__ != name:
                continue
            for attr, value in vars(cls).items():
                if not attr.startswith('_') or attr.startswith('__') or \
                        not inspect.isfunction(value):
                    continue
                for base in cls.__mro__[1:]:
                    if not base.__module__.startswith('blitznet_mm') and \
                            inspect.isfunction(vars(base).get(attr)):
                        found.add((base, attr))
                        break
    return found


def test_every_private_override_is_recorded():
    """A new override of an upstream private method must be added to
    ``upstream.MIRRORED`` (so the next release is checked for it too)."""
    import blitznet_mm.apis  # noqa: F401  (not imported by the package)
    recorded = {upstream.resolve(p) for p in upstream.MIRRORED}
    missing = [
        f'{b.__module__}.{b.__name__}.{a}' for b, a in _private_overrides()
        if vars(b)[a] not in recorded
    ]
    assert not missing, missing


def test_a_changed_upstream_method_stops_the_import_with_its_name(monkeypatch):
    changed = dict(upstream.MIRRORED)
    changed['mmdet.visualization:DetLocalVisualizer._draw_sem_seg'] = (
        'image', 'sem_seg')
    monkeypatch.setattr(upstream, 'MIRRORED', changed)
    with pytest.raises(
            ImportError,
            match=r'DetLocalVisualizer\._draw_sem_'
            r"seg: expected \('image', 'sem_seg'\), found"):
        upstream.check_mirrored()


def test_version_guard_names_package_and_range(monkeypatch):
    import mmdet
    monkeypatch.setattr(mmdet, '__version__', '3.4.1')
    with pytest.raises(
            ImportError, match=r'3\.3\.0 <= mmdet < 3\.4\.0, '
            'found 3.4.1'):
        upstream.check_versions()
    monkeypatch.undo()
    upstream.check_versions()


def test_the_anchor_generator_does_not_override_with_another_signature():
    """mmdet's ``gen_base_anchors(self)`` is not overridden by a method
    that takes an input size (the generator has ``base_anchors_for``)."""
    from blitznet_mm.models.heads.anchor_generator import \
        BlitzNetAnchorGenerator
    assert 'gen_base_anchors' not in vars(BlitzNetAnchorGenerator)
    src = open(
        osp.join(REPO, 'blitznet_mm', 'models', 'heads',
                 'anchor_generator.py')).read()
    calls = [
        n.func.attr for n in ast.walk(ast.parse(src))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    ]
    assert 'gen_base_anchors' not in calls
    assert blitznet_mm  # imported: the guard ran
