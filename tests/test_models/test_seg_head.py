"""Mask upsampling + argmax of the segmentation head (paper Sec. 3.5)."""
import torch
import torch.nn.functional as F

from blitznet_mm.models.heads.seg_head import upsample_argmax


def test_class_chunked_upsampling_gives_the_same_labels():
    torch.manual_seed(0)
    logits = torch.randn(1, 21, 38, 38)
    ref = F.interpolate(
        logits, size=(150, 200), mode='bilinear',
        align_corners=False)[0].argmax(0)
    whole = upsample_argmax(logits, (150, 200))
    chunked = upsample_argmax(logits, (150, 200), max_elements=150 * 200 * 4)
    one_by_one = upsample_argmax(logits, (150, 200), max_elements=1)
    assert torch.equal(whole, ref) and torch.equal(chunked, ref)
    assert torch.equal(one_by_one, ref)


def test_ties_go_to_the_lower_class_on_both_paths():
    logits = torch.zeros(1, 5, 4, 4)
    logits[:, 2] = 1.
    logits[:, 4] = 1.
    for budget in (10**6, 64):
        assert upsample_argmax(logits, (8, 8), budget).unique().tolist() \
            == [2]
