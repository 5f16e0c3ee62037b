"""Receptive Field Blocks (RFB Net, ECCV 2018, Fig. 4) on BlitzNet's
levels."""
import pytest
import torch

from blitznet_mm.models.necks import RFB
from blitznet_mm.testing.builders import build_model


def _dilations(block):
    return [b[-1].conv.dilation[0] for b in block.branches]


def test_rfb_and_rfb_s_branches():
    rfb = RFB(512, 512)
    assert _dilations(rfb) == [1, 3, 5]
    # kernel sizes before the dilated conv: -, 3x3, two 3x3 (a 5x5)
    assert [[m.conv.kernel_size for m in b[1:-1]] for b in rfb.branches] \
        == [[], [(3, 3)], [(3, 3), (3, 3)]]
    small = RFB(512, 512, small=True)
    assert _dilations(small) == [1, 3, 3, 5]
    assert [[m.conv.kernel_size for m in b[1:-1]] for b in small.branches] \
        == [[], [(1, 3)], [(3, 1)], [(3, 3)]]
    x = torch.randn(2, 512, 19, 19)
    for block in (rfb, small):
        out = block.eval()(x)
        assert out.shape == (2, 512, 19, 19) and (out >= 0).all()


def test_rfb_scale_weights_the_branches_against_the_shortcut():
    block = RFB(64, 32, scale=0.0).eval()
    x = torch.randn(1, 64, 8, 8)
    with torch.no_grad():
        assert torch.equal(block(x), torch.relu(block.shortcut(x)))


@pytest.mark.slow
def test_blitznet_rfb_config_places_blocks_on_levels():
    model = build_model('blitznet300_rfb_voc.py').eval()
    blocks = model.neck.blocks
    assert {
        k: len(b.branches)
        for k, b in blocks.items()
    } == {
        '0': 4,
        '1': 4,
        '2': 3,
        '3': 3,
        '4': 3
    }
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, 3, 300, 300))
    assert [f.shape[-1] for f in feats] == [75, 38, 19, 10, 5, 3, 1]
    assert len(model.bbox_head.cls_convs) == 7


def test_rfb_neck_refuses_unknown_levels():
    from blitznet_mm.models.necks import RFBNeck
    with pytest.raises(
            ValueError,
            match=r'levels \[9\] are not among the '
            r"neck's 7 outputs"):
        RFBNeck(dict(type='BlitzNetNeck'), small_levels=(0, ), levels=(9, ))
