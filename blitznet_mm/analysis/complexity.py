"""Parameters and FLOPs of a config's model at its input size
(``tools/analysis/get_flops.py``, ``tools/misc/make_metafile.py``)."""
import torch


def complexity(config: str):
    """Parameters and FLOPs of ``config``'s model on one
    ``(3, input_size, input_size)`` image, by mmengine's analyzer (one
    multiply-add counts as one FLOP, the fvcore / OpenMMLab convention).

    Returns:
        tuple: (params, flops, input_size in pixels).

    Raises:
        AttributeError: the config states no ``input_size`` (the one place
            a config states S).
    """
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.analysis import get_model_complexity_info
    from mmengine.config import Config

    import blitznet_mm  # noqa: F401  (registers the modules)
    register_all_modules()
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    size = cfg.input_size
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        info = get_model_complexity_info(
            model,
            input_shape=(3, size, size),
            show_table=False,
            show_arch=False)
    return info['params'], info['flops'], size
