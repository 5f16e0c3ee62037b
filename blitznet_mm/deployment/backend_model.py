"""An exported BlitzNet behind mmdet's detector interface, so that
tools/test.py, the demos and the inferencer take a ``.onnx`` / ``.xml``
file wherever they take a checkpoint."""
import copy
from typing import Optional

import torch
from mmdet.models.detectors.base import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmengine.structures import PixelData

from ..models.detectors.seg_tasks import SegTask, task_predictions
from ..models.heads.multi_label_seg_head import multi_label_maps
from ..models.heads.postprocess import detections_from_scores
from ..models.heads.seg_head import label_maps
from .export import is_exported_model, read_metadata
from .runtime import BackendSession


@MODELS.register_module()
class BlitzNetBackendModel(BaseDetector):
    """Inference with an exported BlitzNet (``tools/deployment/export.py``).

    The config's data preprocessor prepares the batch as for the PyTorch
    model; the runtime runs the graph (network, softmax, box decoding); the
    post-processing is the PyTorch path's own functions
    (``detections_from_scores``, ``label_maps``), so ``predict`` fills the
    same ``pred_instances`` (``bboxes`` (K, 4) in original image pixels,
    ``scores``, ``labels``) and ``pred_sem_seg`` (``sem_seg``
    (1, H_ori, W_ori), 0 = background, c + 1 = class c).

    Args:
        model_file (str): ``.onnx`` (ONNX Runtime) or ``.xml`` (OpenVINO).
        data_preprocessor (dict): the config's ``DetDataPreprocessor``.
        test_cfg (dict, optional): detection post-processing settings
            (``nms_pre_per_class`` etc.); needed when the model detects.
        num_classes (int, optional): checked against the file's count.
        seg_num_classes (int, optional): checked against the file's
            segmentation set (``model.seg_num_classes``).
        seg_background (bool, optional): likewise (``model.seg_background``).
        precision (str): 'fp32' or 'bf16' (OpenVINO only).
        num_threads (int, optional): runtime threads.
        device (str, optional): where the runtime runs (``BackendSession``):
            ``'cpu'``, ``'cuda'``, ``'cuda:N'``. None (default) follows the
            batch: the session starts on the CPU and is rebuilt once for
            CUDA when a batch arrives on a CUDA device (``init_model(...,
            device='cuda')``, a runner on a GPU). Where the CUDA provider
            is missing it stays on the CPU, with one warning per process.
        max_upsample_elements (int): as ``BlitzNetSegHead``.
        init_cfg (dict, optional): unused; mmengine's interface.

    Raises:
        ValueError: on a file without BlitzNet metadata, a class count that
            differs from ``num_classes``, a detecting model without a
            ``test_cfg`` that has ``nms_pre_per_class``, or (in ``predict``)
            a batch whose input size is not the size the model was exported
            for.
    """

    def __init__(self,
                 model_file: str,
                 data_preprocessor: dict,
                 test_cfg: Optional[dict] = None,
                 num_classes: Optional[int] = None,
                 seg_num_classes: Optional[int] = None,
                 seg_background: Optional[bool] = None,
                 precision: str = 'fp32',
                 num_threads: Optional[int] = None,
                 device: Optional[str] = None,
                 max_upsample_elements: int = 2**27,
                 init_cfg: Optional[dict] = None) -> None:
        if isinstance(data_preprocessor, dict):  # found in mmdet's registry
            data_preprocessor = MODELS.build(data_preprocessor)  # in any scope
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.model_file = model_file
        self.meta = read_metadata(model_file)
        self.num_classes = self.meta['num_classes']
        if num_classes is not None and num_classes != self.num_classes:
            raise ValueError(
                f'{model_file}: exported with {self.num_classes} classes, '
                f'the config says model.num_classes={num_classes}')
        # the segmentation set (files from before it: the default set)
        self.seg_num_classes = self.meta.get('seg_num_classes',
                                             self.num_classes)
        self.seg_background = self.meta.get('seg_background', True)
        for key, want in (('seg_num_classes', seg_num_classes),
                          ('seg_background', seg_background)):
            if want is not None and want != getattr(self, key):
                raise ValueError(
                    f'{model_file}: exported with {key}='
                    f'{getattr(self, key)}, the config says model.{key}='
                    f'{want}')
        names = self.meta['output_names']
        self.with_det, self.with_seg = 'scores' in names, 'seg_logits' in names
        if self.with_det and 'nms_pre_per_class' not in (test_cfg or {}):
            raise ValueError(f'{model_file}: a detecting model needs the '
                             "config's model.test_cfg with nms_pre_per_class "
                             '(BlitzNet per-class post-processing)')
        self.test_cfg = copy.deepcopy(test_cfg)
        self.max_upsample_elements = max_upsample_elements
        self._session_args = (precision, num_threads)
        self._device = device
        # the device the session was last asked for (None: not yet followed)
        self._session_device = device
        self.session = BackendSession(
            model_file, precision, num_threads, device=device or 'cpu')

    @property
    def with_bbox(self) -> bool:
        return self.with_det

    def predict(self,
                batch_inputs: torch.Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        outs = dict(
            zip(self.meta['output_names'], self._forward(batch_inputs)))
        self.fill_detections(outs, batch_data_samples, rescale)
        self.fill_label_maps(outs, batch_data_samples)
        return batch_data_samples

    def fill_detections(self,
                        outs: dict,
                        batch_data_samples: SampleList,
                        rescale: bool = True) -> None:
        """``pred_instances`` from the graph's ``scores`` and ``boxes``."""
        if not self.with_det:
            return
        for ds, scores, boxes in zip(batch_data_samples, outs['scores'],
                                     outs['boxes']):
            ds.pred_instances = detections_from_scores(scores,
                                                       boxes.__getitem__,
                                                       ds.metainfo,
                                                       self.test_cfg, rescale)

    def fill_label_maps(self, outs: dict,
                        batch_data_samples: SampleList) -> None:
        """``pred_sem_seg`` from the graph's ``seg_logits``."""
        if not self.with_seg:
            return
        segs = label_maps(outs['seg_logits'],
                          [ds.metainfo for ds in batch_data_samples],
                          self.max_upsample_elements)
        for ds, seg in zip(batch_data_samples, segs):
            ds.pred_sem_seg = PixelData(sem_seg=seg[None])
        metas = [ds.metainfo for ds in batch_data_samples]
        for task, spec in zip(self.seg_tasks, self.meta.get('seg_tasks', ())):
            logits = outs[f'seg_logits_{task.name}']
            maps = multi_label_maps(logits, metas, spec['threshold']) \
                if task.multi_label else label_maps(
                    logits, metas, self.max_upsample_elements)
            task_predictions(task, maps, batch_data_samples)

    @property
    def seg_tasks(self) -> tuple:
        """The extra segmentation tasks the file was exported with."""
        return tuple(
            SegTask(t['name'], t['num_classes'], t['background'],
                    t['multi_label']) for t in self.meta.get('seg_tasks', ()))

    def session_for(self, device: torch.device) -> BackendSession:
        """The session for a batch on ``device``: with ``device=None`` at
        construction, a CUDA batch makes the session once more for that
        device (the data preprocessor follows ``model.to``; the runtime
        cannot, it is no module)."""
        device = torch.device(device)
        if self._device is None and device.type == 'cuda' and \
                self._session_device != str(device):
            self._session_device = str(device)
            self.session = BackendSession(
                self.model_file, *self._session_args, device=str(device))
        return self.session

    def _forward(self,
                 batch_inputs: torch.Tensor,
                 batch_data_samples: Optional[SampleList] = None) -> tuple:
        """The graph's outputs as float tensors, in ``output_names``
        order: on the host where the session runs on the CPU (as the
        post-processing then is), on the batch's device where it runs on
        CUDA."""
        size = list(batch_inputs.shape[-2:])
        if size != self.meta['input_size']:
            raise ValueError(
                f'{self.model_file}: exported for {self.meta["input_size"]} '
                f'inputs, got {size}; the test pipeline must resize to the '
                'export size without keeping the aspect ratio')
        batch = self.meta['batch']
        if batch != 'dynamic' and batch_inputs.shape[0] != batch:
            raise ValueError(f'{self.model_file}: exported for batch '
                             f'{batch}, got {batch_inputs.shape[0]}')
        session = self.session_for(batch_inputs.device)
        outs = session(batch_inputs.detach().float().cpu().numpy())
        outs = tuple(torch.from_numpy(o) for o in outs)
        if session.device != 'cpu':  # NMS and label maps on the GPU too
            outs = tuple(o.to(batch_inputs.device) for o in outs)
        return outs

    def loss(self, batch_inputs, batch_data_samples):
        raise NotImplementedError(f'{self.model_file}: exported models are '
                                  'for inference; train the PyTorch model')

    def extract_feat(self, batch_inputs):
        raise NotImplementedError('the features are inside the exported '
                                  'graph; use predict')


def backend_model_cfg(model_cfg: dict, model_file: str, **kwargs) -> dict:
    """The ``model`` config that runs ``model_file`` in place of the
    PyTorch model described by ``model_cfg`` (its data preprocessor,
    test_cfg and class count are kept).

    Raises:
        ValueError: if ``model_file`` is not ``.onnx`` / ``.xml``.
    """
    if not is_exported_model(model_file):
        raise ValueError(f'{model_file}: not an exported model (.onnx/.xml)')
    seg = model_cfg.get('seg_head') or {}
    return dict(
        type='BlitzNetBackendModel',
        model_file=model_file,
        data_preprocessor=copy.deepcopy(model_cfg['data_preprocessor']),
        test_cfg=copy.deepcopy(model_cfg.get('test_cfg')),
        num_classes=model_cfg.get('num_classes'),
        # the config's set: stated, or the detection classes
        seg_num_classes=(model_cfg.get('seg_num_classes')
                         or model_cfg.get('num_classes'))
        if model_cfg.get('seg_head') else None,
        seg_background=model_cfg.get('seg_background'),
        max_upsample_elements=seg.get('max_upsample_elements', 2**27),
        **kwargs)
