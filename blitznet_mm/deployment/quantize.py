"""INT8 post-training quantization of an exported OpenVINO IR with NNCF,
calibrated on real images (docs/deployment.md, "INT8").

NNCF stores the convolutions' weights as int8 (per-channel scales) and
inserts FakeQuantize ops on the activations they read (8-bit); the
OpenVINO CPU plugin then runs those convolutions in INT8 (VNNI / AMX where
the CPU has them). What
follows the last convolution on every path to an output - the reshapes
and concatenation of the head outputs, the softmax and the box decoding
with the anchors as constants - is kept out of quantization (an NNCF
ignored scope): it is cheap, and 8-bit box offsets or probabilities
would move boxes and reorder scores for no speed."""
import json
import os
import os.path as osp
from typing import Iterable, List, Optional

import numpy as np

from .export import META_KEY, read_metadata

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
#: op types that carry the weights NNCF quantizes
WEIGHTED_OPS = ('Convolution', 'GroupConvolution', 'ConvolutionBackpropData',
                'MatMul')
PRESETS = ('performance', 'mixed')


def calibration_images(folder: str) -> List[str]:
    """The image files of ``folder`` (sorted, by extension: jpg, png, bmp,
    tif, webp; not recursive).

    Raises:
        ValueError: naming ``folder`` if it is not a directory, is empty, or
            holds no image file (naming what it holds instead).
    """
    if not osp.isdir(folder):
        raise ValueError(f'--calib {folder}: not a directory of images')
    names = sorted(os.listdir(folder))
    images = [
        osp.join(folder, n) for n in names
        if n.lower().endswith(IMAGE_EXTS) and osp.isfile(osp.join(folder, n))
    ]
    if not images:
        held = ', '.join(names[:5]) + (' ...' if len(names) > 5 else '')
        raise ValueError(
            f'--calib {folder}: no image files ({"/".join(IMAGE_EXTS)}) to '
            f'calibrate on; the folder ' +
            (f'holds {len(names)} other entries: {held}'
             if names else 'is empty'))
    return images


def _test_pipeline(cfg) -> list:
    """The config's test pipeline without its annotation loading (images
    of a ``--calib`` folder have none)."""
    return [
        t for t in cfg.test_dataloader.dataset.pipeline
        if 'Annotation' not in t['type']
    ]


def calibration_inputs(cfg,
                       calib: Optional[str] = None,
                       num: int = 300) -> List[np.ndarray]:
    """Up to ``num`` preprocessed (1, 3, H, W) float32 batches, as the
    exported graph takes them: the config's test pipeline (the S x S resize)
    and its data preprocessor (mean subtraction, channel order).

    Args:
        cfg (Config): the model's config.
        calib (str, optional): a folder of images; None takes the first
            ``num`` images of the config's test dataset.
        num (int): how many images at most.

    Raises:
        ValueError: on a bad ``calib`` folder (:func:`calibration_images`),
            or an image in it that cannot be decoded, naming the file.
    """
    from mmcv.transforms import Compose
    from mmdet.registry import DATASETS, MODELS
    from mmdet.utils import register_all_modules
    from mmengine.dataset import pseudo_collate
    register_all_modules()
    import blitznet_mm  # noqa: F401  (registers its transforms, datasets)
    preprocess = MODELS.build(cfg.model.data_preprocessor)
    if calib is not None:
        files = calibration_images(calib)[:num]
        pipeline = Compose(_test_pipeline(cfg))
        samples = []
        for i, f in enumerate(files):
            try:
                samples.append(pipeline(dict(img_path=f, img_id=i)))
            except Exception as e:  # mmcv raises several kinds on bad bytes
                raise ValueError(f'--calib {calib}: {f} is not a readable '
                                 f'image ({type(e).__name__}: {e})') from e
    else:
        ds = DATASETS.build(cfg.test_dataloader.dataset)
        samples = [ds[i] for i in range(min(num, len(ds)))]
    out = []
    for s in samples:
        x = preprocess(pseudo_collate([s]), False)['inputs']
        out.append(x.float().numpy())
    return out


