"""Is mmcv's NMS compiled for the device torch would train on?

    python tools/analysis/gpu_check/mmcv_ops.py [--device cuda]

Runs ``mmcv.ops.nms`` on two overlapping boxes on CUDA when
``torch.cuda.is_available()`` (on the CPU otherwise) and exits 1 with a
message naming the cause: a wheel built without CUDA ops installs and
trains (no mmcv op is in the loss) and only fails at the first validation,
hours in. The Makefile runs this after installing the cached wheel.
"""
import argparse
import sys


def check_nms(device: str) -> str:
    """Two boxes (IoU 0.68) at IoU threshold 0.5 must keep only the
    higher-scoring one; returns a one-line description of the build.

    Raises:
        RuntimeError: with the cause, if the op is missing or wrong.
    """
    import torch
    try:
        from mmcv.ops import get_compiling_cuda_version, nms
    except ImportError as e:  # mmcv._ext missing: a build without ops
        raise RuntimeError(f'mmcv has no compiled ops ({e}); rebuild it '
                           'with MMCV_WITH_OPS=1 and --no-build-isolation')
    built_cuda = get_compiling_cuda_version()
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.]],
                         device=device)
    scores = torch.tensor([0.9, 0.8], device=device)
    try:
        _, keep = nms(boxes, scores, 0.5)
    except RuntimeError as e:
        kind = torch.device(device).type
        if kind != 'cpu':
            raise RuntimeError(
                f'mmcv.ops.nms fails on {device}: the installed mmcv wheel '
                f'was built without {kind.upper()} ops (compiled for CUDA: '
                f'{built_cuda}). Remove the cached wheel and rebuild on '
                'this machine with MMCV_WITH_OPS=1 FORCE_CUDA=1 '
                'TORCH_CUDA_ARCH_LIST=<your GPU, e.g. 9.0> and nvcc on the '
                f'PATH (docs/install.md, "Installing on a CUDA machine"). '
                f'[{str(e).strip()}]')
        raise
    if keep.tolist() != [0]:
        raise RuntimeError(f'mmcv.ops.nms on {device} kept {keep.tolist()}, '
                           'expected [0]')
    return (f'mmcv.ops.nms ok on {device} (mmcv ops compiled for CUDA: '
            f'{built_cuda}, torch {torch.__version__})')


def main(argv=None) -> int:
    import torch
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = p.parse_args(argv)
    try:
        print(check_nms(args.device))
    except RuntimeError as e:
        print(f'ERROR: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
