"""Runner checkpoints load with safe unpickling; anything else is refused
and never executed. Every test runs with both loaders: torch's weights-only
unpickler with the allow-list (torch >= 2.6) and the restricted pickle
module older torch gets (forced here by monkeypatching the version guard)."""
import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import blitznet_mm  # noqa: F401  (registers the loader with mmengine)
from blitznet_mm.utils import checkpoint as ckpt_mod
from blitznet_mm.utils.checkpoint import (CheckpointError,
                                          UnsafeCheckpointError,
                                          load_checkpoint_file)


@pytest.fixture(autouse=True, params=['torch_allow_list', 'restricted_pickle'])
def loader_branch(request, monkeypatch):
    """Runs a test with each of load_checkpoint_file's two loaders."""
    if request.param == 'torch_allow_list':
        if not ckpt_mod.torch_has_allow_list():
            pytest.skip(f'torch {torch.__version__}: safe_globals with '
                        '(obj, name) entries needs torch >= 2.6')
    else:  # what torch 2.0 - 2.5 gets
        monkeypatch.setattr(ckpt_mod, 'torch_has_allow_list', lambda: False)
    return request.param


class _Payload:

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f'touch {self.path}', ))


def _pickle_of(path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(
            next(n for n in zf.namelist() if n.endswith('data.pkl')))


def test_message_hub_checkpoint_loads(tmp_path):
    hub = MessageHub.get_instance('ckpt_test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_info('iter', 3)
    ckpt = dict(
        meta=dict(message_hub=hub.state_dict(), seed=0, np_val=np.arange(3)),
        state_dict=dict(w=torch.ones(2)))
    path = tmp_path / 'runner.pth'
    torch.save(ckpt, path)
    # pickled as stock mmengine does (nothing of mmengine is patched)
    assert b'getattr' in _pickle_of(path)
    loaded = _load(path)
    buf = loaded['meta']['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(1.0) and buf.min() == 0.5
    assert (loaded['meta']['np_val'] == np.arange(3)).all()


def test_nothing_is_changed_process_wide(tmp_path):
    """Importing blitznet_mm and loading leave torch's global allow-list,
    HistoryBuffer and builtins as they were."""
    import builtins
    getstate = getattr(HistoryBuffer, '__getstate__', None)
    assert 'blitznet_mm' not in str(getattr(getstate, '__module__', ''))
    assert builtins.getattr is getattr
    before = (
        torch.serialization.get_safe_globals() if hasattr(
            torch.serialization, 'get_safe_globals') else [])
    assert not any(
        HistoryBuffer in (g if isinstance(g, tuple) else (g, ))
        for g in before)
    path = tmp_path / 'hub.pth'
    hub = MessageHub.get_instance('ckpt_global_test')
    hub.update_scalar('train/loss', 1.0)
    torch.save(dict(meta=dict(message_hub=hub.state_dict())), path)
    assert isinstance(
        _load(path)['meta']['message_hub']['log_scalars']['train/loss'],
        HistoryBuffer)
    if hasattr(torch.serialization, 'get_safe_globals'):
        assert set(torch.serialization.get_safe_globals()) == set(before)
        # torch's own loader outside load_checkpoint_file still refuses it
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path, weights_only=True)


def test_checkpoint_with_code_payload_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save(
        dict(state_dict=dict(w=torch.ones(1)), meta=_Payload(marker)), path)
    with pytest.raises(pickle.UnpicklingError, match='system'):
        torch.load(path, weights_only=True)
    from mmengine.runner import CheckpointLoader
    with pytest.raises(
            UnsafeCheckpointError,
            match=f'{path}: refused: it pickles posix.system'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    with pytest.raises(UnsafeCheckpointError, match='posix.system'):
        load_checkpoint_file(str(path))  # map_location=None too
    assert not marker.exists()


def test_restricted_unpickler_refuses_globals_and_state_on_classes():
    """The old-torch unpickler: a global outside the lists is refused;
    BUILD on an allowed class itself (it would set attributes on it for the
    whole process) too; numpy 1 and numpy 2 names of ``_reconstruct``
    (numpy.core / numpy._core) both resolve."""
    load = ckpt_mod.restricted_pickle_module().load
    with pytest.raises(
            pickle.UnpicklingError,
            match='GLOBAL posix.system is not allow-listed'):
        load(io.BytesIO(b'cposix\nsystem\n(Vtrue\ntR.'))
    mean = HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match='state set on a type'):
        load(
            io.BytesIO(b'cmmengine.logging.history_buffer\nHistoryBuffer'
                       b'\n(N}Vmean\nI1\nstb.'))  # BUILD(class, state)
    assert HistoryBuffer.mean is mean
    raw = pickle.dumps(dict(a=np.arange(3), s=np.float64(0.5)), protocol=2)
    core = b'numpy._core.' if b'numpy._core.' in raw else b'numpy.core.'
    for name in (b'numpy._core.', b'numpy.core.'):
        out = load(io.BytesIO(raw.replace(core, name)))
        assert out['a'].tolist() == [0, 1, 2] and out['s'] == 0.5


def test_gpu_checkpoint_loads_on_a_cpu_only_machine(tmp_path, monkeypatch):
    """A checkpoint written on a GPU (storages tagged 'cuda:0') loads with
    map_location=None where CUDA is absent; an explicit CUDA map_location
    there says so; real damage is still reported as damage."""
    path = tmp_path / 'gpu.pth'
    with monkeypatch.context() as m:
        m.setattr(torch.serialization, 'location_tag', lambda s: 'cuda:0')
        torch.save(dict(state_dict=dict(w=torch.arange(4.))), path)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(Exception, match='deserialize object on a CUDA'):
        torch.load(path, weights_only=True)  # what plain torch does
    from mmengine.runner import CheckpointLoader
    for ckpt in (load_checkpoint_file(str(path)),
                 CheckpointLoader.load_checkpoint(str(path))):
        w = ckpt['state_dict']['w']
        assert w.device.type == 'cpu' and w.tolist() == [0., 1., 2., 3.]
    with pytest.raises(
            CheckpointError,
            match=r"saved on a CUDA device that "
            r"this machine does not have .*map_location='cpu'"):
        load_checkpoint_file(str(path), map_location='cuda:0')
    raw = bytearray(path.read_bytes())
    raw[raw.index(struct.pack('<4f', 0, 1, 2, 3)) + 5] ^= 0xFF  # weight 1.
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match='fails its CRC-32 check'):
        load_checkpoint_file(str(path))


def test_forced_weights_only_is_honoured(tmp_path, monkeypatch, loader_branch):
    """TORCH_FORCE_WEIGHTS_ONLY_LOAD=1 with old torch: torch's own stricter
    list (it refuses a pickle_module), tensors load, a hub is refused."""
    if loader_branch != 'restricted_pickle':
        pytest.skip('the old-torch loader only')
    monkeypatch.setenv('TORCH_FORCE_WEIGHTS_ONLY_LOAD', '1')
    torch.save(dict(state_dict=dict(w=torch.ones(2))), tmp_path / 'w.pth')
    assert _load(tmp_path / 'w.pth')['state_dict']['w'].tolist() == [1, 1]
    hub = MessageHub.get_instance('ckpt_forced_test')
    hub.update_scalar('train/loss', 1.0)
    torch.save(
        dict(meta=dict(message_hub=hub.state_dict())), tmp_path / 'hub.pth')
    with pytest.raises(UnsafeCheckpointError, match='HistoryBuffer'):
        _load(tmp_path / 'hub.pth')


@pytest.mark.skipif(
    not hasattr(torch.serialization, 'set_crc32_options'),
    reason='torch < 2.6 always writes CRC-32s')
def test_checkpoint_saved_without_crc32_loads(tmp_path):
    """torch.serialization.set_crc32_options(False) writes 0 for every CRC;
    zipfile.testzip would call every such file corrupt."""
    path = tmp_path / 'nocrc.pth'
    torch.serialization.set_crc32_options(False)
    try:
        torch.save(dict(state_dict=dict(w=torch.ones(3))), path)
    finally:
        torch.serialization.set_crc32_options(True)
    assert _load(path)['state_dict']['w'].tolist() == [1., 1., 1.]


@pytest.fixture
def runner_like_checkpoint(tmp_path):
    """A checkpoint with the structure and types of a runner's (a real
    module's weights, Adam state, message hub)."""
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 1))
    optim = torch.optim.Adam(model.parameters())
    model(torch.randn(1, 3, 8, 8)).sum().backward()
    optim.step()
    hub = MessageHub.get_instance('ckpt_corrupt_test')
    hub.update_scalar('train/loss', 0.25)
    path = tmp_path / 'iter_10.pth'
    torch.save(
        dict(
            meta=dict(iter=10, message_hub=hub.state_dict()),
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
def test_damaged_checkpoint_gives_a_clear_error(runner_like_checkpoint, damage,
                                                message):
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


STOCK_RUN = '''
import sys
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner


class Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.bn(self.conv(inputs))
        return dict(loss=out.square().mean()) if mode == 'loss' else out


data = [dict(inputs=torch.randn(3, 8, 8)) for _ in range(4)]
runner = Runner(
    model=Toy(), work_dir=sys.argv[1],
    train_dataloader=dict(dataset=data, batch_size=2,
                          sampler=dict(type='DefaultSampler', shuffle=False),
                          collate_fn=dict(type='default_collate')),
    optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3)),
    train_cfg=dict(by_epoch=False, max_iters=2),
    default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2,
                                       by_epoch=False)))
runner.train()
assert 'blitznet_mm' not in sys.modules
'''


@pytest.fixture(scope='module')
def stock_checkpoint(tmp_path_factory):
    """A checkpoint written by a stock mmengine 0.10.7 runner, in a process
    that never imports blitznet_mm."""
    import subprocess
    import sys
    work = tmp_path_factory.mktemp('stock')
    script = work / 'run.py'
    script.write_text(STOCK_RUN)
    res = subprocess.run(
        [sys.executable, str(script), str(work)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(work))
    assert res.returncode == 0, res.stderr[-3000:]
    return work / 'iter_2.pth'


def test_stock_mmengine_checkpoint_loads(stock_checkpoint):
    """Its message hub pickles getattr(HistoryBuffer, 'min') etc.: exactly
    those look-ups are accepted (load_from, --resume and tools/test.py all
    load through CheckpointLoader)."""
    import zipfile

    from mmengine.runner import CheckpointLoader
    from mmengine.runner.checkpoint import _load_checkpoint
    with zipfile.ZipFile(stock_checkpoint) as zf:
        pkl = zf.read(next(n for n in zf.namelist() if n.endswith('data.pkl')))
    assert b'getattr' in pkl and b'HistoryBuffer' in pkl  # the stock calls
    ckpt = CheckpointLoader.load_checkpoint(
        str(stock_checkpoint), map_location='cpu')
    assert ckpt['meta']['iter'] == 2 and 'conv.weight' in ckpt['state_dict']
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer) and buf.min() <= buf.max()
    assert _load_checkpoint(str(stock_checkpoint))['meta']['iter'] == 2


class _Lookup:

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return (getattr, (self.obj, self.name))


@pytest.mark.parametrize(
    'obj,name',
    [
        (HistoryBuffer, '__init__'),  # a way to __globals__ and from there os
        (HistoryBuffer, 'update'),
        (np.ndarray, 'tofile'),
    ])
def test_other_getattr_lookups_are_refused(tmp_path, obj, name):
    """``builtins.getattr`` is not allow-listed in general: any look-up but
    a default HistoryBuffer statistic is refused, nothing executed."""
    from mmengine.runner import CheckpointLoader
    path = tmp_path / 'lookup.pth'
    torch.save(
        dict(state_dict=dict(w=torch.ones(1)), meta=_Lookup(obj, name)), path)
    with pytest.raises(UnsafeCheckpointError, match='refused'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    ok = tmp_path / 'ok.pth'
    torch.save(dict(meta=_Lookup(HistoryBuffer, 'mean')), ok)
    assert CheckpointLoader.load_checkpoint(str(ok))['meta'] is \
        HistoryBuffer.mean


def test_getattr_chain_to_os_system_never_runs(tmp_path):
    """A pickle cannot name a module, so reaching ``os.system`` through
    getattr needs a chain from an allowed object
    (``HistoryBuffer.__init__.__globals__['os'].system``): its first link
    is refused and the payload never runs."""
    from mmengine.runner import CheckpointLoader
    marker = tmp_path / 'pwned'

    globs = _Lookup(_Lookup(HistoryBuffer, '__init__'), '__globals__')
    path = tmp_path / 'chain.pth'
    # the look-up chain is unpickled first, the payload after it
    torch.save(dict(meta=[globs, _Payload(marker)]), path)
    with pytest.raises(
            UnsafeCheckpointError,
            match=r"refused: it pickles getattr\(HistoryBuffer, "
            r"'__init__'\)"):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()
