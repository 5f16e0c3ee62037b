"""A concatenation of datasets that share one pipeline (the joint VOC set of
paper Sec. 4.1: VOC07 trainval boxes + VOC12 train-aug boxes and masks)."""
from typing import List, Optional, Sequence, Union

from mmdet.registry import DATASETS
from mmengine.dataset import BaseDataset, ConcatDataset


@DATASETS.register_module()
class SharedPipelineConcatDataset(ConcatDataset):
    """mmengine's ``ConcatDataset`` whose parts take ``pipeline`` from the
    wrapper, so a config states the pipeline once and a variant replaces it
    with one key (``train_dataloader.dataset.pipeline``) instead of
    rewriting the list of parts.

    Args:
        datasets (Sequence[dict | BaseDataset]): The parts; configs must not
            carry their own ``pipeline`` when ``pipeline`` is given.
        pipeline (list[dict], optional): Transforms of every part.
        **kwargs: ``ConcatDataset`` arguments (``lazy_init``,
            ``ignore_keys``).

    Raises:
        ValueError: if a part config has its own pipeline as well.
    """

    def __init__(self,
                 datasets: Sequence[Union[BaseDataset, dict]],
                 pipeline: Optional[List[dict]] = None,
                 **kwargs) -> None:
        if pipeline is not None:
            parts = []
            for i, d in enumerate(datasets):
                if isinstance(d, dict):
                    if d.get('pipeline'):
                        raise ValueError(
                            f'datasets[{i}] ({d.get("type")}, '
                            f'{d.get("ann_file")}) has its own pipeline; '
                            'give it once, on the wrapper')
                    d = dict(d, pipeline=pipeline)
                parts.append(d)
            datasets = parts
        super().__init__(datasets, **kwargs)
