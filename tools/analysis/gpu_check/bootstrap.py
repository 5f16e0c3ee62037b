"""Set-up of the GPU check on a machine that is not ours: its own Python
and torch, no network. Installs the OpenMMLab stack from the wheels that
``tools/analysis/gpu_check_wheels.sh`` prepared, optionally builds mmcv's
CUDA ops, and makes ``mmcv.ops`` importable (compiled ops, else the stub of
``mmcv_ext_stub``). Nothing here may import mmcv.ops, mmdet or mmseg at
module level: the stub must be in place first."""
import glob
import importlib.util
import os
import os.path as osp
import platform
import subprocess
import sys
import time

# wheel distribution name -> the module it provides; a module the machine
# already has is not shadowed by our copy (numpy, opencv etc. come from the
# machine; see gpu_check_wheels.sh)
MODULES = {
    'mmengine': 'mmengine',
    'mmdet': 'mmdet',
    'mmsegmentation': 'mmseg',
    'mmcv': 'mmcv',
    'mmcv_lite': 'mmcv',
    'pycocotools': 'pycocotools',
    'shapely': 'shapely',
    'terminaltables': 'terminaltables',
    'addict': 'addict',
    'yapf': 'yapf',
    'termcolor': 'termcolor',
    'platformdirs': 'platformdirs',
    'ftfy': 'ftfy',
    'wcwidth': 'wcwidth',
    'prettytable': 'prettytable'
}
NEEDED = ('numpy', 'cv2', 'matplotlib', 'scipy', 'yaml', 'PIL', 'rich',
          'regex', 'six', 'tqdm', 'onnx', 'onnxscript', 'onnxruntime')


def _dist(wheel: str) -> str:
    return osp.basename(wheel).split('-')[0].lower()


def build_mmcv_ops(wheels: str, seconds: float, log) -> str:
    """Build mmcv with CUDA ops from the sdist in ``wheels`` within
    ``seconds``; returns the wheel's path, or '' (the reason is logged)."""
    sdist = sorted(glob.glob(osp.join(wheels, 'mmcv-*.tar.gz')))
    if not sdist:
        log('mmcv ops build: no sdist in ' + wheels)
        return ''
    import torch
    cap = '.'.join(map(str, torch.cuda.get_device_capability()))
    tools = '/tmp/gpu_check_buildtools'  # setuptools<82: pkg_resources
    st = glob.glob(osp.join(wheels, 'setuptools-*.whl'))
    subprocess.run([
        sys.executable, '-m', 'pip', 'install', '-q', '--no-index',
        '--no-deps', '--target', tools, *st
    ],
                   check=False)
    env = dict(
        os.environ,
        MMCV_WITH_OPS='1',
        FORCE_CUDA='1',
        TORCH_CUDA_ARCH_LIST=cap,
        MAX_JOBS=str(os.cpu_count()),
        PYTHONPATH=tools + os.pathsep + os.environ.get('PYTHONPATH', ''))
    out = '/tmp/gpu_check_mmcv'
    t = time.time()
    try:
        res = subprocess.run([
            sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
            '--no-build-isolation', '--no-index', '-w', out, sdist[-1]
        ],
                             env=env,
                             capture_output=True,
                             text=True,
                             timeout=seconds)
    except subprocess.TimeoutExpired:
        log(f'mmcv ops build: not done in {seconds:.0f} s (sm {cap}); '
            'using mmcv-lite + the stub')
        return ''
    built = glob.glob(osp.join(out, 'mmcv-*.whl'))
    if res.returncode or not built:
        log(f'mmcv ops build failed after {time.time() - t:.0f} s: ' +
            (res.stderr or res.stdout)[-1500:])
        return ''
    log(f'mmcv ops built in {time.time() - t:.0f} s for sm {cap}')
    return built[0]


