"""Runner checkpoints load with torch's safe loading; anything else is
refused and never executed."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import blitznet_mm  # noqa: F401  (applies the allow-list)


class _Payload:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f'touch {self.path}', ))


def test_message_hub_checkpoint_loads_with_weights_only(tmp_path):
    hub = MessageHub.get_instance('ckpt_test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_info('iter', 3)
    ckpt = dict(meta=dict(message_hub=hub.state_dict(), seed=0,
                          np_val=np.arange(3)),
                state_dict=dict(w=torch.ones(2)))
    path = tmp_path / 'runner.pth'
    torch.save(ckpt, path)
    assert 'builtins.getattr' not in \
        torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    loaded = torch.load(path)  # weights_only=True, torch's default
    buf = loaded['meta']['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(1.0) and buf.min() == 0.5


def test_checkpoint_with_code_payload_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(1)),
                    meta=_Payload(marker)), path)
    with pytest.raises(pickle.UnpicklingError, match='system'):
        torch.load(path)
    from mmengine.runner import CheckpointLoader
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()
