"""Fusion blocks (paper Fig. 3, Table 8) and the neck built from each."""
import pytest
import torch

BLOCKS = ['ResSkip', 'ResSkipNoResidual', 'HourglassFusion', 'RefineFusion']


@pytest.mark.parametrize('name', BLOCKS)
@pytest.mark.parametrize('in_ch', [2048, 512])
def test_fusion_block_shapes(name, in_ch):
    from mmdet.registry import MODELS

    import blitznet_mm  # noqa: F401
    block = MODELS.build(
        dict(
            type=name, in_channels=in_ch, skip_channels=1024,
            out_channels=512))
    x, skip = torch.randn(2, in_ch, 10, 10), torch.randn(2, 1024, 19, 19)
    out, short = block(x, skip)
    assert out.shape == (2, 512, 19, 19)
    assert short.shape == (2, 512, 19, 19)
    (out.sum() + short.sum()).backward()
    assert all(p.grad is not None for p in block.parameters()
               if p.requires_grad and p.dim() > 1)


def test_resskip_is_relu_of_shortcut_plus_residual():
    from blitznet_mm.models.necks import ResSkip
    block = ResSkip(512, 256).eval()
    x, skip = torch.randn(1, 512, 5, 5), torch.randn(1, 256, 10, 10)
    out, short = block(x, skip)
    # channels already 512: the shortcut is the bilinear upsampling itself
    up = torch.nn.functional.interpolate(
        x, size=(10, 10), mode='bilinear', align_corners=False)
    assert torch.equal(short, up)
    res = block.residual(torch.cat([up, skip], 1))
    assert torch.allclose(out, torch.relu(up + res))


@pytest.mark.parametrize('name', BLOCKS)
def test_neck_with_each_fusion_block(name):
    from blitznet_mm.models.necks import BlitzNetNeck
    neck = BlitzNetNeck(
        in_channels=(16, 32, 64, 128),
        num_extra_blocks=3,
        extra_mid_channels=32,
        out_channels=24,
        fusion_block=dict(type=name, mid_channels=8))
    feats = [
        torch.randn(1, c, s, s)
        for c, s in zip((16, 32, 64, 128), (75, 38, 19, 10))
    ]
    outs = neck(feats)
    assert [o.shape[-1] for o in outs] == [75, 38, 19, 10, 5, 3, 1]
    assert all(o.shape[1] == 24 for o in outs)


def test_neck_rejects_wrong_number_of_maps():
    from blitznet_mm.models.necks import BlitzNetNeck
    neck = BlitzNetNeck(
        in_channels=(16, 32, 64, 128), extra_mid_channels=32, out_channels=24)
    with pytest.raises(ValueError, match='expects 4 trunk maps'):
        neck([torch.randn(1, 128, 10, 10)])


def test_downscale_shortcut_is_parameter_free_subsample():
    from blitznet_mm.models.necks import DownscaleBlock
    block = DownscaleBlock(128, 32)
    first = block.units[0]
    assert isinstance(first.downsample, torch.nn.MaxPool2d)
    assert sum(p.numel() for p in first.downsample.parameters()) == 0
    assert block(torch.randn(1, 128, 10, 10)).shape[-1] == 5
    assert block(torch.randn(1, 128, 3, 3)).shape[-1] == 2


@pytest.mark.parametrize('norm',
                         [dict(type='GN', num_groups=8),
                          dict(type='BN')])
def test_neck_norm_layers_configurable(norm):
    from blitznet_mm.models.necks import BlitzNetNeck
    neck = BlitzNetNeck(
        in_channels=(16, 32, 64, 128),
        extra_mid_channels=32,
        out_channels=24,
        norm_cfg=norm)
    kinds = {type(m).__name__ for m in neck.modules()}
    assert ('GroupNorm' if norm['type'] == 'GN' else 'BatchNorm2d') in kinds
