"""torch.onnx exports a BlitzNet graph at its first capture: ``torch.export``
non-strict with a dynamic batch. A failed first capture is not an error (the
exporter falls back to a strict capture) but costs ~12 s per export
(``decode_boxes`` in blitznet_mm/models/heads/postprocess.py)."""
import pytest
import torch

from blitznet_mm.deployment import ExportGraph
from blitznet_mm.deployment.export import onnx_export_unavailable
from blitznet_mm.testing.builders import build_model

NO_EXPORT = onnx_export_unavailable()


@pytest.mark.skipif(bool(NO_EXPORT), reason=str(NO_EXPORT))
def test_non_strict_capture_with_a_dynamic_batch(monkeypatch):
    torch.manual_seed(0)
    model = build_model('blitznet300_coco.py', small=True).eval()
    graph = ExportGraph(model, (160, 160))
    x = torch.rand(2, 3, 160, 160) * 255
    with torch.no_grad():
        expected = graph(x)
    # what mmdet's box coder sees while torch.onnx exports
    monkeypatch.setattr(torch.onnx, 'is_in_onnx_export', lambda: True)
    with torch.no_grad():
        program = torch.export.export(
            graph, (x, ),
            dynamic_shapes=({
                0: torch.export.Dim('batch', min=1, max=1024)
            }, ),
            strict=False)
        for n in (1, 3):  # batch sizes other than the traced one
            outs = program.module()(x[:1].repeat(n, 1, 1, 1))
            assert all(o.shape[0] == n for o in outs)
        outs = program.module()(x)
    for o, e in zip(outs, expected):
        torch.testing.assert_close(o, e)
