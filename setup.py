"""Install blitznet_mm as a normal package that ships ``tools/``,
``configs/``, ``demo/`` and ``model-index.yml`` under ``blitznet_mm/.mim/``
(mmdet's layout: what ``mim train|test|run|search blitznet_mm`` and ``mim
list`` look for).

Why not editable (``pip install -e .``): mim finds a package's ``.mim``
folder at ``<site-packages>/blitznet_mm`` (the location of its
distribution). An editable install of setuptools >= 64 leaves only a path
hook there, no ``blitznet_mm/`` folder, so mim reports the package as
having no ``model-index.yml`` and cannot find its tools. ``make install``
installs the package non-editably; the scripts of ``tools/`` import the
installed package, so between two installs ``PYTHONPATH=$PWD`` runs a
checkout's own code (docs/install.md).
"""
import os
import os.path as osp
import shutil
from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def add_mim_extension():
    """Copy tools/, configs/, demo/ and model-index.yml into
    blitznet_mm/.mim (mmdet's layout)."""
    mim = osp.join(HERE, 'blitznet_mm', '.mim')
    for name in ('configs', 'tools', 'demo'):
        src, dst = osp.join(HERE, name), osp.join(mim, name)
        if osp.isdir(dst):
            shutil.rmtree(dst)
        if osp.isdir(src):
            shutil.copytree(
                src,
                dst,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    # the index names configs/metafile.yml relative to itself, as in mmdet
    shutil.copyfile(
        osp.join(HERE, 'model-index.yml'), osp.join(mim, 'model-index.yml'))


def parse_requirements(fname):
    """The requirement lines of requirements/<fname> (comments dropped)."""
    with open(osp.join(HERE, 'requirements', fname)) as f:
        return [
            line.split('#')[0].strip() for line in f
            if line.split('#')[0].strip()
        ]


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
    # no repository URL is published yet; the paper is CITATION.cff's URL
    url='https://arxiv.org/abs/1708.02813',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(include=['blitznet_mm', 'blitznet_mm.*']),
    package_data={'blitznet_mm': mim_files()},
    include_package_data=False,
    # exact pins live in requirements/stack.txt (one place); these ranges
    # are what the suite ran on: stack.txt (torch 2.13, numpy 2) and
    # stack-compat.txt (`make test-compat`: torch 2.1, numpy 1.26). mmcv
    # 2.1 does not compile against torch >= 2.14 (C++20 headers).
    install_requires=[
        'torch>=2.1,<2.14', 'mmengine>=0.10,<0.11', 'mmcv>=2.1,<2.2',
        'mmdet>=3.3,<3.4', 'mmsegmentation>=1.2,<1.3', 'numpy>=1.26,<3',
        'pycocotools'
    ],
    # tools/deployment/export.py and exported-model inference
    # 'mim': the OpenMMLab packages as `mim install` resolves them
    # (requirements/mminstall.txt, as mmdet's setup.py)
    extras_require={
        'deploy': ['onnx', 'onnxscript', 'onnxruntime', 'openvino', 'nncf'],
        'mim': parse_requirements('mminstall.txt')
    },
    zip_safe=False)
