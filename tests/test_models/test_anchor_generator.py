"""BlitzNet anchors (paper Sec. 3.2, Table 7; docs/training_recipe.md)."""
import math

import pytest
import torch

from blitznet_mm.testing.builders import build_model, load_cfg

VARIANTS = [
    # config, input size, map sizes, anchor total (spec table)
    ('blitznet300_voc.py', 300, (75, 38, 19, 10, 5, 3, 1), 45390),
    ('blitznet300_s8_voc.py', 300, (38, 19, 10, 5, 3, 1), 11640),
    ('blitznet512_voc.py', 512, (64, 32, 16, 8, 4, 2, 1), 32766),
    ('blitznet512_s4_voc.py', 512, (128, 64, 32, 16, 8, 4, 2, 1), 131070),
]


@pytest.mark.parametrize('cfg_name,size,maps,total', VARIANTS)
def test_anchor_totals_and_levels_match_spec(cfg_name, size, maps, total):
    from mmdet.registry import TASK_UTILS
    cfg = load_cfg(cfg_name)
    gen = TASK_UTILS.build(cfg.model.bbox_head.anchor_generator)
    gen.set_input_size(cfg.input_size)
    assert cfg.input_size == size
    anchors = gen.grid_priors([(m, m) for m in maps], device='cpu')
    assert [a.shape[0] for a in anchors] == [6 * m * m for m in maps]
    assert sum(a.shape[0] for a in anchors) == total
    assert gen.num_base_priors == [6] * len(maps)


@pytest.mark.slow
@pytest.mark.parametrize('cfg_name,size,maps,total', VARIANTS)
def test_network_output_levels_match_anchor_levels(cfg_name, size, maps,
                                                   total):
    model = build_model(cfg_name).eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, 3, size, size))
    assert [tuple(f.shape[-2:]) for f in feats] == [(m, m) for m in maps]
    assert all(f.shape[1] == 512 for f in feats)


def test_anchor_geometry_300_level0():
    from blitznet_mm.models.heads import BlitzNetAnchorGenerator
    gen = BlitzNetAnchorGenerator((.04, .10), input_size=300)
    a = gen.grid_priors([(75, 75), (38, 38)], device='cpu')
    first = a[0][:6]
    cx = (first[:, 0] + first[:, 2]) / 2
    cy = (first[:, 1] + first[:, 3]) / 2
    # centre of location (0, 0) at (0 + 0.5) / 75 of the image
    assert torch.allclose(cx, torch.full((6, ), 0.5 * 300 / 75))
    assert torch.allclose(cy, cx)
    w = first[:, 2] - first[:, 0]
    h = first[:, 3] - first[:, 1]
    s, s_next = 0.04 * 300, 0.10 * 300
    expect_w = [
        s, s * math.sqrt(2), s / math.sqrt(2), s * math.sqrt(3),
        s / math.sqrt(3),
        math.sqrt(s * s_next)
    ]
    expect_h = [
        s, s / math.sqrt(2), s * math.sqrt(2), s / math.sqrt(3),
        s * math.sqrt(3),
        math.sqrt(s * s_next)
    ]
    assert torch.allclose(w, torch.tensor(expect_w), atol=1e-4)
    assert torch.allclose(h, torch.tensor(expect_h), atol=1e-4)
    # level 1, location (i=3, j=5): centre ((5+.5)/38, (3+.5)/38) * 300
    loc = a[1].view(38, 38, 6, 4)[3, 5, 0]
    assert torch.allclose((loc[0] + loc[2]) / 2, torch.tensor(5.5 * 300 / 38))
    assert torch.allclose((loc[1] + loc[3]) / 2, torch.tensor(3.5 * 300 / 38))


@pytest.mark.parametrize(
    'scales,extra',
    [
        # the authors' code extrapolates one scale step past the last level:
        # s_{K+1} = s_K + (s_K - s_{K-1}); extra square sqrt(s_K s_{K+1})
        ((.04, .10, .27, .44, .61, .78, .95), 1.0315),  # 300 s4, 512 s8
        ((.10, .20, .3875, .575, .7625, .95), 1.0395),  # 300 s8
        ((.02, .08, .225, .37, .515, .66, .805, .95), 1.0199),  # 512 s4
    ])
def test_last_level_extra_square_extrapolates_the_scale_step(scales, extra):
    from blitznet_mm.models.heads import BlitzNetAnchorGenerator
    gen = BlitzNetAnchorGenerator(scales, input_size=300)
    maps = [(1, 1)] * len(scales)
    last = gen.grid_priors(maps, device='cpu')[-1]
    side = (last[-1, 2] - last[-1, 0]) / 300
    assert side.item() == pytest.approx(extra, abs=5e-5)
    wide = last[3]  # ratio 3: 0.95 * sqrt(3) * 300 = 494 px, not clipped
    assert wide[0] < 0 and wide[2] > 300


def test_anchors_follow_the_input_size_and_map_sizes():
    """Nothing per variant is hand-written: a 512 input with the 300
    scales gives the same anchors in normalised coordinates."""
    from blitznet_mm.models.heads import BlitzNetAnchorGenerator
    scales = (.04, .10, .27, .44, .61, .78, .95)
    gen = BlitzNetAnchorGenerator(scales)
    with pytest.raises(RuntimeError, match='input size'):
        gen.grid_priors([(75, 75)] * 7, device='cpu')
    gen.set_input_size(300)
    a300 = torch.cat(
        gen.grid_priors([(m, m) for m in (75, 38, 19, 10, 5, 3, 1)],
                        device='cpu')) / 300
    gen.set_input_size((512, 512))
    a512 = torch.cat(
        gen.grid_priors([(m, m) for m in (75, 38, 19, 10, 5, 3, 1)],
                        device='cpu')) / 512
    assert torch.allclose(a300, a512, atol=1e-5)
    with pytest.raises(ValueError, match='7 anchor scales'):
        gen.grid_priors([(38, 38)] * 6, device='cpu')


def test_bad_scales_raise():
    from blitznet_mm.models.heads import BlitzNetAnchorGenerator
    with pytest.raises(ValueError, match='fractions'):
        BlitzNetAnchorGenerator((.04, 30.))
