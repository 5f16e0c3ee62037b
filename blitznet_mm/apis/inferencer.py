"""mmdet's ``DetInferencer`` for BlitzNet: predictions that carry the
semantic label map, from a checkpoint or an exported model."""
import copy
import os
import os.path as osp
from typing import Dict, Optional, Tuple

import mmcv
import mmengine
import numpy as np
import torch.nn as nn
from mmdet.apis import DetInferencer
from mmdet.structures import DetDataSample
from mmengine.config import Config

from ..deployment import is_exported_model
from ..structures.seg_labels import SegLabelSet
from .inference import init_model


class BlitzNetInferencer(DetInferencer):
    """``DetInferencer`` whose results keep BlitzNet's semantic mask.

    ``weights`` may be a checkpoint (``.pth``) or an exported model
    (``.onnx`` / ``.xml``, ``tools/deployment/export.py``). Each prediction
    dict has mmdet's ``labels``, ``scores``, ``bboxes`` and, for a model
    with a segmentation head, ``sem_seg``: the (H, W) label map of the
    original image in the labels of the model's segmentation set
    (:attr:`seg_classes` names each value: with background 0 = background
    and i + 1 = seg class i, without i = seg class i), uint8 for sets of up
    to 256 labels, else uint16; or, when ``pred_out_dir`` is given,
    ``sem_seg_path``: a PNG of those labels beside mmdet's JSON
    (``preds/<image>_sem_seg.png``). A model with extra segmentation tasks
    (``model.seg_tasks``, docs/multi_task.md) adds ``seg_tasks``: task name
    -> its (H, W) label map (a multi-label task's (C, H, W) 0/1), or with
    ``pred_out_dir`` ``seg_task_paths``: task name -> PNG
    (``preds/<image>_<name>.png``; multi-label: class i in bit i).

    Args:
        model (str | Config): the config, or the name of a model of
            blitznet_mm's own index (``model-index.yml``, e.g.
            ``'blitznet300_coco'``; ``mim search blitznet_mm`` lists them),
            whose ``Weights`` are used when ``weights`` is None.
        weights (str, optional): ``.pth``, ``.onnx`` or ``.xml``.
        device (str, optional): as ``DetInferencer``.
        precision (str): 'fp32' or 'bf16' (OpenVINO models only).
        **kwargs: ``DetInferencer``'s other arguments.
    """

    def __init__(self,
                 model=None,
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 precision: str = 'fp32',
                 **kwargs) -> None:
        self._backend_kwargs = dict(precision=precision) \
            if weights is not None and is_exported_model(weights) else {}
        super().__init__(model=model, weights=weights, device=device, **kwargs)

    def _load_model_from_metafile(self, model: str) -> Tuple[Config, str]:
        """(config, weights) of a model named in blitznet_mm's index.

        mmengine's version looks in the index of the inferencer's scope,
        mmdet (the configs' default scope), which has no BlitzNet models.

        Raises:
            ValueError: ``model`` is neither a config file nor a name (or
                alias) of the index, listing the names.
        """
        root = self._get_repo_or_mim_dir('blitznet_mm')
        names = []
        for entry in self._get_models_from_metafile(root):
            aliases = entry.get('Alias', [])
            aliases = [aliases] if isinstance(aliases, str) else aliases
            names.append(entry['Name'])
            if model.lower() in [
                    n.lower() for n in [entry['Name']] + list(aliases)
            ]:
                weights = entry.get('Weights')
                if isinstance(weights, list):
                    weights = weights[0]
                return Config.fromfile(osp.join(root, entry['Config'])), \
                    weights
        raise ValueError(f'{model!r} is no config file and no model of '
                         f'{osp.join(root, "model-index.yml")}; its models: '
                         f'{", ".join(sorted(names))}')

    def _init_model(self,
                    cfg,
                    weights: Optional[str],
                    device: str = 'cpu') -> nn.Module:
        if weights is not None and is_exported_model(weights):
            return init_model(
                cfg, weights, device=device, **self._backend_kwargs)
        return super()._init_model(cfg, weights, device)

    @property
    def seg_label_set(self) -> SegLabelSet:
        """The segmentation set of the model's ``dataset_meta``."""
        return SegLabelSet.from_metainfo(self.model.dataset_meta)

    @property
    def seg_classes(self) -> tuple:
        """Name of each value of a predicted ``sem_seg``."""
        return self.seg_label_set.names

    def _init_visualizer(self, cfg):
        # the config's LocalVisBackend wants a run directory; the inferencer
        # writes drawings itself, under out_dir
        cfg = copy.deepcopy(cfg)
        if cfg.get('visualizer'):
            cfg.visualizer.pop('vis_backends', None)
        return super()._init_visualizer(cfg)

    def pred2dict(self,
                  data_sample: DetDataSample,
                  pred_out_dir: str = '') -> Dict:
        # mmdet names the files after the image (or a running count)
        count = self.num_predicted_imgs
        result = super().pred2dict(data_sample, pred_out_dir)
        if 'pred_sem_seg' not in data_sample:
            return result
        stem = osp.splitext(osp.basename(data_sample.img_path))[0] \
            if 'img_path' in data_sample else str(count)
        self._task_maps(data_sample, result, pred_out_dir, stem)
        labels = data_sample.pred_sem_seg.sem_seg[0].cpu().numpy()
        labels = labels.astype(np.uint8 if self.seg_label_set.num_outputs <=
                               256 else np.uint16)
        if not pred_out_dir:
            result['sem_seg'] = labels
            return result
        png = osp.join(pred_out_dir, 'preds', stem + '_sem_seg.png')
        os.makedirs(osp.dirname(png), exist_ok=True)
        mmcv.imwrite(labels, png)  # lossless, the label values themselves
        result['sem_seg_path'] = png
        json_path = osp.join(pred_out_dir, 'preds', stem + '.json')
        mmengine.dump(result, json_path)
        return result

    def _task_maps(self, data_sample: DetDataSample, result: dict,
                   pred_out_dir: str, stem: str) -> None:
        """Each extra task's ``pred_<name>`` into ``result`` (see the
        class docstring)."""
        for task in getattr(self.model, 'seg_tasks', ()):
            if task.pred_key not in data_sample:
                continue
            labels = data_sample.get(task.pred_key).sem_seg.cpu().numpy()
            labels = labels.astype(np.uint8 if task.multi_label
                                   or task.num_outputs <= 256 else np.uint16)
            if not task.multi_label:
                labels = labels[0]
            if not pred_out_dir:
                result.setdefault('seg_tasks', {})[task.name] = labels
                continue
            if task.multi_label:  # the input format: class i in bit i
                labels = (labels << np.arange(
                    len(labels), dtype=np.uint8)[:, None, None]).sum(0).astype(
                        np.uint8)
            png = osp.join(pred_out_dir, 'preds', f'{stem}_{task.name}.png')
            os.makedirs(osp.dirname(png), exist_ok=True)
            mmcv.imwrite(labels, png)
            result.setdefault('seg_task_paths', {})[task.name] = png
