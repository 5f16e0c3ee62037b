"""Runner checkpoints load with torch's safe loading; anything else is
refused and never executed."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import blitznet_mm  # noqa: F401  (applies the allow-list)
from blitznet_mm.utils.checkpoint import (CheckpointError,
                                          UnsafeCheckpointError)


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
    with pytest.raises(UnsafeCheckpointError,
                       match=f'{path}: refused: it pickles posix.system'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


@pytest.fixture
def runner_like_checkpoint(tmp_path):
    """A checkpoint with the structure and types of a runner's (a real
    module's weights, Adam state, message hub)."""
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(),
                                torch.nn.Conv2d(8, 4, 1))
    optim = torch.optim.Adam(model.parameters())
    model(torch.randn(1, 3, 8, 8)).sum().backward()
    optim.step()
    hub = MessageHub.get_instance('ckpt_corrupt_test')
    hub.update_scalar('train/loss', 0.25)
    path = tmp_path / 'iter_10.pth'
    torch.save(dict(meta=dict(iter=10, message_hub=hub.state_dict()),
                    state_dict=model.state_dict(),
                    optimizer=optim.state_dict()), path)
    return path


def _load(path):
    from mmengine.runner import CheckpointLoader
    return CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


def test_good_checkpoint_loads_through_mmengine(runner_like_checkpoint):
    ckpt = _load(runner_like_checkpoint)
    assert ckpt['meta']['iter'] == 10 and len(ckpt['state_dict']) == 4


@pytest.mark.parametrize('damage,message', [
    ('empty', 'empty file'),
    ('truncated', 'not a PyTorch checkpoint, or truncated'),
    ('tail_cut', 'not a PyTorch checkpoint, or truncated'),
    ('bit_flip', 'fails its CRC-32 check'),
    ('html', 'not a PyTorch checkpoint'),
])
def test_damaged_checkpoint_gives_a_clear_error(runner_like_checkpoint,
                                                damage, message):
    path = runner_like_checkpoint
    raw = bytearray(path.read_bytes())
    if damage == 'empty':
        raw = b''
    elif damage == 'truncated':
        raw = raw[:len(raw) // 2]
    elif damage == 'tail_cut':
        raw = raw[:-20]
    elif damage == 'bit_flip':  # inside the first tensor's data record
        raw[raw.index(b'data/0') + 200] ^= 0xFF
    elif damage == 'html':
        raw = b'<html><body>404 Not Found</body></html>'
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=message) as err:
        _load(path)
    assert str(path) in str(err.value)


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load(tmp_path / 'nope.pth')