def unquantized_tail(model) -> List[str]:
    """Names of the ops of an OpenVINO ``model`` after its last weighted op
    (convolution / MatMul) on every path to an output: reshapes and concat
    of the head outputs, softmax, box decoding. The bias ``Add`` right after
    a convolution stays in (it is part of the convolution NNCF quantizes)."""
    ops = model.get_ordered_ops()
    feeds_weighted = {}
    for op in reversed(ops):  # consumers first
        hit = op.get_type_name() in WEIGHTED_OPS
        for out in op.outputs():
            for t in out.get_target_inputs():
                hit = hit or feeds_weighted[t.get_node().get_friendly_name()]
        feeds_weighted[op.get_friendly_name()] = hit
    tail = []
    for op in ops:
        kind = op.get_type_name()
        if feeds_weighted[op.get_friendly_name()] or kind in ('Constant',
                                                              'Parameter',
                                                              'Result'):
            continue
        producers = [
            i.get_source_output().get_node().get_type_name()
            for i in op.inputs()
        ]
        if kind == 'Add' and any(p in WEIGHTED_OPS for p in producers):
            continue
        tail.append(op.get_friendly_name())
    return tail


def quantize_openvino(xml_path: str,
                      out_path: str,
                      inputs: Iterable[np.ndarray],
                      preset: str = 'performance',
                      fast_bias_correction: bool = True) -> str:
    """Quantize the IR ``xml_path`` to INT8 with ``nncf.quantize`` and save
    it (``.xml`` + ``.bin``) with the source's BlitzNet metadata, plus
    ``precision='int8'`` and the calibration facts.

    Args:
        xml_path (str): an IR written by :func:`export_openvino`.
        out_path (str): the ``.xml`` to write.
        inputs (Iterable[np.ndarray]): calibration batches, (1, 3, H, W)
            float32 each (:func:`calibration_inputs`); all are used.
        preset (str): NNCF's ``'performance'`` (symmetric activations) or
            ``'mixed'`` (asymmetric activations).
        fast_bias_correction (bool): NNCF's option of that name.

    Returns:
        str: ``out_path``.

    Raises:
        ValueError: on an unknown preset, no calibration batch, or a batch
            whose size differs from the IR's input size (naming both).
    """
    import nncf
    import openvino as ov
    if preset not in PRESETS:
        raise ValueError(f'preset must be one of {PRESETS}, got {preset!r}')
    meta = read_metadata(xml_path)
    inputs = list(inputs)
    if not inputs:
        raise ValueError(f'{xml_path}: no calibration images')
    want = tuple(meta['input_size'])
    for x in inputs:
        if tuple(x.shape[-2:]) != want:
            raise ValueError(f'{xml_path}: exported for {list(want)} inputs, '
                             f'calibration batch is {list(x.shape[-2:])}')
    model = ov.Core().read_model(xml_path)
    ignored = nncf.IgnoredScope(names=unquantized_tail(model), validate=False)
    quantized = nncf.quantize(
        model,
        nncf.Dataset(inputs),
        subset_size=len(inputs),
        preset=dict(
            performance=nncf.QuantizationPreset.PERFORMANCE,
            mixed=nncf.QuantizationPreset.MIXED)[preset],
        fast_bias_correction=fast_bias_correction,
        ignored_scope=ignored)
    meta.update(
        precision='int8',
        calibration=dict(
            images=len(inputs), preset=preset,
            tool=f'nncf {nncf.__version__}'))
    quantized.set_rt_info(json.dumps(meta), [META_KEY, 'meta'])
    os.makedirs(osp.dirname(osp.abspath(out_path)), exist_ok=True)
    ov.save_model(quantized, out_path, compress_to_fp16=False)
    return out_path
