"""The detection head refuses train_cfg keys it does not read (mmdet SSD's
smoothl1_beta and debug): a setting that does nothing is an error naming
it, not a silent no-op."""
import pytest

from blitznet_mm.testing.builders import build_model, load_cfg


@pytest.mark.parametrize('key,value', [('smoothl1_beta', 0.5),
                                       ('debug', True)])
def test_a_dead_train_cfg_key_is_refused_by_name(key, value):
    train_cfg = dict(
        load_cfg('blitznet300_voc.py').model.train_cfg, **{key: value})
    with pytest.raises(
            ValueError,
            match=rf"train_cfg keys \['{key}'\] are "
            'read by nothing'):
        build_model('blitznet300_voc.py', train_cfg=train_cfg)


def test_the_shipped_train_cfg_builds():
    model = build_model('blitznet300_voc.py')
    assert model.bbox_head.train_cfg['neg_pos_ratio'] == 3
    assert 'smoothl1_beta' not in model.bbox_head.train_cfg
