"""The heads are dispatched in one place (issue 24, item 4):
``dense_head_adapter.head_outputs`` is what ``BlitzNet.predict`` /
``_forward``, the export graph and ``make bench`` call; no other module
calls a head's forward itself."""
import ast
import glob
import os.path as osp

import torch
from mmengine.dataset import pseudo_collate

import blitznet_mm
from blitznet_mm.deployment.graph import ExportGraph
from blitznet_mm.models.detectors.dense_head_adapter import head_outputs
from blitznet_mm.testing.builders import build_model, coco_mini_dataset

PACKAGE = osp.dirname(blitznet_mm.__file__)
HEADS = ('bbox_head', 'seg_head', 'task_heads')


def _head_calls(path: str) -> list:
    """Calls whose callee is ``<x>.bbox_head(...)``, ``<x>.seg_head(...)``,
    ``<x>.task_heads[...](...)`` or ``det_forward(...)``."""
    tree = ast.parse(open(path).read(), path)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Subscript):
            f = f.value
        if (isinstance(f, ast.Attribute)
                and f.attr in HEADS) or (isinstance(f, ast.Name)
                                         and f.id == 'det_forward'):
            found.append(f'{osp.relpath(path, PACKAGE)}:{node.lineno}')
    return found


def test_no_module_but_the_adapter_calls_a_head_forward():
    files = [
        p for p in glob.glob(osp.join(PACKAGE, '**', '*.py'), recursive=True)
        if '.mim' not in p and not p.endswith('dense_head_adapter.py')
    ]
    assert len(files) > 50
    calls = [c for p in files for c in _head_calls(p)]
    assert calls == [], calls
    # the scan sees such calls where they are: the adapter has all three
    adapter = osp.join(PACKAGE, 'models', 'detectors', 'dense_head_adapter.py')
    assert len(_head_calls(adapter)) >= 3


def test_forward_predict_and_export_graph_agree_with_head_outputs(coco_mini):
    torch.manual_seed(0)
    model = build_model('blitznet300_coco.py').eval()
    ds = coco_mini_dataset(coco_mini)
    data = model.data_preprocessor(pseudo_collate([ds[0]]), False)
    x = data['inputs']
    with torch.no_grad():
        heads = head_outputs(model, model.extract_feat(x))
        raw = model._forward(x)
        export = ExportGraph(model, x.shape[-2:])
        graph = export(x)
    assert list(heads) == ['det', 'seg']
    # _forward: the same tuple, in the dict's order
    assert len(raw) == 2
    for a, b in zip(raw[0], heads['det']):
        assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert torch.equal(raw[1], heads['seg'])
    # the export graph: decoded boxes and scores, then the same seg logits
    assert len(graph) == 3 and torch.equal(graph[-1], heads['seg'])
    n = sum(c.shape[-2] * c.shape[-1] * k
            for c, k in zip(heads['det'][0], model.bbox_head.num_base_priors))
    assert graph[0].shape[1] == n == export.num_anchors
