"""mmdet's ``DetInferencer`` for BlitzNet: predictions that carry the
semantic label map, from a checkpoint or an exported model."""
import copy
import os
import os.path as osp
from typing import Dict, Optional

import mmcv
import mmengine
import numpy as np
import torch.nn as nn
from mmdet.apis import DetInferencer
from mmdet.structures import DetDataSample

from ..deployment import is_exported_model
from .inference import init_model


class BlitzNetInferencer(DetInferencer):
    """``DetInferencer`` whose results keep BlitzNet's semantic mask.

    ``weights`` may be a checkpoint (``.pth``) or an exported model
    (``.onnx`` / ``.xml``, ``tools/deployment/export.py``). Each prediction
    dict has mmdet's ``labels``, ``scores``, ``bboxes`` and, for a model
    with a segmentation head, ``sem_seg``: the (H, W) label map of the
    original image (0 = background, c + 1 = class c) as a uint8/uint16
    array, or, when ``pred_out_dir`` is given, ``sem_seg_path``: a PNG of
    those labels beside mmdet's JSON (``preds/<image>_sem_seg.png``).

    Args:
        model (str | Config): the config.
        weights (str, optional): ``.pth``, ``.onnx`` or ``.xml``.
        device (str, optional): as ``DetInferencer``.
        precision (str): 'fp32' or 'bf16' (OpenVINO models only).
        **kwargs: ``DetInferencer``'s other arguments.
    """

    def __init__(self, model=None, weights: Optional[str] = None,
                 device: Optional[str] = None, precision: str = 'fp32',
                 **kwargs) -> None:
        self._backend_kwargs = dict(precision=precision) \
            if weights is not None and is_exported_model(weights) else {}
        super().__init__(model=model, weights=weights, device=device,
                         **kwargs)

    def _init_model(self, cfg, weights: Optional[str],
                    device: str = 'cpu') -> nn.Module:
        if weights is not None and is_exported_model(weights):
            return init_model(cfg, weights, device=device,
                              **self._backend_kwargs)
        return super()._init_model(cfg, weights, device)

    def _init_visualizer(self, cfg):
        # the config's LocalVisBackend wants a run directory; the inferencer
        # writes drawings itself, under out_dir
        cfg = copy.deepcopy(cfg)
        if cfg.get('visualizer'):
            cfg.visualizer.pop('vis_backends', None)
        return super()._init_visualizer(cfg)

    def pred2dict(self, data_sample: DetDataSample,
                  pred_out_dir: str = '') -> Dict:
        # mmdet names the files after the image (or a running count)
        count = self.num_predicted_imgs
        result = super().pred2dict(data_sample, pred_out_dir)
        if 'pred_sem_seg' not in data_sample:
            return result
        labels = data_sample.pred_sem_seg.sem_seg[0].cpu().numpy()
        labels = labels.astype(np.uint8 if labels.max() < 256 else np.uint16)
        if not pred_out_dir:
            result['sem_seg'] = labels
            return result
        stem = osp.splitext(osp.basename(data_sample.img_path))[0] \
            if 'img_path' in data_sample else str(count)
        png = osp.join(pred_out_dir, 'preds', stem + '_sem_seg.png')
        os.makedirs(osp.dirname(png), exist_ok=True)
        mmcv.imwrite(labels, png)  # lossless, the label values themselves
        result['sem_seg_path'] = png
        json_path = osp.join(pred_out_dir, 'preds', stem + '.json')
        mmengine.dump(result, json_path)
        return result
