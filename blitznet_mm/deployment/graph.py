"""The part of BlitzNet that goes into an exported model (ONNX, OpenVINO):
the network, the softmax and the box decoding, for one fixed S x S input.

What stays outside - per-class NMS and the resize of the label map to the
original image - is ``detections_from_scores`` and ``label_maps``, the same
functions the PyTorch path calls (docs/deployment.md)."""
from typing import Tuple

import torch
from torch import Tensor, nn

from ..models.detectors.dense_head_adapter import head_outputs

#: output names of an exported graph, in order; a detection-only model has
#: the first two, a segmentation-only model the last; each extra
#: segmentation task adds ``seg_logits_<name>`` after them
OUTPUT_NAMES = ('scores', 'boxes', 'seg_logits')


def unexportable_head(head: nn.Module) -> str:
    """Why a detection head without ``predict_dense`` (mmdet's RetinaHead,
    FCOSHead, RTMDetHead, CornerHead, ...) is not exported."""
    name = type(head).__name__
    return (f'{name} cannot be exported: an exported BlitzNet decodes every '
            'box inside the graph (predict_dense: one score and box per '
            'anchor) and runs only the per-class NMS outside; '
            f"{name}'s post-processing (predict_by_feat) is its own "
            '(per-level top-k before decoding, its own NMS or corner '
            'pairing) and is not split that way. Export the segmentation '
            'branch alone (bbox_head=None) or the detector with mmdeploy '
            '(docs/deployment.md)')


class ExportGraph(nn.Module):
    """A trained ``BlitzNet`` as one tensor-in, tensors-out module.

    Args:
        model (BlitzNet): the detector, in eval mode (BatchNorm uses its
            running statistics).
        input_size (tuple[int, int]): (H, W) pixels of the input the graph
            is made for; the anchors for it become constants of the graph.

    Inputs: (N, 3, H, W) float32, the output of the model's data
    preprocessor (mean subtracted, in the config's channel order).

    Outputs (names in :data:`OUTPUT_NAMES`): ``scores`` (N, A, C)
    foreground probabilities; ``boxes`` (N, A, 4) decoded
    (x1, y1, x2, y2) in input pixels, clipped to the input;
    ``seg_logits`` (N, K, h, w) at the segmentation head's resolution, K
    the labels of the segmentation set (``model.num_seg_outputs``: C + 1
    for BlitzNet's default set, 171 for COCO-Stuff, 133 for COCO
    panoptic); ``seg_logits_<name>`` (N, K_t, h, w) per extra task
    (docs/multi_task.md).

    Raises:
        ValueError: if the model is in training mode.
        NotImplementedError: naming the detection head, if it has no
            ``predict_dense`` (mmdet's dense heads: :func:`unexportable_head`).
    """

    def __init__(self, model: nn.Module, input_size: Tuple[int, int]):
        super().__init__()
        if model.training:
            raise ValueError('ExportGraph: call model.eval() first (the graph '
                             'keeps BatchNorm running statistics)')
        self.model = model
        self.input_size = tuple(int(s) for s in input_size)
        self.with_det = model.with_bbox
        if self.with_det and not hasattr(model.bbox_head, 'predict_dense'):
            raise NotImplementedError(unexportable_head(model.bbox_head))
        self.with_seg = model.with_seg
        self.output_names = tuple(
            n for n in OUTPUT_NAMES if (n == 'seg_logits' and self.with_seg) or
            (n != 'seg_logits' and self.with_det)) + tuple(
                f'seg_logits_{t.name}'
                for t in getattr(model, 'seg_tasks', ()))
        if self.with_det:
            device = next(model.parameters()).device
            with torch.no_grad():
                feats = model.extract_feat(
                    torch.zeros(1, 3, *self.input_size, device=device))
            sizes = [f.shape[-2:] for f in feats]
            self.register_buffer(
                'priors',
                model.bbox_head.dense_priors(self.input_size, sizes, device),
                persistent=False)
        self.eval()  # the wrapper too, or the exporter warns

    @property
    def num_anchors(self) -> int:
        return len(self.priors) if self.with_det else 0

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        # the detector's own dispatch over heads (BlitzNet.predict's)
        heads = head_outputs(self.model, self.model.extract_feat(inputs))
        outs = ()
        if self.with_det:  # decoded in the graph; NMS is the runtime's
            cls_scores, bbox_preds = heads.pop('det')
            outs += self.model.bbox_head.predict_dense(cls_scores, bbox_preds,
                                                       self.priors,
                                                       self.input_size)
        return outs + tuple(heads.values())
