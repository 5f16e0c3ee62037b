"""Install blitznet_mm as a normal package that ships ``tools/`` and
``configs/`` under ``blitznet_mm/.mim/`` (what ``mim train blitznet_mm``
looks for; editable installs break mim, see README)."""
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def add_mim_extension():
    """Copy tools/ and configs/ into blitznet_mm/.mim (mmdet's layout)."""
    mim = osp.join(HERE, 'blitznet_mm', '.mim')
    for name in ('configs', 'tools', 'demo'):
        src, dst = osp.join(HERE, name), osp.join(mim, name)
        if osp.isdir(dst):
            shutil.rmtree(dst)
        if osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
                '__pycache__', '*.pyc'))


def mim_files():
    root = osp.join(HERE, 'blitznet_mm')
    files = []
    for dirpath, _, names in os.walk(osp.join(root, '.mim')):
        files += [osp.relpath(osp.join(dirpath, n), root) for n in names]
    return files


def version():
    scope = {}
    with open(osp.join(HERE, 'blitznet_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


add_mim_extension()
setup(
    name='blitznet_mm',
    version=version(),
    description='BlitzNet (ICCV 2017): joint SSD-style detection and '
    'semantic segmentation for MMDetection 3.x',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(include=['blitznet_mm', 'blitznet_mm.*']),
    package_data={'blitznet_mm': mim_files()},
    include_package_data=False,
    # exact pins live in requirements/stack.txt (one place); these are the
    # ranges the code works with
    install_requires=[
        'torch>=2.0', 'mmengine>=0.10,<0.11', 'mmcv>=2.1,<2.2',
        'mmdet>=3.3,<3.4', 'mmsegmentation>=1.2,<1.3', 'numpy',
        'pycocotools'
    ],
    # tools/deployment/export.py and exported-model inference
    extras_require={'deploy': ['onnx', 'onnxscript', 'onnxruntime',
                               'openvino']},
    zip_safe=False)
