"""Export of the joint configs (configs/joint/: mmdet's heads with
BlitzNet's segmentation branch): the detection heads are refused with an
error naming the head (docs/deployment.md, "Joint configs"); the
segmentation branch of such a model exports and ONNX Runtime gives its
logits and label maps on a real image."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate

from blitznet_mm.deployment import BackendSession, ExportGraph, export_onnx
from blitznet_mm.deployment.export import onnx_export_unavailable
from blitznet_mm.testing.builders import coco_mini_dataset, load_cfg

NO_EXPORT = onnx_export_unavailable()


def joint_model(name: str, **updates):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.model import revert_sync_batchnorm
    register_all_modules()
    cfg = load_cfg('joint/' + name)
    cfg.model.update(updates)
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))  # as on 1 CPU
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('name,head',
                         [('retinanet_r50_fpn_seg_coco.py', 'RetinaHead'),
                          ('fcos_r50_fpn_seg_coco.py', 'FCOSHead'),
                          ('rtmdet_tiny_seg_coco.py', 'RTMDetSepBNHead'),
                          ('cornernet_blitznet300_coco.py', 'CornerHead')])
def test_joint_detection_heads_are_refused_by_name(name, head):
    model = joint_model(name)
    with pytest.raises(
            NotImplementedError,
            match=rf'^{head} cannot be exported: .*predict_dense'):
        ExportGraph(model, (320, 320))


@pytest.mark.slow
@pytest.mark.skipif(bool(NO_EXPORT), reason=str(NO_EXPORT))
def test_segmentation_branch_of_a_joint_model_exports(coco_mini, tmp_path):
    """RTMDet-tiny's trunk and neck with BlitzNet's branch, the detection
    head left out: ONNX Runtime's logits equal PyTorch's and the label
    maps of a real image agree."""
    from blitznet_mm.models.detectors.dense_head_adapter import seg_label_maps
    model = joint_model(
        'rtmdet_tiny_seg_coco.py', bbox_head=None, num_classes=80)
    graph = ExportGraph(model, (320, 320))
    assert graph.output_names == ('seg_logits', )
    path = export_onnx(
        graph,
        str(tmp_path / 'seg.onnx'),
        dict(classes=tuple(f'c{i}' for i in range(80))),
        batch=1)
    ds = coco_mini_dataset(coco_mini, size=320)
    data = model.data_preprocessor(pseudo_collate([ds[0]]), False)
    x = data['inputs']
    with torch.no_grad():
        ref = graph(x)[0]
    got = torch.from_numpy(BackendSession(path)(x.numpy())[0])
    assert got.shape == ref.shape == (1, 81, 40, 40)  # stride 8 of 320
    assert (got - ref).abs().max() <= 1e-3
    metas = [ds_.metainfo for ds_ in data['data_samples']]
    a = seg_label_maps(model.seg_head, ref, copy.deepcopy(metas))[0]
    b = seg_label_maps(model.seg_head, got, copy.deepcopy(metas))[0]
    assert a.shape == tuple(metas[0]['ori_shape'])
    assert (a == b).float().mean() >= 0.999
