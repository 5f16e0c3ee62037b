"""Works around: mmdet 3.3.0's ``SSDHead.predict`` reads ``self.loss_cls``
(in ``BaseDenseHead``), which ``SSDHead`` never sets, so a stock SSD fails at
inference (``'SSDHead' object has no attribute 'loss_cls'``). Still present
in mmdet 3.3.0, the last release. ``BlitzNetDetHead`` defines ``loss_cls``
itself; this is for stock SSD models (the benchmark's peers)."""
from mmdet.registry import MODELS
from mmengine.registry import DefaultScope


def give_ssd_head_loss_cls(model):
    """Set the softmax cross-entropy that SSD trains with as
    ``model.bbox_head.loss_cls`` when it is missing. Returns the model."""
    head = model.bbox_head
    if not hasattr(head, 'loss_cls'):
        with DefaultScope.overwrite_default_scope('mmdet'):
            head.loss_cls = MODELS.build(
                dict(type='CrossEntropyLoss', use_sigmoid=False))
    return model
