"""DetNet-59 as BlitzNet's trunk (DetNet paper Sec. 3.2, Fig. 2)."""
import pytest
import torch
from mmengine.runner import load_checkpoint

from blitznet_mm.models.backbones import DetNet
from blitznet_mm.testing.builders import build_model


def test_detnet59_strides_channels_and_blocks():
    net = DetNet()
    net.eval()  # mmdet ResNet.train returns None
    with torch.no_grad():
        outs = net(torch.zeros(1, 3, 320, 320))
    assert [tuple(o.shape[1:]) for o in outs] == [(256, 80, 80), (512, 40, 40),
                                                  (1024, 20, 20),
                                                  (256, 20, 20), (256, 20, 20)]
    for stage in net.extra_stages:
        first, *rest = stage
        assert first.shortcut is not None and all(
            b.shortcut is None for b in rest) and len(rest) == 2
        for b in stage:
            assert b.conv2.conv.dilation == (2, 2)
            assert b.conv2.conv.stride == (1, 1)
            assert b.conv2.conv.out_channels == 256
    # 59 weighted layers: conv1 + 3 x (3 + 4 + 6) + 2 x 3 x 3 (+ fc in the
    # classifier, absent here)
    convs = [
        m for n, m in net.named_modules() if isinstance(m, torch.nn.Conv2d)
        and 'downsample' not in n and 'shortcut' not in n
    ]
    assert len(convs) == 1 + 3 * (3 + 4 + 6) + 2 * 3 * 3 == 58


def test_extra_channels_is_a_config_key():
    outs = DetNet(
        extra_channels=1024, out_indices=(4, ))(
            torch.zeros(1, 3, 64, 64))
    assert outs[0].shape[1] == 1024
    with pytest.raises(ValueError, match='DetNet has 5 outputs'):
        DetNet(out_indices=(5, ))


def test_resnet50_checkpoint_initialises_stages_1_to_4(tmp_path):
    """A ResNet-50 state dict (as ImageNet checkpoints name it): conv1, bn1
    and layer1-3 load by name; layer4 (res5) is unused; stages 5-6 keep
    their fresh initialisation."""
    from mmdet.models.backbones import ResNet
    torch.manual_seed(0)
    resnet = ResNet(depth=50)
    ckpt = tmp_path / 'resnet50.pth'
    torch.save(dict(state_dict=resnet.state_dict()), ckpt)
    net = DetNet()
    net.init_weights()
    fresh = {
        k: v.clone()
        for k, v in net.state_dict().items() if k.startswith('extra_stages')
    }
    load_checkpoint(
        net, str(ckpt), map_location='cpu', strict=False, logger='silent')
    state, src = net.state_dict(), resnet.state_dict()
    loaded = [k for k in state if not k.startswith('extra_stages')]
    assert loaded and all(torch.equal(state[k], src[k]) for k in loaded)
    assert all(torch.equal(state[k], v) for k, v in fresh.items())
    assert not any(k.startswith('layer4') for k in state)


@pytest.mark.slow
def test_blitznet_on_detnet_levels_and_anchors():
    model = build_model('blitznet300_detnet59_voc.py').eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, 3, 300, 300))
    assert [f.shape[-1] for f in feats] == [75, 38, 19, 19, 19, 10, 5, 1]
    anchors = model.bbox_head.dense_priors((300, 300),
                                           [f.shape[-2:] for f in feats])
    per_loc = model.bbox_head.prior_generator.num_base_priors
    assert len(anchors) == sum(n * f.shape[-1] * f.shape[-2]
                               for n, f in zip(per_loc, feats))
    with torch.no_grad():
        (cls_scores, _), seg = model._forward(torch.zeros(1, 3, 300, 300))
    assert len(cls_scores) == 8 and seg.shape == (1, 21, 75, 75)
