"""Pascal VOC results as the VOC devkit and its evaluation server read them
(VOCdevkit ``VOCinit.m``: ``VOCopts.detrespath`` and
``VOCopts.seg.clsrespath``; ``VOCevaldet.m``, ``VOCevalseg.m``), under the
devkit's ``results/`` folder:

- detection: ``VOC<year>/Main/<comp>_det_<testset>_<class>.txt``, one line
  per box ``<image id> <confidence> <left> <top> <right> <bottom>`` in the
  1-based pixel coordinates of the XML annotations;
- segmentation: ``VOC<year>/Segmentation/<comp>_<testset>_cls/<image
  id>.png``, an indexed PNG with the VOC palette, values 0 (background) ..
  20 at the image's size.
"""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmdet.datasets import VOCDataset
from mmdet.evaluation import VOCMetric
from mmdet.registry import METRICS
from mmengine.logging import MMLogger
from mmengine.utils import mkdir_or_exist

from ..datasets.voc import save_palette_png
from .sem_seg_metric import BlitzNetSegMetric

VOC_CLASSES = VOCDataset.METAINFO['classes']


def voc_year(dataset_meta: Optional[dict], year=None) -> str:
    """The challenge year of the results folder: ``year`` or the dataset's
    ``dataset_type`` (mmdet's ``VOCDataset`` states 'VOC2007' / 'VOC2012'
    from its ``sub_data_root``).

    Raises:
        ValueError: neither states a year, or the two differ.
    """
    kind = (dataset_meta or {}).get('dataset_type') or ''
    from_data = kind[3:] if kind.startswith('VOC') else None
    if year is not None and from_data and str(year) != from_data:
        raise ValueError(f'VOC results: year={year} but the dataset is '
                         f'{kind}; give one of them')
    if year is None and not from_data:
        raise ValueError('VOC results: the dataset states no VOC year '
                         "(dataset_type 'VOC2007' / 'VOC2012'); set year")
    return str(year) if year is not None else from_data


def voc_image_id(data_sample: dict) -> str:
    """The devkit's image identifier: the stem of ``JPEGImages/<id>.jpg``
    (also under ``int_img_ids=True``, whose ``img_id`` drops the '_').

    Raises:
        KeyError: the sample has no ``img_path`` (the test pipeline's
            ``PackDetInputs`` must keep it in ``meta_keys``).
    """
    if 'img_path' not in data_sample:
        raise KeyError('VOC results: a data sample has no img_path; keep '
                       "'img_path' in PackDetInputs' meta_keys")
    return osp.splitext(osp.basename(data_sample['img_path']))[0]


def _number(value) -> str:
    """Shortest text that reads back to the same number of its dtype (the
    devkit reads ``%f``)."""
    return np.format_float_positional(value, trim='-')