def install_wheels(wheels: str, target: str, log, ops_wheel: str = '') -> list:
    """``pip install --no-index --no-deps --target`` of the wheels whose
    module this Python cannot import yet; puts ``target`` first on
    ``sys.path`` and ``PYTHONPATH``. Returns the wheel file names
    installed."""
    files = sorted(glob.glob(osp.join(wheels, '*.whl')))
    if ops_wheel:
        files = [f for f in files if _dist(f) != 'mmcv_lite'] + [ops_wheel]
    todo = [
        f for f in files if _dist(f) in MODULES
        and importlib.util.find_spec(MODULES[_dist(f)]) is None
    ]
    if todo:
        cmd = [
            sys.executable, '-m', 'pip', 'install', '-q', '--no-index',
            '--no-deps', '--no-compile', '--no-cache-dir', '--upgrade',
            '--target', target, *todo
        ]
        subprocess.run(cmd, check=True)
        log(f'installed into {target}: ' +
            ', '.join(osp.basename(f) for f in todo))
    if osp.isdir(target):
        _put_first_on_path(target)
    return [osp.basename(f) for f in todo]


def _put_first_on_path(folder: str) -> None:
    """``folder`` first on ``sys.path`` and ``PYTHONPATH`` (spawned
    processes see it too)."""
    if folder not in sys.path:
        sys.path.insert(0, folder)
        os.environ['PYTHONPATH'] = os.pathsep.join(
            p for p in (folder, os.environ.get('PYTHONPATH')) if p)
        importlib.invalidate_caches()


def find_blitznet_mm(checkout: str, log) -> str:
    """The folder ``import blitznet_mm`` loads, found without importing it
    (that would import mmcv.ops before the stub). An installed copy is used
    as every tool uses it; where there is none (the GPU machine runs this
    checkout with its own Python), the checkout's copy is put first on the
    path, like the wheels' target."""
    if importlib.util.find_spec('blitznet_mm') is None:
        _put_first_on_path(checkout)
        log(f'blitznet_mm is not installed: using the checkout {checkout}')
    spec = importlib.util.find_spec('blitznet_mm')
    if spec is None:
        raise ImportError(f'{checkout}: no blitznet_mm package there')
    return osp.dirname(spec.origin)


def prepare(args, log) -> dict:
    """Install (``args.wheels``, when mmdet is not importable), make
    ``mmcv.ops`` importable, and describe the machine. Returns a dict for
    the report's environment part."""
    env = dict(
        python=platform.python_version(), installed=[], argv=sys.argv[1:])
    if args.wheels and osp.isdir(args.wheels) and \
            importlib.util.find_spec('mmdet') is None:
        ops = build_mmcv_ops(args.wheels, args.build_mmcv_ops, log) \
            if args.build_mmcv_ops > 0 else ''
        env['installed'] = install_wheels(args.wheels, args.site, log, ops)
    elif args.wheels and not osp.isdir(args.wheels):
        log(f'{args.wheels}: no such folder (make gpu-check-wheels); using '
            'the packages this Python has')
    env['missing_modules'] = [
        m for m in NEEDED if importlib.util.find_spec(m) is None
    ]
    from .mmcv_ext_stub import backend, install
    try:
        env['mmcv_ext'] = install(force=args.mmcv_ext == 'stub')
    except ImportError as e:  # no mmcv at all: every section will say so
        env['mmcv_ext'] = f'mmcv not importable: {e}'
    if env['mmcv_ext'] == 'stub':
        env['mmcv_ext'] += f' ({backend()}; no compiled mmcv ops)'
    import torch
    env.update(
        torch=torch.__version__,
        cuda=torch.version.cuda,
        cudnn=torch.backends.cudnn.version(),
        cuda_available=torch.cuda.is_available())
    if torch.cuda.is_available():
        env['gpu'] = torch.cuda.get_device_name()
        env['capability'] = '.'.join(
            map(str, torch.cuda.get_device_capability()))
        env['gpu_count'] = torch.cuda.device_count()
    for mod in ('mmengine', 'mmcv', 'mmdet', 'mmseg', 'torchvision',
                'onnxruntime', 'numpy', 'cv2'):
        try:
            env[mod] = importlib.import_module(mod).__version__
        except Exception as e:  # recorded, the sections say what it breaks
            env[mod] = f'not importable: {type(e).__name__}: {e}'
    try:
        import onnxruntime as ort
        env['onnxruntime_providers'] = ort.get_available_providers()
    except Exception:
        pass
    return env