@METRICS.register_module()
class BlitzNetVOCMetric(VOCMetric):
    """mmdet's ``VOCMetric`` (mAP, unchanged) that also writes the
    predictions as the devkit's detection results, one file per class of
    the dataset (empty for a class without detections):
    ``results_dir/VOC<year>/Main/<comp>_det_<testset>_<class>.txt``.

    Boxes are written in the XML's 1-based pixels: mmdet's ``VOCDataset``
    reads every XML coordinate minus 1 (and ``VOCMetric`` scores them with
    ``w = x2 - x1 + 1``), so each written coordinate is the predicted one
    plus 1, which keeps every IoU and hence the devkit's AP equal to
    ``VOCMetric``'s. Within an image lines go by decreasing score.

    Args:
        results_dir (str, optional): The devkit's ``results`` folder
            (``VOCopts.resdir`` without the year). Defaults to None: write
            nothing.
        format_only (bool): Only write the files (no ground truth needed,
            no metrics; for the test server). Defaults to False.
        testset (str): The devkit's ``VOCopts.testset`` in the file names
            ('test', 'val'). Defaults to 'test'.
        competition (str): Competition id of the file names: 'comp4'
            (trained on any data but the test set; ImageNet
            pre-training) or 'comp3' (VOC data only). Defaults to 'comp4'.
        year (str | int, optional): '2007' / '2012'. Defaults to None: the
            dataset's ``dataset_type``.
        **kwargs: mmdet ``VOCMetric`` arguments (``eval_mode``, ...).

    Raises:
        ValueError: ``format_only`` without ``results_dir``; a dataset class
            the devkit does not know; no year (:func:`voc_year`).
    """

    def __init__(self,
                 results_dir: Optional[str] = None,
                 format_only: bool = False,
                 testset: str = 'test',
                 competition: str = 'comp4',
                 year=None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if format_only and not results_dir:
            raise ValueError('BlitzNetVOCMetric: format_only=True writes the '
                             'devkit results to results_dir; set results_dir')
        self.results_dir = results_dir
        self.format_only = format_only
        self.testset = testset
        self.competition = competition
        self.year = year

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            name = voc_image_id(ds) if self.results_dir else None
            if not self.format_only:
                super().process(data_batch, [ds])
                ann, dets = self.results.pop()
                self.results.append((ann, dets, name))
                continue
            # VOCMetric's per-class (n, 5) arrays, without ground truth
            pred = ds['pred_instances']
            boxes = pred['bboxes'].cpu().numpy()
            scores = pred['scores'].cpu().numpy()
            labels = pred['labels'].cpu().numpy()
            dets = [
                np.hstack([boxes[labels == c], scores[labels == c, None]])
                for c in range(len(self.dataset_meta['classes']))
            ]
            self.results.append((None, dets, name))

    def compute_metrics(self, results: list) -> dict:
        if self.results_dir:
            self.write_results(results)
        if self.format_only:
            return {}
        return super().compute_metrics([r[:2] for r in results])

    def write_results(self, results: list) -> str:
        """Write the per-class files; returns their folder.

        Args:
            results (list): ``(ann, dets, image id)`` per image; ``dets``
                holds one (n, 5) array per class: x1, y1, x2, y2 (pixels of
                the original image, mmdet's VOC coordinates), score.
        """
        classes = self.dataset_meta['classes']
        unknown = [c for c in classes if c not in VOC_CLASSES]
        if unknown:
            raise ValueError(f'BlitzNetVOCMetric: the VOC devkit scores '
                             f'{VOC_CLASSES}; the dataset also has {unknown}')
        folder = osp.join(self.results_dir,
                          f'VOC{voc_year(self.dataset_meta, self.year)}',
                          'Main')
        mkdir_or_exist(folder)
        for c, cls in enumerate(classes):
            lines = []
            for _, dets, name in results:
                d = dets[c][np.argsort(-dets[c][:, 4], kind='stable')]
                lines += [
                    # + 1 in float64: exact for float32 boxes
                    ' '.join([name, _number(s)] +
                             [_number(np.float64(v) + 1) for v in box])
                    for *box, s in d
                ]
            path = osp.join(
                folder, f'{self.competition}_det_{self.testset}_{cls}.txt')
            with open(path, 'w') as f:
                f.write(''.join(line + '\n' for line in lines))
        MMLogger.get_current_instance().info(
            f'VOC devkit detection results are saved to {folder}')
        return folder


@METRICS.register_module()
class BlitzNetVOCSegMetric(BlitzNetSegMetric):
    """``BlitzNetSegMetric`` (mIoU, unchanged) that also writes each label
    map as the devkit's segmentation result: an indexed PNG with the VOC
    palette at the image's original size, values 0..20 (VOC's background +
    20 classes; the devkit rejects others, 255 included), in
    ``results_dir/VOC<year>/Segmentation/<comp>_<testset>_cls/<image
    id>.png``.

    Args:
        results_dir (str, optional): The devkit's ``results`` folder.
            Defaults to None: write nothing.
        testset (str): ``VOCopts.testset`` in the folder name. Defaults to
            'test'.
        competition (str): 'comp6' (any training data; SBD's masks) or
            'comp5' (VOC data only). Defaults to 'comp6'.
        year (str | int, optional): Defaults to None: the dataset's.
        **kwargs: ``BlitzNetSegMetric`` arguments, ``format_only`` among
            them (only write; needs ``results_dir``); not ``output_dir``.

    Raises:
        ValueError: ``output_dir`` given; ``format_only`` without
            ``results_dir``; a label set other than VOC's 21 labels; a
            label map of another size than its image or with a value
            outside 0..20, naming the image.
    """

    def __init__(self,
                 results_dir: Optional[str] = None,
                 testset: str = 'test',
                 competition: str = 'comp6',
                 year=None,
                 **kwargs) -> None:
        if kwargs.get('output_dir'):
            raise ValueError('BlitzNetVOCSegMetric writes under results_dir '
                             '(the devkit layout); drop output_dir')
        if kwargs.get('format_only') and not results_dir:
            raise ValueError('BlitzNetVOCSegMetric: format_only=True writes '
                             'the devkit results to results_dir; set '
                             'results_dir')
        # BlitzNetSegMetric writes a label map wherever output_dir is set
        super().__init__(output_dir=results_dir, **kwargs)
        self.results_dir = results_dir
        self.testset = testset
        self.competition = competition
        self.year = year

    def _write_label_map(self, ds: dict, pred, num_classes: int) -> None:
        names = self.seg_class_names
        if names[1:] != tuple(VOC_CLASSES) or not self.label_set.background:
            raise ValueError('BlitzNetVOCSegMetric: the devkit reads VOC\'s '
                             f'21 labels (background, {VOC_CLASSES}); the '
                             f'segmentation set is {names}')
        labels = pred.cpu().numpy()
        if 'ori_shape' in ds and labels.shape != tuple(ds['ori_shape']):
            raise ValueError(f'{ds.get("img_path")}: label map '
                             f'{labels.shape} is not at the image size '
                             f'{tuple(ds["ori_shape"])}')
        if labels.min() < 0 or labels.max() > len(VOC_CLASSES):
            raise ValueError(f'{ds.get("img_path")}: label map values '
                             f'{np.unique(labels)[:8].tolist()} are outside '
                             '0..20')
        folder = osp.join(self.results_dir,
                          f'VOC{voc_year(self.dataset_meta, self.year)}',
                          'Segmentation',
                          f'{self.competition}_{self.testset}_cls')
        mkdir_or_exist(folder)
        save_palette_png(labels, osp.join(folder, voc_image_id(ds) + '.png'))
